"""Uploading a county ledger in the page (issue 16), in a real headless Chromium, on the Guixi project.

The planner picks a ledger, sees a preview (the columns recognised, the coordinate system detected
with its evidence, the categories not known), maps an unknown category, and puts the ledger into
the analysis; the page reloads with the new figures.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from tests.test_browser import CHROMIUM, LAUNCH_ARGS, wait_until
from webapp import create_app

GUIXI = Path(__file__).resolve().parents[1] / "data" / "study_areas" / "guixi"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("没有 chromium：请运行 make setup (Debian chromium is installed by `make setup`)")
    app = create_app({"instance_path": tmp_path_factory.mktemp("instance"), "PROJECT": "guixi"})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", app
    srv.close()


@pytest.fixture()
def page(server):
    from playwright.sync_api import sync_playwright

    base, _ = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.console_errors = []
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.goto(base + "/", wait_until="load")
        wait_until(page, "window.LINLI && window.LINLI.ready === true", timeout_s=60)
        yield page
        browser.close()


def test_ledger_preview_shows_columns_system_and_unknown_categories_then_loads(page, tmp_path):
    page.set_input_files("#ledger-file", str(GUIXI / "设施台账.xlsx"))
    page.click("#ledger-preview")
    wait_until(page, "document.getElementById('ledger-status').className !== ''", timeout_s=60)
    status = page.inner_text("#ledger-status")
    assert "读入 30 行，共 32 行数据" in status, status
    assert "按路网判定为 GCJ-02" in status and "中位距离" in status
    table = page.inner_text("#ledger-preview-table")
    assert "雄石邻里中心" in table and "GX-LL-001" in table
    report = page.text_content("#ledger-report")  # inside the closed 读取报告 box
    assert "「快递驿站」2 行" in report and "表头在第 3 行" in report
    # The unknown category is offered for mapping; the planner says it is 事有所办 and previews again.
    assert page.locator("#ledger-categories select[data-category='快递驿站']").count() == 1
    page.select_option("#ledger-categories select[data-category='快递驿站']", "事有所办")
    page.evaluate("document.getElementById('ledger-status').className = ''")
    page.click("#ledger-preview")
    wait_until(page, "document.getElementById('ledger-status').className !== ''", timeout_s=60)
    assert "读入 32 行，共 32 行数据" in page.inner_text("#ledger-status")
    page.screenshot(path=str(tmp_path / "ledger-preview.png"), full_page=True)
    if os.environ.get("LINLI_SCREENSHOTS"):
        page.screenshot(path=os.environ["LINLI_SCREENSHOTS"] + "/ledger-preview.png", full_page=True)
    # Put it into the analysis: the page reloads on the new facilities.
    with page.expect_navigation(timeout=120_000):
        page.click("#ledger-apply")
    wait_until(page, "window.LINLI && window.LINLI.ready === true", timeout_s=120)
    assert page.console_errors == []


def test_an_unclear_system_asks_the_planner(page, tmp_path):
    path = tmp_path / "两个点.csv"
    path.write_text("名称,类别,经度,纬度\n甲,诊所,117.2232,28.3021\n乙,诊所,117.2250,28.3030\n", encoding="utf-8")
    page.set_input_files("#ledger-file", str(path))
    page.click("#ledger-preview")
    wait_until(page, "document.getElementById('ledger-status').className === 'error'", timeout_s=60)
    status = page.inner_text("#ledger-status")
    assert "无法判断" in status and "GCJ-02" in status and "BD-09" in status
    page.select_option("#ledger-system", "wgs84")
    page.click("#ledger-preview")
    wait_until(page, "document.getElementById('ledger-status').className === 'ok'", timeout_s=60)
    assert "读入 2 行" in page.inner_text("#ledger-status")


def test_candidate_sites_uploaded_into_a_plan_with_their_system_detected(page, tmp_path):
    import pandas as pd

    from geo.io.coords import wgs84_to_gcj02

    truth = pd.read_csv(Path(__file__).parent / "data" / "ledgers" / "guixi_truth.csv")
    truth = truth[truth["kind"] == "compound"].head(6)
    lon, lat = wgs84_to_gcj02(truth["lon_wgs84"].to_numpy(), truth["lat_wgs84"].to_numpy())
    path = tmp_path / "候选点.csv"
    rows = "".join(f"候选{k},{x:.6f},{y:.6f}\n" for k, (x, y) in enumerate(zip(lon, lat, strict=True)))
    path.write_text("名称,经度,纬度\n" + rows, encoding="utf-8")
    page.fill("#plan-name", "候选点方案")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('plan-version').textContent.includes('#')", timeout_s=30)
    page.select_option("#plan-upload-kind", "candidate")
    page.set_input_files("#plan-upload-file", str(path))
    page.click("#plan-upload")
    wait_until(page, "document.getElementById('linli-message').className !== ''", timeout_s=60)
    text = page.inner_text("#linli-message")
    assert "已加入 6 个要素" in text and "GCJ-02" in text, text
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 6
    # The sites landed on their true (WGS84) positions.
    got = page.evaluate("window.LINLI.drawn.getLayers().map((l) => [l.getLatLng().lng, l.getLatLng().lat])")
    for (x, y), tx, ty in zip(got, truth["lon_wgs84"], truth["lat_wgs84"], strict=True):
        assert abs(x - tx) < 1e-5 and abs(y - ty) < 1e-5


def test_a_new_study_area_is_built_from_files_and_opened(page, server):
    # Last in this module: it switches the server to the new study area.
    _base, app = server
    page.click("#linli-new-project summary")
    page.fill("#np-name", "贵溪新建研究区")
    page.select_option("#np-county", "")
    page.set_input_files("#np-network", str(GUIXI / "guixi.osm"))
    page.set_input_files("#np-facilities", str(GUIXI / "设施台账.xlsx"))
    page.set_input_files("#np-compounds", str(GUIXI / "小区台账.xlsx"))
    with page.expect_navigation(timeout=180_000):
        page.click("#np-build")
    wait_until(page, "window.LINLI && window.LINLI.ready === true", timeout_s=120)
    assert "贵溪新建研究区" in page.inner_text(".linli-project")
    folder = Path(app.config["PROJECT"]).parent
    assert folder.parent.name == "projects" and (folder / "project.toml").is_file()
    assert {"guixi.osm", "设施台账.xlsx", "小区台账.xlsx"} <= {p.name for p in folder.iterdir()}
    assert page.console_errors == []


def test_a_study_area_without_a_network_is_refused_and_leaves_nothing(server):
    _base, app = server
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["token"]
    before = set((Path(app.instance_path) / "projects").glob("*"))
    response = client.post("/api/projects", data={"name": "x"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 422 and "路网" in response.get_json()["error"]
    assert set((Path(app.instance_path) / "projects").glob("*")) == before
