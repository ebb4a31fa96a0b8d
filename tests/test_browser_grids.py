"""The grids on the web map in the real headless Chromium: layer and labels, card, merge and undo,
checks; a split along a line drawn on the map, redo, the history; coverage colours following the scene."""

from __future__ import annotations

import os

import shapely

from geo.grids.output import grids_gdf
from tests.test_browser import browser, page, server, wait_until  # noqa: F401

# The page point (x, y) over a grid's own polygon (not a marker or a label), found from its label point.
_POINT_IN = """code => {
  const g = window.LINLI.grids, map = window.LINLI.map;
  const f = g.data.grids.features.find(f => f.properties.code === code);
  const p = map.latLngToContainerPoint(f.properties.label_at);
  const box = map.getContainer().getBoundingClientRect();
  for (let r = 0; r < 200; r += 6) for (const [dx, dy] of [[0, r], [r, 0], [0, -r], [-r, 0], [r, r], [-r, -r]]) {
    const x = box.left + p.x + dx, y = box.top + p.y + dy;
    const el = document.elementFromPoint(x, y);
    if (el && el.closest('.leaflet-linli-grids-pane') && el.tagName === 'path') {
      const hit = g.layer.getLayers().find(l => l._path === el);
      if (hit && hit.feature.properties.code === code) return [x, y];
    }
  }
  return null;
}"""


def _shot(pg, name: str) -> None:
    """A screenshot to look at, where ``LINLI_SCREENSHOTS`` names a folder (none otherwise)."""
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        pg.screenshot(path=os.path.join(folder, name))


def _codes(pg) -> list[str]:
    return pg.evaluate("window.LINLI.grids.data.grids.features.map(f => f.properties.code)")


def _adjacent_pair(app) -> tuple[str, str]:
    plan = next(iter(app.extensions["linli.grids"].values()))["plan"]
    frame = grids_gdf(plan)
    for i, a in frame.iterrows():
        for _, b in frame.iloc[i + 1 :].iterrows():
            if shapely.length(shapely.intersection(a.geometry.boundary, b.geometry.boundary)) > 50:
                return a["code"], b["code"]
    raise AssertionError("no two adjacent grids")


def _click_grid(pg, code: str) -> None:
    pg.evaluate(f"void window.LINLI.map.setView({pg.evaluate(_lat_lon(code))}, 15, {{animate: false}})")
    xy = pg.evaluate(_POINT_IN, code)
    assert xy is not None, f"grid {code} not clickable"
    pg.mouse.click(*xy)


def _lat_lon(code: str) -> str:
    return f"window.LINLI.grids.data.grids.features.find(f => f.properties.code === '{code}').properties.label_at"


def _households(code: str) -> str:
    return f"window.LINLI.grids.data.grids.features.find(f => f.properties.code === '{code}').properties.households"


def test_grids_show_with_labels_card_merge_undo_and_checks(page, server):  # noqa: F811
    _, app = server
    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    count = len(_codes(page))
    assert count >= 2
    page.evaluate("void window.LINLI.map.setZoom(13, {animate: false})")
    wait_until(page, "document.querySelectorAll('.linli-grid-label').length === 0")
    page.evaluate("void window.LINLI.map.setZoom(15, {animate: false})")
    wait_until(page, f"document.querySelectorAll('.linli-grid-label').length === {count}")
    assert page.locator("#linli-legend #legend-block-grids").is_visible()  # in the map's legend
    assert page.locator("#grids-checks").inner_text().startswith("检查")

    before = _codes(page)
    a, b = _adjacent_pair(app)
    _click_grid(page, a)
    wait_until(page, f"(document.querySelector('#grids-card .grids-code') || {{}}).textContent === '{a}'")
    card = page.locator("#grids-card").inner_text()
    assert "户数" in card and "户" in card and "病有所医" in card

    page.click("#grids-merge")
    _click_grid(page, b)
    wait_until(page, f"window.LINLI.grids.data.grids.features.length === {count - 1}")
    assert _codes(page) == [c for c in before if c != max(a, b)]
    checks = page.locator("#grids-checks").inner_text()
    assert "编辑与检查用时" in checks and " ms" in checks
    # the merged grid has the two's households; the checks flag it when above the ceiling
    merged_hh = page.evaluate(_households(min(a, b)))
    ceiling = page.evaluate("window.LINLI.grids.data.max_households")
    flagged = page.locator("#grids-checks li[data-kind='above_ceiling']").count() > 0
    assert flagged == (merged_hh > ceiling), (merged_hh, ceiling, checks)
    assert page.locator("#grids-undo").is_enabled()

    page.click("#grids-undo")
    wait_until(page, f"window.LINLI.grids.data.grids.features.length === {count}")
    assert _codes(page) == before
    assert page.console_errors == []


