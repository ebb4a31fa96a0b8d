"""A person removed from the instance folder's GeoPackages, Shapefiles and Excel 97-2003 files
(issue 19: "removable on request").

Real files: GeoPackages and zipped Shapefiles written by the product's own exporters
(``geo.io.export``, GDAL), a loose Shapefile written by GDAL, an .xls written by xlwt; after
the removal each is read back by the product's own readers (``read_upload`` with its GeoPackage
trigger, ``.dbf``/``.shx`` and ``.cpg`` checks; ``read_sheet`` for the .xls) and by GDAL.  The
rest of each file is as it was; no page of the rewritten GeoPackage keeps the phone number; a
failure in any file changes no file and no database.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import xlrd
import xlwt
from shapely.geometry import Point

from geo.errors import InputDataError
from geo.io.export import write_gpkg, write_shapefile_zip
from geo.io.forget import Person, forget_in_file, stage_forget
from geo.io.sheets import read_sheet
from geo.io.uploads import read_upload
from tests.test_auth import make_app
from tests.test_forget_person import _client
from webapp.plans import Feature

PHONE = "13812345678"
OTHER_PHONE = "13900000000"
ZHANG = Person.of("张三", PHONE)
#: Three grid staff in Hui'an: the person, another 张三 (another phone) and 李四.
STAFF = gpd.GeoDataFrame(
    {
        "姓名": ["张三", "张三", "李四"],
        "电话": [PHONE, OTHER_PHONE, "13711112222"],
        "网格": ["35052110000101", "35052110000102", "35052110000103"],
    },
    geometry=[Point(118.80, 25.03), Point(118.81, 25.03), Point(118.82, 25.04)],
    crs="EPSG:4326",
)


def _staff_frame(path: Path, **kwargs) -> gpd.GeoDataFrame:
    return read_upload(path, expected="point", **kwargs)


def test_a_geopackage_loses_the_persons_rows_and_keeps_the_rest(tmp_path):
    path = tmp_path / "网格员.gpkg"
    write_gpkg({"网格员": STAFF, "说明": STAFF.drop(columns="geometry").assign(备注="名册")}, path)
    with sqlite3.connect(path) as con:
        tables_before = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    assert forget_in_file(path, ZHANG, dry_run=True) == 2 and PHONE.encode() in path.read_bytes()
    assert forget_in_file(path, ZHANG) == 2  # one row in the layer, one in the attribute table
    frame = _staff_frame(path)  # the product's own reader: triggers, tables, CRS all still fine
    assert frame[["姓名", "电话"]].values.tolist() == [["张三", OTHER_PHONE], ["李四", "13711112222"]]
    assert len(pyogrio.read_dataframe(path, layer="说明")) == 2
    assert pyogrio.read_info(path, layer="网格员")["features"] == 2
    with sqlite3.connect(path) as con:
        tables_after = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        rtree = con.execute("SELECT COUNT(*) FROM rtree_网格员_geom").fetchone()[0]
    assert tables_after == tables_before and rtree == 2  # styles, metadata and the spatial index kept in step
    assert PHONE.encode() not in path.read_bytes()  # compacted: no free page keeps the row
    assert forget_in_file(path, ZHANG) == 0


def test_a_geopackage_in_wal_mode_keeps_the_rows_still_in_its_wal(tmp_path):
    # A GeoPackage open in another program (QGIS) in WAL mode holds new rows in its -wal until a
    # checkpoint: the rewrite reads them (SQLite's backup, not a file copy), and the old -wal is not
    # left beside the new file.
    path = tmp_path / "网格员.gpkg"
    write_gpkg({"网格员": STAFF, "说明": STAFF.drop(columns="geometry").assign(备注="名册")}, path)
    other = sqlite3.connect(path)
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("PRAGMA wal_autocheckpoint = 0")
    other.execute("INSERT INTO 说明 (姓名, 电话, 网格, 备注) VALUES ('王五', '13600000000', '35052110000104', '名册')")
    other.commit()
    assert Path(f"{path}-wal").stat().st_size > 0
    try:
        assert forget_in_file(path, ZHANG) == 2
    finally:
        other.close()
    assert not Path(f"{path}-wal").exists()
    kept = pyogrio.read_dataframe(path, layer="说明")
    assert sorted(kept["姓名"]) == ["张三", "李四", "王五"] and PHONE not in set(kept["电话"])


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_zipped_shapefile_loses_the_persons_records(tmp_path, encoding):
    path = tmp_path / "网格员.zip"
    write_shapefile_zip({"网格员": STAFF}, path, encoding=encoding)
    with zipfile.ZipFile(path) as z:
        before = {i.filename: z.read(i) for i in z.infolist()}
    assert forget_in_file(path, ZHANG) == 1
    with zipfile.ZipFile(path) as z:
        after = {i.filename: z.read(i) for i in z.infolist()}
    assert sorted(after) == sorted(before)
    for name in before:  # .prj, .cpg as they were; the three parts rewritten
        assert (after[name] == before[name]) == (name[-4:].lower() not in (".shp", ".shx", ".dbf")), name
    frame = _staff_frame(path)  # .dbf records = .shx shapes, the .cpg true to the text
    assert frame[["姓名", "电话"]].values.tolist() == [["张三", OTHER_PHONE], ["李四", "13711112222"]]
    assert frame.geometry.x.round(6).tolist() == [118.81, 118.82]  # shapes stayed with their records
    assert PHONE.encode() not in b"".join(after.values())


def test_a_loose_shapefile_is_rewritten_with_its_parts(tmp_path):
    path = tmp_path / "名册" / "staff.shp"
    path.parent.mkdir()
    pyogrio.write_dataframe(STAFF, path, layer_options={"ENCODING": "GB18030"})
    assert forget_in_file(path, ZHANG) == 1
    frame = pyogrio.read_dataframe(path)  # its .cpg (GB18030) still true to the rewritten .dbf
    assert frame[["姓名", "电话"]].values.tolist() == [["张三", OTHER_PHONE], ["李四", "13711112222"]]
    assert PHONE.encode() not in path.with_suffix(".dbf").read_bytes()
    assert not list(path.parent.glob(".tmp-*"))


def _xls(path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("网格员")
    sheet.write_merge(0, 0, 0, 3, "螺城镇网格员名册")
    for c, text in enumerate(["姓名", "电话", "上岗日期", "经度"]):
        sheet.write(1, c, text)
    rows = [("张三", PHONE, dt.date(2024, 3, 1), 118.80), ("李四", "13711112222", dt.date(2023, 9, 15), 118.82)]
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, (name, phone, day, lon) in enumerate(rows, start=2):
        sheet.write(r, 0, name)
        sheet.write(r, 1, int(phone))  # typed as a number, as Excel users do
        sheet.write(r, 2, day, date)
        sheet.write(r, 3, lon)
    sheet.col(0).width = 4000
    book.add_sheet("说明").write(0, 0, "联系人 王五")
    book.save(str(path))


def test_an_xls_workbook_is_rewritten_without_the_persons_rows(tmp_path):
    path = tmp_path / "名册.xls"
    _xls(path)
    assert forget_in_file(path, ZHANG) == 1
    book = xlrd.open_workbook(str(path), formatting_info=True)
    sheet = book.sheet_by_name("网格员")
    assert sheet.merged_cells == [(0, 1, 0, 4)] and sheet.colinfo_map[0].width == 4000
    assert sheet.nrows == 3 and sheet.row_values(2)[:2] == ["李四", 13711112222.0]
    assert xlrd.xldate.xldate_as_datetime(sheet.cell_value(2, 2), book.datemode).date() == dt.date(2023, 9, 15)
    assert book.sheet_by_name("说明").cell_value(0, 0) == "联系人 王五"
    table = read_sheet(path, "名册.xls", "xls", known=("姓名", "电话"), sheet="网格员")  # the product reads it
    assert table.header[:2] == ["姓名", "电话"] and [cells[0] for _, cells in table.rows] == ["李四"]


def test_a_file_that_cannot_be_read_is_refused_and_left_alone(tmp_path):
    broken = tmp_path / "坏.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InputDataError, match="不是有效的 GeoPackage"):
        stage_forget(broken, ZHANG)
    other = tmp_path / "x.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "张三 13812345678")
    with pytest.raises(InputDataError, match="只能处理"):
        forget_in_file(other, ZHANG)  # a zip of something else: not a kind that is rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.zip", "坏.gpkg"]


def test_the_admin_reaches_every_kind_and_a_failure_changes_nothing(tmp_path):
    """Through the admin route: a study area's uploaded files (GeoPackage boundary layer with a
    contact, zipped Shapefile, XLS ledger) rewritten; one unreadable file stops the removal
    before any file or database is changed."""
    app, _ = make_app(tmp_path, [])
    instance = Path(app.instance_path)
    project = instance / "projects" / "p1-abc"
    project.mkdir(parents=True)
    write_gpkg({"网格员": STAFF}, project / "boundary.gpkg")
    write_shapefile_zip({"网格员": STAFF}, project / "staff.zip", encoding="gbk")
    _xls(project / "facilities.xls")
    with zipfile.ZipFile(project / "notes.zip", "w") as z:  # a zip of something else: listed, not rewritten
        z.writestr("会议记录.txt", f"张三 {PHONE}")
    site = Feature("candidate", "A", STAFF.geometry[0].__geo_interface__, {"联系人": f"张三 {PHONE}"})
    plan = app.extensions["linli.store"].create("方案", "", features=[site])
    broken = project / "坏.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    before = {p: p.read_bytes() for p in project.iterdir()}
    root = _client(app, "root")
    refused = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE})
    assert refused.status_code == 422 and "坏.gpkg" in refused.get_json()["error"]
    assert {p: p.read_bytes() for p in project.iterdir()} == before  # no file changed, none left behind
    assert app.extensions["linli.store"].get(plan["id"])["version"] == 1  # nor the plans

    broken.unlink()
    done = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE})
    assert done.status_code == 200, done.get_json()
    report = done.get_json()
    assert report["files"] == {
        "projects/p1-abc/boundary.gpkg": 1,
        "projects/p1-abc/facilities.xls": 1,
        "projects/p1-abc/staff.zip": 1,
    }
    assert report["not_scanned"] == ["projects/p1-abc/notes.zip"] and report["plans"] == 1
    assert not [p for p in project.iterdir() if p.name.startswith(".tmp-")]
    assert len(_staff_frame(project / "boundary.gpkg")) == 2 and len(_staff_frame(project / "staff.zip")) == 2
