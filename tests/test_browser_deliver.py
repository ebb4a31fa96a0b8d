"""The export block's export CRS and title block in a real headless Chromium (issue 21): what the
planner picks and types goes on the links it downloads, and the server prints it."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlparse

import pypdf

from tests.test_browser import browser, page, server, wait_until  # noqa: F401

#: Clicking a link and reading where it goes: the page's own capture handlers run first.
STOP_NAVIGATION = """(id) => {
  const a = document.getElementById(id) || document.querySelector(id);
  a.addEventListener('click', (ev) => ev.preventDefault(), { once: true });
  a.click();
  return a.getAttribute('href');
}"""


def test_title_block_and_crs_go_on_the_links(page, server):  # noqa: F811
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
    page.fill("#deliver-reviewer", "李四")
    page.fill("#deliver-approval", "闽S(2026)001号")
    href = page.evaluate(STOP_NAVIGATION, "a.export-layout[data-base*='map=coverage'][data-base*='map.pdf']")
    query = parse_qs(urlparse(href).query)
    assert query["reviewer"] == ["李四"] and query["approval_no"] == ["闽S(2026)001号"]
    assert "author" not in query  # left empty: the project's [print] value (or a blank line) applies
    # The server prints what the link carries.
    base, _ = server
    response = page.request.get(base + href)
    assert response.ok
    text = pypdf.PdfReader(io.BytesIO(response.body())).pages[0].extract_text()
    assert "审核人: 李四" in text and "审图号: 闽S(2026)001号" in text and "编制人: __________" in text
    # A plan's files take the export CRS chosen in the menu.
    token = page.request.get(base + "/api/csrf").json()["token"]
    plan = page.request.post(base + "/api/plans", headers={"X-CSRF-Token": token}, data={"name": "出图方案"}).json()
    page.select_option("#deliver-crs", "cgcs2000_gk_zone")
    show_plan_link = (
        "(id) => { const a = document.getElementById('export-plan-gpkg');"
        " a.hidden = false; a.setAttribute('href', `/api/export/plans/${id}.gpkg`); }"
    )
    page.evaluate(show_plan_link, plan["id"])
    href = page.evaluate(STOP_NAVIGATION, "export-plan-gpkg")
    assert parse_qs(urlparse(href).query)["crs"] == ["cgcs2000_gk_zone"]
    # The page fetches its downloads to say why one fails: the demo (Helsinki) lies in no CGCS2000
    # zone, so the server's 422 reason shows in the export block.
    wait_until(page, "document.getElementById('export-status').textContent.includes('3 度带')")
    assert failed == [(422, f"{base}/api/export/plans/{plan['id']}.gpkg?crs=cgcs2000_gk_zone")]
