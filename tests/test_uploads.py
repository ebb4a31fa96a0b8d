"""Tests of geo.io.uploads.read_upload against the bad inputs U1-U16 of BAD_INPUTS.md.

Every file is built in the test from a few points / a square around Quanzhou (118.6E,
24.9N), which lies in the CGCS2000 3-degree zone 40 (CM 120E: EPSG:4549 without the
zone prefix, EPSG:4528 with it).  An autouse fixture points ``tempfile`` at a private
directory and checks that read_upload left nothing in it, on success and on failure.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from geo.errors import CRSError, InputDataError
from geo.io import uploads
from geo.io.coords import to_wgs84, wgs84_to_gcj02
from geo.io.uploads import UploadTooLargeError, read_upload

LON, LAT = 118.6, 24.9
SQUARE = shapely.box(LON, LAT, LON + 0.01, LAT + 0.01)


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """All of read_upload's temporary files go here; it must be empty after each test."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert list(tmp.iterdir()) == []


def _raises(exc_type, match, tmp_path, *args, **kwargs):
    """read_upload raises ``exc_type`` matching ``match``, and the message holds no server path."""
    with pytest.raises(exc_type, match=match) as info:
        read_upload(*args, **kwargs)
    assert str(tmp_path) not in str(info.value)
    return str(info.value)


def _points(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": [f"设施{i}" for i in range(n)]},
        geometry=[shapely.Point(LON + 0.001 * i, LAT + 0.001 * i) for i in range(n)],
        crs=4326,
    )


def _shapefile_zip(
    tmp_path: Path,
    frame: gpd.GeoDataFrame,
    *,
    zip_name: str = "layer.zip",
    arc_stem: str = "layer",
    drop: tuple[str, ...] = (),
    upper: bool = False,
    encoding: str | None = None,
) -> Path:
    """Write ``frame`` as a Shapefile and zip its parts as ``arc_stem.ext`` (minus ``drop``)."""
    src = tmp_path / "shp_src"
    src.mkdir(exist_ok=True)
    pyogrio.write_dataframe(frame, src / "layer.shp", encoding=encoding)
    out = tmp_path / zip_name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(src.iterdir()):
            ext = part.suffix
            if ext in drop:
                continue
            zf.write(part, arc_stem + (ext.upper() if upper else ext))
    return out


def _geojson(tmp_path: Path, doc: dict, name: str = "data.geojson") -> Path:
    out = tmp_path / name
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


def _feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


# -- U1 size cap -------------------------------------------------------------------------


def test_file_over_max_bytes_is_too_large(tmp_path):
    path = _geojson(tmp_path, {"type": "FeatureCollection", "features": []})
    _raises(UploadTooLargeError, "超过上限", tmp_path, path, max_bytes=10)
    assert issubclass(UploadTooLargeError, InputDataError)
    assert uploads.MAX_UPLOAD_BYTES == 50 * 1024 * 1024


# -- U2 Chinese names --------------------------------------------------------------------


def test_chinese_original_name_kept_only_as_metadata(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), zip_name="tmp_upload_123")
    frame = read_upload(path, original_name="道路网络.zip")
    assert frame.attrs["original_name"] == "道路网络.zip"
    assert frame.attrs["kind"] == "shapefile"
    assert len(frame) == 3


def test_chinese_path_and_browser_fakepath(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), zip_name="道路 网络.zip")
    assert read_upload(path).attrs["original_name"] == "道路 网络.zip"
    frame = read_upload(path, original_name="C:\\fakepath\\道路网络.zip")
    assert frame.attrs["original_name"] == "道路网络.zip"


# -- U3 unsafe zip members ---------------------------------------------------------------


@pytest.mark.parametrize("member", ["../../evil.shp", "/etc/evil.shp", "C:/evil.shp", "a/../../evil.shp"])
def test_zip_with_unsafe_member_is_refused(tmp_path, member):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", "x")
        zf.writestr(member, "x")
    _raises(InputDataError, "整个压缩包已拒绝", tmp_path, path)


