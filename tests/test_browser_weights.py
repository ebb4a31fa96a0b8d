"""The panel's coverage counted over the elderly (issue 20), in a real headless Chromium on the Guixi project."""

from __future__ import annotations

import re

from tests.test_browser import wait_until
from tests.test_browser_ledgers import page, server  # noqa: F401  (the Guixi server and its page)


def _rows(tab) -> list[tuple[float, float]]:
    text = tab.inner_text("#coverage-body")
    pairs = re.findall(r"([\d,]+) / ([\d,]+)", text)
    return [(float(a.replace(",", "")), float(b.replace(",", ""))) for a, b in pairs]


def _select(tab, weight: str) -> None:
    """Choose a weight and wait until the panel's table differs from what it showed before."""
    shown = tab.inner_text("#coverage-body")
    tab.select_option("#org-weight-select", weight)
    wait_until(tab, f"document.getElementById('coverage-body').innerText !== {shown!r}")


def test_the_weight_select_recounts_the_panel(page):  # noqa: F811  (the fixture imported above)
    before = _rows(page)
    assert before and page.locator("#org-weight-select option[value='elderly']").count() == 1
    _select(page, "elderly")
    after = _rows(page)
    assert len(after) == len(before)
    # every function now counted over one population, the elderly: fewer than the residents
    assert len({total for _, total in after}) == 1
    assert max(total for _, total in after) < max(total for _, total in before)
    _select(page, "")
    assert _rows(page) == before
    assert page.console_errors == []
