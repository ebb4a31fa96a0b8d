"""The micro level's floor and ceiling and a micro-grid card's fields in the real headless Chromium
(h-micro3, issue 20): the default stated, bad bounds refused in words, new bounds saved and used by
the checks and the legend, a card's name and 楼栋长 filled in and shown masked, the colourings'
legends, and the org tree's micro-grid numbers."""

from __future__ import annotations

import dataclasses
import os

from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from tests.test_browser_micro import _POINT_IN

SHOTS = os.environ.get("LINLI_SCREENSHOTS")


def _shot(pg, name: str) -> None:
    if SHOTS:
        pg.screenshot(path=os.path.join(SHOTS, name))


def test_floor_and_ceiling_set_in_the_page_and_a_card_field_edited(page, server):  # noqa: F811
    page.select_option("#mg-level", "micro")
    wait_until(page, "document.querySelector('#m3-min').value === '10'")
    assert page.input_value("#m3-max") == "50"
    note = page.locator("#m3-bounds-note").inner_text()
    assert "默认 10–50 户" in note and "生成时按此上下限划分" in note
    assert not page.locator("#m3-bounds-save").is_visible()  # nothing to save before generating
    page.click("#mg-generate")
    wait_until(page, "window.LINLI.micro.layer !== null", timeout_s=60)
    assert page.locator("#m3-bounds-save").is_visible()

    # a floor above the ceiling: refused in words, nothing saved
    page.fill("#m3-min", "60")
    page.fill("#m3-max", "20")
    page.click("#m3-bounds-save")
    wait_until(page, "document.querySelector('#linli-message').textContent.includes('应小于上限')")
    assert page.evaluate("window.LINLI.micro.data.version") == 0

    page.fill("#m3-min", "30")
    page.fill("#m3-max", "80")
    page.click("#m3-bounds-save")
    wait_until(page, "window.LINLI.micro.data.min_households === 30")
    note = page.locator("#m3-bounds-note").inner_text()
    assert "默认 10–50 户" in note and "当前 30–80 户" in note
    legend = page.locator("#legend-block-micro").inner_text()
    assert "<30" in legend and ">80" in legend
    below = page.evaluate("window.LINLI.micro.data.issues.filter(i => i.kind === 'below_floor').length")
    assert below > 0 and "30" in page.locator("#mg-checks").inner_text()
    assert not page.locator("#mg-undo").is_disabled()
    page.locator("#m3-bounds-row").scroll_into_view_if_needed()
    _shot(page, "micro_bounds_row.png")

    # a card: its name and 楼栋长 filled in; the 楼栋长 comes back masked
    code = page.evaluate("window.LINLI.micro.data.grids.features[0].properties.code")
    at = page.evaluate("window.LINLI.micro.data.grids.features[0].properties.label_at")
    page.evaluate(f"void window.LINLI.map.setView({at}, 17, {{animate: false}})")
    xy = page.evaluate(_POINT_IN, code)
    assert xy is not None
    page.mouse.click(*xy)
    wait_until(page, f"(document.querySelector('#mg-card .mg-code') || {{}}).textContent === '{code}'")
    page.click("#m3-card-edit summary")
    page.fill("#m3-f-name", "紫云小区1号楼")
    page.click(".m3-save[data-field='name']")
    wait_until(page, "(document.querySelector('#mg-card') || {}).innerText.includes('紫云小区1号楼')")
    page.click("#m3-card-edit summary")
    page.fill("#m3-f-building_head", "王小五")
    page.click(".m3-save[data-field='building_head']")
    wait_until(page, "(document.querySelector('#mg-card .m3-building-head') || {}).textContent === '王**'")
    assert "王小五" not in page.locator("#mg-card").inner_text()
    assert page.get_attribute("#m3-f-building_head", "placeholder") == "王**"
    page.click("#m3-card-edit summary")  # open again to see the boxes
    _shot(page, "micro_bounds_card.png")

    # the other colourings, each with its legend
    page.select_option("#m3-colour", "coverage")
    wait_until(page, "document.querySelector('#legend-block-micro').dataset.colouring === 'coverage'")
    wait_until(
        page,
        "'pct_' + (window.LINLI_SCENE || {function: ''}).function in "
        "window.LINLI.micro.data.grids.features[0].properties || "
        "Object.keys(window.LINLI.micro.data.grids.features[0].properties).some(k => k.startsWith('pct_'))",
    )
    assert "覆盖率" in page.locator("#legend-block-micro").inner_text()
    page.select_option("#m3-colour", "roster")
    wait_until(page, "document.querySelector('#legend-block-micro').dataset.colouring === 'roster'")
    assert "尚未导入名册" in page.locator("#legend-block-micro").inner_text()
    _shot(page, "micro_bounds_roster.png")

    # the org tree numbers a micro-grid by its code after its grid's
    page.click("#ow-open")
    wait_until(page, "document.querySelectorAll('#ow-tree .ow-micro-row').length > 0")
    row = page.locator(f"#ow-tree .ow-micro-row[data-code='{code}']")
    # (the grid's list of micro-grids may be folded: the text, not what is on screen)
    assert row.locator(".ow-code").text_content() == code[-2:] and "紫云小区1号楼" in row.text_content()
    # the one resource error is the refused bounds (422) above
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_micro_grids_over_blocks_made_again_are_generated_afresh_from_the_panel(page, server):  # noqa: F811
    _, app = server
    page.select_option("#mg-level", "micro")
    wait_until(page, "document.querySelector('#m3-min').value !== ''")
    if page.evaluate("window.LINLI.micro.data === null"):  # made by the test above, or here
        page.click("#mg-generate")
        wait_until(page, "window.LINLI.micro.layer !== null", timeout_s=60)
    count = page.evaluate("window.LINLI.micro.data.grids.features.length")
    # the project's street blocks made again under new ids (the grids' fixed part changed)
    key = next(k for k in app.extensions["linli.grids"] if not k.endswith("#micro"))
    cached = app.extensions["linli.grids"][key]
    units = cached["plan"].units.copy()
    units["unit_id"] = "new-" + units["unit_id"].astype(str)
    cached["plan"] = dataclasses.replace(cached["plan"], units=units)
    page.select_option("#mg-level", "grid")
    page.select_option("#mg-level", "micro")
    wait_until(page, "!document.querySelector('#m3-reset-row').hidden")
    assert "街区已重新划分" in page.locator("#m3-reset-text").inner_text()
    assert "重新生成（弃用原微网格）" in page.locator("#m3-reset").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#m3-reset")
    wait_until(page, "window.LINLI.micro.data !== null && window.LINLI.micro.layer !== null", timeout_s=60)
    assert page.locator("#m3-reset-row").is_hidden()
    assert page.evaluate("window.LINLI.micro.data.grids.features.length") > 0
    assert page.evaluate("window.LINLI.micro.data.stale_grids.length") == 0
    assert count > 0
    _shot(page, "micro_reset.png")
