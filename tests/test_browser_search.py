"""Search and go to in a real headless Chromium (issue 18): a facility by name, a typed
coordinate, a candidate placed there by keyboard; the page says it all in English too."""

from __future__ import annotations

import re
import threading

import geopandas as gpd
import pytest
import shapely
from waitress.server import create_server

from geo.project import PROJECTS_DIR
from tests.test_browser import browser, page, server, wait_until  # noqa: F401
from webapp import create_app
from webapp.state import get_state

CENTRE_WITHIN = "window.LINLI.map.getCenter().distanceTo([{lat}, {lon}]) < 50"
# Two community units in central Helsinki (the demo extract), WGS84.
WEST = shapely.box(24.930, 60.160, 24.945, 60.175)
EAST = shapely.box(24.945, 60.160, 24.960, 60.175)
#: The texts of the search's labels on the map.
LABELS = "[...document.querySelectorAll('.leaflet-tooltip.search-label')].map((e) => e.textContent)"


def _facility(app, name: str) -> tuple[float, float]:
    """A demo facility's WGS84 (lon, lat), straight from the loaded project."""
    with app.app_context():
        facilities = get_state().acc.facilities.to_crs(4326)
    point = facilities[facilities["name"] == name].geometry.iloc[0]
    return point.x, point.y


def test_facility_by_name_moves_the_map_there(page, server):  # noqa: F811
    base, app = server
    lon, lat = _facility(app, "Pääposti")
    assert not page.evaluate(CENTRE_WITHIN.format(lat=lat, lon=lon))  # the page opens elsewhere
    page.fill("#search-input", "pääposti")
    page.press("#search-input", "Enter")  # Enter goes to the first result
    wait_until(page, CENTRE_WITHIN.format(lat=lat, lon=lon))
    wait_until(page, "document.getElementById('linli-search').dataset.chosen === 'Pääposti'")
    # The place is marked with its name until the next search or "clear".
    label = page.locator(".leaflet-tooltip.search-label")
    assert label.count() == 1 and label.inner_text() == "Pääposti"
    assert "设施 · 事有所办" in page.locator("#search-results").inner_text()
    page.click("#search-clear")
    wait_until(page, "document.querySelectorAll('.leaflet-tooltip.search-label').length === 0")  # fades out
    assert page.locator("#search-results li").count() == 0
    assert page.evaluate("document.activeElement.id") == "search-input"
    outside = [u for u in page.requests_seen if not u.startswith((base, "data:", "blob:"))]
    assert outside == [] and page.console_errors == []


