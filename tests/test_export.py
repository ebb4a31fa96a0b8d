"""Data exports reopened with the tools that read them: pyogrio, openpyxl, pandas."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.errors import InputDataError
from geo.io import export

HOSTILE = '=HYPERLINK("http://x","点我")'


@pytest.fixture
def layers():
    # Two facilities and one area near Quanzhou, in UTM 50N metres.
    facilities = gpd.GeoDataFrame(
        {
            "name": ["螺城镇卫生院", HOSTILE],
            "function": ["medical", "elderly"],
            "服务人口 (人)": [1200, -5],
        },
        geometry=[shapely.Point(672_000, 2_772_000), shapely.Point(672_500, 2_772_300)],
        crs=32650,
    )
    areas = gpd.GeoDataFrame(
        {"名称": ["十五分钟生活圈"], "面积 (平方米)": [250_000.0]},
        geometry=[shapely.box(671_800, 2_771_800, 672_300, 2_772_300)],
        crs=32650,
    )
    return {"设施 facilities": facilities, "服务范围 areas": areas}


def test_geopackage_keeps_chinese_layer_names_rows_and_text(layers, tmp_path):
    path = export.write_gpkg(layers, tmp_path / "方案 导出" / "计划.gpkg")
    names = [name for name, _ in pyogrio.list_layers(path)]
    assert names == ["设施 facilities", "服务范围 areas"]
    fac = gpd.read_file(path, layer="设施 facilities", engine="pyogrio")
    assert fac.crs.to_epsg() == 4326
    assert fac["name"].tolist() == ["螺城镇卫生院", HOSTILE]  # verbatim in GIS data; only spreadsheets get '
    assert fac["服务人口 (人)"].tolist() == [1200, -5]
    # Back in metres the points are where they were (a WGS84 round trip within a millimetre).
    back = fac.to_crs(32650)
    assert back.geometry.distance(layers["设施 facilities"].geometry).max() < 1e-3
    assert len(gpd.read_file(path, layer="服务范围 areas", engine="pyogrio")) == 1


def test_geojson_is_wgs84_utf8(layers, tmp_path):
    path = export.write_geojson(layers["设施 facilities"], tmp_path / "设施.geojson")
    assert "螺城镇卫生院" in path.read_text(encoding="utf-8")
    frame = gpd.read_file(path, engine="pyogrio")
    assert frame.crs.to_epsg() == 4326 and len(frame) == 2


@pytest.mark.parametrize(("encoding", "cpg"), [("utf-8", "UTF-8"), ("gbk", "GBK")])
def test_shapefile_zip_has_a_cpg_and_chinese_survives(layers, tmp_path, encoding, cpg):
    path = export.write_shapefile_zip(
        {"facilities": layers["设施 facilities"], "areas": layers["服务范围 areas"]},
        tmp_path / "方案.zip",
        encoding=encoding,
    )
    with zipfile.ZipFile(path) as archive:
        members = set(archive.namelist())
        assert {"facilities.shp", "facilities.shx", "facilities.dbf", "facilities.prj", "facilities.cpg"} <= members
        assert archive.read("facilities.cpg").decode("ascii").strip() == cpg
        archive.extractall(tmp_path / "x")
    fac = gpd.read_file(tmp_path / "x" / "facilities.shp", engine="pyogrio")
    assert fac.crs.to_epsg() == 4326
    assert fac["name"].tolist()[0] == "螺城镇卫生院"
    for column in fac.columns:
        assert len(column.encode(cpg.lower())) <= 10
    # The full column names are listed beside the cut ones.
    fields = pd.read_csv(tmp_path / "x" / "字段说明 fields.csv", encoding="utf-8-sig")
    assert "服务人口 (人)" in fields["原名 column"].tolist()
    areas = gpd.read_file(tmp_path / "x" / "areas.shp", engine="pyogrio")
    assert areas.iloc[0, 0] == "十五分钟生活圈"


def test_shapefile_field_names_stay_unique():
    names = export._field_names(["population_2020", "population_2021", "人口数量统计"], "GBK")
    assert len(set(names.values())) == 3
    assert all(len(n.encode("gbk")) <= 10 for n in names.values())


def test_gbk_refuses_text_it_cannot_hold(layers, tmp_path):
    frame = layers["设施 facilities"].assign(name=["𠀀 rare", "ok"])  # outside GBK
    with pytest.raises(InputDataError, match="GBK"):
        export.write_shapefile_zip({"facilities": frame}, tmp_path / "a.zip", encoding="gbk")
    with pytest.raises(InputDataError, match="编码"):
        export.write_shapefile_zip({"facilities": frame}, tmp_path / "a.zip", encoding="latin-1")
    assert not (tmp_path / "a.zip").exists()


def test_shapefile_refuses_mixed_geometry(layers, tmp_path):
    mixed = pd.concat([layers["设施 facilities"], layers["服务范围 areas"]])
    with pytest.raises(InputDataError, match="几何类型"):
        export.write_shapefile_zip({"mixed": gpd.GeoDataFrame(mixed, crs=32650)}, tmp_path / "m.zip")


def test_csv_prefixes_formula_cells(layers, tmp_path):
    table = pd.DataFrame(layers["设施 facilities"].drop(columns="geometry"))
    path = export.write_csv(table, tmp_path / "设施.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM: Excel opens UTF-8
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["name"].tolist() == ["螺城镇卫生院", "'" + HOSTILE]
    assert back["服务人口 (人)"].tolist() == [1200, -5]  # numbers stay numbers


def test_xlsx_sheets_headers_and_formula_safety(layers, tmp_path):
    table = pd.DataFrame(layers["设施 facilities"].drop(columns="geometry"))
    evil_sheet = pd.DataFrame({"@SUM(A1)": ["+cmd|' /C calc'!A0", "-2+3", "普通"]})
    path = export.write_xlsx({"设施 facilities": table, "注入 test": evil_sheet}, tmp_path / "表格.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["设施 facilities", "注入 test"]
    sheet = book["设施 facilities"]
    assert [c.value for c in sheet[1]] == ["name", "function", "服务人口 (人)"]
    assert sheet["A3"].value == "'" + HOSTILE and sheet["A3"].data_type == "s"
    assert sheet["C3"].value == -5
    inj = book["注入 test"]
    assert inj["A1"].value == "'@SUM(A1)"
    assert [inj[f"A{k}"].value for k in (2, 3, 4)] == ["'+cmd|' /C calc'!A0", "'-2+3", "普通"]
    for row in inj.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "结果.csv"
    target.write_text("old", encoding="utf-8")

    def fail(tmp):
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export.atomic_write(target, fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["结果.csv"]


def test_no_layers_and_no_crs_are_clear_errors(layers, tmp_path):
    with pytest.raises(InputDataError, match="没有可导出的图层"):
        export.write_gpkg({}, tmp_path / "a.gpkg")
    bare = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)])
    with pytest.raises(InputDataError, match="没有坐标系"):
        export.write_gpkg({"点": bare}, tmp_path / "a.gpkg")
    with pytest.raises(InputDataError, match="没有可导出的表格"):
        export.write_xlsx({}, tmp_path / "a.xlsx")


def test_write_table_picks_the_format_by_suffix(tmp_path):
    table = pd.DataFrame({"名称": ["=1+1", "普通"], "人口": [3, 4]})
    csv = export.write_table(table, tmp_path / "表.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert pd.read_csv(csv, encoding="utf-8-sig")["名称"].tolist() == ["'=1+1", "普通"]
    book = export.write_table({"一": table, "二": table}, tmp_path / "表.xlsx")
    assert list(pd.read_excel(book, sheet_name=None)) == ["一", "二"]
    with pytest.raises(InputDataError, match="表格格式"):
        export.write_table(table, tmp_path / "表.ods")
    with pytest.raises(InputDataError, match="CSV 只能存一张表"):
        export.write_table({"一": table, "二": table}, tmp_path / "两张.csv")
