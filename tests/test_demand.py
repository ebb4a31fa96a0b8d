"""Demand points: residents from OSM buildings and from a compound ledger."""

from __future__ import annotations

import json

import numpy as np
import osmium
import pyrosm
import pytest
import shapely
from pyproj import Transformer

from geo import settings
from geo.access.compounds import residents_from_compounds
from geo.access.demand import parse_levels, residents_from_buildings
from geo.errors import InputDataError
from geo.io.coords import wgs84_to_gcj02
from geo.io.sources import demo_pbf_path

TEST_PBF = pyrosm.get_data("test_pbf")


def _independent_buildings(path):
    """The residential footprints of ``path`` computed without ``geo.access.demand``.

    pyrosm builds the footprints (numpy/shapely, not libosmium's area assembler);
    geopandas picks the UTM zone and measures the areas.  Footprints cut by the
    extract's border (a way with a node missing, a relation with a member way missing
    or incomplete) are dropped, as ``geo.access.demand`` does; pyrosm would keep them with a
    truncated outline.  Returns the kept buildings (UTM) and their levels (float,
    NaN when untagged).
    """
    osm = pyrosm.OSM(str(path))
    buildings = osm.get_buildings()
    landuse = osm.get_landuse()
    complete_ways: set[int] = set()
    relation_members: dict[int, set[int]] = {}
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_way() and all(n.location.valid() for n in obj.nodes):
            complete_ways.add(obj.id)
        elif obj.is_relation():
            relation_members[obj.id] = {m.ref for m in obj.members if m.type == "w"}

    def complete(frame):
        return np.array(
            [
                i in complete_ways if t == "way" else relation_members.get(i, {-1}) <= complete_ways
                for t, i in zip(frame["osm_type"], frame["id"], strict=True)
            ],
            dtype=bool,
        )

    buildings = buildings[complete(buildings)]
    landuse = landuse[(landuse["landuse"] == "residential").to_numpy() & complete(landuse)]
    utm = buildings.estimate_utm_crs()
    b_m = buildings.to_crs(utm)
    l_m = landuse.to_crs(utm)
    inside = np.array([bool(l_m.contains(pt).any()) for pt in b_m.geometry.centroid], dtype=bool)
    keep = b_m["building"].isin(settings.RESIDENTIAL_BUILDINGS).to_numpy() | (
        (b_m["building"] == "yes").to_numpy() & inside
    )
    kept = b_m[keep]
    levels = kept["building:levels"].astype(float).to_numpy()
    return kept, levels


def _check_invariants(demand):
    assert demand.crs.to_epsg() == 4326
    assert (demand["source"] == "buildings").all()
    assert demand["building_id"].is_unique
    expected = demand["footprint_m2"] * demand["levels"] / settings.FLOOR_AREA_PER_RESIDENT_M2
    np.testing.assert_allclose(demand["residents"], expected, rtol=1e-12)
    np.testing.assert_allclose(demand["households"] * settings.PERSONS_PER_HOUSEHOLD, demand["residents"], rtol=1e-12)
    default = demand["levels_source"] == "default"
    assert (demand.loc[default, "levels"] == settings.DEFAULT_BUILDING_LEVELS).all()
    assert set(demand["levels_source"]) <= {"tag", "default"}
    assert (demand["footprint_m2"] > 0).all()
    assert demand["assumption"].iloc[0].startswith("居民数 = 建筑基底面积")
    assert "35 m²/人" in demand.attrs["assumption"] and "2.62 人/户" in demand.attrs["assumption"]


