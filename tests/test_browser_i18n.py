"""The map's own texts in a real headless Chromium (issue 18): the English page's legend, layer
control, map controls and tooltips are English; the Chinese page's drawing tools are Chinese.

(tests/test_browser.py already checks two drawing buttons' Chinese titles and that the scale
bar is metric; these tests go through every drawing text and the rest of the map's controls.)
"""

from __future__ import annotations

import re

from geo.access.standards import FUNCTIONS
from tests.test_browser import browser, server, wait_until  # noqa: F401
from tests.test_i18n import CJK
from webapp.state import get_state

#: Latin letters: none belongs in the Chinese page's drawing tools.
LATIN = re.compile(r"[A-Za-z]")


def _open(browser, server, lang: str):  # noqa: F811
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.goto(f"{base}/?lang={lang}", wait_until="load")
    wait_until(page, "window.LINLI && window.LINLI.ready === true")
    return context, page


def _data_names(server) -> list[str]:  # noqa: F811
    """Names that come from data and stay as they are in English: a project's own "1+6+X"
    functions (which have no English name) and its area units' level names."""
    _, app = server
    with app.app_context():
        state = get_state()
    return [name for key, name in state.functions.items() if key not in FUNCTIONS] + list(state.project.units)


def _without(text: str, names: list[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    return text


def test_english_map_speaks_english(browser, server):  # noqa: F811
    context, page = _open(browser, server, "en")
    try:
        names = _data_names(server)
        legend = page.locator("#linli-legend").inner_text()
        # The layer control is folded; its labels are in the page all the same.
        layers = page.evaluate("document.querySelector('.leaflet-control-layers-list').textContent")
        assert "My drawings" in layers and "Facilities: Health care" in layers and "Base map (OSM)" in layers
        # (the legend names the functions whose facilities are shown: Health care, the page's)
        assert "Not reached" in legend and "Health care" in legend and "10-15 min" in legend
        assert "Culture and leisure" in page.locator("#legend-block-facilities").text_content()
        for text in (legend, layers):
            assert not CJK.search(_without(text, names)), text
        # Leaflet's own controls: zoom buttons and the layer toggle.
        titles = page.evaluate(
            "[...document.querySelectorAll('.leaflet-control-zoom a, .leaflet-control-layers-toggle')]"
            ".map((a) => a.title)"
        )
        assert titles == ["Zoom in", "Zoom out", "Layers"]
        # The drawing tools keep Leaflet.draw's English.
        assert page.locator(".leaflet-draw-draw-polygon").get_attribute("title") == "Draw a polygon"
        # Tooltips of the service areas and the residents' walking times drawn for the window.
        tips = page.evaluate(
            """(() => {
              const out = [];
              for (const e of window.LINLI_VIEW.layers) {
                if (e.spec.layer !== "rings" && e.spec.layer !== "times") continue;
                e.sub.eachLayer((g) => g.eachLayer((l) => {
                  const tip = l.getTooltip && l.getTooltip();
                  if (tip) out.push([e.spec.layer, String(tip.getContent())]);
                }));
              }
              return out;
            })()"""
        )
        kinds = {kind for kind, _ in tips}
        assert kinds == {"rings", "times"}, kinds
        for kind, tip in tips:
            # A walking-time point names its nearest facility: data, left as it is.
            text = re.sub(r"Nearest facility: .*$", "", tip) if kind == "times" else tip
            assert " min" in text and not CJK.search(text), tip
        # A facility's popup: its name and kind are data; the words around them are English.
        # (opened from the script: the markers overlap one another where they are dense)
        page.evaluate(
            """void (() => {
              for (const e of window.LINLI_VIEW.layers) {
                if (e.spec.layer !== "facilities") continue;
                const found = [];
                e.sub.eachLayer((g) => g.eachLayer((l) => { if (l.getPopup()) found.push(l); }));
                if (found.length) { found[0].openPopup(); return; }
              }
            })()"""
        )
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        # (the first line is the facility's name; then its function and type from the standard)
        lines = popup.inner_text().strip().splitlines()
        assert lines[-1].startswith("Source: ") and " · " in lines[1], lines
        assert not CJK.search("\n".join(lines[1:-1])), lines
        assert page.console_errors == []
    finally:
        context.close()


def test_chinese_drawing_tools_speak_chinese(browser, server):  # noqa: F811
    context, page = _open(browser, server, "zh")
    try:
        toolbar = page.evaluate(
            "[...document.querySelectorAll('.leaflet-draw a')].map((a) => a.title + ' ' + a.textContent)"
        )
        assert len(toolbar) >= 4  # polygon, marker, edit, remove (and their hidden actions)
        assert all(not LATIN.search(text) for text in toolbar), toolbar
        # While a polygon is drawn: its actions (finish, delete the last point, cancel) and the tooltip.
        page.locator(".leaflet-draw-draw-polygon").click()
        page.mouse.move(*_centre(page))
        tip = page.locator(".leaflet-draw-tooltip")
        tip.wait_for()
        actions = page.evaluate(
            "[...document.querySelectorAll('.leaflet-draw-actions a')]"
            ".filter((a) => a.offsetParent !== null).map((a) => a.title + ' ' + a.textContent)"
        )
        assert actions and all(not LATIN.search(text) for text in actions), actions
        assert tip.inner_text().strip() == "点击开始绘制。"
        page.keyboard.press("Escape")
        # Leaflet's own controls are Chinese too.
        titles = page.evaluate(
            "[...document.querySelectorAll('.leaflet-control-zoom a, .leaflet-control-layers-toggle')]"
            ".map((a) => a.title)"
        )
        assert titles == ["放大", "缩小", "图层"]
        # The scale bar: metres or kilometres only, whatever the zoom (no feet, no miles).
        for zoom in (17, 12):
            page.evaluate(f"void window.LINLI.map.setZoom({zoom}, {{animate: false}})")
            scale = page.evaluate(
                "[...document.querySelectorAll('.leaflet-control-scale-line')].map((d) => d.textContent)"
            )
            assert len(scale) == 1 and re.fullmatch(r"\d+ k?m", scale[0].strip()), scale
        assert page.console_errors == []
    finally:
        context.close()


def _centre(page) -> tuple[float, float]:
    box = page.locator("#linli-map .folium-map").bounding_box()
    return box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"]
