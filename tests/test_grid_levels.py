"""Three grid levels: community -> grids (网格) -> micro-grids (微网格/网点), nested and coded."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError, InputDataError
from geo.grids.blocks import units_with_households
from geo.grids.edits import apply_edit
from geo.grids.levels import LEVEL_TREE_HEADERS, LevelPlan, building_plots, check_levels, generate_levels, levels_table
from geo.grids.plan import GridEditError
from scripts.grids import main
from tests.test_grids import X0, Y0, squares

COMMUNITY = "350521100001"


def _parent(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    hull = shapely.box(*units.total_bounds)
    return gpd.GeoDataFrame({"code": [COMMUNITY], "name": ["北关社区"]}, geometry=[hull], crs=units.crs)


@pytest.fixture(scope="module")
def town():
    # 12 x 10 buildings of 100 m, 20 households each: 2,400 households.
    units = squares(12, 10, 20.0)
    return generate_levels(units, _parent(units), min_households=300, max_households=500)


def test_levels_nest_with_codes_under_their_parent(town: LevelPlan):
    grids, micro = town.grids, town.micro
    # 2,400 households in grids of 300-500: between 5 and 8 grids, 6 aimed for (2,400 / 400)
    assert 5 <= len(grids.codes) <= 8
    assert all(c.startswith(COMMUNITY) and len(c) == 14 for c in grids.codes)
    # micro-grids of 10-50 from 20-household buildings: 2 buildings each (40), so 60 of them
    assert all(len(c) == 16 for c in micro.codes)
    for g, m in zip(grids.grid, micro.grid, strict=True):
        assert m.startswith(g)
    hh = micro.units.groupby(micro.grid)["households"].sum()
    assert hh.between(10, 50).all()
    assert micro.units["households"].sum() == pytest.approx(2400)
    assert [i for i in check_levels(town) if i.severity == "error"] == []


def test_every_grid_split_into_its_micro_grids_without_gap(town: LevelPlan):
    # the micro-grids' polygons union to their grid's polygon (whole units of one grid)
    geoms = town.grids.units.geometry.to_numpy()
    for code in town.grids.codes:
        sel = town.grids.grid == code
        inner = sorted(set(town.micro.grid[sel].tolist()))
        assert inner and all(c[:14] == code for c in inner)
        assert set(np.flatnonzero(np.isin(town.micro.grid, inner))) == set(np.flatnonzero(sel))
        union = shapely.union_all(geoms[sel])
        parts = shapely.union_all(geoms[np.isin(town.micro.grid, inner)])
        assert shapely.area(shapely.symmetric_difference(union, parts)) < 1e-6


def test_micro_edit_renumbers_no_other_grid(town: LevelPlan):
    micro = town.micro
    first = micro.codes[0]
    edited = apply_edit(micro, {"op": "split", "grid": first})
    untouched = micro.grid != first
    assert (edited.grid[untouched] == micro.grid[untouched]).all()
    new = sorted(set(edited.grid.tolist()) - set(micro.codes))
    assert len(new) == 1 and new[0][:14] == first[:14]  # the new part numbered in the same grid
    again = LevelPlan(grids=town.grids, micro=edited)
    assert [i for i in check_levels(again) if i.severity == "error"] == []


def test_merge_across_grids_is_refused_and_a_stray_unit_is_not_nested(town: LevelPlan):
    micro = town.micro
    a = micro.codes[0]
    b = next(c for c in micro.codes if c[:14] != a[:14])
    with pytest.raises(GridEditError, match="不同上级区划"):
        apply_edit(micro, {"op": "merge", "grids": [a, b]})
    # a unit of grid a[:14] put by hand into micro-grid b (of another grid)
    grid = micro.grid.copy()
    grid[np.flatnonzero(grid == a)[0]] = b
    issues = check_levels(LevelPlan(grids=town.grids, micro=dataclasses.replace(micro, grid=grid)))
    nested = [i for i in issues if i.kind == "not_nested"]
    assert [i.grid for i in nested] == [b] and "微网格" in nested[0].message
    assert nested[0].parent == a[:14]


def test_large_building_is_its_own_micro_grid_and_flagged():
    hh = np.full((4, 5), 20.0)
    hh[0, 0] = 120.0  # a tower block: above the 50-household ceiling
    units = squares(4, 5, hh)
    levels = generate_levels(units, _parent(units), min_households=100, max_households=300)
    kinds = {i.kind for i in check_levels(levels)}
    assert "oversized_unit" in kinds
    tower = levels.micro.grid[levels.micro.units["unit_id"] == "U00"][0]
    assert (levels.micro.grid == tower).sum() == 1


def test_micro_grids_of_building_plots_inside_street_blocks():
    # 3 x 4 blocks of 200 m with 5 buildings of 20 households each: 1,200 households,
    # grids of 300-500 made of whole blocks (3 grids of 400), micro-grids of building plots
    blocks = squares(3, 4, 0.0, size=200.0)
    rng = np.random.default_rng(7)
    points, hh = [], []
    for geom in blocks.geometry:
        x0, y0, _, _ = geom.bounds
        points += list(shapely.points(x0 + rng.uniform(10, 190, 5), y0 + rng.uniform(10, 190, 5)))
        hh += [20.0] * 5
    buildings = gpd.GeoDataFrame({"households": hh, "residents": np.multiply(hh, 3)}, geometry=points, crs=blocks.crs)
    plots = building_plots(blocks, buildings)
    assert len(plots) == 60
    assert plots.area.sum() == pytest.approx(blocks.area.sum())  # no gap, no overlap
    for uid, geom in zip(blocks["unit_id"], blocks.geometry, strict=True):
        mine = plots[plots["block"] == uid]
        assert len(mine) == 5 and shapely.union_all(mine.geometry.to_numpy()).symmetric_difference(geom).area < 1e-3
    units = units_with_households(blocks, buildings)
    levels = generate_levels(
        units,
        _parent(units),
        min_households=300,
        max_households=500,
        micro_units=units_with_households(plots, buildings),
    )
    assert levels.grids.units["households"].sum() == pytest.approx(1200)
    assert levels.micro.units["households"].sum() == pytest.approx(1200)
    assert [i for i in check_levels(levels) if i.severity == "error"] == []
    # every plot's micro-grid is coded under the grid of its block
    grid_of_block = dict(zip(levels.grids.units["unit_id"], levels.grids.grid, strict=True))
    block_of_plot = plots.set_index("unit_id")["block"]
    for plot, code in zip(levels.micro.units["unit_id"], levels.micro.grid, strict=True):
        assert code[:14] == grid_of_block[block_of_plot[plot]]
    assert levels.micro.units.groupby(levels.micro.grid)["households"].sum().between(10, 50).all()


def test_building_plots_need_one_projected_crs():
    blocks = squares(1, 1, 0.0)
    points = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 50, Y0 - 50)], crs=blocks.crs)
    with pytest.raises(CRSError, match="坐标系"):
        building_plots(blocks, points.to_crs(4326))
    assert len(building_plots(blocks, points)) == 1  # one building: the block stays whole


def test_bad_micro_bounds_are_refused():
    units = squares(2, 2, 20.0)
    with pytest.raises(InputDataError, match="下限"):
        generate_levels(units, micro_min_households=60, micro_max_households=50)
    assert X0 > 0 and Y0 > 0


# ------------------------------------------------------------------------ the script


def test_script_levels_on_the_demo(tmp_path, capsys):
    out = tmp_path / "三级" / "demo.gpkg"
    assert main(["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--levels"]) == 0
    assert "微网格 micro-grids:" in capsys.readouterr().out
    grids = gpd.read_file(out, layer="网格")
    micro = gpd.read_file(tmp_path / "三级" / "demo_micro.gpkg", layer="微网格")
    assert micro.crs.to_epsg() == 4326
    # every micro-grid coded under a grid of the plan, every grid split into micro-grids
    assert (micro["微网格编码"].str[:-2] == micro["所属网格编码"]).all()
    assert set(micro["所属网格编码"]) == set(grids["网格编码"])
    assert micro["估算户数 (户)"].sum() == pytest.approx(grids["估算户数 (户)"].sum(), abs=0.5)
    book = openpyxl.load_workbook(tmp_path / "三级" / "demo_micro.xlsx")
    assert book.sheetnames == ["微网格", "问题", "组织架构"]
    tree = [c.value for c in book["组织架构"][1]]
    assert tree[:2] == ["县区编码", "县区"] and tree[-3:] == ["微网格编码", "微网格名称", "微网格户数 (户)"]
    sheet = book["微网格"]
    assert [c.value for c in sheet[1]][:3] == ["微网格编码", "所属网格编码", "微网格名称"]
    codes = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1)]
    assert all(c.data_type == "s" and c.value.startswith("0000") for c in codes)  # text, leading zeros kept
    # the demo's units are street blocks, coarser than a micro-grid: the big ones are said
    issues = pd.read_csv(tmp_path / "三级" / "demo_issues.csv", encoding="utf-8-sig", dtype=str)
    assert not issues["类型"].str.contains("未嵌套").any()


def test_script_refuses_micro_floor_above_ceiling(tmp_path, capsys):
    args = ["--project", "demo", "--out", str(tmp_path / "x.gpkg"), "-q", "--levels"]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--micro-min-households", "60", "--micro-max-households", "50"])
    assert exc.value.code == 2
    assert "--micro-min-households 60" in capsys.readouterr().err
    assert not (tmp_path / "x.gpkg").exists()


def test_organisation_tree_down_to_micro_grids(town: LevelPlan):
    table = levels_table(town)
    assert len(table) == len(town.micro.codes)
    assert (table["micro_code"].str[:14] == table["code"]).all()
    assert set(table["community_code"]) == {COMMUNITY} and set(table["community"]) == {"北关社区"}
    assert set(table["county"]) == {"惠安县"}  # 350521 from the division list
    assert table["micro_households"].sum() == pytest.approx(2400)
    assert list(table.columns) == list(LEVEL_TREE_HEADERS)