def test_zip_with_nul_byte_member_is_refused(tmp_path):
    path = tmp_path / "nul.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("layerQQ.shp", "x")
    path.write_bytes(path.read_bytes().replace(b"layerQQ", b"layer\x00Q"))
    _raises(InputDataError, "空字符", tmp_path, path)


def test_zip_with_symlink_member_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    info = zipfile.ZipInfo("layer.shp")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    _raises(InputDataError, "符号链接", tmp_path, path)


# -- U4 zip bombs ------------------------------------------------------------------------


def test_zip_bomb_ratio_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("layer.shp", b"\x00" * (20 * 1024 * 1024))  # deflates ~1000:1
    _raises(UploadTooLargeError, "压缩比", tmp_path, path)


def test_zip_over_unpacked_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("layer.shp", np.random.default_rng(0).bytes(2 * 1024 * 1024))
    _raises(UploadTooLargeError, "解压后", tmp_path, path)


# -- U5 incomplete or unusual Shapefile zips ---------------------------------------------


def test_shapefile_missing_shx_and_prj_names_them(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), drop=(".shx", ".prj"))
    msg = _raises(InputDataError, r"缺少 \.shx", tmp_path, path)
    assert ".prj" in msg
    assert "不会默认按 WGS84" in msg


def test_shapefile_missing_prj_is_not_assumed_wgs84(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), drop=(".prj",))
    _raises(InputDataError, r"\.prj", tmp_path, path)


def test_several_shapefiles_are_listed(tmp_path):
    path = tmp_path / "two.zip"
    src = _shapefile_zip(tmp_path, _points())
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr("roads" + info.filename[len("layer") :], data)
            zout.writestr("schools" + info.filename[len("layer") :], data)
    msg = _raises(InputDataError, "2 个 .shp", tmp_path, path)
    assert "roads.shp" in msg
    assert "schools.shp" in msg


def test_shapefile_in_folder_with_upper_case_extensions(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), arc_stem="数据/ROADS", upper=True)
    frame = read_upload(path)
    assert len(frame) == 3
    assert frame.crs.to_epsg() == 4326


# -- U6 GBK .dbf without .cpg ------------------------------------------------------------


def test_gbk_dbf_without_cpg_is_decoded(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), drop=(".cpg",), encoding="GBK")
    with zipfile.ZipFile(path) as zf:
        assert not any(n.endswith(".cpg") for n in zf.namelist())
    frame = read_upload(path)
    assert list(frame["名称"]) == ["设施0", "设施1", "设施2"]


def test_utf8_dbf_without_cpg_is_decoded(tmp_path):
    path = _shapefile_zip(tmp_path, _points(), drop=(".cpg",), encoding="UTF-8")
    assert list(read_upload(path)["名称"]) == ["设施0", "设施1", "设施2"]


# -- U7 tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "encoding"),
    [
        ("名称,经度,纬度", "utf-8-sig"),
        ("名称,经度,纬度", "gbk"),
        ("name,lon,lat", "utf-8"),
        ("name,lng,lat", "gb18030"),
    ],
)
def test_csv_encodings_and_headers(tmp_path, header, encoding):
    path = tmp_path / "设施.csv"
    path.write_bytes(f"{header}\n卫生站,{LON},{LAT}\n幼儿园,{LON + 0.01},{LAT + 0.01}\n".encode(encoding))
    frame = read_upload(path, expected="point")
    assert list(frame.iloc[:, 1]) == ["卫生站", "幼儿园"]
    assert list(frame["line"]) == [2, 3]
    assert frame.geometry.x.tolist() == pytest.approx([LON, LON + 0.01])
    assert frame.geometry.y.tolist() == pytest.approx([LAT, LAT + 0.01])


def test_csv_x_y_headers(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"X,Y\n{LON},{LAT}\n", encoding="utf-8")
    assert read_upload(path).geometry.x.iloc[0] == pytest.approx(LON)


