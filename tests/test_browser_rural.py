"""The planner's life-circle standard for the check's exports, in the real headless Chromium (issue 21)."""

from __future__ import annotations

import io

import pandas as pd

from tests.test_browser import browser, page, server, wait_until  # noqa: F401


def test_chosen_standard_travels_with_the_check_exports(page, server):  # noqa: F811
    links = "[...document.querySelectorAll('#linli-exports a.export-check')].map(a => a.getAttribute('href'))"
    assert all("standard=" not in href for href in page.evaluate(links))
    page.select_option("#export-check-standard", "tdt1062")
    hrefs = page.evaluate(links)
    assert len(hrefs) == 2 and all("standard=tdt1062" in href for href in hrefs)
    # A scene switch rewrites the export links (function, budget, profile) and keeps the standard.
    page.select_option("#function-select", "elderly")
    wait_until(page, f"{links}.every(h => h.includes('function=elderly'))")
    assert all("standard=tdt1062" in href for href in page.evaluate(links))
    base, _ = server
    xlsx = next(h for h in page.evaluate(links) if "coverage.xlsx" in h)
    body = page.request.get(base + xlsx)
    assert body.status == 200
    check = pd.read_excel(io.BytesIO(body.body()), sheet_name="达标检查")
    assert set(check["适用标准"]) == {"TD/T 1062-2021"}
    page.select_option("#export-check-standard", "auto")
    assert all("standard=auto" in href for href in page.evaluate(links))
    assert page.console_errors == []
