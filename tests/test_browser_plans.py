"""The planning workspace never loses work (issue 18), in a real headless Chromium.

A stale save opens a dialog with three ways out (their version, mine as a copy, what
differs); the recycle bin lists deleted plans and restores them; the plan list and the
version line name a plan alike, with its version and local time.  The conflict is made
by saving a newer version through the plan store from Python while the page holds the
older one.
"""

from __future__ import annotations

import datetime as dt
import re

from tests import test_browser
from tests.test_browser import _draw_polygon, _map_point, wait_until
from webapp.plans import Feature

# The browser tests' fixtures: the app served on a free port, Chromium, a fresh page.
server, browser, page = test_browser.server, test_browser.browser, test_browser.page

MESSAGE = "document.getElementById('linli-message').textContent"
DIALOG_OPEN = "document.getElementById('plan-conflict').open"
# Their shapes drawn while the dialog is open (counted in the page: no Leaflet object leaves it).
THEIRS_ON_MAP = (
    "Object.values(window.LINLI.map._layers).filter((l) => l.options && l.options.color === '#e66101').length"
)
# What the page holds: [kind, name] of each drawn feature.
ON_SCREEN = "window.LINLI.drawn.getLayers().map((l) => [l.feature.properties.kind, l.feature.properties.name || ''])"


def _stale_plan(page, app, name: str) -> int:
    """A saved plan (one drawn area, v2) that someone else then saves as v3 (the area moved, a
    candidate added, other notes), while the page adds a candidate of its own and edits the notes;
    the page's save then meets the newer version.  Returns the plan's id."""
    _draw_polygon(page)
    page.fill("#plan-name", name)
    page.click("#plan-save")
    wait_until(page, f"{MESSAGE}.includes('v2')")
    plan_id = int(page.locator("#plan-select").input_value())
    store = app.extensions["linli.store"]
    (area,) = store.get(plan_id)["features"]
    ring = [[x + 0.0005, y] for x, y in area["geometry"]["coordinates"][0]]
    moved = {"type": "Polygon", "coordinates": [ring]}
    x, y = ring[0]
    their_site = {"type": "Point", "coordinates": [x + 0.0002, y + 0.0002]}
    store.save(
        plan_id,
        version=2,
        notes="对方的修改",
        features=[
            Feature(kind="area", name="", geometry=moved, properties={}),
            Feature(kind="candidate", name="对方候选", geometry=their_site, properties={}),
        ],
    )
    page.fill("#plan-notes", "我的修改")
    page.locator(".leaflet-draw-draw-marker").click()
    page.mouse.click(*_map_point(page, 0.3, 0.3))
    wait_until(page, "window.LINLI.drawn.getLayers().length === 2")
    page.click("#plan-save")
    wait_until(page, DIALOG_OPEN)
    return plan_id


def test_conflict_reload_theirs_shows_their_version_and_drops_mine(page, server):
    _, app = server
    plan_id = _stale_plan(page, app, "冲突·重新加载")
    dialog = page.locator("#plan-conflict")
    assert dialog.get_attribute("role") == "dialog"
    assert page.locator("#plan-conflict-title").inner_text() == "方案已被他人修改"
    assert "v3" in dialog.inner_text() and "您打开的是 v2" in dialog.inner_text()
    assert page.locator("#linli-message.conflict").count() == 1  # the panel says it too
    reload = page.locator("#conflict-reload")
    assert "放弃我的修改" in reload.inner_text()  # the button says what it throws away
    reload.click()
    wait_until(page, f"!{DIALOG_OPEN} && {MESSAGE}.includes('v3')")
    assert "修改已放弃" in page.locator("#linli-message").inner_text()
    assert page.locator("#plan-notes").input_value() == "对方的修改"
    assert sorted(page.evaluate(ON_SCREEN)) == [["area", ""], ["candidate", "对方候选"]]
    assert page.locator("#plan-select").input_value() == str(plan_id)
    assert page.locator("#plan-version").inner_text().startswith(f"#{plan_id} · 冲突·重新加载 · v3 · ")
    # Nothing unsaved is left: another plan is shown without asking; the store still holds theirs.
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.select_option("#plan-select", "")
    assert asked == []
    saved = app.extensions["linli.store"].get(plan_id)
    assert saved["version"] == 3 and saved["notes"] == "对方的修改"