def test_csv_swapped_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"经度,纬度\n{LAT},{LON}\n{LAT},{LON + 0.1}\n", encoding="utf-8")
    _raises(CRSError, "坐标可能颠倒", tmp_path, path)


def test_csv_bad_rows_reported_by_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"名称,经度,纬度\na,{LON},{LAT}\nb,,{LAT}\nc,abc,{LAT}\nd,{LON},{LAT}\n", encoding="utf-8")
    msg = _raises(InputDataError, "第 3 行", tmp_path, path)
    assert "第 4 行" in msg
    assert "为空" in msg
    assert "'abc'" in msg
    assert "第 2 行" not in msg


def test_csv_dms_coordinates_are_parsed(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("经度,纬度\n118°47'30\"E,24°54'N\n东118度47分30秒,北24度54分\n", encoding="utf-8")
    frame = read_upload(path)
    # 118 + 47/60 + 30/3600 = 118.791666...; 24 + 54/60 = 24.9
    assert frame.geometry.x.tolist() == pytest.approx([118.7916667] * 2)
    assert frame.geometry.y.tolist() == pytest.approx([24.9] * 2)


def test_csv_bad_dms_reported(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("经度,纬度\n118°75'E,24.9\n", encoding="utf-8")
    _raises(InputDataError, "第 2 行.*小于 60", tmp_path, path)


def test_csv_empty_and_header_only(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("经度,纬度\n", encoding="utf-8")
    _raises(InputDataError, "没有数据行", tmp_path, path)
    path.write_text("名称,地址\n甲,乙\n", encoding="utf-8")
    _raises(InputDataError, "缺少经度/纬度列", tmp_path, path)


def test_xlsx_with_chinese_headers(tmp_path):
    import pandas as pd

    path = tmp_path / "设施.xlsx"
    table = pd.DataFrame({"名称": ["卫生站", "幼儿园"], "经度": [LON, LON + 0.01], "纬度": [LAT, LAT + 0.01]})
    pyogrio.write_dataframe(table, path, driver="XLSX")
    frame = read_upload(path, expected="point")
    assert list(frame["名称"]) == ["卫生站", "幼儿园"]
    assert frame.geometry.x.tolist() == pytest.approx([LON, LON + 0.01])


def test_xlsx_bad_row_by_line(tmp_path):
    import pandas as pd

    path = tmp_path / "设施.xlsx"
    table = pd.DataFrame({"经度": [str(LON), "abc"], "纬度": [str(LAT), str(LAT)]})
    pyogrio.write_dataframe(table, path, driver="XLSX")
    _raises(InputDataError, "第 3 行", tmp_path, path)


def test_xlsx_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "x")
    _raises(InputDataError, "不是 Excel", tmp_path, path)


# -- U8 GCJ-02 / BD-09 -------------------------------------------------------------------


@pytest.mark.parametrize("system", ["gcj02", "bd09", "GCJ-02"])
def test_web_map_systems_converted_to_wgs84(tmp_path, system):
    gx, gy = wgs84_to_gcj02(LON, LAT)
    if system == "bd09":
        from geo.io.coords import gcj02_to_bd09

        gx, gy = gcj02_to_bd09(gx, gy)
    path = tmp_path / "p.csv"
    path.write_text(f"lng,lat\n{float(gx)!r},{float(gy)!r}\n", encoding="utf-8")
    frame = read_upload(path, system=system)
    # The inverse of the forward transform returns the WGS84 point to 1e-9 degree.
    assert frame.geometry.x.iloc[0] == pytest.approx(LON, abs=1e-7)
    assert frame.geometry.y.iloc[0] == pytest.approx(LAT, abs=1e-7)
    wx, wy = to_wgs84(float(gx), float(gy), system)
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx((float(wx), float(wy)))


def test_unknown_system_lists_allowed(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"lng,lat\n{LON},{LAT}\n", encoding="utf-8")
    _raises(InputDataError, "gcj02", tmp_path, path, system="amap")


# -- U9 CGCS2000 Gauss-Kruger ------------------------------------------------------------


@pytest.mark.parametrize("epsg", [4549, 4528])
def test_gauss_kruger_shapefile_round_trip(tmp_path, epsg):
    points = _points()
    path = _shapefile_zip(tmp_path, points.to_crs(epsg))
    frame = read_upload(path, study_area=SQUARE)
    # CGCS2000 and WGS84 agree at map scale; the round trip is exact to ~1e-8 degree.
    np.testing.assert_allclose(shapely.get_coordinates(frame.geometry), shapely.get_coordinates(points.geometry))
    assert frame.attrs["source_crs"] == f"EPSG:{epsg}"


def test_gauss_kruger_swapped_axes(tmp_path):
    projected = _points().to_crs(4549)
    swapped = projected.set_geometry(shapely.transform(projected.geometry.to_numpy(), lambda xy: xy[:, ::-1]))
    path = _shapefile_zip(tmp_path, swapped)
    _raises(CRSError, "适用范围.*颠倒", tmp_path, path)


def test_gauss_kruger_without_zone_prefix_labelled_4528(tmp_path):
    coords = _points().to_crs(4549)
    path = _shapefile_zip(tmp_path, coords.set_crs(4528, allow_override=True))
    _raises(CRSError, "没有带号前缀", tmp_path, path)


def test_gauss_kruger_with_zone_prefix_labelled_4549(tmp_path):
    coords = _points().to_crs(4528)
    path = _shapefile_zip(tmp_path, coords.set_crs(4549, allow_override=True))
    _raises(CRSError, "带有带号前缀", tmp_path, path)


def test_far_from_study_area(tmp_path):
    path = _shapefile_zip(tmp_path, _points())
    far_area = shapely.box(120.3, 30.2, 120.4, 30.3)  # Hangzhou, ~650 km away
    _raises(CRSError, "距研究区", tmp_path, path, study_area=far_area)


# -- U10 GeoJSON legacy crs ----------------------------------------------------------------


def test_geojson_legacy_crs_member_is_ignored(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
        "features": [_feature({"type": "Point", "coordinates": [LON, LAT]}, 名称="卫生站")],
    }
    frame = read_upload(_geojson(tmp_path, doc), expected="point")
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx((LON, LAT))
    assert frame.crs.to_epsg() == 4326


def test_geojson_projected_coordinates_refused(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": [_feature({"type": "Point", "coordinates": [460000.0, 2755000.0]})],
    }
    _raises(CRSError, "RFC 7946", tmp_path, _geojson(tmp_path, doc))


def test_geojson_swapped_lonlat(tmp_path):
    doc = {"type": "FeatureCollection", "features": [_feature({"type": "Point", "coordinates": [LAT, LON]})]}
    _raises(CRSError, "坐标可能颠倒", tmp_path, _geojson(tmp_path, doc))


# -- U11 / U12 GDAL restrictions -----------------------------------------------------------


def test_gdal_restrictions_set_at_import():
    assert "VRT" in pyogrio.get_gdal_config_option("GDAL_SKIP")
    assert "WFS" in pyogrio.get_gdal_config_option("GDAL_SKIP")


def test_vrt_named_geojson_is_refused_without_echo(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("id,password\n1,hunter2\n", encoding="utf-8")
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="secret"><SrcDataSource>{secret}</SrcDataSource>'
        f"</OGRVRTLayer></OGRVRTDataSource>"
    )
    path = tmp_path / "upload.geojson"
    path.write_text(vrt, encoding="utf-8")
    # Without the guard GDAL's driver probing would open the VRT and return the secret file.
    assert pyogrio.read_info(path)["driver"] == "OGR_VRT"
    msg = _raises(InputDataError, "不是 GeoJSON", tmp_path, path, original_name="边界.geojson")
    assert "hunter2" not in msg
    assert "secret" not in msg
    assert "边界.geojson" in msg


@pytest.mark.parametrize("name", ["wfs.geojson", "wfs.gpkg", "wfs.kml", "wfs.zip"])
def test_wfs_descriptor_is_refused(tmp_path, name):
    path = tmp_path / "upload.bin"
    path.write_text("<OGRWFSDataSource><URL>http://127.0.0.1:9/wfs</URL></OGRWFSDataSource>", encoding="utf-8")
    _raises(InputDataError, "不是", tmp_path, path, original_name=name)


def test_esrijson_named_geojson_is_refused(tmp_path):
    doc = {"geometryType": "esriGeometryPoint", "features": [{"geometry": {"x": LON, "y": LAT}, "attributes": {}}]}
    _raises(InputDataError, "扩展名不符", tmp_path, _geojson(tmp_path, doc))


# -- U13 GeoPackage ------------------------------------------------------------------------


def test_sqlite_that_is_not_a_geopackage(tmp_path):
    path = tmp_path / "evil.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("create table t (x)")
    con.close()
    _raises(InputDataError, "不是 GeoPackage", tmp_path, path)


def test_random_bytes_named_gpkg(tmp_path):
    path = tmp_path / "x.gpkg"
    path.write_bytes(b"not a database at all")
    _raises(InputDataError, "不是 GeoPackage", tmp_path, path)


def test_geopackage_with_trigger_is_refused_without_change(tmp_path):
    path = tmp_path / "边界.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["社区"]}, geometry=[SQUARE], crs=4326), path, layer="b")
    with sqlite3.connect(path) as con:
        con.execute("create table log (x)")
        con.execute("create trigger t after update on b begin insert into log values (1); end")
    con.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    _raises(InputDataError, "非标准触发器", tmp_path, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not list(tmp_path.glob("边界.gpkg-*"))


def test_geopackage_with_its_spatial_index_triggers_is_read(tmp_path):
    """GDAL's own R-tree triggers (the GeoPackage standard's) are not refused."""
    path = tmp_path / "边界.gpkg"
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"名称": ["社区"]}, geometry=[SQUARE], crs=4326), path, layer="b", SPATIAL_INDEX="YES"
    )
    with sqlite3.connect(path) as con:
        assert con.execute("select count(*) from sqlite_master where type = 'trigger'").fetchone()[0] > 0
    con.close()
    frame = read_upload(path, expected="polygon")
    assert list(frame["名称"]) == ["社区"]


