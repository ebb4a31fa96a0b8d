"""The web app's export downloads, reopened: layouts, standalone HTML (in Chromium, offline), tables, plans."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pypdf
import pytest
from PIL import Image

from webapp import create_app
from webapp.assets import assert_offline

SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]
HOSTILE = '=HYPERLINK("http://x","点我")'
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture()
def client(app):
    return app.test_client()  # no CSRF token: every export is a GET


def _leftover_temp() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("linli-*")}


def _pdf(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def test_coverage_layout_png_is_an_a4_page(client):
    before = _leftover_temp()
    response = client.get("/api/export/map.png?function=medical&author=%E5%BC%A0%E4%B8%89")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment")
    image = Image.open(io.BytesIO(response.data))
    # A4 landscape at 150 dpi: 297 x 210 mm -> 1754 x 1240 px (matplotlib rounds down to 1753).
    assert abs(image.size[0] - 1754) <= 1 and abs(image.size[1] - 1240) <= 1
    grey = np.asarray(image.convert("L"))
    assert (grey[: grey.shape[0] // 8] < 100).sum() > 1_000  # the title band has text
    assert _leftover_temp() <= before  # the temporary folder is gone


@pytest.mark.parametrize("kind", ["service_areas", "grids", "placement"])
def test_other_maps_as_a3_pdf(client, kind):
    response = client.get(f"/api/export/map.pdf?map={kind}&function=medical&paper=A3&orientation=portrait&approval_no=")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = _pdf(response.data)
    assert len(reader.pages) == 1
    width_mm = float(reader.pages[0].mediabox.width) / 72 * 25.4
    assert width_mm == pytest.approx(297, abs=0.5)
    text = reader.pages[0].extract_text()
    assert "审图号" in text and "比例尺 1:" in text


def test_standalone_html_has_everything_inlined(client):
    response = client.get("/api/export/map.html?function=medical")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert_offline(page)
    assert not re.search(r"""(?:src|href)=["']/static/""", page)
    assert not re.search(r"""url\(\s*['"]?(?:\.\./|images/|/static)""", page)
    assert "data:font/woff2;base64," in page  # Font Awesome icons of the facility markers
    assert "L.map(" in page or "L.map (" in page
    assert "病有所医" in page