@pytest.mark.parametrize(
    ("path", "n_buildings", "residents", "households", "tagged"),
    [
        # pyrosm's Finnish test town: 1,154 building=residential ways, 10 terrace, 1 house,
        # 1 apartments; 20 residential ways are cut by the extract border (nodes
        # missing) and skipped, leaving 1,134 + 10 + 1 + 0 (the apartments way is cut)
        # = 1,145, plus 453 building=yes whose centroid lies in one of the 17 complete
        # landuse=residential areas: 1,598 buildings.  Footprints total 235,223.79 m²;
        # 10 carry building:levels=1, the rest get 3 levels; residents =
        # sum(area x levels) / 35 = 19,858.95; households = residents / 2.62 = 7,579.75.
        (TEST_PBF, 1598, 19858.953835013774, 7579.753372142661, 10),
        # Central Helsinki (the demo): 21 building=apartments and 38 building=yes in
        # residential landuse (48 ways, 11 multipolygon relations); 29 tagged with
        # building:levels (1-10).  Residents = 7,002.11, households = 2,672.56.
        (demo_pbf_path(), 59, 7002.105583412066, 2672.5593829817044, 29),
    ],
    ids=["test_pbf", "helsinki"],
)
def test_real_extracts_totals(path, n_buildings, residents, households, tagged):
    demand = residents_from_buildings(path)
    _check_invariants(demand)
    assert len(demand) == n_buildings
    assert demand["residents"].sum() == pytest.approx(residents, rel=1e-9)
    assert demand["households"].sum() == pytest.approx(households, rel=1e-9)
    assert (demand["levels_source"] == "tag").sum() == tagged

    # The same numbers from an independent computation (pyrosm footprints, geopandas
    # UTM areas, our selection rule re-implemented on pandas columns).
    kept, levels = _independent_buildings(path)
    ids = {("w" if t == "way" else "r") + str(i) for t, i in zip(kept["osm_type"], kept["id"], strict=True)}
    assert ids == set(demand["building_id"])
    assert int(np.isfinite(levels).sum()) == tagged
    levels = np.where(np.isfinite(levels), levels, settings.DEFAULT_BUILDING_LEVELS)
    independent_residents = float((kept.geometry.area.to_numpy() * levels).sum()) / 35.0
    assert independent_residents == pytest.approx(residents, rel=1e-6)
    assert independent_residents / 2.62 == pytest.approx(households, rel=1e-6)


def test_default_path_is_the_demo():
    assert len(residents_from_buildings()) == 59


def test_chosen_crs_measures_the_same_areas():
    # ETRS-TM35FIN (EPSG:3067) is also transverse Mercator in metres over Finland:
    # areas agree with UTM 35N to well within 0.1 %.
    utm = residents_from_buildings(TEST_PBF)
    tm35 = residents_from_buildings(TEST_PBF, crs=3067)
    assert tm35["residents"].sum() == pytest.approx(utm["residents"].sum(), rel=1e-3)


# --------------------------------------------------------------------- toy OSM file

# Drawn in UTM 50N (Quanzhou, Fujian) in metres around this origin.
X0, Y0 = 660_000.0, 2_760_000.0


def _toy_osm(tmp_path):
    to_lonlat = Transformer.from_crs(32650, 4326, always_xy=True)
    nodes: list[str] = []
    ways: list[str] = []

    def rect(x, y, w, h, tags):
        first = len(nodes) + 1
        for dx, dy in ((0, 0), (w, 0), (w, h), (0, h)):
            lon, lat = to_lonlat.transform(X0 + x + dx, Y0 + y + dy)
            nodes.append(f'<node id="{len(nodes) + 1}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
        refs = [*range(first, first + 4), first]
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{len(ways) + 1}" version="1">{nds}{tag_xml}</way>')

    rect(0, 0, 20, 10, {"building": "residential", "building:levels": "5"})  # w1: 200 m² x 5
    rect(100, 0, 200, 200, {"landuse": "residential"})  # w2: a compound
    rect(150, 50, 10, 10, {"building": "yes"})  # w3: yes inside the compound, 100 m² x 3
    rect(-100, -100, 10, 10, {"building": "yes"})  # w4: yes outside: not counted
    rect(400, 0, 10, 8, {"building": "house", "building:levels": "abc"})  # w5: 80 m² x 3 (default)
    rect(500, 0, 30, 30, {"building": "commercial", "building:levels": "4"})  # w6: not counted
    path = tmp_path / "toy.osm"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n" + "\n".join(nodes + ways) + "\n</osm>\n",
        encoding="utf-8",
    )
    return path


