"""Search and go to (issue 18): the index of a project's own data, typed coordinates, the API.

Real data: the demo (central Helsinki, OpenStreetMap) and the Guixi project (real streets, a
made-up facility and compound ledger in GCJ-02); area units, which neither has, on a toy
frame of three polygons in Hui'an (UTM 50N).
"""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo.errors import InputDataError
from geo.io.coords import gcj02_to_wgs84, wgs84_to_gcj02
from geo.io.crs import WGS84
from geo.io.search import MAX_QUERY_CHARS, build_search_index, normalise, project_search_index
from geo.io.typed_coords import parse_coordinate
from geo.project import load_project
from webapp import create_app
from webapp.i18n import TEXTS

GEOD = Geod(ellps="WGS84")


def _dist_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return abs(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def demo_index(demo_project):
    return project_search_index(demo_project)


@pytest.fixture(scope="module")
def guixi():
    return load_project("guixi")


@pytest.fixture(scope="module")
def guixi_index(guixi):
    return project_search_index(guixi)


# --------------------------------------------------------------------------- names


def test_normalise_folds_width_and_case():
    assert normalise("ＰÄÄＰＯＳＴＩ") == "pääposti"
    assert normalise(" 雄石 花园１期 ") == "雄石花园1期"


def test_a_real_facility_is_found_at_its_place(demo_project, demo_index):
    answer = demo_index.search("Pääposti")
    assert answer.coordinate is None
    first = answer.results[0]
    assert (first.kind, first.name) == ("facility", "Pääposti")
    assert first.label_zh == "设施 · 事有所办 · 邮政营业场所"
    assert first.label_en == "Facility · services · post office"
    assert first.bounds is None
    # The point is the facility's own location, in WGS84.
    row = demo_project.facilities[demo_project.facilities["name"] == "Pääposti"].to_crs(WGS84).iloc[0]
    assert _dist_m(first.lon, first.lat, row.geometry.x, row.geometry.y) < 0.01
    # Any case and full-width letters find it too.
    assert demo_index.search("ＰＡＡＰＯＳＴＩ".replace("Ａ", "Ä")).results[0].name == "Pääposti"
    assert demo_index.search("pääPOSTI").results[0].name == "Pääposti"


def test_exact_then_prefix_then_substring(demo_index):
    names = [p.name for p in demo_index.search("Bulevardi").results]
    # The street of that name (exact), a clinic whose name starts with it, a pharmacy containing it.
    assert names[:3] == ["Bulevardi", "Bulevardin Klinikka", "Apteekki Bulevardia"]
    street = demo_index.search("Bulevardi").results[0]
    assert street.kind == "street" and street.label_zh == "道路"
    west, south, east, north = street.bounds
    assert west <= street.lon <= east and south <= street.lat <= north


def test_facilities_by_what_they_are_rank_after_names(demo_index):
    results = demo_index.search("社区卫生服务站").results
    assert results and all(p.kind == "facility" and "社区卫生服务站" in p.label_zh for p in results)
    # By function too: every result of 病有所医 serves it.
    assert all("病有所医" in p.label_zh for p in demo_index.search("病有所医").results)


def test_limit_caps_the_results(demo_index):
    assert len(demo_index.search("a").results) == 20  # the default limit; the demo has more
    assert len(demo_index.search("a", limit=3).results) == 3
    with pytest.raises(InputDataError, match="limit"):
        demo_index.search("a", limit=0)


def test_nothing_found_is_an_empty_answer(demo_index):
    for query in ("不存在的地方", "abc-xyz-123", "nan, 5", "1e5, 3", "118°57'E", "25°99'N 118°E", "<script>"):
        answer = demo_index.search(query)
        assert answer.results == [] and answer.coordinate is None, query


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "为空|empty"), ("   ", "empty"), ("x" * (MAX_QUERY_CHARS + 1), "过长")],
)
def test_bad_queries_are_refused(demo_index, query, message):
    with pytest.raises(InputDataError, match=message):
        demo_index.search(query)


