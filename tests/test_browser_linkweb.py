"""The "1+10" linkage in the grids panel in the real headless Chromium (issue 20, h-linkweb): a roster of
in-service members uploaded, the linkage run as a job, its members (masked), unlinked households and,
from zoom 16, its links drawn on the map; the counts per grid in a table and the solver named."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np

from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from webapp.state import get_state

NAMES = ["甲一", "乙二", "丙三", "丁四"]


def _shot(pg, name: str) -> None:
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        pg.screenshot(path=os.path.join(folder, name))


def test_the_linkage_runs_and_draws_its_layer(page, server, tmp_path):  # noqa: F811
    _, app = server
    with app.app_context():
        demand = get_state().project.demand.to_crs(4326)
    # each member between two buildings (the map is a canvas: the layers are counted through Leaflet)
    at = np.linspace(0, len(demand) - 2, len(NAMES)).astype(int)
    xy = (demand.get_coordinates().to_numpy()[at] + demand.get_coordinates().to_numpy()[at + 1]) / 2
    picks = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
    roster = tmp_path / "在职党员.csv"
    rows = [
        f"{n},1380000{k:04d},在职党员,{p.x:.7f},{p.y:.7f}" for k, (n, p) in enumerate(zip(NAMES, picks, strict=True))
    ]
    roster.write_text("姓名,联系电话,角色,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    page.select_option("#ro-system", "wgs84")
    page.set_input_files("#ro-file", str(roster))
    page.click("#ro-upload")
    wait_until(page, "!document.getElementById('ro-summary').hidden")
    # the defaults are on screen; 1+20 leaves members short (2,675 households, 4 members: enough
    # households, but the radius may not reach 20 free ones for each) — whatever the numbers, the
    # page shows the server's
    assert "默认" in page.locator("#lw-defaults").inner_text()
    page.fill("#lw-k", "20")
    page.click("#lw-run")
    wait_until(page, "!document.getElementById('lw-result').hidden", timeout_s=120)
    data = page.evaluate("window.LINLI.linkage.data")
    assert data["n_members"] == 4 and data["k"] == 20 and data["optimal"] is True
    counts = page.locator("#lw-counts").inner_text()
    assert f"{data['n_links']} 户" in counts and f"未联系 {data['n_unlinked']} 户" in counts
    assert "已证明最优" in page.locator("#lw-solver").inner_text()
    table_rows = page.locator("#lw-grid-table tr").count()
    assert table_rows == 1 + len(data["per_grid"]["rows"])
    # the layer: one marker per member and per building with unlinked households
    markers = page.evaluate("window.LINLI.linkage.layers.getLayers().length")
    assert markers == len(data["members"]) + len(data["unlinked"])
    shorts = "window.LINLI.linkage.layers.getLayers().filter(l => l.options.className === 'lw-short').length"
    assert page.evaluate(shorts) == data["n_short"]
    labels = sorted(m["label"] for m in data["members"])
    assert labels == sorted(n[0] + "*" for n in NAMES)
    assert not any(n in page.content() for n in NAMES)
    # the links only from zoom 16
    page.evaluate("void window.LINLI.map.setZoom(14, {animate: false})")
    wait_until(page, "!window.LINLI.map.hasLayer(window.LINLI.linkage.lines)")
    m = data["members"][0]
    page.evaluate(f"void window.LINLI.map.setView([{m['lat']}, {m['lon']}], 17, {{animate: false}})")
    wait_until(page, "window.LINLI.map.hasLayer(window.LINLI.linkage.lines)")
    assert page.evaluate("window.LINLI.linkage.lines.getLayers().length") == len(data["lines"]) > len(NAMES)
    assert "连线" in page.locator("#lw-lines-hint").inner_text()
    _shot(page, "linkweb_lines.png")
    page.locator("#lw-panel").screenshot(path=str(tmp_path / "panel.png"))
    if os.environ.get("LINLI_SCREENSHOTS"):
        page.locator("#lw-panel").screenshot(path=os.path.join(os.environ["LINLI_SCREENSHOTS"], "linkweb_panel.png"))
    # party coverage of an uploaded ledger: the compounds without a branch on the map
    at = demand.geometry.iloc[[0, 10, 20]]
    ledger = tmp_path / "小区台账.csv"
    ledger.write_text(
        "小区名称,户数,经度,纬度,是否成立党支部,党员数,物业公司,业委会\n"
        + "".join(
            f"{n},100,{p.x:.7f},{p.y:.7f},{b},3,无,否\n"
            for n, p, b in zip(["A小区", "B小区", "C小区"], at, ["是", "否", "否"], strict=True)
        ),
        encoding="utf-8-sig",
    )
    page.set_input_files("#lw-party-file", str(ledger))
    page.click("#lw-party-run")
    wait_until(page, "!document.getElementById('lw-party').hidden")
    assert page.evaluate("window.LINLI.linkage.party.getLayers().length") == 2
    assert "33.3" in page.locator("#lw-party-table").inner_text()  # 1 of 3 compounds covered
    if os.environ.get("LINLI_SCREENSHOTS"):
        page.locator("#lw-party").screenshot(path=os.path.join(os.environ["LINLI_SCREENSHOTS"], "linkweb_party.png"))
    assert page.console_errors == []
