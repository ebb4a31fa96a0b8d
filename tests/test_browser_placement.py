"""The placement panel in a real headless Chromium (issue 18): progress and cancel, the headed
results table, sites labelled on the map with their service areas, the 选址 export of the run."""

from __future__ import annotations

import threading

from tests import test_browser
from tests.test_browser import wait_until

# The real server, Chromium and page of the browser tests (fixtures shared by name).
server = test_browser.server
browser = test_browser.browser
page = test_browser.page


def _run_and_wait(page) -> None:
    page.locator("#place-run").click()
    wait_until(page, "document.getElementById('place-status').dataset.state === 'done'", timeout_s=60)


def test_placement_table_map_labels_legend_and_export_link(page, server):
    _, app = server
    page.select_option("#place-model", "mclp")
    page.fill("#place-new", "2")
    _run_and_wait(page)
    headers = page.locator("#place-table thead th").all_inner_texts()
    assert headers[:4] == ["站点（按新增覆盖排序）", "新增覆盖居民", "独有覆盖居民", "平均步行"]
    caption = page.locator("#place-table caption").inner_text()
    assert "现有设施" in caption and "独有覆盖居民" in caption  # says what is counted
    rows = page.locator("#place-table tbody tr")
    assert rows.count() >= 1
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[0].startswith("#1") and first[1].startswith("+") and first[1].endswith("人")
    assert first[2].endswith("人") and first[3].endswith("分钟")
    # Each site's rank is written on the map, always visible.
    labels = page.locator(".leaflet-tooltip.place-rank")
    assert labels.count() == rows.count() and labels.nth(0).inner_text() == "1"
    # Orange dashed service areas (not the candidates' purple, not the existing areas' green).
    rings = page.evaluate(
        "Object.values(window.LINLI.map._layers).filter((l) => l.feature && l.options"
        " && l.options.color === '#e6550d' && l.options.dashArray === '8 5').length"
    )
    assert rings == rows.count()
    legend = page.locator("#legend-placement")
    assert legend.is_visible() and "15 分钟" in legend.inner_text()
    # The export links now print this run: its job id is in them, and the job is the one shown.
    href = page.locator("a.export-layout[data-base*='map=placement']").first.get_attribute("href")
    job_id = int(href.split("job=")[1].split("&")[0])
    job = app.extensions["linli.jobs"].get(job_id)
    assert job["status"] == "done" and job["params"]["new"] == 2
    assert page.locator("#export-placement-job").inner_text().endswith(f"（任务 #{job_id}）的站点和参数")
    with page.expect_download() as download:
        page.locator("a.export-layout[data-base*='map=placement'][href*='map.png']").click()
    assert download.value.suggested_filename.startswith("placement_")
    assert page.locator("#export-status").get_attribute("class") != "error"
    assert page.console_errors == []


def test_the_cancel_button_stops_a_waiting_run(page, server):
    _, app = server
    queue = app.extensions["linli.jobs"]
    started, release = threading.Event(), threading.Event()

    def gate(params, progress):
        progress("占用 (busy)", 0.5)
        started.set()
        release.wait(60)
        return {}

    queue.runners["gate"] = gate
    try:
        busy = queue.submit("gate", {})
        assert started.wait(10)
        page.locator("#place-run").click()
        # Queued behind the other job: the progress bar and the cancel button show, the run button waits.
        wait_until(page, "!document.getElementById('place-cancel').hidden")
        wait_until(page, "!document.getElementById('place-progress').hidden")
        assert page.locator("#place-run").is_disabled()
        wait_until(page, "document.getElementById('place-status').textContent.includes('排队')")
        page.locator("#place-cancel").click()
        wait_until(page, "document.getElementById('place-status').dataset.state === 'cancelled'")
        assert "已取消" in page.locator("#place-status").inner_text()
        assert page.locator("#place-cancel").is_hidden() and page.locator("#place-progress").is_hidden()
        assert page.locator("#place-run").is_enabled()
        # The page's job was cancelled on the server and never started.
        job = queue.get(busy["id"] + 1)
        assert (job["kind"], job["status"], job["result"]) == ("placement", "cancelled", None)
    finally:
        release.set()
        queue.wait(busy["id"])
        del queue.runners["gate"]
    # The run button works again.
    _run_and_wait(page)
    assert page.locator("#place-table tbody tr").count() >= 1
    assert page.console_errors == []


def test_english_page_placement_is_english(browser, server):
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    en = context.new_page()
    en.goto(base + "/?lang=en&function=elderly", wait_until="load")
    wait_until(en, "window.LINLI && window.LINLI.ready === true")
    _run_and_wait(en)
    panel = en.locator("#linli-placement").inner_text()
    assert "Sole residents" in panel and "residents covered" in panel and "min" in panel
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in panel), panel
    assert "Placement sites" in en.locator("#legend-placement").inner_text()
    context.close()


def test_a_new_study_area_build_can_be_cancelled(page, server, tmp_path):
    """The build waits behind another job; 取消构建 stops it before it starts, and the form works again."""
    _, app = server
    queue = app.extensions["linli.jobs"]
    started, release = threading.Event(), threading.Event()

    def gate(params, progress):
        progress("占用 (busy)", 0.5)
        started.set()
        release.wait(60)
        return {}

    queue.runners["gate"] = gate
    osm = tmp_path / "小区路网.osm"
    osm.write_text('<?xml version="1.0" encoding="UTF-8"?><osm version="0.6"></osm>', encoding="utf-8")
    try:
        busy = queue.submit("gate", {})
        assert started.wait(10)
        page.locator("#linli-new-project summary").click()
        page.fill("#np-name", "取消测试")
        page.locator("#np-network").set_input_files(str(osm))
        page.locator("#np-build").click()
        # The cancel button (or a refusal of the upload, said in the status line).
        shown = "!!document.getElementById('np-cancel')"
        refused = "document.getElementById('np-status').className === 'error'"
        wait_until(page, f"{shown} || {refused}")
        assert page.locator("#np-cancel").count() == 1, page.locator("#np-status").inner_text()
        assert page.locator("#np-build").is_disabled()
        page.locator("#np-cancel").click()
        wait_until(page, "document.getElementById('np-status').textContent.includes('已取消构建')", timeout_s=20)
        assert page.locator("#np-cancel").count() == 0 and page.locator("#np-build").is_enabled()
        job = queue.get(busy["id"] + 1)
        assert (job["kind"], job["status"], job["result"]) == ("project", "cancelled", None)
    finally:
        release.set()
        queue.wait(busy["id"])
        del queue.runners["gate"]
    assert page.console_errors == []