def test_standalone_html_works_offline_in_chromium(client, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("没有 chromium：请运行 make setup (Debian chromium is installed by `make setup`)")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "邮件 附件.html"
    path.write_bytes(client.get("/api/export/map.html?function=medical").data)
    requests, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            context.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(path.as_uri())
            page.wait_for_selector(".awesome-marker", timeout=20_000)
            markers = page.locator(".awesome-marker").count()
            legend = page.locator("#linli-legend").inner_text()
            icon_font = page.evaluate("document.fonts.check('900 12px \"Font Awesome 6 Free\"')")
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
    assert markers > 0 and "分钟" in legend
    assert icon_font


def test_coverage_xlsx_and_csv(client):
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/export/coverage.xlsx").data))
    assert book.sheetnames == ["说明", "汇总", "达标检查", "全部类型"]
    summary = book["汇总"]
    headers = [c.value for c in summary[1]]
    assert "覆盖率 (%)" in headers and "人口 (人)" in headers
    assert summary.max_row == 7  # six functions + the header
    names = [summary.cell(row=r, column=headers.index("名称") + 1).value for r in range(2, 8)]
    assert "病有所医" in names
    response = client.get("/api/export/coverage.csv")
    assert response.data[:3] == b"\xef\xbb\xbf"
    table = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    assert "覆盖人口 (人)" in table.columns and len(table) > 6


def test_coverage_tables_are_of_the_pages_scene(client):
    """The tables exported after switching to 10 minutes, elderly walking, are that scene's."""
    summary = client.get("/api/summary?budget=10&profile=elderly").get_json()
    expected = {row["name_zh"]: row["covered"] for row in summary["coverage"]}
    response = client.get("/api/export/coverage.csv?function=medical&budget=10&profile=elderly")
    table = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    whole = table[table["名称"].isin(list(expected))].drop_duplicates("名称").set_index("名称")
    for name, covered in expected.items():
        assert whole.loc[name, "覆盖人口 (人)"] == pytest.approx(round(covered), abs=1)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/export/coverage.xlsx?budget=10&profile=elderly").data))
    notes = {row[0].value: row[1].value for row in book["说明"].iter_rows(min_row=2)}
    assert notes["时间阈值"].startswith("10 分钟") and "老年人步行 3.2 km/h" in notes["出行方式"]
    assert client.get("/api/export/coverage.csv?budget=99").status_code == 422


def test_summary_report_pdf(client):
    reader = _pdf(client.get("/api/export/report.pdf?function=food").data)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "覆盖分析摘要" in text and "食有所安" in text and "标准检查" in text


def _plan(app_client_with_token):
    client = app_client_with_token
    plan = client.post("/api/plans", json={"name": "螺城镇 方案/一"}).get_json()
    features = [
        {"kind": "area", "name": HOSTILE, "geometry": {"type": "Polygon", "coordinates": SQUARE}},
        {
            "kind": "candidate",
            "name": "中心 A",
            "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
            "properties": {"note": "备注"},
        },
    ]
    assert client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": features}).status_code == 200
    return plan["id"]


@pytest.fixture()
def writer(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def test_plan_geopackage_has_chinese_layers(writer, tmp_path):
    plan_id = _plan(writer)
    response = writer.get(f"/api/export/plans/{plan_id}.gpkg")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    path = tmp_path / "方案.gpkg"
    path.write_bytes(response.data)
    layers = [name for name, _ in pyogrio.list_layers(path)]
    assert layers == ["规划服务范围", "候选中心", "现有设施", "研究区边界", "layer_styles"]
    area = gpd.read_file(path, layer="规划服务范围", engine="pyogrio")
    assert area.crs.to_epsg() == 4326 and area["name"].tolist() == [HOSTILE]  # verbatim in GIS data
    assert gpd.read_file(path, layer="候选中心", engine="pyogrio")["prop_note"].tolist() == ["备注"]
    assert len(gpd.read_file(path, layer="现有设施", engine="pyogrio")) > 0


def test_plan_shapefile_zip(writer, tmp_path):
    plan_id = _plan(writer)
    response = writer.get(f"/api/export/plans/{plan_id}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.read("area.cpg").decode("ascii") == "UTF-8"
        archive.extractall(tmp_path)
    area = gpd.read_file(tmp_path / "area.shp", engine="pyogrio")
    assert area["name"].tolist() == [HOSTILE]
    facilities = gpd.read_file(tmp_path / "facilities.shp", engine="pyogrio")
    assert "function" in facilities.columns and len(facilities) > 0


def test_gbk_shapefile_refuses_what_gbk_cannot_hold(writer):
    # The demo's Helsinki facility names (Pääposti) have letters outside GBK: refused, not written as "?".
    # (GBK with Chinese names is tested in tests/test_export.py.)
    plan_id = _plan(writer)
    response = writer.get(f"/api/export/plans/{plan_id}.zip?encoding=gbk")
    assert response.status_code == 422
    assert "GBK" in response.get_json()["error"] and "UTF-8" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/export/map.png?paper=B5", 422),
        ("/api/export/map.png?orientation=up", 422),
        ("/api/export/map.png?function=nope", 422),
        ("/api/export/map.png?map=heat", 422),
        ("/api/export/map.svg", 422),
        ("/api/export/map.png?author=" + "x" * 200, 422),
        ("/api/export/map.png?map=service_areas&function=elderly", 422),  # the demo has no elderly facilities
        ("/api/export/coverage.ods", 422),
        ("/api/export/plans/999.gpkg", 404),
        ("/api/export/plans/1.zip?encoding=latin-1", 422),
    ],
)
def test_bad_requests_are_json_errors_without_paths(client, url, status):
    before = _leftover_temp()
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == status and body["error"]
    assert "/tmp" not in body["error"] and "Traceback" not in body["error"] and "/work" not in body["error"]
    assert _leftover_temp() <= before


def test_every_export_link_on_the_map_page_answers(client):
    page = client.get("/?function=medical").get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/api/export/[^"]+)"', page)))
    assert len(links) >= 12  # four maps x PNG/PDF, the HTML map, the report, XLSX and CSV
    for link in links:
        if "map=grids" in link or "map=placement" in link or link.endswith(".pdf"):
            continue  # covered above; keeps this test quick
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link


def test_coverage_workbook_from_the_page_reads_as_a_chinese_document(client):
    from tests.test_chinese_outputs import stray_words

    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/export/coverage.xlsx").data))
    found = set()
    for ws in book.worksheets:
        found |= stray_words(ws.title)
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    found |= stray_words(value)
    # The demo's name and its walking-speed source are data; nothing else is English.
    assert found <= {"Demo", "Helsinki"}, found
