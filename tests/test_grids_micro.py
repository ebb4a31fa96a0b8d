"""Micro-grids beside their grids in the core (geo/grids/micro.py, h-micro, issue 20), on a toy
street of four 100 m blocks whose answers can be worked out by hand."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.grids.micro import flagged_parents, micro_issues, nested_parents, rederive_micro, with_parents
from geo.grids.plan import GridEditError, GridPlan

CRS = "EPSG:32650"


def _box(x0: float, x1: float) -> shapely.Polygon:
    return shapely.box(x0, 0, x1, 100)


def _plan(units: gpd.GeoDataFrame, grid: list[str], lo: float, hi: float) -> GridPlan:
    n = len(units)
    adjacency = np.array([(i, i + 1) for i in range(n - 1)], dtype=np.int64)  # a row: each touches the next
    codes = sorted(set(grid))
    return GridPlan(
        units=units,
        parents=gpd.GeoDataFrame({"code": ["P"], "name": ["P"]}, geometry=[_box(0, 400)], crs=CRS),
        adjacency=adjacency,
        grid=np.asarray(grid, dtype=object),
        fields={c: {"name": c, "grid_member": "", "branch": "", "central_households": []} for c in codes},
        min_households=lo,
        max_households=hi,
    )


@pytest.fixture()
def levels():
    """Blocks B1-B4 in a row, each of two 50 m plots of 10 households (20 per block):
    grids G01 = B1+B2 and G02 = B3+B4 (40 households each, bounds 30-50); micro-grids one per
    block (20 households, bounds 10-50), coded grid + 01/02."""
    blocks = gpd.GeoDataFrame(
        {"unit_id": ["B1", "B2", "B3", "B4"], "parent": ["P"] * 4, "households": [20.0] * 4, "residents": [56.0] * 4},
        geometry=[_box(100 * k, 100 * (k + 1)) for k in range(4)],
        crs=CRS,
    )
    grids = _plan(blocks, ["G01", "G01", "G02", "G02"], 30, 50)
    plots = gpd.GeoDataFrame(
        {
            "unit_id": [f"B{k // 2 + 1}-{k % 2 + 1:03d}" for k in range(8)],
            "block": [f"B{k // 2 + 1}" for k in range(8)],
            "parent": ["G01"] * 4 + ["G02"] * 4,
            "households": [10.0] * 8,
            "residents": [28.0] * 8,
        },
        geometry=[_box(50 * k, 50 * (k + 1)) for k in range(8)],
        crs=CRS,
    )
    micro = _plan(plots, ["G0101"] * 2 + ["G0102"] * 2 + ["G0201"] * 2 + ["G0202"] * 2, 10, 50)
    return grids, micro


def test_nested_micro_grids_have_no_nesting_issue(levels):
    grids, micro = levels
    assert nested_parents(micro, grids).tolist() == ["G01"] * 4 + ["G02"] * 4
    assert with_parents(micro, grids) is micro  # nothing changed: the same plan
    issues = micro_issues(micro)
    assert [i.kind for i in issues] == []  # 20 households each, within 10-50, contiguous, coded under their grid


def test_a_block_moved_between_grids_flags_its_micro_grid_and_rederive_fixes_that_grid_only(levels):
    grids, micro = levels
    moved = dataclasses.replace(grids, grid=np.asarray(["G01", "G02", "G02", "G02"], dtype=object))  # B2 to G02
    now = with_parents(micro, moved)
    assert now.units["parent"].tolist() == ["G01"] * 2 + ["G02"] * 6 and micro.units["parent"].iloc[2] == "G01"
    issues = micro_issues(now)
    # G0102 (B2's plots) now lies in G02 but is coded under G01: not nested, and only that one
    assert [(i.kind, i.grid, i.parent) for i in issues if i.kind == "not_nested"] == [("not_nested", "G0102", "G02")]
    assert flagged_parents(issues, now) == ["G02"]
    fixed = rederive_micro(now, ["G02"])
    assert fixed.grid[:2].tolist() == ["G0101", "G0101"]  # the other grid's micro-grid untouched
    assert all(str(c).startswith("G02") for c in fixed.grid[2:])
    assert not [i for i in micro_issues(fixed) if i.kind in ("not_nested", "crosses_parent")]
    # 60 households in G02 over 6 plots of 10: two or three micro-grids within 10-50; a micro-grid
    # with exactly the plots of an old one keeps its code, the others come after the numbers in use
    new = sorted(set(fixed.grid[2:].tolist()))
    assert 2 <= len(new) <= 3 and "G0102" not in fixed.fields and set(fixed.fields) == {"G0101", *new}
    assert fixed.history[-1][0] == {"op": "rederive", "grids": ["G02"]} and fixed.version == micro.version + 1


def test_rederive_refuses_what_is_not_a_grid_with_plots(levels):
    _, micro = levels
    with pytest.raises(GridEditError, match="没有微网格地块"):
        rederive_micro(micro, ["G09"])
    with pytest.raises(GridEditError, match="网格编码列表"):
        rederive_micro(micro, [])


def test_micro_grids_of_other_blocks_are_refused(levels):
    grids, micro = levels
    other = micro.units.copy()
    other["block"] = ["X1"] * 8
    with pytest.raises(GridEditError, match="重新生成微网格"):
        nested_parents(dataclasses.replace(micro, units=other), grids)
