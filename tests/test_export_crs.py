"""Exports in CGCS2000 (EPSG:4490 and its 3-degree Gauss-Kruger zone) as well as WGS84 (issue 21).

Real data: the county boundaries of Quanzhou (data/boundaries) and the demo extract. The
zones expected are those of /work/shared/DATA.md: Hui'an (118.6-119.1E) is in the zone of
central meridian 120E, EPSG:4549 without the zone prefix and 4528 with it; Anxi (117.6-118.4E)
in the 117E zone, EPSG:4548 / 4527.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.errors import CRSError, InputDataError
from geo.io.boundaries import county
from geo.io.crs import CGCS2000_ASSUMPTION_ZH, EXPORT_CRS_CHOICES, export_crs, gk3_zone, parse_export_crs
from geo.io.export import coordinate_columns, export_crs_for, write_geojson, write_gpkg, write_shapefile_zip

# Hui'an's centroid as a point: every zone choice is made from the area's centroid.
HUIAN = county("350521")
ANXI = county("350524")


def _at(geom: shapely.Geometry) -> dict:
    c = geom.centroid
    return {"lon": [c.x], "lat": [c.y]}


def _huian_layers() -> dict[str, gpd.GeoDataFrame]:
    c = HUIAN.representative_point()
    return {
        "边界": gpd.GeoDataFrame({"name": ["惠安县"]}, geometry=[HUIAN], crs=4326),
        "设施": gpd.GeoDataFrame({"name": ["螺城镇卫生院"], "function": ["medical"]}, geometry=[c], crs=4326),
    }


@pytest.mark.parametrize(
    ("area", "choice", "epsg", "zone"),
    [
        (HUIAN, "cgcs2000_gk", 4549, 40),
        (HUIAN, "cgcs2000_gk_zone", 4528, 40),
        (ANXI, "cgcs2000_gk", 4548, 39),
        (ANXI, "cgcs2000_gk_zone", 4527, 39),
        (HUIAN, "cgcs2000", 4490, None),
        (HUIAN, "wgs84", 4326, None),
        (HUIAN, None, 4326, None),  # the default
        (HUIAN, "EPSG:4549", 4549, 40),
        (ANXI, "4527", 4527, 39),
    ],
)
def test_the_zone_is_chosen_from_the_area_centroid(area, choice, epsg, zone):
    crs = export_crs(choice, **_at(area))
    assert crs.epsg == epsg and crs.zone == zone
    assert f"EPSG:{epsg}" in crs.note_zh
    assert (CGCS2000_ASSUMPTION_ZH in crs.note_zh) == (epsg != 4326)  # the assumption is stated


def test_zone_numbers_at_the_edges():
    # Zone n spans 3n-1.5 .. 3n+1.5 degrees E (round half up at the edge).
    assert gk3_zone(118.49) == 39 and gk3_zone(118.5) == 40 and gk3_zone(121.49) == 40
    with pytest.raises(CRSError, match="3 度带"):
        gk3_zone(24.94)  # Helsinki


def test_the_prefix_convention_is_stated():
    plain = export_crs("cgcs2000_gk", **_at(HUIAN))
    prefixed = export_crs("cgcs2000_gk_zone", **_at(HUIAN))
    assert "不含带号" in plain.note_zh and "500000" in plain.note_zh and "120°E" in plain.note_zh
    assert "含带号 40" in prefixed.note_zh and "40500000" in prefixed.note_zh
    # At the central meridian the easting is the false easting: 500 000 m, or 40 500 000 m with the zone.
    point = gpd.GeoDataFrame(geometry=[shapely.Point(120.0, 25.0)], crs=4326)
    assert coordinate_columns(point, plain).iloc[0, 0] == pytest.approx(500_000.0, abs=0.01)
    assert coordinate_columns(point, prefixed).iloc[0, 0] == pytest.approx(40_500_000.0, abs=0.01)


@pytest.mark.parametrize("choice", ["utm", "EPSG:32650", "4555", "gcj02", "1e9", "４５４９", "x" * 500])
def test_an_unknown_choice_is_refused_with_the_choices(choice):
    with pytest.raises(CRSError, match=r"导出坐标系 .* 无效，可选: wgs84, cgcs2000"):
        parse_export_crs(choice)
    with pytest.raises(CRSError, match="unknown export CRS"):
        export_crs(choice, **_at(HUIAN))


def test_a_zone_not_of_the_area_is_refused_naming_the_right_one():
    with pytest.raises(CRSError, match="应为 EPSG:4549"):
        export_crs("EPSG:4548", **_at(HUIAN))
    with pytest.raises(CRSError, match="3 度带"):
        export_crs("cgcs2000_gk", lon=[24.94], lat=[60.17])  # the Helsinki demo: outside China's zones
    with pytest.raises(InputDataError, match="没有坐标"):
        export_crs_for("cgcs2000_gk", gpd.GeoDataFrame(geometry=[], crs=4326))


def test_geopackage_in_a_gauss_kruger_zone_names_it_and_round_trips(tmp_path):
    layers = _huian_layers()
    crs = export_crs_for("cgcs2000_gk", *layers.values())
    path = write_gpkg(layers, tmp_path / "惠安 导出.gpkg", crs=crs)
    with sqlite3.connect(path) as db:
        contents = dict(db.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))
        notes = dict(db.execute("SELECT table_name, description FROM gpkg_contents WHERE data_type = 'features'"))
        srs_name = db.execute("SELECT srs_name FROM gpkg_spatial_ref_sys WHERE srs_id = 4549").fetchone()[0]
    assert contents == {"边界": 4549, "设施": 4549}
    assert all("EPSG:4549" in n and "视为相同" in n for n in notes.values())
    assert "Gauss-Kruger CM 120E" in srs_name
    back = gpd.read_file(path, layer="边界")
    assert back.crs.to_epsg() == 4549
    # Metres in the zone: Hui'an's area is the same as in UTM 50N (DATA.md: 793 km²) within 0.1 %.
    utm_km2 = gpd.GeoSeries([HUIAN], crs=4326).to_crs(32650).area[0] / 1e6
    assert back.area.iloc[0] / 1e6 == pytest.approx(utm_km2, rel=1e-3)
    # Relabelled, not shifted: back in CGCS2000 degrees the coordinates are the WGS84 ones written.
    fac = gpd.read_file(path, layer="设施").to_crs(4490)
    assert shapely.get_coordinates(fac.geometry)[0] == pytest.approx(
        shapely.get_coordinates(layers["设施"].geometry)[0], abs=1e-8
    )
    ring = shapely.get_coordinates(back.to_crs(4490).geometry)
    assert ring == pytest.approx(shapely.get_coordinates(HUIAN), abs=1e-8)


def test_cgcs2000_geographic_keeps_the_numbers(tmp_path):
    layers = _huian_layers()
    crs = export_crs_for("cgcs2000", *layers.values())
    path = write_gpkg(layers, tmp_path / "a.gpkg", crs=crs)
    fac = pyogrio.read_dataframe(path, layer="设施")
    assert fac.crs.to_epsg() == 4490
    assert fac.geometry.iloc[0].equals_exact(layers["设施"].geometry.iloc[0], 1e-12)


def test_geojson_in_cgcs2000_names_it_and_refuses_a_zone(tmp_path):
    layers = _huian_layers()
    crs = export_crs_for("cgcs2000", *layers.values())
    text = write_geojson(layers["设施"], tmp_path / "设施.geojson", crs=crs).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4490"
    assert data["features"][0]["geometry"]["coordinates"] == pytest.approx(
        list(layers["设施"].geometry.iloc[0].coords[0]), abs=1e-12
    )
    wgs = json.loads(write_geojson(layers["设施"], tmp_path / "w.geojson").read_text(encoding="utf-8"))
    assert "crs" not in wgs  # RFC 7946 as before
    with pytest.raises(CRSError, match="GeoJSON 只能存经纬度"):
        write_geojson(layers["设施"], tmp_path / "gk.geojson", crs=export_crs_for("cgcs2000_gk", layers["设施"]))
    assert not (tmp_path / "gk.geojson").exists()


def test_csv_coordinates_are_named_by_their_system():
    layers = _huian_layers()
    gk = coordinate_columns(layers["设施"], export_crs_for("cgcs2000_gk", layers["设施"]))
    assert list(gk.columns[-2:]) == ["东坐标 Y (米, EPSG:4549)", "北坐标 X (米, EPSG:4549)"]
    # Hui'an lies west of 120E (easting below 500 km) at about 25N (northing about 2 770 km).
    assert 300_000 < gk.iloc[0, -2] < 500_000 and 2_700_000 < gk.iloc[0, -1] < 2_850_000
    geo = coordinate_columns(layers["设施"], export_crs_for("cgcs2000", layers["设施"]))
    assert list(geo.columns[-2:]) == ["经度 (CGCS2000)", "纬度 (CGCS2000)"]
    assert list(coordinate_columns(layers["设施"]).columns[-2:]) == ["经度 (WGS84)", "纬度 (WGS84)"]


def test_shapefile_zip_carries_the_prj_and_the_note(tmp_path):
    layers = {"facilities": _huian_layers()["设施"]}
    crs = export_crs_for("cgcs2000_gk_zone", *layers.values())
    path = write_shapefile_zip(layers, tmp_path / "a.zip", crs=crs)
    with zipfile.ZipFile(path) as archive:
        prj = archive.read("facilities.prj").decode()
        note = archive.read("坐标系说明 crs.txt").decode("utf-8-sig")
    assert "CGCS2000_3_Degree_GK_Zone_40" in prj and '"False_Easting",40500000' in prj.replace(".0]", "]")
    assert "EPSG:4528" in note and "含带号 40" in note and "视为相同" in note


def test_every_choice_is_listed_for_the_menu():
    assert set(EXPORT_CRS_CHOICES) == {"wgs84", "cgcs2000", "cgcs2000_gk", "cgcs2000_gk_zone"}


# ---------------------------------------------------------------- the script's --crs


def test_service_areas_script_crs(tmp_path, capsys):
    from scripts.service_areas import main

    out = tmp_path / "范围.gpkg"
    assert main(["--network", "demo", "--facilities", "demo", "--out", str(out), "-q", "--crs", "cgcs2000"]) == 0
    assert gpd.read_file(out, layer="服务范围").crs.to_epsg() == 4490
    assert "EPSG:4490" in capsys.readouterr().out
    # The demo is Helsinki: no CGCS2000 zone holds it -> exit 2, nothing written.
    bad = tmp_path / "gk.gpkg"
    assert main(["--network", "demo", "--facilities", "demo", "--out", str(bad), "-q", "--crs", "cgcs2000_gk"]) == 2
    assert "3 度带" in capsys.readouterr().err and not bad.exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["--network", "demo", "--facilities", "demo", "--out", str(bad), "-q", "--crs", "utm50"])
    assert exit_info.value.code == 2 and "导出坐标系" in capsys.readouterr().err


def test_coverage_script_crs(tmp_path, capsys):
    from scripts.coverage import main

    out = tmp_path / "覆盖"
    assert main(["--project", "demo", "--out", str(out), "--no-maps", "-q", "--crs", "4490"]) == 0
    gpkg = out / "coverage.gpkg"
    assert gpd.read_file(gpkg, layer="设施").crs.to_epsg() == 4490
    with sqlite3.connect(gpkg) as db:
        styled = {r[0] for r in db.execute("SELECT f_table_name FROM layer_styles")}
    assert styled == {"居民点", "设施", "覆盖缺口"}
    notes = pd.read_excel(out / "coverage.xlsx", sheet_name="说明")
    crs_note = notes.loc[notes["项目"] == "坐标系", "说明"].iloc[0]
    assert "EPSG:4490" in crs_note and "视为相同" in crs_note  # the export's notes name it too
    # A zone of China for Helsinki: exit 2 and the previous output untouched.
    before = gpkg.read_bytes()
    assert main(["--project", "demo", "--out", str(out), "--no-maps", "-q", "--crs", "cgcs2000_gk_zone"]) == 2
    assert "3 度带" in capsys.readouterr().err and gpkg.read_bytes() == before


# ---------------------------------------------------------------- the web app's ?crs=


@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    from webapp import create_app

    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    plan = client.post("/api/plans", json={"name": "坐标系 方案"}).get_json()
    features = [
        {"kind": "candidate", "name": "中心 A", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}},
        {"kind": "candidate", "name": "=中心 B", "geometry": {"type": "Point", "coordinates": [24.9405, 60.1685]}},
    ]
    assert client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": features}).status_code == 200
    client.plan_id = plan["id"]
    return client


def test_web_plan_geopackage_in_cgcs2000(writer, tmp_path):
    response = writer.get(f"/api/export/plans/{writer.plan_id}.gpkg?crs=cgcs2000")
    assert response.status_code == 200 and "cgcs2000" in response.headers["Content-Disposition"]
    path = tmp_path / "p.gpkg"
    path.write_bytes(response.data)
    assert gpd.read_file(path, layer="候选中心").crs.to_epsg() == 4490
    with sqlite3.connect(path) as db:
        note = db.execute("SELECT description FROM gpkg_contents WHERE table_name = '候选中心'").fetchone()[0]
    assert "EPSG:4490" in note


def test_web_plan_csv_coordinates(writer):
    response = writer.get(f"/api/export/plans/{writer.plan_id}.csv?crs=cgcs2000")
    assert response.status_code == 200
    table = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    assert list(table.columns[-2:]) == ["经度 (CGCS2000)", "纬度 (CGCS2000)"]
    assert table["名称"].tolist() == ["中心 A", "'=中心 B"]  # formula-safe
    assert table["经度 (CGCS2000)"].iloc[0] == pytest.approx(24.94)


@pytest.mark.parametrize(("query", "words"), [("crs=utm50", "导出坐标系"), ("crs=cgcs2000_gk", "3 度带")])
def test_web_unknown_or_impossible_crs_is_a_422(writer, query, words):
    for fmt in ("gpkg", "csv", "zip"):
        response = writer.get(f"/api/export/plans/{writer.plan_id}.{fmt}?{query}")
        assert response.status_code == 422
        assert words in response.get_json()["error"]


def test_grids_script_on_guixi_streets_writes_the_117e_zone(tmp_path):
    """Real Chinese streets (Guixi, Jiangxi, about 117.2E: the 117E zone, EPSG:4548 without the prefix)."""
    from scripts.grids import main

    out = tmp_path / "贵溪 网格.gpkg"
    assert main(["--project", "guixi", "--out", str(out), "-q", "--crs", "cgcs2000_gk"]) == 0
    with sqlite3.connect(out) as db:
        srs = dict(db.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))
        styled = {r[0] for r in db.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault = 1")}
    assert srs == {"网格": 4548, "统计分区": 4548, "上级区划": 4548}
    assert styled == set(srs)
    grids = gpd.read_file(out, layer="网格")
    # The same grids in metres of the zone and of UTM 50N: areas within 0.1 % (scale factor 1 at 117E).
    utm = grids.set_crs(4548, allow_override=True).to_crs(32650).area.sum()
    assert grids.area.sum() == pytest.approx(utm, rel=1e-3)
    assert grids["面积 (m²)"].sum() == pytest.approx(grids.area.sum(), rel=5e-3)
