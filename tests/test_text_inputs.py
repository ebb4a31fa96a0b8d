"""Text that is not text: the planners' words are printed, stored and refused as words.

Dollar signs are not mathematics in a print layout; numbers are written in ASCII digits, of a
sensible length, or refused with a message (Python itself would read "١٥" as 15 silently).
"""

from __future__ import annotations

import pypdf
import pytest

from geo.access.coverage import accessibility
from geo.access.coverage_tables import coverage_table, gap_cells, standard_check
from geo.maps import content as maps
from geo.maps import layout, report
from webapp import create_app

AUTHOR = r"$\undefinedcommand{张三}$"  # mathtext cannot parse it: the render failed
ORGANISATION = "收费 $5-$10 的 $x^2$ 局"  # mathtext would typeset it silently


@pytest.fixture(scope="module")
def demo(demo_project):
    project = demo_project
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    return project, acc


def _text(demo):
    _, acc = demo
    return maps.coverage_text(
        acc, "medical", project_name="项目 $A$", author=AUTHOR, organisation=ORGANISATION, approval_no="$1$"
    )


def _words(path) -> str:
    return pypdf.PdfReader(path).pages[0].extract_text().replace(" ", "")


def test_dollars_in_a_layout_are_printed_as_written(demo, tmp_path):
    project, acc = demo
    content = maps.coverage_content(acc, "medical", network=project.network, gaps=gap_cells(acc, "medical"))
    path = layout.render_layout(content, tmp_path / "覆盖.pdf", text=_text(demo))
    words = _words(path)
    for expected in (AUTHOR, ORGANISATION, "$1$"):
        assert expected.replace(" ", "") in words
    info = pypdf.PdfReader(path).metadata
    assert info.author == AUTHOR and "$A$" in info.subject
    png = layout.render_layout(content, tmp_path / "覆盖.png", text=_text(demo))
    assert png.stat().st_size > 10_000


def test_dollars_in_a_report_are_printed_as_written(demo, tmp_path):
    _, acc = demo
    table = coverage_table(acc)
    path = report.summary_report(table, standard_check(acc), tmp_path / "报告.pdf", text=_text(demo))
    words = _words(path)
    assert AUTHOR.replace(" ", "") in words and ORGANISATION.replace(" ", "") in words


# ------------------------------------------------------------------ numbers written in other digits


@pytest.fixture()
def client(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "instance"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


NOT_ASCII_NUMBERS = ["١٥", "１５", "𝟙𝟝", "1_5", " 15", "9" * 5000, "1" + "0" * 400, "1e999", "0x1f"]
BBOX = "24.93,60.16,24.95,60.18"


@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS, ids=range(len(NOT_ASCII_NUMBERS)))
@pytest.mark.parametrize(
    "url",
    [
        "/api/summary?budget={v}",
        "/api/view/roads?bbox=" + BBOX + "&zoom={v}",
        "/api/view/rings?bbox=" + BBOX + "&zoom=15&budget={v}",
        "/api/view/roads?bbox={v},60.16,24.95,60.18&zoom=15",
    ],
)
def test_numeric_parameters_in_other_digits_are_refused(client, url, value):
    response = client.get(url.format(v=value))
    assert response.status_code == 422
    assert "阿拉伯数字" in response.get_json()["error"] or "有限" in response.get_json()["error"]
    assert client.get(url.format(v="15" if "zoom={v}" in url or "budget={v}" in url else "24.93")).status_code == 200


@pytest.mark.parametrize("number", ["9" * 5000, "1" + "0" * 400 + ".5", "-" + "9" * 41])
def test_json_numbers_with_thousands_of_digits_are_refused(client, number):
    body = '{"name": "方案", "notes": "", "version": ' + number + "}"
    response = client.post("/api/plans", data=body, content_type="application/json")
    assert response.status_code == 422 and "error" in response.get_json()
    assert client.get("/api/plans").get_json()["plans"] == []


# ------------------------------------------------------------------ formulas in files the scripts write


