"""Existing grids adopted as a plan's grids on its own units, and where an import's problems lie.

Six 100 m x 100 m blocks in a row (UTM 50N), 100 households each: B1-B4 in community A
(x 0-400), B5-B6 in community B (x 400-600).  Generated with 150-250 households per grid,
community A has two grids and B one.  The imported grids are cut by hand so that each
expected placement can be read off the x coordinates.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.adopt import adopt_grids, problem_places
from geo.grids.edits import apply_edit, undo
from geo.grids.imports import check_grids
from geo.grids.partition import generate_grids
from geo.grids.plan import GridEditError

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650
A, B = "350521100001", "350521100002"


def box(x0: float, x1: float, y0: float = 0.0, y1: float = 100.0) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture(scope="module")
def plan():
    units = gpd.GeoDataFrame(
        {"unit_id": [f"B{k + 1}" for k in range(6)], "households": 100.0, "residents": 250.0},
        geometry=[box(100 * k, 100 * (k + 1)) for k in range(6)],
        crs=EPSG,
    )
    parents = gpd.GeoDataFrame(
        {"code": [A, B], "name": ["甲社区", "乙社区"]}, geometry=[box(0, 400), box(400, 600)], crs=EPSG
    )
    plan = generate_grids(units, parents, min_households=150, max_households=250)
    plan = apply_edit(plan, {"op": "set", "grid": f"{A}01", "field": "grid_member", "value": "张三"})
    assert plan.codes == [f"{A}01", f"{A}02", f"{B}01"]
    return plan


def imported(*rows: tuple[str, str, shapely.Polygon]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=EPSG
    )
    return frame.to_crs(4326)  # as read from a file: WGS84, reprojected by the adoption


def test_each_block_goes_to_the_grid_it_mostly_lies_in(plan):
    # X1 [0,210]: B1, B2 whole and 10 % of B3; X2 [210,400]: 90 % of B3 and B4 -> B1 B2 | B3 B4
    grids = imported((f"{A}11", "东片", box(0, 210)), (f"{A}12", "西片", box(210, 400)))
    result = adopt_grids(plan, grids, op={"op": "import"})
    new = result.plan
    assert new.grid.tolist() == [f"{A}11", f"{A}11", f"{A}12", f"{A}12", f"{B}01", f"{B}01"]
    assert result.assigned == 4 and result.unassigned == () and result.parents == (A,)
    assert result.households == {f"{A}11": pytest.approx(200.0), f"{A}12": pytest.approx(200.0)}
    # imported names kept; community B's grid and its fields untouched; a new version with undo
    assert new.fields[f"{A}11"]["name"] == "东片" and new.fields[f"{B}01"] == plan.fields[f"{B}01"]
    assert f"{A}01" not in new.fields and new.version == plan.version + 1
    assert undo(new).grid.tolist() == plan.grid.tolist() and undo(new).fields == plan.fields
    assert [i for i in new.issues() if i.severity == "error"] == []


def test_blocks_mostly_outside_are_left_in_no_grid_and_the_share_is_a_setting(plan):
    # X1 [0,140]: B1 whole, 40 % of B2; nothing else of community A
    grids = imported((f"{A}01", "", box(0, 140)))
    half = adopt_grids(plan, grids, op={"op": "import"})
    assert half.plan.grid.tolist()[:4] == [f"{A}01", "", "", ""] and half.unassigned == ("B2", "B3", "B4")
    assert any(i.kind == "unassigned_unit" for i in half.plan.issues())
    # the code the plan had keeps its other fields (the grid worker), the file gave no name
    assert half.plan.fields[f"{A}01"]["grid_member"] == "张三"
    lenient = adopt_grids(plan, grids, op={"op": "import"}, min_share=0.4)
    assert lenient.plan.grid.tolist()[:2] == [f"{A}01", f"{A}01"] and lenient.unassigned == ("B3", "B4")


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([(f"{A}01", "", box(0, 200)), (f"{A}01", "", box(200, 400))], "重复"),
        ([("", "", box(0, 400))], "没有编码"),
        ([(f"{B}01", "", box(0, 400))], "另一社区"),  # community B keeps its grid of that code
        ([("X01", "", box(0, 400))], "不以其所在社区/村的编码 350521100001 开头"),  # not A's prefix
        ([(f"{A}13", "", box(0, 600))], "不以其所在社区/村的编码 350521100002 开头"),  # across A and B
        ([(f"{A}01", "", box(0, 400, 1_000, 1_100))], "没有一个街区"),  # far from every block
    ],
)
def test_grids_that_cannot_be_adopted_are_refused(plan, rows, words):
    with pytest.raises(GridEditError, match=words):
        adopt_grids(plan, imported(*rows), op={"op": "import"})
    with pytest.raises(GridEditError, match=r"\(0, 1\]"):
        adopt_grids(plan, imported((f"{A}01", "", box(0, 400))), op={"op": "import"}, min_share=0)


def test_problem_places_are_the_overlap_the_gap_and_the_part_outside():
    parents = gpd.GeoDataFrame({"code": [A]}, geometry=[box(0, 400)], crs=EPSG)
    # G1 [0,220] and G2 [200,380] overlap on [200,220] (2,000 m²); [380,400] is in no grid (2,000 m²);
    # G3 [380,390] x [100,150] reaches 500 m² outside the community
    grids = gpd.GeoDataFrame(
        {"code": [f"{A}01", f"{A}02", f"{A}03"], "households": [150.0, 150.0, 150.0]},
        geometry=[box(0, 220), box(200, 380), box(380, 390, 100, 150)],
        crs=EPSG,
    )
    issues = check_grids(grids, parents, min_households=100, max_households=200)
    places = problem_places(grids, issues, parents)
    area = places.assign(m2=places.area).groupby("kind")["m2"].sum()
    assert area["overlap"] == pytest.approx(2_000)
    assert area["gap"] == pytest.approx(2_000)
    assert area["outside_parent"] == pytest.approx(500)
    assert places.crs == grids.crs and (places["message"] != "").all()
    # without parents, a hole between grids is drawn where it is
    ring = gpd.GeoDataFrame(
        {"code": ["1", "2"]},
        geometry=[
            box(0, 300).difference(box(100, 200, 25, 75)),
            box(100, 200, 25, 75).difference(box(140, 160, 40, 60)),
        ],
        crs=EPSG,
    )
    holes = problem_places(ring, check_grids(ring, tolerance_m2=1.0))
    gaps = holes[holes["kind"] == "gap"]
    assert (
        len(gaps) == 1 and gaps.area.iat[0] == pytest.approx(400) and gaps.geometry.iat[0].equals(box(140, 160, 40, 60))
    )
    assert np.isfinite(holes.area).all()


# ------------------------------------------------------------------ grids drawn on Amap / Baidu


def test_a_geojson_drawn_on_amap_is_converted_to_wgs84(tmp_path):
    # docs/bad-inputs.md U8: a square in Hui'an (WGS84) written in GCJ-02 degrees, as Amap draws it,
    # comes back to the WGS84 square within 1e-6 degree (about 0.1 m); read as WGS84 it stays offset.
    from geo.grids.imports import read_grids
    from geo.io.coords import wgs84_to_gcj02

    lon = np.array([118.80, 118.81, 118.81, 118.80, 118.80])
    lat = np.array([25.03, 25.03, 25.04, 25.04, 25.03])
    glon, glat = wgs84_to_gcj02(lon, lat)
    square = shapely.Polygon(np.column_stack([lon, lat]))
    path = tmp_path / "高德网格.geojson"
    frame = gpd.GeoDataFrame(
        {"网格编码": [f"{A}01"]}, geometry=[shapely.Polygon(np.column_stack([glon, glat]))], crs=4326
    )
    path.write_text(frame.to_json(drop_id=True), encoding="utf-8")
    read = read_grids(path, system="gcj02")
    assert read.crs.to_epsg() == 4326 and read["code"].tolist() == [f"{A}01"]
    assert shapely.hausdorff_distance(read.geometry.iat[0], square) < 1e-6
    as_is = read_grids(path, system="wgs84").geometry.iat[0]
    assert shapely.hausdorff_distance(as_is, square) > 1e-3  # the offset is hundreds of metres
    # a file in metres cannot be in GCJ-02: refused, naming the choice
    metres = tmp_path / "网格.gpkg"
    gpd.GeoDataFrame({"code": [f"{A}01"]}, geometry=[square], crs=4326).to_crs(4549).to_file(metres)
    with pytest.raises(InputDataError, match="投影坐标"):
        read_grids(metres, system="gcj02")