def _gpkg_with_view_layer(path: Path, view_sql: str) -> None:
    """A GeoPackage whose one registered layer is a SQL view over a real table."""
    pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["社区"]}, geometry=[SQUARE], crs=4326), path, layer="b")
    with sqlite3.connect(path) as con:
        con.execute(view_sql)
        con.execute("update gpkg_contents set table_name = 'v' where table_name = 'b'")
        con.execute("update gpkg_geometry_columns set table_name = 'v' where table_name = 'b'")
    con.close()


def test_geopackage_layer_that_is_a_recursive_view_is_refused_before_gdal(tmp_path):
    """A view that counts to 10^12 would run for hours if evaluated: refused from sqlite_master."""
    path = tmp_path / "view.gpkg"
    _gpkg_with_view_layer(
        path,
        "create view v as with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000000) "
        "select b.* from b, n",
    )
    _raises(InputDataError, "SQL 视图", tmp_path, path)


def test_geopackage_layer_that_is_a_virtual_table_is_refused(tmp_path):
    path = tmp_path / "virtual.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["社区"]}, geometry=[SQUARE], crs=4326), path, layer="b")
    with sqlite3.connect(path) as con:
        con.execute("create virtual table v using rtree(id, minx, maxx)")
        con.execute("update gpkg_contents set table_name = 'v' where table_name = 'b'")
    con.close()
    _raises(InputDataError, "虚拟表", tmp_path, path)