def test_every_csv_in_a_shapefile_zip_is_formula_safe(tmp_path):
    import csv
    import io
    import zipfile

    import geopandas as gpd
    import shapely

    from geo.io.export import write_csv, write_shapefile_zip

    frame = gpd.GeoDataFrame(
        {'=HYPERLINK("http://x")': ["@SUM(A1)"], "+cmd": ["-2+3"]}, geometry=[shapely.Point(24.94, 60.17)], crs=4326
    )
    path = write_shapefile_zip({"sites": frame}, tmp_path / "方案.zip")
    with zipfile.ZipFile(path) as archive:
        text = archive.read("字段说明 fields.csv").decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells and "'+cmd" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    table = write_csv(frame.drop(columns="geometry"), tmp_path / "表.csv").read_text(encoding="utf-8-sig")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in csv.reader(io.StringIO(table)) for cell in row)


# ------------------------------------------------------------------ XML declarations hidden in an XLSX

LON, LAT = 118.6, 24.9
BOMB = '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x>&a;</x>'


def _workbook(tmp_path, name: str, extra: dict[str, bytes] | None = None):
    import zipfile

    import pandas as pd
    import pyogrio

    plain = tmp_path / "plain.xlsx"
    if not plain.exists():
        table = pd.DataFrame({"名称": ["卫生站"], "经度": [LON], "纬度": [LAT]})
        pyogrio.write_dataframe(table, plain, driver="XLSX")
    path = tmp_path / name
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, (extra or {}).pop(info.filename, src.read(info)))
        for member, data in (extra or {}).items():
            dst.writestr(member, data)
    return path


@pytest.mark.parametrize(
    ("member", "data"),
    [
        ("customXml/item1.bin", BOMB.format(enc="UTF-8").encode()),  # a member not named .xml
        ("xl/worksheets/sheet1.xml", BOMB.format(enc="UTF-16").encode("utf-16")),  # with a byte-order mark
        ("xl/sharedStrings.xml", BOMB.format(enc="UTF-16BE").encode("utf-16-be")),  # without one
        ("docProps/app.xml", BOMB.format(enc="UTF-32").encode("utf-32")),
        ("xl/styles.xml", BOMB.format(enc="UTF-7").encode("utf-7")),  # '<' written as '+ADw-'
    ],
    ids=["not-xml-name", "utf16-bom", "utf16be", "utf32", "utf7"],
)
def test_xlsx_members_with_a_doctype_in_any_encoding_are_refused(tmp_path, member, data):
    from geo.errors import InputDataError
    from geo.io.uploads import read_upload

    assert len(read_upload(_workbook(tmp_path, "clean.xlsx"), expected="point")) == 1
    with pytest.raises(InputDataError, match="DOCTYPE") as info:
        read_upload(_workbook(tmp_path, "设施.xlsx", {member: data}), expected="point")
    assert str(tmp_path) not in str(info.value)


# ------------------------------------------------------------------ Shapefiles whose attribute table lies

NAMES = ["卫生站", "幼儿园", "老年人日间照料中心"]