def test_guixi_ledger_compounds_communities_and_facilities(guixi, guixi_index):
    compound = guixi_index.search("雄石花园1期").results[0]
    assert (compound.kind, compound.name) == ("compound", "雄石花园1期")
    assert compound.label_zh == "小区 · 雄石社区"
    # The community a ledger names: a box around its compounds and facilities.
    community = guixi_index.search("雄石社区").results[0]
    assert (community.kind, community.name) == ("community", "雄石社区")
    members = guixi.demand[guixi.demand["community"] == "雄石社区"].to_crs(WGS84)
    west, south, east, north = community.bounds
    assert all(west <= p.x <= east and south <= p.y <= north for p in members.geometry)
    # A neighbourhood centre is one ledger row per function; it is one place with all six.
    centres = [p for p in guixi_index.search("雄石邻里中心").results if p.name == "雄石邻里中心"]
    assert len(centres) == 1
    assert centres[0].label_zh.count("有所") == 6
    # Ranked: the community (exact prefix "雄石", an area) before the facilities.
    assert guixi_index.search("雄石").results[0].kind == "community"


# --------------------------------------------------------------------------- area units


def _square(x: float, y: float, size_m: float) -> shapely.Polygon:
    return shapely.box(x, y, x + size_m, y + size_m)


@pytest.fixture(scope="module")
def unit_index():
    # Three nested units in Hui'an, UTM 50N metres (a town, a community in it, a grid in that).
    x0, y0 = 675_000.0, 2_770_000.0
    units = {
        "town": gpd.GeoDataFrame(
            {"code": ["350521100"], "name": ["螺城镇"]}, geometry=[_square(x0, y0, 4000)], crs=32650
        ),
        "community": gpd.GeoDataFrame(
            {"code": ["350521100001"], "name": ["东门社区"]}, geometry=[_square(x0, y0, 1000)], crs=32650
        ),
        "grid": gpd.GeoDataFrame(
            {"code": ["350521100001001"], "name": ["东门社区第一网格"]},
            geometry=[_square(x0, y0, 300)],
            crs=32650,
        ),
    }
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=32650)
    return build_search_index(facilities=empty, demand=empty, units=units), units


def test_units_by_code_exact_and_prefix(unit_index):
    index, units = unit_index
    first = index.search("350521100001").results
    assert first[0].kind == "community" and first[0].code == "350521100001"  # exact before prefix
    assert [p.kind for p in first] == ["community", "grid"]
    assert first[0].label_zh == "社区 · 350521100001" and first[0].label_en == "Community · 350521100001"
    # The prefix of the county finds all three; a piece from the middle of a code finds none.
    assert {p.kind for p in index.search("350521").results} == {"town", "community", "grid"}
    assert index.search("100001").results == []
    # An area's bounds are its polygon's box in WGS84.
    expected = units["community"].to_crs(WGS84).total_bounds
    assert first[0].bounds == pytest.approx(tuple(expected), abs=1e-9)


def test_a_unit_without_a_name_goes_by_its_code_alone():
    grid = gpd.GeoDataFrame(
        {"code": ["350521100001001"], "name": [""]}, geometry=[_square(675_000.0, 2_770_000.0, 300)], crs=32650
    )
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=32650)
    for name in ("", "350521100001001"):  # no name, or the code standing in (geo.access.units.read_units)
        index = build_search_index(facilities=empty, demand=empty, units={"grid": grid.assign(name=[name])})
        assert [p.name for p in index.search("3505211").results] == ["350521100001001"]
        assert index.search("001001").results == []


def test_units_by_name(unit_index):
    index, _ = unit_index
    results = index.search("东门").results
    assert [p.kind for p in results] == ["community", "grid"]
    assert results[1].label_zh == "网格 · 350521100001001"
    assert index.search("螺城镇").results[0].kind == "town"


