"""The page under refusal (issue 19): a busy server's 503 and a proxy's bare answers read as sentences."""

from __future__ import annotations

from tests import test_browser
from tests.test_browser import _map_point, wait_until

# The browser tests' fixtures: the app served on a free port, Chromium, a fresh page.
server, browser, page = test_browser.server, test_browser.browser, test_browser.page


def _drop_candidate(tab) -> None:
    tab.locator(".leaflet-draw-draw-marker").click()
    x, y = _map_point(tab, 0.5, 0.55)
    tab.mouse.click(x, y)


def test_busy_server_refusal_is_shown_in_the_candidate_card(page, server):
    _, app = server
    admission = app.extensions["linli.admission"]
    holders = [f"other-planner-{k}" for k in range(app.config["ADMISSION"]["evaluate"][0])]
    for holder in holders:
        assert admission.enter("evaluate", holder, 0.0) == 0  # every evaluation place is taken
    try:
        _drop_candidate(page)
        # The request waits ADMISSION_WAIT_S for a place before it is refused.
        wait_until(page, "document.getElementById('candidate-info').textContent.includes('服务器繁忙')", timeout_s=40)
        assert "retry in" in page.locator("#candidate-info").inner_text()
    finally:
        for holder in holders:
            admission.leave("evaluate", holder)
    assert not page.console_errors or all("503" in e for e in page.console_errors)


def test_a_proxys_bare_refusal_reads_as_a_sentence(browser, server):
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        for lang, expected in (
            ("zh", "服务器繁忙，请稍后重试"),
            ("en", "The server is busy; please retry in a few seconds"),
        ):
            tab = context.new_page()
            tab.goto(f"{base}/?lang={lang}")
            tab.wait_for_selector(".leaflet-draw-draw-marker")
            # A reverse proxy in front answers 503 with its own plain text (no JSON message).
            tab.route(
                "**/api/evaluate", lambda route: route.fulfill(status=503, body="busy", content_type="text/plain")
            )
            _drop_candidate(tab)
            wait_until(tab, f"document.getElementById('candidate-info').textContent === {expected!r}")
            tab.route(
                "**/api/evaluate", lambda route: route.fulfill(status=502, body="<html>", content_type="text/html")
            )
            tab.unroute("**/api/evaluate")
            tab.close()
    finally:
        context.close()