def _shapefile_zip(tmp_path, *, data_encoding: str, cpg: str | None, cut_records: int = 0, records: int | None = None):
    import zipfile

    import geopandas as gpd
    import shapely

    folder = tmp_path / f"shp-{data_encoding}-{cpg}-{cut_records}-{records}"
    folder.mkdir()
    points = [shapely.Point(LON + k * 0.001, LAT) for k in range(len(NAMES))]
    gpd.GeoDataFrame({"名称": NAMES}, geometry=points, crs=4326).to_file(
        folder / "设施.shp", encoding=data_encoding, engine="pyogrio"
    )
    (folder / "设施.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "设施.cpg").write_text(cpg)
    dbf = folder / "设施.dbf"
    raw = bytearray(dbf.read_bytes())
    record_len = int.from_bytes(raw[10:12], "little")
    if cut_records:  # a copy cut short: whole records missing at the end
        raw = raw[: len(raw) - 1 - cut_records * record_len]
    if records is not None:  # a header that counts other records than there are shapes
        raw[4:8] = records.to_bytes(4, "little")
        raw = raw[: int.from_bytes(raw[8:10], "little") + records * record_len]
    dbf.write_bytes(bytes(raw))
    path = tmp_path / f"{folder.name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    return path


@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_an_honest_or_missing_cpg_reads_the_names(tmp_path, encoding):
    from geo.io.uploads import read_upload

    for cpg in (encoding, None):
        frame = read_upload(_shapefile_zip(tmp_path, data_encoding=encoding, cpg=cpg), expected="point")
        assert list(frame["名称"]) == NAMES


@pytest.mark.parametrize(
    ("data", "cpg", "actual"), [("UTF-8", "GBK", "UTF-8"), ("GBK", "UTF-8", "GBK"), ("UTF-8", "936", "UTF-8")]
)
def test_a_cpg_that_lies_is_refused(tmp_path, data, cpg, actual):
    from geo.errors import InputDataError
    from geo.io.uploads import read_upload

    with pytest.raises(InputDataError, match=r"\.cpg") as info:
        read_upload(_shapefile_zip(tmp_path, data_encoding=data, cpg=cpg), expected="point")
    assert actual in str(info.value) and "删除" in str(info.value) and str(tmp_path) not in str(info.value)


@pytest.mark.parametrize(("cut", "records", "message"), [(1, None, "截断"), (2, None, "截断"), (0, 2, "3 个")])
def test_a_damaged_dbf_is_refused(tmp_path, cut, records, message):
    from geo.errors import InputDataError
    from geo.io.uploads import read_upload

    with pytest.raises(InputDataError, match=message):
        read_upload(_shapefile_zip(tmp_path, data_encoding="UTF-8", cpg="UTF-8", cut_records=cut, records=records))


# ------------------------------------------------------------------ candidates and names from an uploaded file


def _upload_candidates(client, features: list[dict]) -> tuple[dict, object]:
    import io
    import json

    plan = client.post("/api/plans", json={"name": "上传"}).get_json()
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")
    response = client.post(
        f"/api/plans/{plan['id']}/upload",
        data={"file": (io.BytesIO(body), "候选点.geojson"), "kind": "candidate", "version": "1"},
        content_type="multipart/form-data",
    )
    return plan, response


def _point(name: object, coordinates: list) -> dict:
    kind = "MultiPoint" if isinstance(coordinates[0], list) else "Point"
    return {"type": "Feature", "properties": {"名称": name}, "geometry": {"type": kind, "coordinates": coordinates}}


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (_point("两处", [[24.9401, 60.1702], [24.9405, 60.1704]]), "MultiPoint"),
        (_point("长" * 201, [24.9401, 60.1702]), "201 个字符"),
        (_point("站\x00名", [24.9401, 60.1702]), "NUL"),
    ],
    ids=["multipoint", "long-name", "nul"],
)
def test_uploaded_candidates_are_refused_rather_than_cut(client, feature, message):
    good = _point("卫生站", [24.9403, 60.1703])
    plan, response = _upload_candidates(client, [good, feature])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert message in error and ("第 2 个要素" in error or message == "NUL")  # a NUL is refused in the file
    saved = client.get(f"/api/plans/{plan['id']}").get_json()
    assert saved["version"] == 1 and saved["features"] == []  # nothing written


def test_uploaded_candidates_keep_their_names_whole(client):
    name = "长" * 200
    _, response = _upload_candidates(
        client,
        [_point(name, [24.9401, 60.1702]), _point("一处", [[24.9403, 60.1703]]), _point(None, [24.9405, 60.1704])],
    )
    assert response.status_code == 200, response.get_json()
    names = [f["name"] for f in response.get_json()["features"]]
    assert names == [name, "一处", "候选点.geojson #3"]
    assert [f["geometry"]["type"] for f in response.get_json()["features"]] == ["Point"] * 3


def test_candidate_files_with_multipoints_are_refused_not_cut():
    import geopandas as gpd
    import shapely

    from geo.errors import InputDataError
    from geo.placement.candidates import as_points

    one = shapely.MultiPoint([(LON, LAT)])
    two = shapely.MultiPoint([(LON, LAT), (LON + 0.01, LAT)])
    ok = as_points(gpd.GeoDataFrame(geometry=[shapely.Point(LON, LAT), one], crs=4326), "候选点 ")
    assert list(ok.geometry.geom_type) == ["Point", "Point"]
    with pytest.raises(InputDataError, match=r"第 2 个要素.*MultiPoint"):
        as_points(gpd.GeoDataFrame(geometry=[shapely.Point(LON, LAT), two], crs=4326), "候选点 ")