def test_toy_buildings_by_hand(tmp_path):
    demand = residents_from_buildings(_toy_osm(tmp_path)).set_index("building_id")
    _check_invariants(demand.reset_index())
    assert sorted(demand.index) == ["w1", "w3", "w5"]
    # Coordinates are stored to 1e-7 degree (about 1 cm), so areas agree to ~0.1 %.
    # w1: 20 m x 10 m = 200 m², 5 levels: 200 x 5 / 35 = 28.571 residents, / 2.62 = 10.905 households.
    assert demand.loc["w1", "footprint_m2"] == pytest.approx(200.0, rel=2e-3)
    assert demand.loc["w1", "levels"] == 5.0
    assert demand.loc["w1", "levels_source"] == "tag"
    assert demand.loc["w1", "residents"] == pytest.approx(28.571, rel=2e-3)
    assert demand.loc["w1", "households"] == pytest.approx(10.905, rel=2e-3)
    # w3: 10 m x 10 m = 100 m², default 3 levels: 300 / 35 = 8.571.
    assert demand.loc["w3", "levels_source"] == "default"
    assert demand.loc["w3", "residents"] == pytest.approx(300.0 / 35.0, rel=2e-3)
    # w5: 10 m x 8 m = 80 m², "abc" is no number -> default 3 levels: 240 / 35 = 6.857.
    assert demand.loc["w5", "levels"] == 3.0
    assert demand.loc["w5", "levels_source"] == "default"
    # Total: (1000 + 300 + 240) / 35 = 44 residents.
    assert demand["residents"].sum() == pytest.approx(44.0, rel=2e-3)
    # The point of w1 is the centre of its footprint, (10 m, 5 m) from the origin.
    to_utm = Transformer.from_crs(4326, 32650, always_xy=True)
    x, y = to_utm.transform(demand.loc["w1"].geometry.x, demand.loc["w1"].geometry.y)
    assert (x - X0, y - Y0) == pytest.approx((10.0, 5.0), abs=0.05)


def test_toy_buildings_other_parameters(tmp_path):
    demand = residents_from_buildings(
        _toy_osm(tmp_path), floor_area_per_resident_m2=40.0, default_levels=2.0, persons_per_household=3.0
    )
    # (200 x 5 + 100 x 2 + 80 x 2) / 40 = 1360 / 40 = 34 residents; / 3 = 11.33 households.
    assert demand["residents"].sum() == pytest.approx(34.0, rel=2e-3)
    assert demand["households"].sum() == pytest.approx(34.0 / 3.0, rel=2e-3)
    assert "40 m²/人" in demand["assumption"].iloc[0] and "按 2 层计" in demand["assumption"].iloc[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", (5.0, "tag")),
        ("2.5", (2.5, "tag")),
        (None, (3.0, "default")),
        ("abc", (3.0, "default")),
        ("0", (3.0, "default")),
        ("-2", (3.0, "default")),
        ("3;4", (3.0, "default")),
        ("nan", (3.0, "default")),
        ("1000", (3.0, "default")),
    ],
)
def test_parse_levels(value, expected):
    assert parse_levels(value, default_levels=3.0) == expected


def test_buildings_bad_arguments(tmp_path):
    with pytest.raises(InputDataError, match="floor_area_per_resident_m2"):
        residents_from_buildings(TEST_PBF, floor_area_per_resident_m2=0)
    with pytest.raises(InputDataError, match="不存在"):
        residents_from_buildings(tmp_path / "missing.osm.pbf")
    empty = tmp_path / "roads.osm"
    empty.write_text(
        '<?xml version="1.0"?>\n<osm version="0.6"><node id="1" version="1" lat="24.9" lon="118.6"/></osm>\n',
        encoding="utf-8",
    )
    with pytest.raises(InputDataError, match="没有建筑"):
        residents_from_buildings(empty)


# --------------------------------------------------------------------- compound ledger


