"""The placement panel counts the saved plan's open centres (issue 21), in the real headless Chromium:
the default is said on screen, the job is sent with the plan and the mode, the result names the
linked centre counted site by site; the wall map is printed with the export block's title block."""

from __future__ import annotations

from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from tests.test_webapp_centreweb import FEATURES


def test_the_placement_panel_counts_the_plans_open_centres(page, server):  # noqa: F811
    base, app = server
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    plan = client.post("/api/plans", json={"name": "中心计入", "features": FEATURES}).get_json()
    page.goto(f"{base}/?function=elderly#plan={plan['id']}", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true && window.LINLI.drawn.getLayers().length === 3")
    # The default is on screen: open centres count, site by site; the phase box only for "up to phase N".
    assert page.locator("#cw-centres").input_value() == "open"
    assert "已建成的计入现有设施（默认）" in page.locator("#cw-centres option:checked").inner_text()
    assert "逐站点计" in page.locator("#cw-centres-hint").inner_text()
    assert page.locator("#cw-centres-phase").is_hidden()
    page.select_option("#cw-centres", "phase")
    assert page.locator("#cw-centres-phase").is_visible()
    page.select_option("#cw-centres", "open")

    page.fill("#place-new", "1")
    with page.expect_request(lambda r: r.url.endswith("/api/jobs") and r.method == "POST") as sent:
        page.click("#place-run")
    params = sent.value.post_data_json["params"]
    assert (params["plan"], params["centres"], params["candidates"]) == (plan["id"], "open", "network")
    wait_until(page, "document.getElementById('place-status').dataset.state === 'done'", timeout_s=120)
    counted = page.locator("#cw-counted")
    assert counted.get_attribute("data-counted") == "2"
    text = counted.inner_text()
    assert "计入现有设施的方案中心（已建成）" in text
    assert "议会多点中心 (多点串联, 2 处站点: 卫生站 病有所医; 照料中心 老有所养)" in text
    assert "南区中心" not in text  # planned, phase 2: not counted

    # The wall map carries the title block typed in the export block.
    page.fill("#prog-today", "2026-12-06")
    page.click("#prog-run")
    wait_until(page, "document.getElementById('linli-programme').dataset.ready === '2'", timeout_s=60)
    page.fill("#deliver-author", "张三")
    page.fill("#deliver-approval", "闽S(2026)001号")
    with page.expect_request(lambda r: "/api/programme/map.pdf" in r.url) as printed:
        page.click("#prog-print-pdf")
    body = printed.value.post_data_json
    assert (body["author"], body["approval_no"]) == ("张三", "闽S(2026)001号")
    assert "reviewer" not in body  # empty: the project's own
    assert printed.value.response().status == 200
    assert page.console_errors == []