def test_a_frame_without_crs_is_refused():
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(1, 1)])
    with pytest.raises(InputDataError, match="坐标参考系"):
        build_search_index(facilities=frame, demand=frame)


# --------------------------------------------------------------------------- coordinates


def test_coordinate_either_order_in_the_study_area(demo_index):
    for query in ("24.94, 60.17", "60.17 24.94", "６０．１７，２４．９４", "60.17;24.94", "24.94/60.17"):
        c = demo_index.search(query).coordinate
        assert (c.lon, c.lat) == pytest.approx((24.94, 60.17)), query
        assert c.inside, query
    assert demo_index.search("60.17 24.94").coordinate.swapped
    assert not demo_index.search("24.94, 60.17").coordinate.swapped


def test_coordinate_order_by_range_and_china():
    # A value beyond 90 can only be the longitude; both under 90: the order that lies in China.
    c = parse_coordinate("25.03，118.95")
    assert (c.lon, c.lat, c.swapped) == (118.95, 25.03, True)
    c = parse_coordinate("45, 88")
    assert (c.lon, c.lat, c.swapped) == (88.0, 45.0, True)  # Xinjiang, not the Arctic Ocean
    c = parse_coordinate("10, 20")  # neither order in China: as typed, longitude first
    assert (c.lon, c.lat, c.swapped) == (10.0, 20.0, False)


def test_degrees_minutes_seconds():
    c = parse_coordinate("118°57'00\"E 25°01'48\"N")
    # 57' = 0.95°, 1'48" = 0.03°.
    assert (c.lon, c.lat) == pytest.approx((118.95, 25.03), abs=1e-12)
    c = parse_coordinate("北纬25°01′48″ 东经118°57′")
    assert (c.lon, c.lat) == pytest.approx((118.95, 25.03), abs=1e-12)
    c = parse_coordinate("S33°52' W151°12'")
    assert (c.lon, c.lat) == pytest.approx((-151.2, -33.0 - 52 / 60), abs=1e-12)


def test_outside_the_study_area_is_returned_but_flagged(demo_index):
    c = demo_index.search("118°57'00\"E 25°01'48\"N").coordinate
    assert (c.lon, c.lat) == pytest.approx((118.95, 25.03))
    assert not c.inside
    assert "研究区之外" in c.to_dict()["note"] and "outside the study area" in c.to_dict()["note"]
    assert demo_index.search("24.94, 60.17").coordinate.to_dict()["note"] == ""


def test_gcj02_coordinate_comes_back_at_its_wgs84_point(guixi, guixi_index):
    # A compound's true (WGS84) location, as Amap would show it (GCJ-02), typed back in.
    point = guixi.demand.to_crs(WGS84).geometry.iloc[0]
    gcj_lon, gcj_lat = (float(v) for v in wgs84_to_gcj02(point.x, point.y))
    query = f"{gcj_lon:.7f}, {gcj_lat:.7f}"
    c = guixi_index.search(query, system="gcj02").coordinate
    assert c.inside and c.system == "gcj02"
    assert (c.typed_lon, c.typed_lat) == pytest.approx((gcj_lon, gcj_lat))
    own = [float(v) for v in gcj02_to_wgs84(float(f"{gcj_lon:.7f}"), float(f"{gcj_lat:.7f}"))]
    assert _dist_m(c.lon, c.lat, *own) < 1.0  # the module's own conversion
    assert _dist_m(c.lon, c.lat, point.x, point.y) < 1.0  # the true place
    # Read as WGS84 the same numbers land the GCJ-02 offset away (hundreds of metres here).
    plain = guixi_index.search(query).coordinate
    assert _dist_m(plain.lon, plain.lat, point.x, point.y) > 100
    # Latitude first, as some tools copy it: the same point.
    swapped = guixi_index.search(f"{gcj_lat:.7f}，{gcj_lon:.7f}", system="gcj02").coordinate
    assert swapped.swapped and _dist_m(swapped.lon, swapped.lat, c.lon, c.lat) < 0.01