def test_grids_panel_is_english_in_english(browser, server):  # noqa: F811
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.goto(base + "/?lang=en", wait_until="load")
    wait_until(pg, "window.LINLI && window.LINLI.ready === true")
    pg.check("#grids-show")
    wait_until(pg, "window.LINLI.grids.layer !== null")
    text = pg.locator("#linli-grids").inner_text()
    assert "Grids" in text and "Households" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    # after an edit: the card, the checks with code stability and the history, all in English
    count = len(_codes(pg))
    code = _codes(pg)[0]
    _click_grid(pg, code)
    wait_until(pg, f"(document.querySelector('#grids-card .grids-code') || {{}}).textContent === '{code}'")
    pg.click("#grids-split")
    wait_until(pg, f"window.LINLI.grids.data.grids.features.length === {count + 1}")
    pg.click("#grids-history-show")
    wait_until(pg, "document.querySelectorAll('#grids-history li').length >= 2")
    text = pg.locator("#linli-grids").inner_text()
    assert "untouched grids kept their codes" in text and "Grids changed" in text and "History" in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    _shot(pg, "grids-en.png")
    context.close()


# The page points (x, y) just outside a grid's bounds, above and below it, at its label's longitude.
_ACROSS = """code => {
  const g = window.LINLI.grids, map = window.LINLI.map;
  const layer = g.layer.getLayers().find(l => l.feature.properties.code === code);
  const b = layer.getBounds();
  const lon = layer.feature.properties.label_at[1];
  const pad = (b.getNorth() - b.getSouth()) * 0.05;
  const box = map.getContainer().getBoundingClientRect();
  return [[lon, b.getNorth() + pad], [lon, b.getSouth() - pad]].map(([x, y]) => {
    const p = map.latLngToContainerPoint([y, x]);
    return [box.left + p.x, box.top + p.y];
  });
}"""


def test_split_along_a_drawn_line_redo_history_and_the_scene(page, server):  # noqa: F811
    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    before = _codes(page)
    areas = page.evaluate(
        "window.LINLI.grids.layer.getLayers().map(l => [l.feature.properties.code, l.feature.properties.area_m2])"
    )
    code = max(areas, key=lambda pair: pair[1])[0]
    _click_grid(page, code)
    wait_until(page, f"(document.querySelector('#grids-card .grids-code') || {{}}).textContent === '{code}'")
    page.evaluate(
        "c => { const l = window.LINLI.grids.layer.getLayers().find(l => l.feature.properties.code === c);"
        " window.LINLI.map.fitBounds(l.getBounds(), {padding: [80, 80], animate: false}); }",
        code,
    )
    page.click("#grids-split-line")
    assert page.locator("#grids-drawing").is_visible()
    for x, y in page.evaluate(_ACROSS, code):
        page.mouse.click(x, y)
    assert page.evaluate("window.LINLI.grids.linePoints.length") == 2
    page.click("#grids-draw-finish")
    wait_until(page, f"window.LINLI.grids.data.grids.features.length === {len(before) + 1}")
    after = _codes(page)
    assert set(before) < set(after)  # the other grids kept their codes
    checks = page.locator("#grids-checks").inner_text()
    assert "个未改动的网格编码不变" in checks and "本次改动的网格" in checks and code in checks
    assert page.locator("#grids-checks li[data-kind='renumbered']").count() == 0
    _shot(page, "grids-split.png")

    page.click("#grids-undo")
    wait_until(page, f"window.LINLI.grids.data.grids.features.length === {len(before)}")
    assert page.locator("#grids-redo").is_enabled()
    page.click("#grids-redo")
    wait_until(page, f"window.LINLI.grids.data.grids.features.length === {len(before) + 1}")
    assert _codes(page) == after and page.locator("#grids-redo").is_disabled()

    page.click("#grids-history-show")
    wait_until(page, "document.querySelectorAll('#grids-history li').length >= 4")
    history = page.locator("#grids-history").inner_text()
    assert "拆分" in history and "重做" in history and "撤销" in history and "local" in history

    # coloured by the function's coverage: the legend says which function and budget, and follows the scene
    page.select_option("#grids-colour", "coverage")
    wait_until(page, "document.querySelector('#legend-block-grids').textContent.includes('15 分钟')")
    page.select_option("#budget-select", "5")
    wait_until(
        page,
        "document.querySelector('#legend-block-grids').textContent.includes('5 分钟')"
        " && !document.querySelector('#legend-block-grids').textContent.includes('15 分钟')",
    )
    wait_until(page, "window.LINLI.grids.data.grids.features.some(f => 'pct_medical' in f.properties)")
    asked = [u for u in page.requests_seen if "/api/grids?coverage=" in u]
    assert "budget=5" in asked[-1] and "profile=" in asked[-1] and "budget=15" in asked[0], asked
    _shot(page, "grids-coverage.png")
    assert page.console_errors == []