def test_geopackage_with_two_layers_lists_them(tmp_path):
    path = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(_points(), path, layer="schools")
    pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[SQUARE], crs=4326), path, layer="area", append=False)
    _raises(InputDataError, "schools", tmp_path, path)


# -- U14 XML -------------------------------------------------------------------------------


def test_kml_with_doctype_is_refused(tmp_path):
    path = tmp_path / "a.kml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&a;</name></Placemark></kml>',
        encoding="utf-8",
    )
    _raises(InputDataError, "DOCTYPE", tmp_path, path)


def test_kml_points(tmp_path):
    path = tmp_path / "点.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><name>卫生站</name><Point><coordinates>{LON},{LAT},0</coordinates></Point></Placemark>"
        "</Document></kml>",
        encoding="utf-8",
    )
    frame = read_upload(path, expected="point")
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx((LON, LAT))
    assert not frame.has_z.any()


# -- U16 empty, zero features, wrong kind, 4-D ---------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "e.geojson"
    path.write_bytes(b"")
    _raises(InputDataError, "为空.*面", tmp_path, path, expected="polygon")


def test_zero_features(tmp_path):
    path = _geojson(tmp_path, {"type": "FeatureCollection", "features": []})
    _raises(InputDataError, "没有", tmp_path, path, expected="polygon")


