"""A roster imported in the grids panel in the real headless Chromium (issue 20): the file is
uploaded, the summary says who was placed and which grids lack a grid worker or head, the grids
coloured by "缺网格员/网格长" are red and green as the server's flags say, and a grid's card lists
its organisation with names masked."""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from tests.test_browser_grids import _click_grid

G1, G2 = "00000000000001", "00000000000002"
RED, GREEN = "#d73027", "#1a9850"  # rosterweb.js FLAG_PALETTE: lacking, complete


def _shot(pg, name: str) -> None:
    """A screenshot to look at, where ``LINLI_SCREENSHOTS`` names a folder (none otherwise)."""
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        pg.screenshot(path=os.path.join(folder, name))


def _fill(pg, code: str) -> str:
    return pg.evaluate(
        f"window.LINLI.grids.layer.getLayers().find(l => l.feature.properties.code === '{code}').options.fillColor"
    )


def test_a_roster_uploaded_colours_the_grids_and_fills_the_card(page, server, tmp_path):  # noqa: F811
    _, app = server
    roster = tmp_path / "网格员名册.csv"
    roster.write_text(
        "姓名,联系电话,角色,网格编码\n"
        f"张三,13812345678,网格员,{G1}\n"
        f"李四,13900000001,网格长,{G1}\n"
        f"王五,13900000002,网格员,{G2}\n"
        "赵六,13900000003,楼栋长,99999\n",
        encoding="utf-8-sig",
    )
    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    page.set_input_files("#ro-file", str(roster))
    page.click("#ro-upload")
    wait_until(page, "!document.getElementById('ro-summary').hidden")
    status = page.locator("#ro-status").inner_text()
    assert "3 人落入网格" in status and "1 行未匹配" in status, status
    summary = page.locator("#ro-summary").inner_text()
    n_grids = len(page.evaluate("window.LINLI.grids.data.grids.features"))
    assert f"缺网格员或网格长的网格: {n_grids - 1}" in summary  # only grid 1 has both
    assert "赵*" in summary and "99999 不存在" in summary and "赵六" not in summary and "13900000003" not in summary

    page.select_option("#grids-colour", "roster")
    wait_until(page, f"window.LINLI.grids.layer && window.LINLI.grids.layer.getLayers().length === {n_grids}")
    wait_until(
        page,
        f"window.LINLI.grids.layer.getLayers().find(l => l.feature.properties.code === '{G1}')"
        f".options.fillColor === '{GREEN}'",
    )
    assert _fill(page, G2) == RED  # a worker, no head
    legend = page.locator("#legend-block-grids").inner_text()
    assert "网格员、网格长（名册）" in legend and "齐全" in legend and "缺网格员或网格长" in legend

    _click_grid(page, G2)
    wait_until(page, "document.getElementById('ro-card') !== null")
    card = page.locator("#ro-card").inner_text()
    assert "缺 网格长" in card and "王*" in card and "王五" not in card
    _click_grid(page, G1)
    wait_until(page, "(document.getElementById('ro-card') || {}).textContent.includes('李*')")
    card = page.locator("#ro-card").inner_text()
    assert "网格员、网格长齐全" in card and "张*" in card and "张三" not in card
    _shot(page, "rosterweb_flags_card.png")
    if os.environ.get("LINLI_SCREENSHOTS"):
        page.locator("#ro-panel").screenshot(path=os.path.join(os.environ["LINLI_SCREENSHOTS"], "rosterweb_panel.png"))
    assert page.console_errors == []
    # what the page shows is the server's, and the rows are kept in the instance folder
    missing = page.evaluate("fetch('/api/grids/roster').then(r => r.json()).then(d => d.missing)")
    assert missing[G2] == "网格长" and G1 not in missing
    assert len(list((Path(app.instance_path) / "rosters").glob("*.csv"))) == 1
