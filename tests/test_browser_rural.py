"""The life-circle check's standard as part of the page's scene, in the real headless Chromium (issue 21).

The demo project is of type 城镇 with no unit types: by default (按分区城乡类型) the whole area is
checked against GB 50180-2018; the planner may choose TD/T 1062-2021 (乡村, 待核实) instead.
"""

from __future__ import annotations

import io

import pandas as pd

from tests.test_browser import browser, page, server, wait_until  # noqa: F401

LINKS = "[...document.querySelectorAll('#linli-exports a.export-check')].map(a => a.getAttribute('href'))"
BASIS = "[...document.querySelectorAll('#ru-check-table tbody td.ru-basis')].map(td => td.textContent)"
REACH = "[...document.querySelectorAll('#ru-check-table tbody .ru-reach')].map(d => d.textContent)"


def test_the_check_panel_states_its_default_and_each_lines_standard(page, server, tmp_path):  # noqa: F811
    wait_until(page, "document.body.dataset.ruCheck === 'walk|auto'")
    assert page.locator("#ru-check-summary").inner_text().split(" ")[0].isdigit()  # "16 项：达标 …"
    page.click("#ru-check-summary")  # the lines unfold
    default = page.locator("#ru-check-default").inner_text()
    assert "城镇" in default and "GB 50180-2018" in default
    assert page.locator("#ru-check-standard").input_value() == "auto"
    basis = page.evaluate(BASIS)
    # The scale line and every required type of the 15-minute level: each names its standard and clause.
    assert len(basis) >= 10 and all(text.startswith("GB 50180-2018") for text in basis)
    assert any("附录C 表C.0.1" in text and "待核实" in text for text in basis)
    assert all("步行 4 km/h" in r for r in page.evaluate(REACH))
    page.locator("#ru-check").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "check_gb.png"), full_page=False)

    # The planner's TD/T 1062: the lines, the address, the export links all follow.
    page.select_option("#ru-check-standard", "tdt1062")
    wait_until(page, "document.body.dataset.ruCheck === 'walk|tdt1062'")
    basis = page.evaluate(BASIS)
    assert basis and all(text.startswith("TD/T 1062-2021 乡村社区生活圈") and "待核实" in text for text in basis)
    # The town level is reached by e-bike, as its line says; the village's items on foot.
    reach = page.evaluate(REACH)
    assert any(r.startswith("电动自行车 20 km/h") for r in reach) and any(r.startswith("步行") for r in reach)
    assert "std=tdt1062" in page.evaluate("location.hash")
    assert all("standard=tdt1062" in href for href in page.evaluate(LINKS))
    page.locator("#ru-check").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "check_tdt.png"), full_page=False)

    # A scene switch keeps the standard on the check, in the address and on the exports.
    page.select_option("#profile-select", "elderly")
    wait_until(page, "document.body.dataset.ruCheck === 'elderly|tdt1062'")
    assert "std=tdt1062" in page.evaluate("location.hash") and "profile=elderly" in page.evaluate("location.hash")
    hrefs = page.evaluate(LINKS)
    assert all("standard=tdt1062" in h and "profile=elderly" in h for h in hrefs)
    base, _ = server
    xlsx = next(h for h in hrefs if "coverage.xlsx" in h)
    body = page.request.get(base + xlsx)
    assert body.status == 200
    check = pd.read_excel(io.BytesIO(body.body()), sheet_name="达标检查")
    assert set(check["适用标准"]) == {"TD/T 1062-2021"}
    assert page.console_errors == []


def test_a_shared_link_opens_with_its_standard(page, server):  # noqa: F811
    base, _ = server
    page.goto(base + "/#fn=medical&budget=15&profile=walk&std=tdt1062", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, "document.body.dataset.ruCheck === 'walk|tdt1062'")
    assert page.locator("#ru-check-standard").input_value() == "tdt1062"
    assert all("standard=tdt1062" in href for href in page.evaluate(LINKS))
    # Back to the default: the address drops it, the exports say auto.
    page.select_option("#ru-check-standard", "auto")
    wait_until(page, "document.body.dataset.ruCheck === 'walk|auto'")
    assert "std=" not in page.evaluate("location.hash")
    assert all("standard=auto" in href for href in page.evaluate(LINKS))
    # An unknown standard in a link is ignored, not sent.
    page.goto(base + "/#fn=medical&std=nosuch", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, "document.body.dataset.ruCheck === 'walk|auto'")
    assert page.console_errors == []


def test_the_school_layer_and_its_legend_entry(page):  # noqa: F811
    legend = "document.querySelector('#linli-legend [data-function=education]')"
    assert page.evaluate(f"{legend} !== null && {legend}.hidden")  # listed, off like other functions' layers
    page.hover(".leaflet-control-layers")
    label = page.locator(".leaflet-control-layers-overlays label", has_text="学有所教")
    assert "(3)" in label.inner_text()  # the demo's three amenity=school
    label.locator("input").check()
    wait_until(page, f"!{legend}.hidden")
    wait_until(page, "window.LINLI_VIEW.layers.some(e => e.spec.function === 'education' && e.shown)")
    assert any("/api/view/facilities" in u and "function=education" in u for u in page.requests_seen)
    # Another function on screen: the schools stay shown (they are no function of the scene).
    page.select_option("#function-select", "elderly")
    wait_until(page, "document.body.dataset.scene && document.body.dataset.scene.startsWith('elderly|')")
    assert page.evaluate(f"!{legend}.hidden")
    assert page.console_errors == []