def test_compounds_gbk_chinese_headers(tmp_path):
    path = tmp_path / "小区台账.csv"
    path.write_bytes(
        "名称,户数,人口,经度,纬度\n"
        "桂花园,100,,118.60,24.90\n"  # 100 households x 2.62 = 262 residents
        "东湖小区,50,120,118.61,24.91\n"  # the ledger's 120 residents override 50 x 2.62
        ",30,,118.62,24.92\n".encode("gbk")  # nameless: named after its line
    )
    demand = residents_from_compounds(path, system="wgs84")
    assert demand.crs.to_epsg() == 4326
    assert list(demand["name"]) == ["桂花园", "东湖小区", "第4行"]
    assert list(demand["line"]) == [2, 3, 4]
    assert list(demand["residents_source"]) == ["households", "ledger", "households"]
    np.testing.assert_allclose(demand["residents"], [262.0, 120.0, 78.6])
    np.testing.assert_allclose(demand["households"], [100.0, 50.0, 30.0])
    assert demand["residents"].sum() == pytest.approx(460.6)
    assert (demand["source"] == "compounds").all()
    assert "2.62 人/户" in demand["assumption"].iloc[0]
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((118.60, 24.90))


def test_compounds_english_headers_gcj02_and_residents_only(tmp_path):
    lon_w, lat_w = 118.60, 24.90
    lon_g, lat_g = wgs84_to_gcj02(lon_w, lat_w)
    path = tmp_path / "ledger.csv"
    path.write_text(
        f"name,residents,lon,lat\nA,524,{float(lon_g):.9f},{float(lat_g):.9f}\n",
        encoding="utf-8",
    )
    demand = residents_from_compounds(path, system="gcj02")
    # GCJ-02 shifts by a few hundred metres; back in WGS84 within 1e-7 degree (~1 cm).
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((lon_w, lat_w), abs=1e-7)
    # Residents only: households = 524 / 2.62 = 200.
    assert demand["households"].iloc[0] == pytest.approx(200.0)
    assert demand["residents_source"].iloc[0] == "ledger"


