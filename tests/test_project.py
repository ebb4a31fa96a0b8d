"""Study-area projects: the bundled demo loads whole, in one metric CRS; bad files refused."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo.errors import InputDataError, NetworkUnavailableError
from geo.project import load_project


def test_demo_project_loads_every_part_in_one_crs(tmp_path):
    project = load_project("demo", cache_dir=tmp_path)
    crs = project.network.crs
    assert crs.to_epsg() == 32635
    assert project.facilities.crs == crs and project.demand.crs == crs
    # Counts from the same extract as tests/test_facilities.py and tests/test_demand.py:
    # 99 POIs with a function and 3 schools (学有所教), 59 residential buildings, 7,002 residents.
    assert len(project.facilities) == 102
    assert len(project.demand) == 59
    assert project.demand["residents"].sum() == pytest.approx(7002.11, abs=0.01)
    assert project.profile.name == "walk"
    assert project.boundary is None


def test_huian_project_needs_the_internet_or_says_so(tmp_path):
    # Real Hui'an boundary; the network is downloaded with osmnx.  Offline this must
    # stop at once with a clear message, not hang.
    try:
        project = load_project("huian", cache_dir=tmp_path)
    except NetworkUnavailableError as exc:
        assert "无网络" in str(exc)
    else:  # pragma: no cover - only with internet
        assert project.network.crs.to_epsg() == 4549
        assert project.boundary.area == pytest.approx(793e6, rel=0.01)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\n', "缺少字段"),
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "none"\ncolour = "red"\n', "未知字段"),
        ("name = [unclosed\n", "格式错误"),
        ('name = "x"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "none"\nboundary = "county:xyz"\n', "未知的县区"),
        ('name = "x"\nnetwork = "online"\nfacilities = "none"\ndemand = "none"\n', "需要边界"),
    ],
)
def test_bad_project_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError, match=match):
        load_project(path, cache_dir=tmp_path)


def test_unknown_project_name():
    with pytest.raises(InputDataError, match="demo"):
        load_project("atlantis")


# --------------------------------------------------------------------- planner's files


def _street_grid_osm(path):
    """A 3 x 3 grid of residential streets in Hui'an's county town, 0.005 degree apart."""
    nodes, ways = [], []
    ids = {}
    for i in range(3):
        for j in range(3):
            ids[i, j] = len(ids) + 1
            nodes.append(f'<node id="{ids[i, j]}" version="1" lat="{25.025 + 0.005 * i}" lon="{118.79 + 0.005 * j}"/>')
    way_id = 100
    for i in range(3):
        for line in ([ids[i, j] for j in range(3)], [ids[j, i] for j in range(3)]):
            refs = "".join(f'<nd ref="{n}"/>' for n in line)
            ways.append(f'<way id="{way_id}" version="1">{refs}<tag k="highway" v="residential"/></way>')
            way_id += 1
    path.write_text(
        '<?xml version="1.0"?>\n<osm version="0.6">' + "".join(nodes) + "".join(ways) + "</osm>\n", encoding="utf-8"
    )


def _planner_project(tmp_path, *, facilities_lonlat=(118.797, 25.031), demand="grid:人口.asc"):
    from geo.io.coords import wgs84_to_gcj02

    _street_grid_osm(tmp_path / "streets.osm")
    ring = "[[118.78,25.01],[118.82,25.01],[118.82,25.05],[118.78,25.05],[118.78,25.01]]"
    (tmp_path / "边界.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        f'"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}',
        encoding="utf-8",
    )
    lon, lat = wgs84_to_gcj02(*facilities_lonlat)  # picked in Amap
    (tmp_path / "设施台账.csv").write_bytes(
        f"名称,类别,经度,纬度\n城南幼儿园,幼儿园,{float(lon):.7f},{float(lat):.7f}\n".encode("gb18030")
    )
    (tmp_path / "人口.asc").write_text(
        "ncols 2\nnrows 1\nxllcorner 118.795\nyllcorner 25.03\ncellsize 0.005\n120 30.5\n", encoding="ascii"
    )
    (tmp_path / "小区.csv").write_text("名称,户数,经度,纬度\n桂花园,100,118.80,25.03\n", encoding="utf-8")
    path = tmp_path / "县城.toml"
    path.write_text(
        'name = "惠安县城"\nboundary = "边界.geojson"\nnetwork = "streets.osm"\n'
        'facilities = "设施台账.csv"\nfacilities_system = "gcj02"\n'
        f'demand = "{demand}"\ndemand_crs = 4326\nepsg = 4549\n',
        encoding="utf-8",
    )
    return path


def test_project_with_a_ledger_and_a_population_grid(tmp_path):
    project = load_project(_planner_project(tmp_path), cache_dir=tmp_path / "cache")
    crs = project.network.crs
    assert crs.to_epsg() == 4549
    assert project.facilities.crs == crs and project.demand.crs == crs
    assert project.facilities["function"].tolist() == ["childcare"]
    assert project.facilities["type"].tolist() == ["kindergarten"]
    # The GCJ-02 pick lands back on (118.797, 25.031) WGS84 (within 1e-6 degree, ~0.1 m).
    pt = project.facilities.to_crs(4326).geometry.iloc[0]
    assert pt.x == pytest.approx(118.797, abs=1e-6) and pt.y == pytest.approx(25.031, abs=1e-6)
    # Grid: two cells, 120 + 30.5 = 150.5 persons; households unknown.
    assert project.demand["residents"].sum() == pytest.approx(150.5)
    assert project.demand["households"].isna().all()
    # The boundary is the 0.04 x 0.04 degree square (about 4.04 km x 4.44 km there).
    assert project.boundary.area == pytest.approx(4.03e3 * 4.44e3, rel=0.02)


def test_project_with_a_compound_ledger(tmp_path):
    path = _planner_project(tmp_path, demand="小区.csv")
    # One compound is no evidence of a coordinate system: undeclared, the load stops and asks.
    with pytest.raises(InputDataError, match=r"无法判断 小区\.csv 的坐标系"):
        load_project(path, cache_dir=tmp_path / "cache")
    path.write_text(path.read_text(encoding="utf-8") + 'demand_system = "wgs84"\n', encoding="utf-8")
    project = load_project(path, cache_dir=tmp_path / "cache")
    # 100 households x 2.62 persons = 262 residents.
    assert project.demand["residents"].tolist() == pytest.approx([262.0])
    assert project.reports["demand"].system_note.startswith("坐标系按声明")
    assert any("设施台账.csv" in note for note in project.source_notes)


def test_project_refuses_a_ledger_far_from_the_boundary(tmp_path):
    from geo.errors import CRSError

    path = _planner_project(tmp_path, facilities_lonlat=(118.1, 24.6))  # Xiamen: ~80 km away
    with pytest.raises(CRSError, match="距研究区"):
        load_project(path, cache_dir=tmp_path / "cache")


# --------------------------------------------------------------------- online (Hui'an)


def test_online_facilities_and_buildings_offline_say_so_at_once():
    import time

    import osmnx as ox

    from geo.access.demand import residents_from_buildings_online
    from geo.access.facilities import osm_facilities_online
    from geo.io.boundaries import county
    from geo.io.sources import internet_reachable

    if internet_reachable(ox.settings.overpass_url):
        pytest.skip("online: this test is about the offline message")
    huian = county("350521")
    for fetch, what in ((osm_facilities_online, "设施"), (residents_from_buildings_online, "建筑")):
        start = time.monotonic()
        with pytest.raises(NetworkUnavailableError, match=f"下载{what}（无网络）"):
            fetch(huian)
        # A guard against hanging on osmnx's 180 s timeout, not a benchmark: the
        # reachability check gives up after 3 s.
        assert time.monotonic() - start < 30


@pytest.mark.online
def test_huian_online_facilities_and_buildings(tmp_path):
    project = load_project("huian", cache_dir=tmp_path)
    assert project.network.crs.to_epsg() == 4549
    assert len(project.facilities) > 0 and set(project.facilities["function"]) <= {
        "elderly",
        "childcare",
        "medical",
        "food",
        "leisure",
        "services",
    }
    assert (project.demand["residents"] > 0).all() and project.demand["residents"].sum() > 0
    # Every facility and demand point lies within 1 km of the county (centroids of edge features).
    assert project.facilities.distance(project.boundary).max() < 1000
    assert project.demand.distance(project.boundary).max() < 1000


def test_residents_are_clipped_to_the_boundary_facilities_to_its_margin(tmp_path):
    # A small square in the middle of the demo extract (central Helsinki), WGS84.
    square = shapely.box(24.935, 60.160, 24.945, 60.168)
    gpd.GeoDataFrame({"name": ["片区"]}, geometry=[square], crs=4326).to_file(tmp_path / "片区.geojson")
    (tmp_path / "p.toml").write_text(
        'name = "片区"\nboundary = "片区.geojson"\nnetwork = "demo"\nfacilities = "osm"\ndemand = "buildings"\n',
        encoding="utf-8",
    )
    whole = load_project("demo")
    part = load_project(tmp_path / "p.toml")
    assert 0 < len(part.demand) < len(whole.demand)
    assert part.demand["residents"].sum() < whole.demand["residents"].sum()
    # Every resident counted lives inside the boundary...
    assert part.demand.geometry.representative_point().within(part.boundary.buffer(1e-6)).all()
    # ...while facilities up to 2 km beyond it still serve them.
    assert (part.facilities.distance(part.boundary) <= 2000 + 1e-6).all()
    assert len(part.facilities) <= len(whole.facilities)