def test_conflict_keep_mine_as_a_copy_leaves_theirs_unchanged(page, server):
    base, app = server
    plan_id = _stale_plan(page, app, "冲突·副本")
    page.click("#conflict-copy")
    wait_until(page, f"!{DIALOG_OPEN} && {MESSAGE}.includes('副本')")
    assert "原方案未改动" in page.locator("#linli-message").inner_text()
    copy_id = int(page.locator("#plan-select").input_value())
    assert copy_id != plan_id
    # Checked through the API: the copy holds my name, notes and features; theirs is as they saved it.
    api = page.context.request
    copy = api.get(f"{base}/api/plans/{copy_id}").json()
    assert copy["name"] == "冲突·副本（副本）" and copy["notes"] == "我的修改"
    assert sorted((f["kind"], f["name"]) for f in copy["features"]) == [("area", ""), ("candidate", "候选点 1")]
    theirs = api.get(f"{base}/api/plans/{plan_id}").json()
    assert theirs["version"] == 3 and theirs["notes"] == "对方的修改"
    assert sorted((f["kind"], f["name"]) for f in theirs["features"]) == [("area", ""), ("candidate", "对方候选")]
    # My area is the one I drew (not their moved one).
    assert copy["features"][0]["geometry"] != theirs["features"][0]["geometry"]
    # The page shows the copy, saved: nothing unsaved, both plans in the list.
    assert page.locator("#plan-name").input_value() == "冲突·副本（副本）"
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 2
    options = page.locator("#plan-select option").all_inner_texts()
    assert any(o.startswith("冲突·副本 · v3 · ") for o in options)
    assert any(o.startswith("冲突·副本（副本） · v1 · ") for o in options)  # created whole, in one write


def test_conflict_show_differences_by_keyboard_then_escape_keeps_mine(page, server):
    _, app = server
    plan_id = _stale_plan(page, app, "冲突·差异")
    # Focus is in the dialog, on the harmless choice; Enter works it.
    assert page.evaluate("document.activeElement.id") == "conflict-diff"
    page.keyboard.press("Enter")
    wait_until(page, "document.getElementById('plan-conflict-diff').dataset.ready === '1'")
    text = {
        k: page.locator(f"#diff-{k}").inner_text()
        for k in ("name", "notes", "only-theirs", "only-mine", "moved", "same")
    }
    # Theirs: the area moved and a candidate added; mine: the first area and a new candidate
    # (named by the page: 候选点 1).
    assert text == {
        "name": "方案名称: 相同",
        "notes": "备注: 不同",
        "only-theirs": "仅在对方版本中：1 个",
        "only-mine": "仅在我的版本中：1 个",
        "moved": "位置或形状不同：1 个",
        "same": "相同：0 个",
    }
    lists = page.locator("#plan-conflict-diff ul").all_inner_texts()
    assert lists == ["候选邻里中心 对方候选", "候选邻里中心 候选点 1", "规划服务范围 （未命名）"]
    assert page.evaluate(THEIRS_ON_MAP) == 2  # their candidate and their moved area, in orange
    # The buttons are reachable by Tab.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "conflict-later"
    # Escape closes: their shapes leave the map, mine stay, unsaved; the store keeps theirs.
    page.keyboard.press("Escape")
    wait_until(page, f"!{DIALOG_OPEN}")
    wait_until(page, f"{THEIRS_ON_MAP} === 0")  # (the dialog's close event comes a moment later)
    assert page.evaluate("document.activeElement.id") == "plan-save"
    assert sorted(page.evaluate(ON_SCREEN)) == [["area", ""], ["candidate", "候选点 1"]]
    assert page.locator("#plan-notes").input_value() == "我的修改"
    assert app.extensions["linli.store"].get(plan_id)["version"] == 3
    # Still unsaved: choosing another plan asks first, and dismissed changes nothing.
    asked = []
    page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.select_option("#plan-select", "")
    assert len(asked) == 1 and "未保存" in asked[0]
    assert page.locator("#plan-select").input_value() == str(plan_id)
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 2
    # Saving again meets the same conflict: the dialog comes back.
    page.click("#plan-save")
    wait_until(page, DIALOG_OPEN)


