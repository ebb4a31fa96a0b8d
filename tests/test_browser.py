"""The web app in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The app is served by waitress on a free loopback port in a background thread; every
request the page makes is recorded, and none may leave the machine.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from waitress.server import create_server

from webapp import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("没有 chromium：请运行 make setup (Debian chromium is installed by `make setup`)")
    app = create_app({"instance_path": tmp_path_factory.mktemp("instance")})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}", app
    srv.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.requests_seen = []
    page.console_errors = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.goto(base + "/", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    yield page
    context.close()


def wait_until(page, expression: str, timeout_s: float = 45.0) -> None:
    """Poll a JavaScript expression from Python (``page.wait_for_function`` evaluates strings
    inside the page, which the app's Content-Security-Policy rightly forbids).  The deadline only
    ends a test that would hang: generous, for a machine busy with other tests."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def _map_point(page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator("#linli-map .folium-map").bounding_box()
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def test_map_renders_with_no_request_leaving_the_machine(page, server):
    base, _ = server
    assert page.locator(".leaflet-container").count() == 1
    assert page.locator(".leaflet-control-layers").count() == 1
    assert page.locator("#linli-legend").is_visible()
    assert page.locator(".leaflet-draw-draw-polygon").count() == 1
    # The drawing tools speak Chinese in the Chinese page.
    assert page.locator(".leaflet-draw-draw-polygon").get_attribute("title") == "画服务范围（多边形）"
    assert page.locator(".leaflet-draw-draw-marker").get_attribute("title") == "放置候选邻里中心"
    # One scale bar, in metres or kilometres only (no feet or miles).
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and scale.inner_text().strip().endswith(("m", "km"))
    # Base map, facilities and rings drew something.
    assert page.locator("path.leaflet-interactive, canvas").count() > 0
    assert page.locator(".awesome-marker").count() > 0
    page.wait_for_load_state("networkidle")
    outside = [u for u in page.requests_seen if not (u.startswith(base) or u.startswith(("data:", "blob:")))]
    assert outside == []
    assert any(u.endswith("/static/vendor/leaflet/dist/leaflet.js") for u in page.requests_seen)
    # No script error and nothing the Content-Security-Policy had to block.
    assert page.console_errors == []


def test_candidate_shows_service_areas_and_coverage(page):
    page.locator(".leaflet-draw-draw-marker").click()
    x, y = _map_point(page, 0.5, 0.55)
    page.mouse.click(x, y)
    page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
    rows = page.locator("#candidate-table tbody tr")
    assert rows.count() == 6
    assert "病有所医" in page.locator("#candidate-table").inner_text()
    assert "km/h" in page.locator("#candidate-info").inner_text()
    # The rings are on the map: three bands of the candidate.
    assert page.evaluate("window.LINLI.map._layers && Object.keys(window.LINLI.map._layers).length") > 0


def _draw_polygon(page):
    page.locator(".leaflet-draw-draw-polygon").click()
    points = [(0.45, 0.45), (0.55, 0.45), (0.55, 0.55), (0.45, 0.55)]
    for fx, fy in points:
        x, y = _map_point(page, fx, fy)
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    x, y = _map_point(page, *points[0])
    page.mouse.click(x, y)  # close the ring on its first vertex
    wait_until(page, "window.LINLI.drawn.getLayers().length === 1")


def test_drawn_polygon_is_saved_and_there_after_reload(page):
    _draw_polygon(page)
    page.fill("#plan-name", "浏览器测试 方案")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v2')")
    page.reload(wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, "document.querySelectorAll('#plan-select option').length > 1")
    value = page.locator("#plan-select option", has_text="浏览器测试 方案").first.get_attribute("value")
    page.select_option("#plan-select", value)
    wait_until(page, "window.LINLI.drawn.getLayers().length === 1")
    kind = page.evaluate("window.LINLI.drawn.getLayers()[0].feature.properties.kind")
    assert kind == "area"


def test_failed_export_says_why_in_the_page_and_keeps_the_drawing(page):
    """A failing export no longer navigates to raw JSON: the reason shows beside the links and
    the unsaved drawing stays; a good export downloads under the server's file name."""
    _draw_polygon(page)
    url = page.url
    page.evaluate(
        """() => {
            const a = document.createElement("a");
            a.id = "bad-export";
            a.href = "/api/export/map.png?map=nonsense";
            a.textContent = "坏链接";
            document.querySelector("#linli-exports .row").appendChild(a);
        }"""
    )
    page.click("#bad-export")
    page.wait_for_selector("#export-status.error", timeout=10_000)
    status = page.locator("#export-status").inner_text()
    assert status.startswith("导出失败 (4") and "{" not in status
    assert page.url == url
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 1
    with page.expect_download() as download:
        page.locator("#linli-exports a", has_text="覆盖表 XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    wait_until(page, "document.getElementById('export-status').textContent.startsWith('已下载')")
    assert page.url == url and page.evaluate("window.LINLI.drawn.getLayers().length") == 1


def test_function_budget_and_profile_switch_in_place_keeping_the_unsaved_candidate(page, server):
    """Function, budget and travel profile switch without a reload: the unsaved candidate stays,
    the panel's figures are the geo-level ones of the new scene, the address keeps the scene;
    another plan still asks first."""
    import geopandas as gpd
    import shapely

    from geo.access.coverage_tables import coverage_table, plan_scenario
    from webapp.state import get_state

    _, app = server
    asked = []

    def dismiss(dialog):
        if dialog.type == "beforeunload":  # the reload below: leave (the draft is kept)
            dialog.accept()
            return
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    page.locator(".leaflet-draw-draw-marker").click()
    page.mouse.click(*_map_point(page, 0.5, 0.55))
    page.wait_for_selector("#linli-plan-eval[data-ready='1']", timeout=15_000)
    point = page.evaluate(
        "(() => { const l = window.LINLI.drawn.getLayers()[0].getLatLng(); return [l.lng, l.lat]; })()"
    )
    site = gpd.GeoSeries([shapely.Point(point)], crs="EPSG:4326")
    for control, value, key in [
        ("#function-select", "food", "food|walk|15"),
        ("#budget-select", "10", "food|walk|10"),
        ("#profile-select", "elderly", "food|elderly|10"),
    ]:
        page.select_option(control, value)
        wait_until(page, f"document.body.dataset.scene === '{key}'")
        assert page.evaluate("window.LINLI.drawn.getLayers().length") == 1
    assert asked == [] and page.evaluate("window.sameDocument === true")
    assert "fn=food&budget=10&profile=elderly" in page.url
    # The exports are of the scene on screen.
    href = page.locator("#linli-exports a.export-layout").first.get_attribute("href")
    assert "function=food" in href and "budget=10" in href and "profile=elderly" in href
    assert "3.2 km/h" in page.locator("#linli-assume").inner_text()
    assert "食有所安" in page.locator("#legend-rings-title").inner_text()
    assert page.locator("#legend-rings div").count() == 2  # 0-5 and 5-10 minutes
    with app.app_context():
        state = get_state()
        analysis = state.analysis_of(state.scene("elderly", 10))
    whole = coverage_table(analysis.accessibility, by_unit=False).set_index("name_zh")
    for row in page.locator("#coverage-body tr").all():
        cells = row.locator("td").all_inner_texts()
        covered = float(cells[1].split("/")[0].replace(",", ""))
        assert covered == round(whole.loc[cells[0], "covered"])
    together = plan_scenario(analysis.accessibility, analysis.graph, site).table
    together = together[together["candidate"] == -1].set_index("function_zh")
    for row in page.locator("#plan-eval-table tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        added = int(cells[3].replace("+", "").replace("人", "").replace(",", "").strip())
        assert added == round(together.loc[cells[0], "newly_covered"])
    # A custom budget; its rings' bands in the legend.
    page.select_option("#budget-select", "custom")
    page.fill("#budget-custom", "12.5")
    page.locator("#budget-custom").dispatch_event("change")
    wait_until(page, "document.body.dataset.scene === 'food|elderly|12.5'")
    assert "10-12.5" in page.locator("#legend-rings").inner_text()
    page.fill("#budget-custom", "99")
    page.locator("#budget-custom").dispatch_event("change")
    assert "1-30" in page.locator("#scene-status").inner_text()
    # Reloading the address opens the same scene (the candidate comes back from the draft).
    page.reload(wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, "document.body.dataset.scene === 'food|elderly|12.5'")
    assert page.locator("#function-select").input_value() == "food"
    assert page.locator("#profile-select").input_value() == "elderly"
    page.click("#draft-restore")
    wait_until(page, "window.LINLI.drawn.getLayers().length === 1")
    # Another plan still asks first.
    page.click("#plan-new")
    assert len(asked) == 1 and "未保存" in asked[0]
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 1


def test_unsaved_drawing_comes_back_after_a_reload(page):
    """The working draft is kept in the browser: after the tab is reloaded (or closed) the page
    offers it back; restored it is still unsaved, and saving it clears the draft."""
    page.on("dialog", lambda dialog: dialog.accept())  # the browser's "leave the page?"
    _draw_polygon(page)
    page.fill("#plan-name", "草稿测试")
    page.wait_for_timeout(500)
    page.reload(wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    page.wait_for_selector("#draft-restore", timeout=10_000)
    assert "未保存的草稿" in page.locator("#linli-message").inner_text()
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 0
    page.click("#draft-restore")
    wait_until(page, "window.LINLI.drawn.getLayers().length === 1")
    assert page.locator("#plan-name").input_value() == "草稿测试"
    assert "已恢复草稿" in page.locator("#linli-message").inner_text()
    page.click("#plan-save")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v2')")
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('linli-draft')).length") == 0
    page.reload(wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    page.wait_for_timeout(300)
    assert page.locator("#draft-restore").count() == 0


def test_deleted_candidate_takes_its_rings_and_figures(page):
    page.locator(".leaflet-draw-draw-marker").click()
    x, y = _map_point(page, 0.5, 0.55)
    page.mouse.click(x, y)
    page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
    rings = "Object.values(window.LINLI.map._layers).filter((l) => l.options && l.options.dashArray === '6 4').length"
    assert page.evaluate(rings) > 0  # the candidate's own dashed purple rings
    legend = page.locator("#linli-legend")
    assert "候选点服务范围" in legend.inner_text() and "10-15 分钟" in legend.inner_text()
    page.locator(".leaflet-draw-edit-remove").click()
    page.mouse.click(*_marker_centre(page))
    page.locator(".leaflet-draw-actions a", has_text="保存").click()
    wait_until(page, "window.LINLI.drawn.getLayers().length === 0")
    assert page.evaluate(rings) == 0
    assert page.locator("#linli-candidate").is_hidden()
    assert "候选点服务范围" not in legend.inner_text()


def _marker_centre(page) -> tuple[float, float]:
    box = page.locator(".leaflet-marker-icon.leaflet-marker-draggable, .leaflet-marker-icon").last.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.8


def test_phone_shows_a_full_width_map_and_a_folding_panel(browser, server):
    base, _ = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base + "/", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    box = page.locator("#linli-map").bounding_box()
    assert box["width"] >= 0.8 * 390 and box["height"] >= 0.8 * 844
    assert page.locator("#linli-panel").is_hidden()
    page.click("#linli-panel-toggle")
    assert page.locator("#linli-panel").is_visible()
    assert page.locator("#linli-panel-toggle").get_attribute("aria-expanded") == "true"
    context.close()


def test_two_candidates_are_evaluated_as_one_plan(page, server):
    """The plan's candidates together: the panel's figures are the geo-level scenario's."""
    import geopandas as gpd
    import shapely

    from geo.access.coverage_tables import scenario_delta
    from webapp.state import get_state

    _, app = server
    for fx in (0.45, 0.6):
        page.locator(".leaflet-draw-draw-marker").click()
        x, y = _map_point(page, fx, 0.55)
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
    page.wait_for_selector("#linli-plan-eval[data-ready='2']", timeout=15_000)
    assert "2 个候选点" in page.locator("#plan-eval-info").inner_text()
    points = page.evaluate("window.LINLI.drawn.getLayers().map((l) => [l.getLatLng().lng, l.getLatLng().lat])")
    with app.app_context():
        state = get_state()
        expected = scenario_delta(
            state.acc, state.graph, gpd.GeoSeries([shapely.Point(p) for p in points], crs="EPSG:4326")
        )
    together = expected[expected["candidate"] == -1].set_index("function_zh")
    rows = page.locator("#plan-eval-table tbody tr")
    assert rows.count() == len(together)
    for k in range(rows.count()):
        cells = rows.nth(k).locator("td").all_inner_texts()
        added = int(cells[3].replace("+", "").replace("人", "").replace(",", "").strip())
        assert added == round(together.loc[cells[0], "newly_covered"])
    # Moving one in the edit mode evaluates the plan again.
    page.evaluate("document.getElementById('linli-plan-eval').dataset.ready = 'stale'")
    page.locator(".leaflet-draw-edit-edit").click()
    x, y = _marker_centre(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 10, steps=5)
    page.mouse.up()
    page.locator(".leaflet-draw-actions a", has_text="保存").click()
    page.wait_for_selector("#linli-plan-eval[data-ready='2']", timeout=15_000)
    # Removing one candidate evaluates the other alone.
    page.locator(".leaflet-draw-edit-remove").click()
    page.mouse.click(*_marker_centre(page))
    page.locator(".leaflet-draw-actions a", has_text="保存").click()
    page.wait_for_selector("#linli-plan-eval[data-ready='1']", timeout=15_000)


def test_stale_save_shows_the_conflict_message(page, server):
    _, app = server
    _draw_polygon(page)
    page.fill("#plan-name", "冲突测试")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v2')")
    plan_id = int(page.locator("#plan-select").input_value())
    # Someone else saves the plan in the meantime (version 2 -> 3).
    store = app.extensions["linli.store"]
    store.save(plan_id, version=2, notes="另一位规划师的修改")
    page.fill("#plan-notes", "我的修改")
    page.click("#plan-save")
    page.wait_for_selector("#linli-message.conflict", timeout=10_000)
    assert "已被他人修改" in page.locator("#linli-message").inner_text()
    assert store.get(plan_id)["notes"] == "另一位规划师的修改"


def test_dragged_candidate_is_evaluated_again(page):
    page.locator(".leaflet-draw-draw-marker").click()
    x, y = _map_point(page, 0.5, 0.55)
    page.mouse.click(x, y)
    page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
    first = page.locator("#candidate-info").inner_text()
    page.evaluate("document.getElementById('linli-candidate').dataset.ready = '0'")
    marker = page.locator(".leaflet-marker-draggable").last
    box = marker.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    page.mouse.down()
    page.mouse.move(box["x"] + 90, box["y"] + 60, steps=8)
    page.mouse.up()
    page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
    assert page.locator("#candidate-info").inner_text() != first  # new position, new figures


def _open_function(page, function: str) -> None:
    """The page of another function (placement counts residents beyond its existing facilities:
    老有所养 has none in the demo, so every new center adds residents)."""
    page.goto(page.url.split("#")[0].split("?")[0] + f"?function={function}", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")


def test_placement_runs_in_the_background_and_shows_its_sites(page):
    _open_function(page, "elderly")
    page.fill("#place-new", "2")
    page.click("#place-run")
    wait_until(page, "document.getElementById('place-status').dataset.state === 'done'", timeout_s=60)
    assert page.locator("#place-table tbody tr").count() == 2
    assert "已证明最优" in page.locator("#place-status").inner_text()
    # A headed table that says what it counts.
    headers = page.locator("#place-table thead th").all_inner_texts()
    assert headers == ["站点（按新增覆盖排序）", "新增覆盖居民", "独有覆盖居民", "平均步行", "方案"]
    assert "现有设施" in page.locator("#place-table caption").inner_text()


def test_delete_asks_and_undo_says_what_it_restored(page):
    page.fill("#plan-name", "删除测试")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v')")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    page.click("#plan-delete")  # dismissed: still there
    assert "删除方案“删除测试”" in asked[0] and page.locator("#plan-name").input_value() == "删除测试"
    page.click("#plan-delete")
    page.wait_for_selector("#plan-undo:not([hidden])")
    page.click("#plan-undo")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('已恢复方案')")
    assert "删除测试" in page.locator("#linli-message").inner_text()
    assert page.locator("#plan-name").input_value() == "删除测试"


def test_placement_among_the_saved_plans_candidate_sites(page):
    _open_function(page, "elderly")
    page.select_option("#place-candidates", "plan")
    page.click("#place-run")  # no plan yet: the page says to save one, nothing is sent
    wait_until(page, "document.getElementById('place-status').dataset.state === 'failed'")
    assert "请先保存方案" in page.locator("#place-status").inner_text()
    for fx, fy in ((0.5, 0.55), (0.4, 0.45)):
        page.locator(".leaflet-draw-draw-marker").click()
        x, y = _map_point(page, fx, fy)
        page.mouse.click(x, y)
        page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
        page.evaluate("document.getElementById('linli-candidate').dataset.ready = '0'")
    page.fill("#plan-name", "候选点选址")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v2')")
    page.fill("#place-new", "1")
    page.click("#place-run")
    wait_until(page, "document.getElementById('place-status').dataset.state === 'done'", timeout_s=60)
    rows = page.locator("#place-table tbody tr")
    assert rows.count() == 1
    assert "已保存方案中的候选点" in rows.first.inner_text()
    assert page.locator(".place-add").count() == 0  # already in the plan: nothing to add


def test_placement_sites_added_to_the_plan(page):
    """Sites proposed among the network's nodes go into the plan one by one or all at once, as
    unsaved candidates evaluated with the plan; a site added loses its button."""
    _open_function(page, "elderly")
    page.fill("#place-new", "3")
    page.click("#place-run")
    wait_until(page, "document.getElementById('place-status').dataset.state === 'done'", timeout_s=60)
    assert page.locator("#place-table tbody tr").count() == 3
    assert page.locator(".place-add").count() == 3 and page.locator("#place-add-all").is_visible()
    page.locator(".place-add").first.click()
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 1
    assert page.locator(".place-add").count() == 2
    assert "已加入方案" in page.locator("#linli-message").inner_text()
    page.click("#place-add-all")
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 3
    assert page.locator(".place-add").count() == 0 and not page.locator("#place-add-all").is_visible()
    kinds = page.evaluate("window.LINLI.drawn.getLayers().map((l) => l.feature.properties.kind)")
    assert kinds == ["candidate"] * 3
    # Evaluated together, as the plan's candidates.
    page.wait_for_selector("#linli-plan-eval:not([hidden])", timeout=20_000)
    assert page.locator("#plan-eval-table tbody tr").count() >= 1


def test_view_and_plan_are_in_the_address(page, server):
    """The address carries the view and the plan (#map=zoom/lat/lon&plan=id): a link opens the
    same place and plan, panning and choosing a plan rewrite it, a function switch keeps it,
    and a link to a missing plan says so."""
    base, _ = server
    page.on("dialog", lambda dialog: dialog.accept())
    _draw_polygon(page)
    page.fill("#plan-name", "链接测试")
    page.click("#plan-save")
    # (the message comes once the plan list holds the new plan)
    wait_until(page, "document.getElementById('linli-message').textContent.includes('v2')")
    plan_id = page.evaluate("document.getElementById('plan-select').value")
    assert plan_id and f"plan={plan_id}" in page.url
    zoom = page.evaluate("window.LINLI.map.getZoom()")
    page.evaluate("void window.LINLI.map.setZoom(window.LINLI.map.getZoom() + 1)")
    wait_until(page, f"location.hash.startsWith('#map={zoom + 1}/')")
    link = page.url
    # Opened in a fresh tab: the same view and plan.
    other = page.context.new_page()
    other.goto(link, wait_until="load")
    wait_until(other, "window.LINLI && window.LINLI.ready === true")
    wait_until(other, "window.LINLI.drawn.getLayers().length === 1")
    assert other.evaluate("window.LINLI.map.getZoom()") == zoom + 1
    assert other.evaluate("document.getElementById('plan-select').value") == plan_id
    # Another function (in place): the view and plan stay, the address says the function.
    other.select_option("#function-select", "elderly")
    wait_until(other, "document.body.dataset.scene === 'elderly|walk|15'")
    assert "fn=elderly" in other.url and f"plan={plan_id}" in other.url
    assert other.evaluate("window.LINLI.map.getZoom()") == zoom + 1
    # A plan that is not there.
    other.goto(base + "/#map=14/0/0&plan=999999", wait_until="load")
    wait_until(other, "document.getElementById('linli-message').textContent.includes('999999')")
    assert "不存在" in other.locator("#linli-message").inner_text()
    other.close()


def test_clear_all_drawings_and_undo(page):
    """Clear all takes every candidate and drawing off the map, with the candidate's card, after a
    confirmation; undo brings them back; both leave the plan unsaved."""
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    _draw_polygon(page)
    page.locator(".leaflet-draw-draw-marker").click()
    x, y = _map_point(page, 0.5, 0.55)
    page.mouse.click(x, y)
    page.wait_for_selector("#linli-candidate[data-ready='1']", timeout=15_000)
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 2
    page.click("#plan-clear")
    assert asked and "2" in asked[-1]
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 0
    assert not page.locator("#linli-candidate").is_visible()
    assert "已清除" in page.locator("#linli-message").inner_text()
    page.click("#plan-unclear")
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 2
    kinds = sorted(page.evaluate("window.LINLI.drawn.getLayers().map((l) => l.feature.properties.kind)"))
    assert kinds == ["area", "candidate"]
    assert not page.locator("#plan-unclear").is_visible()


def test_legend_shows_what_is_on_the_map_and_only_that(page):
    legend = page.locator("#linli-legend")
    # The chosen function's facilities are shown: only its colour is in the legend.
    functions = page.locator("#legend-block-facilities [data-function]:not([hidden])").all_inner_texts()
    assert [f.strip() for f in functions] == ["病有所医"]
    page.select_option("#function-select", "food")
    wait_until(page, "document.body.dataset.scene === 'food|walk|15'")
    functions = page.locator("#legend-block-facilities [data-function]:not([hidden])").all_inner_texts()
    assert [f.strip() for f in functions] == ["食有所安"]
    # A layer turned off in the layer control takes its legend entry with it.
    assert page.locator("#legend-block-gaps").is_visible()
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="覆盖缺口").locator("input").uncheck()
    wait_until(page, "document.getElementById('legend-block-gaps').hidden === true")
    page.locator(".leaflet-control-layers-overlays label", has_text="覆盖缺口").locator("input").check()
    wait_until(page, "document.getElementById('legend-block-gaps').hidden === false")
    # A drawn service area's comparison colours while it is on the map.
    assert "规划但不可达" not in legend.inner_text()
    _draw_polygon(page)
    wait_until(page, "!!document.getElementById('legend-compare')")
    assert "规划但不可达" in legend.inner_text() and "可达但未规划" in legend.inner_text()
    page.locator(".leaflet-draw-edit-remove").click()
    page.locator(".leaflet-draw-actions a", has_text="全部清除").click()
    wait_until(page, "window.LINLI.drawn.getLayers().length === 0")
    assert "规划但不可达" not in legend.inner_text()