def test_points_where_polygon_expected(tmp_path):
    path = _shapefile_zip(tmp_path, _points())
    _raises(InputDataError, r"第 1 个要素是 Point.*面 \(polygon\)", tmp_path, path, expected="polygon")


def test_csv_points_where_line_expected(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"lon,lat\n{LON},{LAT}\n", encoding="utf-8")
    _raises(InputDataError, "线", tmp_path, path, expected="line")


def test_four_d_coordinates_are_dropped_to_2d(tmp_path):
    line = {"type": "LineString", "coordinates": [[LON, LAT, 10.0, 1.0], [LON + 0.01, LAT, 12.0, 2.0]]}
    frame = read_upload(_geojson(tmp_path, {"type": "FeatureCollection", "features": [_feature(line)]}))
    assert not frame.has_z.any()
    assert frame.attrs["dropped_z"] is True
    assert shapely.get_coordinates(frame.geometry).tolist() == [[LON, LAT], [LON + 0.01, LAT]]


def test_null_geometry_named(tmp_path):
    doc = {"type": "FeatureCollection", "features": [_feature({"type": "Point", "coordinates": [LON, LAT]})]}
    doc["features"].append({"type": "Feature", "properties": {}, "geometry": None})
    _raises(InputDataError, "第 2 个要素没有几何", tmp_path, _geojson(tmp_path, doc))


def test_unsupported_extension_and_bad_expected(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    _raises(InputDataError, "不支持的文件类型", tmp_path, path)
    _raises(InputDataError, "polygon", tmp_path, path, expected="area")


def test_polygon_boundary_geojson(tmp_path):
    doc = {"type": "FeatureCollection", "features": [_feature(shapely.geometry.mapping(SQUARE), 名称="社区")]}
    frame = read_upload(_geojson(tmp_path, doc), expected="polygon", study_area=SQUARE)
    assert frame.geometry.iloc[0].area == pytest.approx(SQUARE.area)
    assert frame.attrs["dropped_z"] is False


def test_table_in_gauss_kruger_metres_by_epsg_code(tmp_path):
    # (378581.76, 2770027.51) in CGCS2000 / GK CM 120E (EPSG:4549) is (118.797E, 25.031N),
    # computed with pyproj; the zone-prefixed CRS (EPSG:4528) expects eastings of 40,xxx,xxx.
    path = tmp_path / "gk.csv"
    path.write_text("名称,X,Y\n卫生院,378581.763,2770027.511\n", encoding="utf-8")
    frame = read_upload(path, system="EPSG:4549")
    assert frame.attrs["source_crs"] == "EPSG:4549"
    assert frame.geometry.iloc[0].coords[0] == pytest.approx((118.797, 25.031), abs=1e-6)
    assert frame["line"].tolist() == [2]
    with pytest.raises(CRSError, match="没有带号前缀"):
        read_upload(path, system=4528)
    with pytest.raises(InputDataError, match="EPSG 代码"):
        read_upload(path, system="utm-somewhere")