def test_recycle_bin_lists_deleted_plans_and_restores_them(page):
    page.on("dialog", lambda d: d.accept())  # the confirmation before deleting
    page.fill("#plan-name", "回收站测试")
    page.click("#plan-save")
    wait_until(page, f"{MESSAGE}.includes('v')")
    plan_id = page.locator("#plan-select").input_value()
    page.click("#plan-delete")
    wait_until(page, f"{MESSAGE}.includes('已删除')")
    assert plan_id not in page.locator("#plan-select option").evaluate_all("(os) => os.map((o) => o.value)")
    page.click("#plan-bin summary")
    wait_until(page, "document.getElementById('plan-bin-list').dataset.ready > 0")
    item = page.locator("#plan-bin-list li", has_text="回收站测试")
    assert re.fullmatch(r"回收站测试 · v2 · 删除于 \d{4}-\d\d-\d\d \d\d:\d\d 恢复", item.inner_text().strip())
    item.locator("button.bin-restore").click()
    wait_until(page, f"{MESSAGE}.includes('已恢复方案')")
    assert page.locator("#linli-message").inner_text() == "已恢复方案“回收站测试”（v2）"
    assert page.locator("#plan-select").input_value() == plan_id
    assert page.locator("#plan-name").input_value() == "回收站测试"
    assert page.locator("#plan-undo").is_hidden()  # restored: nothing left to undo
    wait_until(page, "document.getElementById('plan-bin-list').dataset.ready !== undefined")
    assert page.locator("#plan-bin-list li", has_text="回收站测试").count() == 0
    # Undo after a delete still works, and the open bin follows.
    page.click("#plan-delete")
    wait_until(page, "!document.getElementById('plan-undo').hidden")
    wait_until(page, "document.querySelectorAll('#plan-bin-list .bin-restore').length > 0")
    page.click("#plan-undo")
    wait_until(page, f"{MESSAGE} === '已恢复方案“回收站测试”（v2）'")
    wait_until(page, "document.getElementById('plan-bin-list').dataset.ready !== undefined")
    assert page.locator("#plan-bin-list li", has_text="回收站测试").count() == 0


def test_plan_list_and_version_line_name_a_plan_alike_in_local_time(browser, server):
    """ "名称 · v2 · 2026-12-05 22:02": the select and the version line agree, the time is the
    browser's own (a planner in Beijing: UTC+8), and the English page speaks English."""
    base, app = server
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(base + "/?lang=en", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    page.fill("#plan-name", "时间测试")
    page.click("#plan-save")
    wait_until(page, f"{MESSAGE}.includes('v2')")
    plan_id = int(page.locator("#plan-select").input_value())
    saved = app.extensions["linli.store"].get(plan_id)
    beijing = dt.datetime.fromisoformat(saved["updated_at"]).astimezone(dt.timezone(dt.timedelta(hours=8)))
    label = f"时间测试 · v2 · {beijing:%Y-%m-%d %H:%M} · saved by this computer"  # the author (h-acct)
    assert page.locator("#plan-select option:checked").inner_text() == label
    assert page.locator("#plan-version").inner_text() == f"#{plan_id} · {label}"
    assert page.locator("#plan-bin summary").inner_text() == "Recycle bin"
    assert page.locator("#conflict-reload").inner_text() == "Reload their version (discard my edits)"
    context.close()