@pytest.mark.parametrize("query", ["200, 100", "91, 181", "-95 200", "118°57'E 95°N"])
def test_numbers_that_are_no_coordinate_are_an_error(query):
    with pytest.raises(InputDataError, match="超出范围"):
        parse_coordinate(query)


def test_unknown_system_is_refused(demo_index):
    with pytest.raises(InputDataError, match=r"bd09.*wgs84, gcj02"):
        demo_index.search("24.94, 60.17", system="bd09")


# --------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})
    return app.test_client()


def test_api_finds_a_facility(client):
    response = client.get("/api/search", query_string={"q": "Pääposti"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["coordinate"] is None
    first = body["results"][0]
    assert first["name"] == "Pääposti" and first["kind"] == "facility"
    assert first["label"] == "设施 · 事有所办 · 邮政营业场所"
    assert first["bounds"] is None and isinstance(first["lon"], float)


def test_api_reads_a_coordinate(client):
    body = client.get("/api/search", query_string={"q": "60.17，24.94", "system": "gcj02"}).get_json()
    # Helsinki is outside China: GCJ-02 leaves it where it is.
    assert body["results"] == []
    assert body["coordinate"]["lon"] == pytest.approx(24.94) and body["coordinate"]["lat"] == pytest.approx(60.17)
    assert body["coordinate"]["inside"] is True and body["coordinate"]["swapped"] is True
    outside = client.get("/api/search", query_string={"q": "118.95, 25.03"}).get_json()["coordinate"]
    assert outside["inside"] is False and "研究区之外" in outside["note"]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "请输入"),
        ({"q": "   "}, 400, "请输入"),
        ({"q": "x" * 101}, 400, "过长"),
        ({"q": "Pääposti", "system": "bd09"}, 400, "坐标系"),
        ({"q": "200, 100"}, 422, "超出范围"),
    ],
)
def test_api_bad_requests(client, params, status, message):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert message in error
    assert re.search(r"\([A-Za-z][^)]*\)", error)  # the English beside the Chinese


def test_api_does_not_echo_markup(client):
    response = client.get("/api/search", query_string={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert response.get_json() == {"results": [], "coordinate": None}


def test_search_texts_are_in_both_languages():
    # Every t.search_* key the page uses exists in Chinese and English.
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "webapp"
    used = set(re.findall(r"\bt\.(search_\w+)", (root / "static" / "app.js").read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bt\.(search_\w+)", (root / "templates" / "map.html").read_text(encoding="utf-8")))
    assert used and used <= set(TEXTS)
    assert all(TEXTS[key]["zh"] and TEXTS[key]["en"] for key in used)
    assert not any(re.search(r"[\u4e00-\u9fff]", TEXTS[key]["en"]) for key in used)


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["60.17", "24.94", "-0", "181", "-91", "90", "1e5", "１２０．５"]),
)
QUERY = st.one_of(
    st.text(max_size=120),
    st.tuples(NUMBER_TEXT, st.sampled_from([",", "，", " ", ";", "/", "、", ", ,"]), NUMBER_TEXT).map("".join),
    st.tuples(
        NUMBER_TEXT, st.sampled_from(["°N ", "°E ", "度", "°59'N ", "'", "″E "]), NUMBER_TEXT, st.text(max_size=3)
    ).map("".join),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERY, system=st.sampled_from(["wgs84", "gcj02", "bd09", ""]))
def test_api_any_query_is_answered_without_5xx(client, query, system):
    response = client.get("/api/search", query_string={"q": query, "system": system})
    assert response.status_code in (200, 400, 422), (query, response.get_data(as_text=True))
    body = response.get_json()
    if response.status_code == 200:
        assert len(body["results"]) <= 20
        c = body["coordinate"]
        assert c is None or (-180 <= c["lon"] <= 180 and -90 <= c["lat"] <= 90)
    else:
        assert body["error"] and "Traceback" not in body["error"]
