"""Accounts in a real headless Chromium (issue 19, h-acct): the plan list names who created a
plan and who saved it last; the administrator removes a person's records from the admin page."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_auth import PASSWORD
from tests.test_browser import browser, wait_until  # noqa: F401
from tests.test_browser_auth import context, login_server  # noqa: F401

PHONE = "13812345678"


def _sign_in(page, base):
    page.goto(base + "/login", wait_until="load")
    page.fill("input[name=name]", "zhang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_the_plan_list_names_its_authors(context, login_server):  # noqa: F811
    base, app = login_server
    page = context.new_page()
    _sign_in(page, base)
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    page.fill("#plan-name", "作者测试")
    page.click("#plan-save")
    wait_until(page, "document.getElementById('plan-version').textContent.includes('v2')")
    assert page.locator("#plan-select option:checked").inner_text().endswith(" · zhang 保存")
    plan_id = int(page.locator("#plan-select").input_value())
    # A colleague saves it: the list says who created it and who saved it last.
    app.extensions["linli.store"].save(plan_id, version=2, notes="李改", author="li")
    page.reload(wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    wait_until(page, f"!!document.querySelector('#plan-select option[value=\"{plan_id}\"]')")
    option = page.locator(f"#plan-select option[value='{plan_id}']").inner_text()
    assert option.startswith("作者测试 · v3 · ") and option.endswith(" · zhang 创建, li 保存")


def test_the_admin_removes_a_person_from_the_admin_page(context, login_server):  # noqa: F811
    base, app = login_server
    grids = Path(app.instance_path) / "grids"
    grids.mkdir(exist_ok=True)
    (grids / "test.json").write_text(json.dumps({"grid_member": f"张三 {PHONE}"}, ensure_ascii=False), "utf-8")
    (grids / "会议.kml").write_text("<kml/>", "utf-8")  # a kind listed for a check by hand
    page = context.new_page()
    _sign_in(page, base)
    page.goto(base + "/admin", wait_until="load")
    page.fill("#linli-forget-person input[name=name]", "张三")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation
    page.click("#linli-forget-person button[type=submit]")
    wait_until(page, "!document.getElementById('linli-admin-message').hidden")
    assert "只凭姓名无法确定" in page.inner_text("#linli-admin-message")  # a name alone is refused
    page.fill("#linli-forget-person input[name=name]", "张三")
    page.fill("#linli-forget-person input[name=phone]", PHONE)
    page.click("#linli-forget-person button[type=submit]")
    wait_until(page, "!document.getElementById('linli-forget-result').hidden")
    lines = page.inner_text("#linli-forget-result").splitlines()
    assert lines[0] == "已删除 1 条记录"
    assert "grids/test.json: 1 已改写（文件保留）" in lines  # h-acct2: each file rewritten, none deleted
    assert "grids/会议.kml: 未检查，请人工核对" in lines
    assert json.loads((grids / "test.json").read_text("utf-8")) == {"grid_member": ""}
    last = app.extensions["linli.users"].audit(limit=1)[0]
    assert (last["user_name"], last["action"]) == ("zhang", "person.forget") and "张三" not in last["detail"]
