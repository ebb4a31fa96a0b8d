"""Micro-grids (微网格) on the web map in the real headless Chromium (h-micro, issue 20): the level
chosen in the grids panel, the micro-grids generated and drawn inside the grids with their codes at
high zoom, a micro-grid's card, a split from the card and its undo."""

from __future__ import annotations

import os

from tests.test_browser import browser, page, server, wait_until  # noqa: F401

# The page point (x, y) over a micro-grid's own polygon, found from its label point.
_POINT_IN = """code => {
  const g = window.LINLI.micro, map = window.LINLI.map;
  const f = g.data.grids.features.find(f => f.properties.code === code);
  const p = map.latLngToContainerPoint(f.properties.label_at);
  const box = map.getContainer().getBoundingClientRect();
  for (let r = 0; r < 200; r += 3) for (const [dx, dy] of [[0, r], [r, 0], [0, -r], [-r, 0], [r, r], [-r, -r]]) {
    const x = box.left + p.x + dx, y = box.top + p.y + dy;
    const el = document.elementFromPoint(x, y);
    if (el && el.closest('.leaflet-linli-micro-pane') && el.tagName === 'path') {
      const hit = g.layer.getLayers().find(l => l._path === el);
      if (hit && hit.feature.properties.code === code) return [x, y];
    }
  }
  return null;
}"""

_CODES = "window.LINLI.micro.data.grids.features.map(f => f.properties.code)"


def test_micro_level_generates_draws_splits_and_undoes(page, server):  # noqa: F811
    page.select_option("#mg-level", "micro")
    wait_until(page, "window.LINLI.grids.layer !== null")  # the grids are shown under the micro-grids
    assert page.locator("#mg-policy").is_visible()
    page.click("#mg-generate")
    wait_until(page, "window.LINLI.micro.layer !== null", timeout_s=60)
    codes = page.evaluate(_CODES)
    parents = page.evaluate("window.LINLI.grids.data.grids.features.map(f => f.properties.code)")
    assert len(codes) > len(parents) >= 2
    assert all(any(c.startswith(p) and len(c) > len(p) for p in parents) for c in codes)  # nested, coded under
    assert page.locator(".leaflet-linli-micro-pane path").count() == len(codes)
    assert "微网格检查" in page.locator("#mg-checks").inner_text()

    # codes (as text, whole) only at high zoom
    code = sorted(
        codes,
        key=lambda c: (
            -page.evaluate(
                f"window.LINLI.micro.data.grids.features.find(f => f.properties.code === '{c}').properties.units"
            )
        ),
    )[0]
    at = page.evaluate(
        f"window.LINLI.micro.data.grids.features.find(f => f.properties.code === '{code}').properties.label_at"
    )
    page.evaluate(f"void window.LINLI.map.setView({at}, 15, {{animate: false}})")
    wait_until(page, "document.querySelectorAll('.mg-label').length === 0")
    page.evaluate(f"void window.LINLI.map.setView({at}, 17, {{animate: false}})")
    wait_until(page, f"document.querySelectorAll('.mg-label').length === {len(codes)}")
    assert code in page.locator(".mg-label").all_inner_texts()

    xy = page.evaluate(_POINT_IN, code)
    assert xy is not None, f"micro-grid {code} not clickable"
    page.mouse.click(*xy)
    wait_until(page, f"(document.querySelector('#mg-card .mg-code') || {{}}).textContent === '{code}'")
    card = page.locator("#mg-card").inner_text()
    assert "户数" in card and "所属网格" in card and code[:-2] in card  # its grid's code

    version = page.evaluate("window.LINLI.micro.data.version")
    page.click("#mg-split")
    wait_until(page, f"window.LINLI.micro.data.grids.features.length === {len(codes) + 1}")
    after = page.evaluate(_CODES)
    new = sorted(set(after) - set(codes))
    assert len(new) == 1 and new[0].startswith(code[:-2])  # the next number under the same grid
    assert set(codes) <= set(after)  # nothing renumbered
    assert "ms" in page.locator("#mg-checks").inner_text()
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, "micro_split.png"))
        page.evaluate(f"void window.LINLI.map.setView({at}, 15, {{animate: false}})")
        page.screenshot(path=os.path.join(folder, "micro_split_z15.png"))

    page.click("#mg-undo")
    wait_until(page, f"window.LINLI.micro.data.version === {version + 2}")
    assert sorted(page.evaluate(_CODES)) == sorted(codes)
    assert not page.locator("#mg-redo").is_disabled()
    page.click("#mg-history-show")
    wait_until(page, "document.querySelectorAll('#mg-history li').length === 3")
    assert "撤销" in page.locator("#mg-history li").first.inner_text()  # newest first: the undo, the split, made

    # a grid split elsewhere (another tab): the grids drawn again, the micro-grids it cut flagged and re-derived
    grid = parents[0]
    page.evaluate(
        """async code => {
          const token = (await (await fetch('/api/csrf')).json()).token;
          await fetch('/api/grids/edit', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
            body: JSON.stringify({op: 'split', grid: code})});
          document.getElementById('grids-colour').dispatchEvent(new Event('change'));
        }""",
        grid,
    )
    wait_until(page, "!document.getElementById('mg-stale').hidden")
    assert grid in page.locator("#mg-stale-text").inner_text()
    assert page.locator("#mg-checks li[data-kind='not_nested'], #mg-checks li[data-kind='crosses_parent']").count()
    if folder:
        page.screenshot(path=os.path.join(folder, "micro_flagged.png"))
    page.click("#mg-rederive")
    wait_until(page, "document.getElementById('mg-stale').hidden")
    assert page.locator("#mg-checks li[data-kind='not_nested'], #mg-checks li[data-kind='crosses_parent']").count() == 0

    page.select_option("#mg-level", "grid")
    wait_until(page, "window.LINLI.micro.layer === null")
    assert page.locator(".leaflet-linli-micro-pane path").count() == 0
