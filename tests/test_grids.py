"""Management grids: street blocks, generation, codes, checks, edits, undo, JSON, tree.

Hand-built units are 100 m squares in UTM 50N (Quanzhou) so that every expected
household sum can be worked out by hand; the demo (central Helsinki, 59 residential
buildings, ~2,673 households) is the real-data check.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.grids.blocks import street_blocks, unit_adjacency, units_from_polygons, units_with_households
from geo.grids.edits import apply_edit, edit, undo
from geo.grids.output import edits_of, grid_members, grids_gdf, plan_from_dict, plan_to_dict
from geo.grids.partition import generate_grids
from geo.grids.plan import GridEditError, check_plan

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650


def squares(rows: int, cols: int, households, *, size: float = 100.0) -> gpd.GeoDataFrame:
    """Units U<r><c>, row 0 in the north; ``households`` a scalar or a rows x cols array."""
    hh = np.broadcast_to(np.asarray(households, dtype=float), (rows, cols))
    geoms, ids, values = [], [], []
    for r in range(rows):
        for c in range(cols):
            x, y = X0 + c * size, Y0 - (r + 1) * size
            geoms.append(shapely.box(x, y, x + size, y + size))
            ids.append(f"U{r}{c}" if rows <= 10 and cols <= 10 else f"U{r:02d}_{c:02d}")
            values.append(hh[r, c])
    return gpd.GeoDataFrame({"unit_id": ids, "households": values}, geometry=geoms, crs=EPSG)


def kinds(plan) -> set[str]:
    return {i.kind for i in check_plan(plan)}


def assert_valid_structure(plan) -> None:
    """Every unit in exactly one grid, every grid connected and inside one parent."""
    assert (plan.grid != "").all()
    assert len(plan.grid) == len(plan.units)
    assert not kinds(plan) & {"unassigned_unit", "not_contiguous", "crosses_parent", "overlap"}


# ----------------------------------------------------------------------------- blocks


def test_street_blocks_of_a_hash_sign():
    # two horizontal and two vertical 300 m streets crossing at 100 m and 200 m, area the
    # 300 m square: 9 blocks of 100 m x 100 m = 10,000 m² each.
    lines = [
        shapely.LineString([(X0, Y0 + 100), (X0 + 300, Y0 + 100)]),
        shapely.LineString([(X0, Y0 + 200), (X0 + 300, Y0 + 200)]),
        shapely.LineString([(X0 + 100, Y0), (X0 + 100, Y0 + 300)]),
        shapely.LineString([(X0 + 200, Y0), (X0 + 200, Y0 + 300)]),
    ]
    area = shapely.box(X0, Y0, X0 + 300, Y0 + 300)
    blocks = street_blocks(gpd.GeoSeries(lines, crs=EPSG), area=area)
    assert len(blocks) == 9
    assert blocks["area_m2"].to_numpy() == pytest.approx(np.full(9, 10_000.0))
    # reading order: the first block is the north-west one, the last the south-east one
    first, last = blocks.geometry.iloc[0].centroid, blocks.geometry.iloc[-1].centroid
    assert (first.x, first.y) == pytest.approx((X0 + 50, Y0 + 250))
    assert (last.x, last.y) == pytest.approx((X0 + 250, Y0 + 50))
    # water over the middle column removes 3 x 1/2 blocks' area (x 100-200, y 0-300 is 3 blocks)
    water = shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 300)
    wet = street_blocks(gpd.GeoSeries(lines, crs=EPSG), area=area, water=water)
    assert len(wet) == 6
    # a community boundary along x = 150 cuts the middle column of blocks in two: 12 blocks
    cut = street_blocks(gpd.GeoSeries(lines, crs=EPSG), area=area, cuts=[shapely.box(X0, Y0, X0 + 150, Y0 + 300)])
    assert len(cut) == 12
    # a parallel street 2 m from y = 100 leaves a 300 m x 2 m sliver split into 3 faces of
    # 200 m²; with a 250 m² threshold each joins the block it shares 100 m with: 9 blocks,
    # no gap, total area unchanged
    double = [*lines, shapely.LineString([(X0, Y0 + 102), (X0 + 300, Y0 + 102)])]
    assert len(street_blocks(gpd.GeoSeries(double, crs=EPSG), area=area)) == 12
    merged = street_blocks(gpd.GeoSeries(double, crs=EPSG), area=area, min_area_m2=250.0)
    assert len(merged) == 9
    assert merged["area_m2"].sum() == pytest.approx(90_000.0)
    # neighbours share a street: 12 interior edges in a 3 x 3 arrangement
    assert len(unit_adjacency(blocks.geometry.to_numpy())) == 12


def test_street_blocks_errors():
    with pytest.raises(CRSError, match="投影"):
        street_blocks(gpd.GeoSeries([shapely.LineString([(0, 0), (1, 1)])], crs=4326))
    with pytest.raises(InputDataError, match="没有道路线"):
        street_blocks(gpd.GeoSeries([], crs=EPSG))
    with pytest.raises(InputDataError, match="没有围合"):
        street_blocks(gpd.GeoSeries([shapely.LineString([(X0, Y0), (X0 + 100, Y0)])], crs=EPSG))


def test_households_from_demand_points():
    units = squares(1, 2, 0.0)[["unit_id", "geometry"]]
    # three points: one in each square, one on the street 10 m south of the west square
    demand = gpd.GeoDataFrame(
        {"residents": [10.0, 20.0, 5.0], "households": [4.0, 8.0, 2.0]},
        geometry=[
            shapely.Point(X0 + 50, Y0 - 50),
            shapely.Point(X0 + 150, Y0 - 50),
            shapely.Point(X0 + 50, Y0 - 110),
        ],
        crs=EPSG,
    )
    out = units_with_households(units, demand)
    assert out["households"].tolist() == [6.0, 8.0]
    assert out["residents"].tolist() == [15.0, 20.0]
    far = demand.assign(geometry=[shapely.Point(X0 + 50, Y0 - 50)] * 2 + [shapely.Point(X0, Y0 - 1000)])
    out = units_with_households(units, far)
    assert out.attrs["unassigned"] == {"points": 1, "residents": 5.0, "households": 2.0}
    # residents only: households = residents / persons per household
    out = units_with_households(units, demand.drop(columns="households"))
    assert out["households"].sum() == pytest.approx(35.0 / settings.PERSONS_PER_HOUSEHOLD)
    with pytest.raises(InputDataError, match="residents"):
        units_with_households(units, demand.drop(columns="residents"))


def test_planner_units_checked():
    frame = squares(1, 2, 10.0).rename(columns={"unit_id": "code"})
    units = units_from_polygons(frame)
    assert units["unit_id"].tolist() == ["U00", "U01"]
    with pytest.raises(InputDataError, match="重复"):
        units_from_polygons(frame.assign(code=["A", "A"]))
    with pytest.raises(InputDataError, match="编号列"):
        units_from_polygons(frame, id_column="编号")
    with pytest.raises(InputDataError, match="缺少编号"):
        units_from_polygons(frame.assign(code=["A", " "]))
    with pytest.raises(InputDataError, match="不是面"):
        units_from_polygons(frame.assign(geometry=[shapely.Point(X0, Y0)] * 2))
    with pytest.raises(InputDataError, match="负数"):
        units_from_polygons(frame.assign(households=[1.0, -1.0]))
    with pytest.raises(CRSError):
        units_from_polygons(frame.to_crs(4326))


# ------------------------------------------------------------------------- generation


def test_generation_on_hand_built_units():
    # 4 x 4 squares of 50 households = 800; bounds 300-500 -> k in [2, 2] -> 2 grids of
    # 400 households (8 squares each), both connected.
    plan = generate_grids(squares(4, 4, 50.0), parent_code="350521100001")
    assert_valid_structure(plan)
    grids = grids_gdf(plan)
    assert grids["code"].tolist() == ["35052110000101", "35052110000102"]
    assert grids["households"].tolist() == [400.0, 400.0]
    assert grids["units"].tolist() == [8, 8]
    assert check_plan(plan) == []
    # a 2 x 4 half of a 400 m x 400 m square: Polsby-Popper 4π·80,000/1,200² = 0.698
    assert grids["polsby_popper"].tolist() == pytest.approx([0.698, 0.698], abs=1e-3)
    assert grids["hull_ratio"].tolist() == pytest.approx([1.0, 1.0])
    # both inside their parent (the union of the units)
    parent = plan.parents.geometry.iloc[0]
    assert shapely.within(grids.geometry.to_numpy(), parent.buffer(1e-6)).all()


def test_generation_is_deterministic_and_seeded():
    rng = np.random.default_rng(7)
    units = squares(8, 8, rng.integers(5, 40, (8, 8)))
    a = generate_grids(units, seed=3)
    b = generate_grids(units.copy(), seed=3)
    assert (a.grid == b.grid).all()
    assert_valid_structure(a)
    hh = grids_gdf(a)["households"]
    total = units["households"].sum()
    assert hh.sum() == pytest.approx(total)
    assert ((hh >= 300) & (hh <= 500)).all(), hh.tolist()


@pytest.mark.parametrize("bounds", [(300, 500), (380, 420)])
def test_random_towns_contiguous_and_bounds_met_or_explained(bounds):
    # 20 random rectangles of squares, 20 % of them empty (parks), gamma-distributed households
    lo, hi = bounds
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rows, cols = (int(v) for v in rng.integers(3, 15, 2))
        hh = rng.gamma(1.0, 25.0, (rows, cols)) * (rng.random((rows, cols)) > 0.2)
        plan = generate_grids(squares(rows, cols, hh), seed=seed, min_households=lo, max_households=hi)
        assert_valid_structure(plan)
        assert grids_gdf(plan)["households"].sum() == pytest.approx(hh.sum(), abs=0.1 * len(plan.codes))
        found = {i.kind for i in plan.issues()}
        if found & {"below_floor", "above_ceiling"}:
            assert "infeasible_bounds" in found, (seed, found)


def test_oversized_unit_is_its_own_flagged_grid():
    hh = np.full((3, 3), 50.0)
    hh[1, 1] = 900.0  # a large compound in the middle
    plan = generate_grids(squares(3, 3, hh), min_households=150, max_households=300)
    assert_valid_structure(plan)
    members = grid_members(plan)
    alone = [code for code, ids in members.items() if ids == ["U11"]]
    assert len(alone) == 1
    issues = check_plan(plan)
    assert [i.units for i in issues if i.kind == "oversized_unit"] == [("U11",)]
    assert "oversized_unit" in grids_gdf(plan).set_index("code").loc[alone[0], "flags"]


def test_infeasible_bounds_are_explained():
    # 2 x 2 squares of 50 = 200 households < floor 300: one grid, below the floor, and why
    plan = generate_grids(squares(2, 2, 50.0), parent_code="350521100001")
    assert len(plan.codes) == 1
    notes = [i for i in plan.issues() if i.kind == "infeasible_bounds"]
    assert notes and any("少于网格下限" in i.message for i in notes)
    assert "below_floor" in kinds(plan)
    # 550 households cannot be cut into 300-500 pieces: said, and the least bad split made
    plan = generate_grids(squares(1, 11, 50.0))
    assert any(i.kind == "infeasible_bounds" and "无法分成" in i.message for i in plan.notes)
    assert_valid_structure(plan)


def test_units_reaching_outside_their_parent_are_noted():
    units = squares(1, 4, 100.0)
    # the parent stops 30 m short of the east edge: the last square has 30 m x 100 m outside
    parent = gpd.GeoDataFrame({"code": ["P"]}, geometry=[shapely.box(X0, Y0 - 100, X0 + 370, Y0)], crs=EPSG)
    plan = generate_grids(units, parent, min_households=150, max_households=250)
    notes = [i for i in plan.notes if i.kind == "outside_parent"]
    assert len(notes) == 1 and notes[0].units == ("U03",)
    assert "3,000 m²" in notes[0].message


def test_isolated_empty_unit_is_its_own_grid_and_explained():
    units = squares(2, 4, 50.0)
    island = gpd.GeoDataFrame(
        {"unit_id": ["ISLE"], "households": [0.0]}, geometry=[shapely.box(X0 + 1000, Y0, X0 + 1100, Y0 + 100)], crs=EPSG
    )
    plan = generate_grids(pd.concat([units, island], ignore_index=True))
    assert ["ISLE"] in grid_members(plan).values()
    notes = [i for i in plan.notes if "ISLE" in i.units]
    assert notes and "不相邻" in notes[0].message
    assert "below_floor" in kinds(plan)


def test_parents_nest_grids_and_leave_out_outsiders():
    units = squares(2, 8, 50.0)  # two rows of 8 squares, 800 households
    west = shapely.box(X0, Y0 - 200, X0 + 400, Y0)
    east = shapely.box(X0 + 400, Y0 - 200, X0 + 800, Y0)
    parents = gpd.GeoDataFrame(
        {"code": ["350521100001", "350521100002"], "name": ["西社区", "东社区"]}, geometry=[west, east], crs=EPSG
    )
    plan = generate_grids(units, parents, min_households=150, max_households=250)
    assert_valid_structure(plan)
    grids = grids_gdf(plan)
    for _, row in grids.iterrows():
        parent = west if row["parent"] == "350521100001" else east
        assert row["geometry"].within(parent.buffer(1e-6))
        assert row["code"].startswith(row["parent"])
    assert grids["households"].sum() == 800.0
    # a parent covering half the units: the other half is left out, with a note
    plan = generate_grids(units, parents.iloc[:1], min_households=150, max_households=250)
    assert len(plan.units) == 8
    assert any(i.kind == "left_out" for i in plan.notes)


def test_generation_errors():
    units = squares(2, 2, 100.0)
    with pytest.raises(InputDataError, match="下限"):
        generate_grids(units, min_households=600, max_households=500)
    with pytest.raises(InputDataError, match="正数"):
        generate_grids(units, min_households=float("nan"))
    with pytest.raises(InputDataError, match="非负整数"):
        generate_grids(units, seed=-1)
    with pytest.raises(InputDataError, match="households"):
        generate_grids(units.drop(columns="households"))
    with pytest.raises(InputDataError, match="重复"):
        generate_grids(units.assign(unit_id="A"))
    with pytest.raises(InputDataError, match="负数"):
        generate_grids(units.assign(households=-1.0))
    with pytest.raises(InputDataError, match="没有单元"):
        generate_grids(units.iloc[:0])
    with pytest.raises(CRSError, match="投影"):
        generate_grids(units.to_crs(4326))
    parents = gpd.GeoDataFrame({"name": ["x"]}, geometry=[units.union_all()], crs=EPSG)
    with pytest.raises(InputDataError, match="code"):
        generate_grids(units, parents)
    twice = gpd.GeoDataFrame({"code": ["1", "1"]}, geometry=[units.union_all()] * 2, crs=EPSG)
    with pytest.raises(InputDataError, match="为空或重复"):
        generate_grids(units, twice)
    with pytest.raises(InputDataError, match="adjacency"):
        generate_grids(units, adjacency=np.array([[0, 9]]))
    with pytest.raises(InputDataError, match="adjacency"):
        generate_grids(units, adjacency=np.array([0, 1]))
    fac = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(X0 + 10, Y0 - 10)], crs=EPSG)
    with pytest.raises(InputDataError, match="function"):
        generate_grids(units, facilities=fac)
    far = gpd.GeoDataFrame({"code": ["1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=EPSG)
    with pytest.raises(InputDataError, match="没有单元落在"):
        generate_grids(units, far)


# --------------------------------------------------------------------------- editing


@pytest.fixture()
def plan():
    # 4 x 6 squares of 50 households = 1200 -> 3 grids of 400 (bounds 300-500)
    return generate_grids(squares(4, 6, 50.0), parent_code="350521100001")


def test_move_split_merge_keep_structure_and_codes(plan):
    before = grid_members(plan)
    codes = sorted(before)
    assert len(codes) == 3
    # move a boundary unit of grid 1 into a neighbouring grid
    code_of = dict(zip(plan.units["unit_id"], plan.grid, strict=True))
    adj = plan.adjacency
    a, b = next((i, j) for i, j in adj if plan.grid[i] != plan.grid[j])
    unit, target = plan.units["unit_id"].iloc[a], plan.grid[b]
    moved = apply_edit(plan, {"op": "move", "unit": unit, "to": target})
    assert dict(zip(moved.units["unit_id"], moved.grid, strict=True))[unit] == target
    assert sorted(moved.codes) == codes  # no renumbering
    assert len(grid_members(moved)[target]) == len(before[target]) + 1
    assert code_of[unit] != target
    # split grid 2 in two balanced halves: the other codes keep their numbers, the new one is 04
    split = apply_edit(plan, {"op": "split", "grid": codes[1]})
    assert set(codes) < set(split.codes)
    assert split.codes[-1] == "35052110000104"
    hh = grids_gdf(split).set_index("code")["households"]
    assert hh[codes[1]] + hh["35052110000104"] == 400.0
    assert abs(hh[codes[1]] - hh["35052110000104"]) <= 50.0
    assert_valid_structure(split)
    assert "below_floor" in kinds(split)  # 200 < 300 is listed, not hidden
    # merge them back: the first code is kept, 04 disappears, 400 households again
    merged = apply_edit(split, {"op": "merge", "grids": ["35052110000104", codes[1]]})
    assert merged.codes == codes
    assert grids_gdf(merged).set_index("code").loc[codes[1], "households"] == 400.0
    assert check_plan(merged) == []


def test_split_by_units_and_violations_listed(plan):
    code = plan.codes[0]
    members = grid_members(plan)[code]
    # a split that leaves the new grid in two pieces: the first and last unit of the grid
    chosen = [members[0], members[-1]]
    split = apply_edit(plan, {"op": "split", "grid": code, "units": chosen})
    assert sorted(grid_members(split)[split.codes[-1]]) == sorted(chosen)
    found = kinds(split)
    assert "below_floor" in found
    assert "not_contiguous" in found


def test_set_fields_verbatim_and_exported(plan):
    code = plan.codes[0]
    hostile = '=HYPERLINK("x"); <script>\'); drop table'
    edited = apply_edit(plan, {"op": "set", "grid": code, "field": "grid_member", "value": "张三"})
    edited = apply_edit(edited, {"op": "set", "grid": code, "field": "branch", "value": hostile})
    edited = apply_edit(edited, {"op": "set", "grid": code, "field": "central_households", "value": ["李四", "王五"]})
    row = grids_gdf(edited).set_index("code").loc[code]
    assert (row["grid_member"], row["branch"], row["central_households"]) == ("张三", hostile, "李四、王五")
    assert plan.fields[code]["grid_member"] == ""  # the input plan is unchanged


def test_undo_restores_each_step(plan):
    steps = [plan]
    steps.append(apply_edit(steps[-1], {"op": "split", "grid": plan.codes[0]}))
    steps.append(apply_edit(steps[-1], {"op": "set", "grid": plan.codes[1], "field": "name", "value": "一网格"}))
    steps.append(apply_edit(steps[-1], {"op": "renumber"}))
    assert [op["op"] for op, _, _ in steps[-1].history] == ["split", "set", "renumber"]
    back = undo(steps[-1])
    assert (back.grid == steps[2].grid).all() and back.fields == steps[2].fields
    back = undo(steps[-1], 3)
    assert (back.grid == plan.grid).all() and back.fields == plan.fields and back.history == ()
    with pytest.raises(GridEditError, match="只能撤销"):
        undo(plan)
    with pytest.raises(GridEditError, match="正整数"):
        undo(steps[-1], 0)


def test_versions_refuse_stale_edits_and_edit_reports_checks(plan):
    code = plan.codes[0]
    op = {"op": "set", "grid": code, "field": "name", "value": "甲", "version": 0}
    first = apply_edit(plan, op)
    assert first.version == 1
    with pytest.raises(GridEditError, match="方案已被修改"):
        apply_edit(first, op)  # made on version 0, the plan is at 1 (G10)
    with pytest.raises(GridEditError, match="整数"):
        apply_edit(first, {**op, "version": True})
    assert undo(first).version == 2  # an undo is a new state too
    result = edit(first, {"op": "split", "grid": code, "version": 1})
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["version"] == 2 and data["can_undo"] == 2
    assert {g["code"] for g in data["grids"]} == set(result.plan.codes)
    # the two halves of 400, and the code-stability note: the untouched grids kept their codes
    assert {i["kind"] for i in data["issues"]} == {"below_floor", "codes_kept"}
    assert not any(i["kind"] == "renumbered" for i in data["issues"])
    assert [op_["op"] for op_ in edits_of(result.plan)] == ["set", "split"]


def test_renumber_follows_reading_order(plan):
    # merge grids 1 and 2 then renumber: codes are 01, 02 again, in reading order
    merged = apply_edit(plan, {"op": "merge", "grids": plan.codes[:2]})
    assert merged.codes == [plan.codes[0], plan.codes[2]]
    renumbered = apply_edit(merged, {"op": "renumber"})
    assert renumbered.codes == plan.codes[:2]


def test_codes_stable_under_a_small_edit_on_the_demo(demo_plan):
    plan = demo_plan
    adj = plan.adjacency
    i, j = next((i, j) for i, j in adj if plan.grid[i] != plan.grid[j] and plan.units["households"].iloc[i] == 0)
    moved = apply_edit(plan, {"op": "move", "unit": plan.units["unit_id"].iloc[i], "to": plan.grid[j]})
    assert moved.codes == plan.codes
    changed = np.flatnonzero(moved.grid != plan.grid)
    assert changed.tolist() == [i]


@pytest.mark.parametrize(
    ("op", "match"),
    [
        ("move", "JSON 对象"),
        ({"op": "explode"}, "未知的编辑操作"),
        ({"op": "move", "unit": "U00", "to": "x", "evil": 1}, "不认识的字段"),
        ({"op": "move", "unit": "nope", "to": "35052110000101"}, "没有编号为"),
        ({"op": "move", "unit": 12, "to": "35052110000101"}, "应为文字"),
        ({"op": "move", "unit": "U00", "to": "35052110000199"}, "没有编码为"),
        ({"op": "move", "unit": "U00", "to": "35052110000101"}, "已在网格"),
        ({"op": "move", "unit": "U00", "to": "35052110000103"}, "不相邻"),
        ({"op": "split", "grid": "35052110000101", "units": []}, "不能是全部"),
        ({"op": "split", "grid": "35052110000101", "units": ["U05"]}, "不能是全部"),
        (
            {
                "op": "split",
                "grid": "35052110000101",
                "units": ["U00", "U01", "U10", "U11", "U20", "U21", "U30", "U31"],
            },
            "不能是全部",
        ),
        ({"op": "split", "grid": "35052110000101", "units": "U00"}, "文字列表"),
        ({"op": "merge", "grids": ["35052110000101"]}, "两个网格"),
        ({"op": "merge", "grids": ["35052110000101", "35052110000101"]}, "自身"),
        ({"op": "set", "grid": "35052110000101", "field": "secret", "value": "x"}, "未知字段"),
        ({"op": "set", "grid": "35052110000101", "field": "name", "value": "x" * 201}, "超过"),
        ({"op": "set", "grid": "35052110000101", "field": "name", "value": float("nan")}, "应为文字"),
    ],
)
def test_edit_errors(plan, op, match):
    # the fixture's grids: 01 the two west columns, 02 the north-east and 03 the south-east
    # 2 x 4 squares (a third cut off the west end, the rest halved along its long axis)
    assert grid_members(plan)["35052110000101"] == ["U00", "U01", "U10", "U11", "U20", "U21", "U30", "U31"]
    assert "U05" in grid_members(plan)["35052110000102"]
    assert "U22" in grid_members(plan)["35052110000103"]
    with pytest.raises(GridEditError, match=match):
        apply_edit(plan, op)


def test_merge_of_grids_that_do_not_touch_refused():
    # three units of 400 households in a row: one grid each, 01 and 03 do not touch
    plan = generate_grids(squares(1, 3, 400.0), parent_code="P")
    assert plan.codes == ["P01", "P02", "P03"]
    with pytest.raises(GridEditError, match="不相邻"):
        apply_edit(plan, {"op": "merge", "grids": ["P01", "P03"]})
    with pytest.raises(GridEditError, match="只有一个单元"):
        apply_edit(plan, {"op": "split", "grid": "P01"})


def test_move_and_merge_across_parents_refused():
    units = squares(1, 4, 200.0)
    parents = gpd.GeoDataFrame(
        {"code": ["A", "B"]},
        geometry=[shapely.box(X0, Y0 - 100, X0 + 200, Y0), shapely.box(X0 + 200, Y0 - 100, X0 + 400, Y0)],
        crs=EPSG,
    )
    plan = generate_grids(units, parents, min_households=300, max_households=500)
    assert plan.codes == ["A01", "B01"]
    with pytest.raises(GridEditError, match="另一个上级区划"):
        apply_edit(plan, {"op": "move", "unit": "U01", "to": "B01"})
    with pytest.raises(GridEditError, match="不同上级区划"):
        apply_edit(plan, {"op": "merge", "grids": ["A01", "B01"]})


# ------------------------------------------------------------------- checks and JSON


def test_checks_list_overlaps_gaps_and_unassigned():
    units = squares(1, 3, 150.0)
    # the third square shifted 50 m west: it overlaps the second by half
    geoms = units.geometry.to_numpy().copy()
    geoms[2] = shapely.box(X0 + 150, Y0 - 100, X0 + 250, Y0)
    parent = gpd.GeoDataFrame({"code": ["P"]}, geometry=[shapely.box(X0, Y0 - 100, X0 + 400, Y0)], crs=EPSG)
    plan = generate_grids(units.set_geometry(geoms), parent, min_households=100, max_households=200)
    found = {i.kind: i for i in check_plan(plan)}
    assert "overlap" in found
    # 400 m x 100 m parent, units cover 0-250 m: a gap of 150 m x 100 m = 15,000 m²
    assert plan.gaps_m2["P"] == pytest.approx(15_000.0)
    assert "gap" in found
    cleared = type(plan)(**{**plan.__dict__, "grid": np.array(["", *plan.grid[1:]], dtype=object)})
    assert "unassigned_unit" in kinds(cleared)


def test_plan_json_round_trip(plan):
    edited = apply_edit(plan, {"op": "set", "grid": plan.codes[0], "field": "grid_member", "value": "张三"})
    text = json.dumps(plan_to_dict(edited), allow_nan=False)
    back = plan_from_dict(json.loads(text))
    assert (back.grid == edited.grid).all()
    assert back.fields == edited.fields
    assert back.version == edited.version == 1
    assert grids_gdf(back).drop(columns="geometry").equals(grids_gdf(edited).drop(columns="geometry"))
    assert (undo(back).grid == plan.grid).all()
    with pytest.raises(InputDataError, match="版本"):
        plan_from_dict({"version": 99})
    with pytest.raises(InputDataError, match="不完整"):
        plan_from_dict({"version": 1})


# -------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo_units(demo_project):
    project = demo_project
    blocks = street_blocks(project.network.edges_gdf())
    return project, units_with_households(blocks, project.demand)


@pytest.fixture(scope="module")
def demo_plan(demo_units):
    project, units = demo_units
    return generate_grids(units, min_households=300, max_households=500, facilities=project.facilities)


def test_demo_grids(demo_units, demo_plan):
    project, units = demo_units
    plan = demo_plan
    # every household of the 59 buildings lands in a block, and every block in a grid
    assert units["households"].sum() == pytest.approx(project.demand["households"].sum())
    assert_valid_structure(plan)
    grids = grids_gdf(plan)
    assert grids["households"].sum() == pytest.approx(project.demand["households"].sum(), abs=0.5)  # rounded to 0.1
    # 2,673 households at 300-500 each: between 6 and 8 grids, every one within bounds
    assert 6 <= len(grids) <= 8
    assert ((grids["households"] >= 300) & (grids["households"] <= 500)).all()
    assert grids["code"].is_unique
    assert {"fac_food", "fac_leisure", "fac_medical", "fac_services"} <= set(grids.columns)
    assert grids[[c for c in grids.columns if c.startswith("fac_")]].to_numpy().sum() <= len(project.facilities)
    assert grids["polsby_popper"].between(0, 1).all()
    again = generate_grids(units, min_households=300, max_households=500, facilities=project.facilities)
    assert (again.grid == plan.grid).all()


def test_demo_grid_coverage(demo_units, demo_plan):
    from geo.access.coverage import accessibility
    from geo.grids.output import grid_coverage

    project, _ = demo_units
    acc = accessibility(project.network.cost_graph(project.profile), project.demand, project.facilities)
    table = grid_coverage(demo_plan, acc)
    assert sorted(table["code"]) == demo_plan.codes
    pct = table.drop(columns="code").to_numpy(float)
    assert np.nanmin(pct) >= 0 and np.nanmax(pct) <= 100


def test_adjacency_from_shared_segments_equals_the_tolerant_test():
    # Street blocks share edges vertex for vertex and are decided by their common segments;
    # planner polygons (vertices apart by up to 0.3 m) by the buffered boundary.  Both give
    # what the buffered test alone gives, on a 5 x 5 grid of blocks.
    import shapely as sh

    from geo import settings
    from geo.grids.blocks import _exactly_shared_m

    blocks = np.array([sh.box(x, y, x + 100, y + 80) for x in range(0, 500, 100) for y in range(0, 400, 80)])
    tree = sh.STRtree(blocks)
    i, j = tree.query(blocks, predicate="dwithin", distance=settings.GRID_ADJACENCY_TOLERANCE_M)
    keep = i < j
    shared = _exactly_shared_m(blocks, i[keep], j[keep])
    # 40 edge neighbours (80 m or 100 m in common), 32 corner pairs (nothing in common).
    assert sorted(set(np.round(shared, 6))) == [0.0, 80.0, 100.0]
    assert (shared > 0).sum() == 40 and (shared == 0).sum() == 32
    assert len(unit_adjacency(blocks)) == 40
    rng = np.random.default_rng(1)
    rings = sh.get_coordinates(blocks).reshape(len(blocks), 5, 2)
    rings[:, :4] += rng.uniform(-0.3, 0.3, (len(blocks), 4, 2))
    rings[:, 4] = rings[:, 0]
    jittered = sh.polygons(rings)
    assert (_exactly_shared_m(jittered, i[keep], j[keep]) == 0).all()
    assert len(unit_adjacency(jittered)) == 40


def test_is_coverage():
    # Two squares sharing an edge are a coverage; overlapping, nested, a T-junction (the
    # shared edge has a vertex on one side only), an invalid bow-tie or a line are not.
    from geo.grids.blocks import is_coverage

    a, b = shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)
    assert is_coverage(np.array([a, b]))
    assert not is_coverage(np.array([a, shapely.box(5, 5, 15, 15)]))
    assert not is_coverage(np.array([a, shapely.box(2, 2, 4, 4)]))
    assert not is_coverage(np.array([a, shapely.box(10, 0, 20, 5), shapely.box(10, 5, 20, 10)]))
    assert not is_coverage(np.array([shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), b]))
    assert not is_coverage(np.array([a, shapely.LineString([(30, 0), (40, 0)])]))
    assert not is_coverage(np.zeros(0, dtype=object))


def test_union_units_of_a_coverage_equals_the_general_union():
    # 3 x 3 squares of 100 m: 90,000 m², one polygon whichever union is used.
    from geo.grids.blocks import union_units

    geoms = squares(3, 3, 1).geometry.to_numpy()
    fast, slow = union_units(geoms, coverage=True), union_units(geoms, coverage=False)
    assert shapely.area(fast) == pytest.approx(90_000.0)
    assert shapely.equals(fast, slow)


def test_clip_lines_equals_intersection():
    # Area 100 x 100 m: a line inside is returned as it is, one crossing the east side is
    # cut at x = 100 (50 m of its 100 m left), one outside is empty.
    from geo.grids.blocks import clip_lines

    area = shapely.box(0, 0, 100, 100)
    lines = np.array(
        [
            shapely.LineString([(10, 10), (50, 60), (90, 20)]),
            shapely.LineString([(50, 50), (150, 50)]),
            shapely.LineString([(200, 0), (300, 0)]),
        ]
    )
    out = clip_lines(lines, area)
    assert shapely.equals_exact(out[0], lines[0], 0)
    assert shapely.length(out).tolist() == pytest.approx([shapely.length(lines[0]), 50.0, 0.0])
    assert shapely.equals(out, shapely.intersection(lines, area)).all()


def test_segment_reach():
    from geo.grids.blocks import segment_reach

    s = np.array([[0.0, 0.0, 10.0, 0.0]] * 4)
    t = np.array(
        [
            [4.0, 1.0, 6.0, 1.0],  # parallel, 1 m off: x in [4 - √3, 6 + √3] is within 2 m (√(2² - 1²) past each end)
            [2.0, 0.0, 3.0, 0.0],  # on s: x in [0, 5] within 2 m (clipped at the start of s)
            [5.0, 5.0, 5.0, 5.0],  # a point 5 m away: nothing within 2 m
            [-1.0, 0.0, -1.0, 0.0],  # a point 1 m before the start: x up to -1 + 2 = 1
        ]
    )
    start, end = segment_reach(s, t, 2.0)
    root3 = np.sqrt(3.0)
    assert start[:2].tolist() == pytest.approx([(4 - root3) / 10, 0.0])
    assert end[:2].tolist() == pytest.approx([(6 + root3) / 10, 0.5])
    assert start[2] > end[2]
    assert (start[3], end[3]) == pytest.approx((0.0, 0.1))


def test_adjacency_in_a_coverage_equals_the_buffer_test():
    # A fan of six 15° wedges (100 m long) around one apex is a coverage.  Wedges two apart
    # meet only at the apex: of one's boundary, the edge 15° from the other's near edge lies
    # in its 0.5 m buffer for 0.5 / sin 15° = 1.93 m, the edge 30° away for 0.5 / sin 30° =
    # 1 m; 2.93 m is above the 2 m threshold (1 m + 2 x 0.5 m), so they are neighbours.
    # Three apart: 0.5 / sin 30° + 0.5 / sin 45° = 1.71 m, not neighbours.
    # The segment arithmetic of a coverage keeps exactly the pairs the buffer test keeps.
    from geo.grids.blocks import is_coverage

    angles = np.radians(np.arange(0, 91, 15))
    rim = np.column_stack([100 * np.cos(angles), 100 * np.sin(angles)])
    fan = np.array([shapely.Polygon([(0, 0), tuple(rim[k]), tuple(rim[k + 1])]) for k in range(len(rim) - 1)])
    assert is_coverage(fan)
    fast, slow = unit_adjacency(fan, coverage=True), unit_adjacency(fan, coverage=False)
    assert fast.tolist() == slow.tolist()
    assert fast.tolist() == [[k, k + d] for k in range(6) for d in (1, 2) if k + d < 6]
    grid = squares(5, 5, 1).geometry.to_numpy()
    assert unit_adjacency(grid, coverage=True).tolist() == unit_adjacency(grid, coverage=False).tolist()
    assert len(unit_adjacency(grid, coverage=True)) == 40  # 2 x 5 x 4 edges; no corner pair


def test_grids_of_a_coverage_equal_the_general_union():
    # Squares form a coverage: the plan says so, and its grid polygons are those of the
    # general union (same areas and perimeters, so the same shape indices).
    import dataclasses

    plan = generate_grids(squares(4, 4, 100), min_households=300, max_households=500)
    assert plan.coverage and plan.overlaps.shape == (0, 2)
    fast, slow = grids_gdf(plan), grids_gdf(dataclasses.replace(plan, coverage=False))
    assert shapely.equals(fast.geometry.to_numpy(), slow.geometry.to_numpy()).all()
    assert fast.drop(columns="geometry").equals(slow.drop(columns="geometry"))
