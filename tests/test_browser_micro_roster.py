"""A roster's building head on the micro-grid card in the real headless Chromium (h-micro2, issue 20):
micro-grids generated in the grids panel, a roster with a 楼栋长 placed by position imported, and a
click on that micro-grid shows the person counted and named masked (王**), never in clear; the
organisation tree lists the web micro-grids with him under his."""

from __future__ import annotations

import os

from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from tests.test_browser_micro import _POINT_IN

_UPLOAD = """async ([lon, lat]) => {
  const token = (await (await fetch('/api/csrf')).json()).token;
  const text = '姓名,角色,经度,纬度\\n王小五,楼栋长,' + lon + ',' + lat + '\\n';
  const form = new FormData();
  form.append('file', new Blob(['\\ufeff' + text], {type: 'text/csv'}), '楼栋长名册.csv');
  form.append('system', 'wgs84');
  const answer = await fetch('/api/grids/roster', {method: 'POST', credentials: 'same-origin',
    headers: {'X-CSRF-Token': token}, body: form});
  return answer.status;
}"""


def test_micro_grid_card_shows_the_roster_people_placed_in_it(page, server):  # noqa: F811
    page.select_option("#mg-level", "micro")
    page.click("#mg-generate")
    wait_until(page, "window.LINLI.micro.layer !== null", timeout_s=60)
    features = page.evaluate("window.LINLI.micro.data.grids.features.map(f => [f.properties.code, f.properties.units])")
    code = max(features, key=lambda f: f[1])[0]  # the largest: easy to click
    at = page.evaluate(
        f"window.LINLI.micro.data.grids.features.find(f => f.properties.code === '{code}').properties.label_at"
    )
    assert page.evaluate(_UPLOAD, [at[1], at[0]]) == 200
    page.evaluate(f"void window.LINLI.map.setView({at}, 17, {{animate: false}})")
    xy = page.evaluate(_POINT_IN, code)
    assert xy is not None, f"micro-grid {code} not clickable"
    page.mouse.click(*xy)
    wait_until(page, "document.getElementById('m2-card-roster') !== null")
    block = page.locator("#m2-card-roster").inner_text()
    assert "名册人员" in block and "楼栋长" in block and "1 人" in block and "王**" in block, block
    assert "王小五" not in page.locator("#mg-card").inner_text()
    assert page.locator("#mg-card .mg-code").inner_text() == code
    # the downloads of the grids panel follow the chosen coordinate system
    page.select_option("#m2-crs", "cgcs2000")
    assert page.get_attribute("#m2-gpkg", "href") == "/api/export/grids.gpkg?crs=cgcs2000"
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, "micro_roster_card.png"))
    # the organisation tree: the web micro-grids under their grid, the building head under his
    page.click("#ow-open")
    row = f".ow-micro-row[data-code='{code}']"
    wait_until(page, f'document.querySelector("{row}") !== null')
    page.click("#ow-expand")  # long micro-grid lists start folded
    assert "王**" in page.locator(row).inner_text()
    assert page.locator(".ow-micro-row").count() == len(features)
    if folder:
        page.locator(row).scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(folder, "micro_roster_orgtree.png"))
    assert not page.console_errors, page.console_errors