def test_arrow_keys_go_through_the_results(page, server):  # noqa: F811
    _, app = server
    page.fill("#search-input", "Bulevardi")
    wait_until(page, "document.querySelectorAll('#search-results .search-result').length === 3")
    page.press("#search-input", "ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.startswith("Bulevardin Klinikka")  # the second result (the street is first)
    page.keyboard.press("Enter")  # a button: Enter chooses it
    lon, lat = _facility(app, "Bulevardin Klinikka")
    wait_until(page, CENTRE_WITHIN.format(lat=lat, lon=lon))
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") == "search-input"
    # The street, an area: the map fits its box, outlined.
    page.press("#search-input", "ArrowDown")
    page.keyboard.press("Enter")
    wait_until(page, "document.getElementById('linli-search').dataset.chosen === 'Bulevardi'")
    # The clinic's label fades out (Leaflet takes 200 ms), the street's stays.
    wait_until(page, LABELS + ".join('|') === 'Bulevardi'")


def test_typed_coordinate_places_a_candidate_by_keyboard(page):  # noqa: F811
    # Latitude first with a full-width comma, as copied from another tool.
    page.fill("#search-input", "60.1700，24.9400")
    page.press("#search-input", "Enter")  # the coordinate is the first result: the map goes there
    wait_until(page, CENTRE_WITHIN.format(lat=60.17, lon=24.94))
    assert "按纬度在前读取" in page.locator("#search-results").inner_text()
    page.press("#search-input", "ArrowDown")  # the coordinate
    page.keyboard.press("ArrowDown")  # "place a candidate here"
    assert page.evaluate("document.activeElement.id") == "search-place"
    assert page.locator("#search-place").inner_text() == "在此放置候选点"
    page.keyboard.press("Enter")
    wait_until(page, "window.LINLI.drawn.getLayers().length === 1")
    marker = page.evaluate(
        "(() => { const m = window.LINLI.drawn.getLayers()[0];"
        " return {lat: m.getLatLng().lat, lon: m.getLatLng().lng, draggable: m.dragging.enabled(),"
        " kind: m.feature.properties.kind}; })()"
    )
    assert marker["kind"] == "candidate" and marker["draggable"]
    assert (marker["lat"], marker["lon"]) == (60.17, 24.94)
    assert page.locator(".leaflet-marker-icon.leaflet-marker-draggable").count() == 1
    # Evaluated with the plan, and unsaved (the leave guard asks).
    page.wait_for_selector("#linli-plan-eval[data-ready='1']", timeout=20_000)
    assert "已在此放置候选点（未保存）" in page.locator("#linli-message").inner_text()
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.click("#plan-new")  # unsaved: the planner is asked, says no, the candidate stays
    assert page.evaluate("window.LINLI.drawn.getLayers().length") == 1


def test_coordinate_outside_the_study_area_is_flagged(page):  # noqa: F811
    page.fill("#search-input", "118°57'00\"E 25°01'48\"N")
    wait_until(page, "document.querySelector('#search-results .search-outside') !== null")
    assert "研究区之外" in page.locator("#search-results .search-outside").inner_text()
    assert page.locator("#search-place").is_disabled()
    # Numbers that are no coordinate: the server's message, in the box's status line.
    page.fill("#search-input", "200, 100")
    wait_until(page, "document.getElementById('search-status').className === 'error'")
    assert "超出范围" in page.locator("#search-status").inner_text()
    assert page.locator("#search-results li").count() == 0


def test_search_in_english(browser, server):  # noqa: F811
    base, _ = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    english = context.new_page()
    english.goto(base + "/?lang=en", wait_until="load")
    wait_until(english, "window.LINLI && window.LINLI.ready === true")
    english.fill("#search-input", "market")
    wait_until(english, "document.querySelectorAll('#search-results .search-result').length > 0")
    assert "Facility · food" in english.locator("#search-results").inner_text()
    english.fill("#search-input", "118.95, 25.03")
    wait_until(english, "document.querySelector('#search-results .search-outside') !== null")
    text = english.locator("#linli-search").inner_text()
    assert "Place a candidate here" in text and "outside the study area" in text
    assert re.search(r"[\u4e00-\u9fff]", text) is None  # wholly English
    context.close()


@pytest.fixture(scope="module")
def units_server(tmp_path_factory):
    """The demo with two community units (two squares of central Helsinki) in its project file."""
    folder = tmp_path_factory.mktemp("units-project")
    gpd.GeoDataFrame(
        {"code": ["350521100001", "350521100002"], "name": ["西区社区", "东区社区"]},
        geometry=[WEST, EAST],
        crs=4326,
    ).to_file(folder / "社区.geojson", driver="GeoJSON")
    text = (PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8") + '\n[units]\ncommunity = "社区.geojson"\n'
    (folder / "units.toml").write_text(text, encoding="utf-8")
    app = create_app({"instance_path": folder / "instance", "PROJECT": str(folder / "units.toml")})
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()


def test_community_by_code_is_outlined_and_fitted(browser, units_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.goto(units_server + "/", wait_until="load")
    wait_until(tab, "window.LINLI && window.LINLI.ready === true")
    tab.fill("#search-input", "350521100002")
    wait_until(tab, "document.querySelectorAll('#search-results .search-result').length === 1")
    assert "社区 · 350521100002" in tab.locator("#search-results").inner_text()
    tab.press("#search-input", "Enter")
    # The map fits the unit: its box is in view and the centre is the box's middle.
    west, south, east, north = EAST.bounds
    middle = CENTRE_WITHIN.format(lat=(south + north) / 2, lon=(west + east) / 2)
    wait_until(tab, middle + f" && window.LINLI.map.getBounds().contains([[{south}, {west}], [{north}, {east}]])")
    wait_until(tab, "document.getElementById('linli-search').dataset.outline === 'unit'")  # its own outline
    wait_until(tab, LABELS + ".join('|') === '东区社区'")
    # A code's prefix finds both; a piece from its middle none.
    tab.fill("#search-input", "3505211000")
    wait_until(tab, "document.querySelectorAll('#search-results .search-result').length === 2")
    wait_until(tab, LABELS + ".length === 0")  # the old mark goes on a new search
    tab.fill("#search-input", "100002")
    wait_until(tab, "document.getElementById('search-status').textContent.includes('没有找到')")
    context.close()


def test_phone_folds_the_panel_to_show_the_place(browser, server):  # noqa: F811
    base, app = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(base + "/", wait_until="load")
    wait_until(phone, "window.LINLI && window.LINLI.ready === true")
    phone.click("#linli-panel-toggle")
    phone.fill("#search-input", "Pääposti")
    phone.press("#search-input", "Enter")
    lon, lat = _facility(app, "Pääposti")
    wait_until(phone, CENTRE_WITHIN.format(lat=lat, lon=lon))
    assert phone.locator("#linli-panel").is_hidden()
    assert phone.locator("#linli-panel-toggle").get_attribute("aria-expanded") == "false"
    context.close()
