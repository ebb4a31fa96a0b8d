"""The organisation tree "支部建在网格" in the real headless Chromium (issue 20): the 组织架构 button of
the grids panel opens the community, its grid cards (names masked) and the downloads; cards fold,
the filter finds a grid; a community of 60 grids with 10 micro-grids each stays a readable grid of
cards; English mode is English."""

from __future__ import annotations

import os

from geo.grids.orgchart import organisation_nodes
from tests.test_browser import browser, page, server, wait_until  # noqa: F401

WORKER = "张三丰 13812341234"

_SET = """async ([code, field, value]) => {
  const token = (await (await fetch('/api/csrf')).json()).token;
  const r = await fetch('/api/grids/edit', {method: 'POST', headers: {'Content-Type': 'application/json',
    'X-CSRF-Token': token}, body: JSON.stringify({op: 'set', grid: code, field, value})});
  return r.status;
}"""


def _shot(pg, name: str) -> None:
    """A screenshot to look at, where ``LINLI_SCREENSHOTS`` names a folder (none otherwise)."""
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        pg.screenshot(path=os.path.join(folder, name))


def _plan(app):
    return next(iter(app.extensions["linli.grids"].values()))["plan"]


def test_organisation_tree_opens_masked_folds_filters_and_downloads(page, server):  # noqa: F811
    base, app = server
    codes = page.evaluate(
        "fetch('/api/grids').then(r => r.json()).then(d => d.grids.features.map(f => f.properties.code))"
    )
    first = codes[0]
    assert page.evaluate(_SET, [first, "grid_member", WORKER]) == 200
    assert page.evaluate(_SET, [first, "branch", "第一网格党支部"]) == 200

    page.click("#ow-open")
    wait_until(page, f"document.querySelectorAll('#ow-tree .ow-grid').length === {len(codes)}")
    assert page.locator("#ow-dialog").is_visible()
    nodes = organisation_nodes(_plan(app))
    community = nodes.iloc[0]
    head = page.locator("#ow-tree .ow-community > summary").inner_text()
    assert community["code"] in head and f"{len(codes)} 个网格" in head
    card = page.locator(f"#ow-tree .ow-grid[data-code='{first}']")
    assert "第一网格党支部" in card.inner_text()
    workers = card.locator("[data-role='grid_workers']").inner_text()
    assert workers.endswith("张" + "*" * (len(WORKER) - 1))  # masked as the API gives it
    dialog_text = page.locator("#ow-dialog").inner_text()
    assert "张三丰" not in dialog_text and "13812341234" not in dialog_text and "姓名已脱敏" in dialog_text
    _shot(page, "orgweb_tree.png")

    # fold: one card, then all; expand all again
    card.locator("summary").first.click()
    assert not card.locator("[data-role='branch']").is_visible()
    page.click("#ow-expand")
    assert card.locator("[data-role='branch']").is_visible()
    page.click("#ow-collapse")
    assert page.evaluate("[...document.querySelectorAll('#ow-tree details')].every(d => !d.open)")
    page.click("#ow-expand")
    # the filter keeps the one grid whose code is typed
    page.fill("#ow-filter", codes[-1])
    visible = page.evaluate("[...document.querySelectorAll('#ow-tree .ow-grid')].filter(c => !c.hidden).length")
    assert visible == 1 and page.locator(f"#ow-tree .ow-grid[data-code='{codes[-1]}']").is_visible()
    page.fill("#ow-filter", "")

    # the three downloads answer with their files
    for link, kind in (("#ow-pdf", "application/pdf"), ("#ow-png", "image/png"), ("#ow-xlsx", "spreadsheetml")):
        answer = page.request.get(base + page.get_attribute(link, "href"))
        assert answer.status == 200 and kind in answer.headers["content-type"], link
    page.click("#ow-close")
    assert not page.locator("#ow-dialog").is_visible()
    assert page.console_errors == []


def test_sixty_grids_with_micro_grids_stay_readable(page):  # noqa: F811
    # 60 grids of 10 micro-grids (the size the wall chart pages at 12 cards a page), rendered by the page
    nodes = [
        {"level": "社区/村", "depth": 0, "code": "350521100001", "name": "大社区", "parent": "", "households": 24000}
    ]
    for g in range(60):
        gc = f"350521100001{g + 1:03d}"
        nodes.append(
            {
                "depth": 1,
                "code": gc,
                "name": f"第{g + 1}网格",
                "parent": "350521100001",
                "households": 400,
                "branch": f"第{g + 1}网格党支部",
                "grid_head": "王*",
                "grid_workers": "李*",
            }
        )
        nodes += [
            {
                "depth": 2,
                "code": f"{gc}{m + 1:03d}",
                "name": "",
                "parent": gc,
                "households": 40,
                "building_heads": "赵*",
            }
            for m in range(10)
        ]
    page.evaluate("data => window.LINLI.orgweb.render(data)", {"masked": True, "estimated": False, "nodes": nodes})
    page.evaluate("document.getElementById('ow-dialog').showModal()")
    assert page.locator("#ow-tree .ow-grid").count() == 60
    assert page.locator("#ow-tree .ow-micro-row").count() == 600
    # lists of more than 8 micro-grids start folded: a card shows its people and a one-line summary
    assert page.evaluate("[...document.querySelectorAll('#ow-tree .ow-micro')].every(d => !d.open)")
    boxes = [page.locator("#ow-tree .ow-grid").nth(k).bounding_box() for k in range(4)]
    assert len({round(b["y"]) for b in boxes}) == 1  # at 1400 px, the cards sit side by side in columns
    assert all(b["height"] < 200 for b in boxes)
    summary = page.locator("#ow-summary").inner_text()
    assert "60 个网格" in summary and "600 个微网格" in summary
    page.locator("#ow-tree .ow-grid .ow-micro summary").first.click()
    assert page.locator("#ow-tree .ow-micro-row").first.is_visible()
    _shot(page, "orgweb_sixty.png")


def test_english_mode_is_english(browser, server):  # noqa: F811
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.goto(f"{base}/?lang=en", wait_until="load")
    wait_until(pg, "window.LINLI && window.LINLI.ready === true")
    assert pg.locator("#ow-open").inner_text() == "Organisation tree"
    pg.click("#ow-open")
    wait_until(pg, "document.querySelectorAll('#ow-tree .ow-grid').length > 0")
    text = pg.locator("#ow-dialog .ow-tools").inner_text() + pg.locator("#ow-summary").inner_text()
    assert "Expand all" in text and "names masked" in text
    assert not any("\u4e00" <= c <= "\u9fff" for c in text)
    _shot(pg, "orgweb_en.png")
    context.close()