def test_compounds_bad_rows_are_reported_by_line_and_the_rest_loads(tmp_path):
    # Row by row: a position or count that cannot be read keeps that row out, named in the
    # report with its line, column, value and why; every other row loads.
    path = tmp_path / "ledger.csv"
    rows = [
        "甲,100,118.6,24.9",  # line 2: fine
        "乙,80,abc,24.9",  # line 3: longitude not a number
        "丙,60,118.6,24.9",  # line 4: fine
        "丁,-5,118.6,24.9",  # line 5: negative households
        "戊,,118.6,24.9",  # line 6: no count
        "己,10,118.6,95",  # line 7: latitude out of range
    ]
    path.write_text("名称,户数,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8")
    demand = residents_from_compounds(path, system="wgs84")
    assert list(demand["name"]) == ["甲", "丙"]
    assert list(demand["line"]) == [2, 4]
    report = demand.attrs["report"]
    assert report.rows_read == 6 and report.rows_loaded == 2
    assert report.rows_not_loaded == [3, 5, 6, 7]
    by_line = {i.line: i for i in report.issues}
    assert by_line[3].column == "经度" and by_line[3].value == "abc"
    assert "负数" in by_line[5].why and "户数和人口均为空" in by_line[6].why
    assert "超出经纬度范围" in by_line[7].why
    text = report.to_text()
    for line in (3, 5, 6, 7):
        assert f"第 {line} 行" in text
    assert "读入 2 行，共 6 行数据" in text
    # Nothing readable at all: a clear error carrying the report.
    path.write_text("名称,户数,经度,纬度\n乙,80,abc,24.9\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"没有可读入的数据行[\s\S]*第 2 行"):
        residents_from_compounds(path, system="wgs84")


def test_compounds_keep_their_own_columns_and_need_a_count(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(
        "名称,户数,经度,纬度,面积,所属社区,党员数,60岁以上人口,0-6岁人口\n"
        "甲,100,118.6,24.9,5000,城南社区,12,50,10\n"
        "乙,200,118.61,24.91,8000,城北社区,30,,20\n",
        encoding="utf-8",
    )
    demand = residents_from_compounds(path, system="wgs84")
    assert list(demand["面积"]) == ["5000", "8000"] and list(demand["党员数"]) == ["12", "30"]
    assert list(demand["community"]) == ["城南社区", "城北社区"]
    # 乙 left 60岁以上人口 blank: it gets the share of the rows that have it (50 / 262).
    np.testing.assert_allclose(demand["elderly"], [50.0, 524.0 * 50.0 / 262.0])
    np.testing.assert_allclose(demand["children"], [10.0, 20.0])
    assert "按台账中其余小区的比例" in demand["assumption"].iloc[0]
    path.write_text("名称,经度,纬度\n甲,118.6,24.9\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="缺少列"):
        residents_from_compounds(path, system="wgs84")


def test_compounds_bad_arguments(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("名称,户数,经度,纬度\n甲,100,118.6,24.9\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="坐标系"):
        residents_from_compounds(path, system="mercator")
    with pytest.raises(InputDataError, match="persons_per_household"):
        residents_from_compounds(path, persons_per_household=-1)
    with pytest.raises(InputDataError, match="不存在"):
        residents_from_compounds(tmp_path / "nope.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text("名称,户数,经度,纬度\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有可读入的数据行"):
        residents_from_compounds(header_only, system="wgs84")
    # Undeclared inside China with no streets to judge by: asked, not assumed WGS84.
    with pytest.raises(InputDataError, match="没有声明坐标系"):
        residents_from_compounds(path)
    assert shapely.get_coordinates(residents_from_compounds(path, system="wgs84").geometry.to_numpy()).shape == (1, 2)


# --------------------------------------------------------------------- population grid

ASC = """ncols 3
nrows 2
xllcorner 118.79
yllcorner 25.02
cellsize 0.01
NODATA_value -9999
10 0 -9999
5.5 20 100
"""


def test_grid_ascii_by_hand(tmp_path):
    from geo.access.population_grid import GRID_COLUMNS, residents_from_grid

    path = tmp_path / "人口格网.asc"
    path.write_text(ASC, encoding="ascii")
    demand = residents_from_grid(path, crs=4326)
    assert tuple(c for c in demand.columns if c != "geometry") == GRID_COLUMNS
    # Six cells: 10, 0, no-data on the top row; 5.5, 20, 100 below.  Zero and no-data
    # cells are left out: 4 points, 10 + 5.5 + 20 + 100 = 135.5 persons.
    assert len(demand) == 4
    assert demand["residents"].tolist() == [10.0, 5.5, 20.0, 100.0]
    assert demand["residents"].sum() == pytest.approx(135.5)
    assert demand.attrs["cells_zero"] == 1 and demand.attrs["cells_nodata"] == 1
    assert demand["households"].isna().all() and (demand["source"] == "grid").all()
    # Top-left cell: x = 118.79 + 0.5 x 0.01, y = 25.02 + 1.5 x 0.01 (first row is the north one).
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((118.795, 25.035))
    assert demand.geometry.iloc[3].coords[0] == pytest.approx((118.815, 25.025))
    assert demand["cell_id"].iloc[0].startswith("第 1 行第 1 列")


def test_grid_ascii_crs_from_prj_or_refused(tmp_path):
    from pyproj import CRS

    from geo.access.population_grid import residents_from_grid
    from geo.errors import CRSError

    path = tmp_path / "pop.asc"
    path.write_text(ASC, encoding="ascii")
    with pytest.raises(CRSError, match="没有坐标系信息"):
        residents_from_grid(path)
    path.with_suffix(".prj").write_text(CRS.from_epsg(4326).to_wkt(), encoding="utf-8")
    assert residents_from_grid(path)["residents"].sum() == pytest.approx(135.5)


def test_grid_ascii_gauss_kruger_cell_centres(tmp_path):
    from pyproj import Transformer

    from geo.access.population_grid import residents_from_grid

    # A 2 x 1 grid of 100 m cells in CGCS2000 / GK CM 120E (EPSG:4549) in Hui'an.
    path = tmp_path / "gk.asc"
    path.write_text("ncols 2\nnrows 1\nxllcorner 378500\nyllcorner 2770000\ncellsize 100\n7 8\n", encoding="ascii")
    demand = residents_from_grid(path, crs=4549)
    lon, lat = Transformer.from_crs(4549, 4326, always_xy=True).transform(378550.0, 2770050.0)
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((lon, lat), abs=1e-9)
    assert demand["residents"].sum() == 15.0


def test_grid_bad_files(tmp_path):
    from geo.access.population_grid import residents_from_grid
    from geo.errors import CRSError

    path = tmp_path / "pop.asc"
    path.write_text(ASC.replace("10 0", "10 -3"), encoding="ascii")
    with pytest.raises(InputDataError, match=r"第 1 行第 2 列.*负数 -3"):
        residents_from_grid(path, crs=4326)
    path.write_text(ASC.replace("5.5 20 100", "5.5 20"), encoding="ascii")
    with pytest.raises(InputDataError, match="ncols × nrows = 6"):
        residents_from_grid(path, crs=4326)
    path.write_text(ASC.replace("cellsize 0.01\n", ""), encoding="ascii")
    with pytest.raises(InputDataError, match="缺少 ESRI ASCII 格网头"):
        residents_from_grid(path, crs=4326)
    path.write_text(ASC.replace("10 0 -9999\n5.5 20 100", "0 0 -9999\n0 0 0"), encoding="ascii")
    with pytest.raises(InputDataError, match="没有人口大于 0"):
        residents_from_grid(path, crs=4326)
    path.write_text(ASC, encoding="ascii")
    with pytest.raises(CRSError, match="距研究区"):
        from geo.io.boundaries import county

        residents_from_grid(path, crs=4326, study_area=county("350524"))  # Anxi is > 50 km away
    tif = tmp_path / "worldpop.tif"
    tif.write_bytes(b"II*\x00")
    with pytest.raises(InputDataError, match="GeoTIFF"):
        residents_from_grid(tif)


def _polygon_grid(tmp_path, populations, households=None):
    # 2 x 2 cells of 0.01 degree from (118.79, 25.02).
    features = []
    for k, pop in enumerate(populations):
        x, y = 118.79 + (k % 2) * 0.01, 25.02 + (k // 2) * 0.01
        ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
        props = {"人口": pop, **({"户数": households[k]} if households else {})}
        features.append(
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        )
    path = tmp_path / "格网.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return path


def test_grid_polygon_layer_by_hand(tmp_path):
    from geo.access.population_grid import residents_from_grid

    demand = residents_from_grid(_polygon_grid(tmp_path, [100, 0, None, 50], households=[40, 0, None, 20]))
    # Cells 1 and 4 have people: 100 + 50 = 150 persons, 40 + 20 = 60 households.
    assert demand["residents"].tolist() == [100.0, 50.0]
    assert demand["households"].tolist() == [40.0, 20.0]
    assert demand["cell_id"].tolist() == ["第 1 个格网 (cell 1)", "第 4 个格网 (cell 4)"]
    # Centroid of the first cell, measured in UTM and back: its centre within 1e-6 degree.
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((118.795, 25.025), abs=1e-6)
    assert demand.attrs["cells_zero"] == 1 and demand.attrs["cells_nodata"] == 1


def test_grid_polygon_layer_bad(tmp_path):
    from geo.access.population_grid import residents_from_grid

    with pytest.raises(InputDataError, match=r"第 2 个格网.*负数"):
        residents_from_grid(_polygon_grid(tmp_path, [100, -1, 3, 4]))
    with pytest.raises(InputDataError, match=r"第 3 个格网.*不是数字"):
        residents_from_grid(_polygon_grid(tmp_path, [100, 1, "many", 4]))
    path = _polygon_grid(tmp_path, [1, 2, 3, 4])
    path.write_text(path.read_text(encoding="utf-8").replace("人口", "面积"), encoding="utf-8")
    with pytest.raises(InputDataError, match="缺少人口列"):
        residents_from_grid(path)


# --------------------------------------------------------------------- osmnx features (the online path, offline)


def _toy_osm_xml(path):
    """Four 0.0002-degree square buildings and one residential landuse area in Hui'an, plus POIs.

    w1 building=residential, 4 levels; w2 building=yes inside the landuse w5; w3
    building=yes outside it; w4 building=commercial.  POIs: a kindergarten, a pharmacy,
    a senior social facility and a bakery (no function).
    """
    nodes, ways, nid = [], [], 0

    def square(x, y, d, tags, way_id):
        nonlocal nid
        refs = []
        for dx, dy in ((0, 0), (d, 0), (d, d), (0, d)):
            nid += 1
            nodes.append(f'<node id="{nid}" version="1" lat="{y + dy:.7f}" lon="{x + dx:.7f}"/>')
            refs.append(nid)
        refs.append(refs[0])
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{way_id}" version="1">{nd}{tg}</way>')

    square(118.800, 25.030, 0.0002, {"building": "residential", "building:levels": "4"}, 1)
    square(118.801, 25.030, 0.0002, {"building": "yes"}, 2)
    square(118.802, 25.030, 0.0002, {"building": "yes"}, 3)
    square(118.803, 25.030, 0.0002, {"building": "commercial"}, 4)
    square(118.8008, 25.0298, 0.0006, {"landuse": "residential"}, 5)
    pois = [
        {"amenity": "kindergarten", "name": "幼儿园"},
        {"amenity": "pharmacy"},
        {"amenity": "social_facility", "social_facility:for": "senior"},
        {"shop": "bakery"},
    ]
    for k, tags in enumerate(pois):
        tg = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in tags.items())
        nodes.append(f'<node id="{900 + k}" version="1" lat="25.031" lon="{118.800 + 0.001 * k:.3f}">{tg}</node>')
    path.write_text(
        '<?xml version="1.0"?>\n<osm version="0.6">' + "".join(nodes) + "".join(ways) + "</osm>\n", encoding="utf-8"
    )
    return path


def test_osmnx_features_give_the_same_residents_and_facilities_as_the_file_readers(tmp_path):
    import osmnx as ox

    from geo.access.demand import BUILDING_FEATURE_TAGS, residents_from_features
    from geo.access.facilities import facilities_from_features, facility_tag_keys, osm_facilities_all

    xml = _toy_osm_xml(tmp_path / "toy.osm")
    # The online path parses what osmnx returns; features_from_xml returns the same
    # frame as features_from_polygon, from a local file.
    features = ox.features_from_xml(xml, tags=BUILDING_FEATURE_TAGS)
    online = residents_from_features(features)
    offline = residents_from_buildings(xml)
    assert sorted(online["building_id"]) == sorted(offline["building_id"]) == ["w1", "w2"]
    # Footprint of a 0.0002-degree square at 25.03N: 0.0002 x 111,320 m x cos(25.03 deg)
    # = 20.17 m by 0.0002 x 110,770 m = 22.15 m, about 447 m².  w1: 447 x 4 / 35 = 51.1
    # residents; w2 (building=yes in residential landuse, default 3 levels): 447 x 3 / 35 = 38.3.
    by_id = online.set_index("building_id")
    assert by_id.loc["w1", "footprint_m2"] == pytest.approx(447, rel=0.01)
    assert by_id.loc["w1", "residents"] == pytest.approx(447 * 4 / 35, rel=0.01)
    assert by_id.loc["w2", "residents"] == pytest.approx(447 * 3 / 35, rel=0.01)
    assert online["residents"].sum() == pytest.approx(offline["residents"].sum(), rel=1e-9)

    pois = ox.features_from_xml(xml, tags=dict.fromkeys(facility_tag_keys(), True))
    got = facilities_from_features(pois).sort_values("facility_id")
    want = osm_facilities_all(xml).sort_values("facility_id")
    assert got["facility_id"].tolist() == want["facility_id"].tolist() == ["n900", "n901", "n902"]
    assert got["function"].tolist() == want["function"].tolist() == ["childcare", "medical", "elderly"]
    assert got["type"].tolist() == want["type"].tolist()


def test_compounds_as_polygons_in_a_geojson(tmp_path):
    # Two compound polygons with 户数; residents = households x 2.62: 200 -> 524, 50 -> 131.
    ring = [[118.79, 25.02], [118.792, 25.02], [118.792, 25.022], [118.79, 25.022], [118.79, 25.02]]
    features = [
        {
            "type": "Feature",
            "properties": {"名称": "桂花园", "户数": 200},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        },
        {
            "type": "Feature",
            "properties": {"名称": None, "户数": 50},
            "geometry": {"type": "Point", "coordinates": [118.8, 25.03]},
        },
    ]
    path = tmp_path / "小区.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    demand = residents_from_compounds(path)
    assert demand["residents"].tolist() == pytest.approx([524.0, 131.0])
    assert demand["name"].tolist() == ["桂花园", "第2个要素"]
    assert demand["line"].tolist() == [1, 2]
    # A polygon stands for a point on its surface, inside it.
    assert shapely.Polygon(ring).contains(demand.geometry.iloc[0])
