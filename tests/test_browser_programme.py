"""The building programme panel in the real headless Chromium: two candidates made one linked centre,
its status and date set in the panel, coloured on the map, the figures those of the API, kept in the
saved plan and back after loading it."""

from __future__ import annotations

from tests.test_browser import browser, page, server, wait_until  # noqa: F401


def _set_site(pg, k: int, *, centre: str, kind: str, function: str, status: str, date: str) -> None:
    pg.select_option("#prog-site", str(k))
    pg.fill("#prog-centre", centre)
    pg.select_option("#prog-kind", kind)
    for box in pg.locator("#prog-functions input").all():
        box.set_checked(box.get_attribute("value") == function)
    pg.select_option("#prog-status", status)
    pg.fill("#prog-date", date)
    pg.fill("#prog-phase", "1")
    pg.click("#prog-apply")


def test_a_linked_centre_in_the_programme_panel(page, server):  # noqa: F811
    base, _ = server
    page.evaluate("void window.LINLI.addCandidateAt(60.1720, 24.9400, 'Clinic')")
    page.evaluate("void window.LINLI.addCandidateAt(60.1730, 24.9420, 'Day care')")
    page.fill("#prog-today", "2026-12-06")
    page.fill("#prog-target-count", "2")
    page.fill("#prog-target-date", "2026-12-31")
    page.click("#prog-edit-box summary")
    assert page.locator("#prog-site option").all_inner_texts() == ["Clinic", "Day care"]
    # A linked centre of one site would be refused: the first is a single centre until the second joins it.
    _set_site(
        page, 0, centre="Parliament centre", kind="", function="medical", status="construction", date="2026-12-20"
    )
    wait_until(page, "document.getElementById('linli-programme').dataset.ready === '2'")  # two centres so far
    _set_site(
        page, 1, centre="Parliament centre", kind="linked", function="elderly", status="construction", date="2026-12-20"
    )
    wait_until(page, "document.getElementById('linli-programme').dataset.ready === '1'")  # one centre, two sites
    rows = page.locator("#prog-table tbody tr")
    assert rows.count() == 1
    cells = rows.nth(0).locator("td").all_inner_texts()
    assert cells[0].startswith("Parliament centre") and "2" in cells[0]
    assert cells[1] == "多点串联" and cells[2].strip() == "在建" and cells[4] == "2026-12-20"
    assert cells[5] == "剩 14 天"  # 2026-12-20 is 14 days after 2026-12-06: due soon
    assert "计划数不足" in page.locator("#prog-targets").inner_text()  # 1 centre due, 2 wanted
    # On the map: both sites in the status colour, ringed orange (due soon), joined by a dashed line.
    marks = page.evaluate(
        "window.LINLI.programme.sites.map(m => [m.options.fillColor, m.options.color, m.linliSite.centre])"
    )
    data = page.evaluate("window.LINLI.programme.data")
    construction, due_soon = data["colours"]["status"]["construction"], data["colours"]["lateness"]["due_soon"]
    assert marks == [[construction, due_soon, "Parliament centre"]] * 2
    assert page.locator(".leaflet-linli-programme-pane path").count() == 3  # two circles and the link
    # The coverage table: one row per stage, one column per function; the clinic adds 病有所医 at phase 1.
    stages = page.locator("#prog-coverage tbody th").all_inner_texts()
    assert stages == ["现状设施", "已建成中心", "第 1 期后"]
    api = {(r["stage_key"], r["function"]): r["covered_pct_after"] for r in data["coverage"]}
    assert api[("phase", "medical")] >= api[("existing", "medical")]

    # Saved with the plan, and back from it: the programme fields live in the candidates' properties.
    features = page.evaluate("window.LINLI.collectFeatures()")
    assert [f["properties"]["centre"] for f in features] == ["Parliament centre"] * 2
    assert [f["properties"]["functions"] for f in features] == ["medical", "elderly"]
    page.fill("#plan-name", "Programme")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('plan-version').textContent.startsWith('#')")
    plan_id = page.evaluate("document.getElementById('plan-version').textContent.slice(1).split(' ')[0]")
    page.goto(f"{base}/#plan={plan_id}", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true && window.LINLI.drawn.getLayers().length === 2")
    page.fill("#prog-today", "2026-12-06")
    page.click("#prog-run")
    wait_until(page, "document.getElementById('linli-programme').dataset.ready === '1'")
    assert page.locator("#prog-table tbody tr td").nth(5).inner_text() == "剩 14 天"
    assert page.console_errors == []
