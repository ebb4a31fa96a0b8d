"""Existing grids imported in the grids panel in the real headless Chromium (issue 20): a GeoJSON made
from the demo's own grids with one grid moved 40 m is checked (the report lists the overlap, the gap
and the part outside the community; the problem places are drawn in red on the map), then adopted:
the grids layer shows the imported names as a new version, and undo brings the grids back."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import shapely

from tests.test_browser import browser, page, server, wait_until  # noqa: F401


def _shot(pg, name: str) -> None:
    """A screenshot to look at, where ``LINLI_SCREENSHOTS`` names a folder (none otherwise)."""
    folder = os.environ.get("LINLI_SCREENSHOTS")
    if folder:
        pg.screenshot(path=os.path.join(folder, name))


def test_existing_grids_imported_checked_on_the_map_and_adopted(page, server, tmp_path):  # noqa: F811
    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    data = page.evaluate("window.LINLI.grids.data")
    version = data["version"]
    frame = gpd.GeoDataFrame.from_features(data["grids"]["features"], crs=4326).to_crs(32635)
    geoms = frame.geometry.to_numpy().copy()
    geoms[0] = shapely.affinity.translate(geoms[0], 40, 0)
    names = [f"第{k + 1}网格" for k in range(len(frame))]
    out = gpd.GeoDataFrame({"网格编码": frame["code"], "网格名称": names}, geometry=geoms, crs=32635).to_crs(4326)
    path = tmp_path / "现有网格.geojson"
    path.write_text(out.to_json(drop_id=True), encoding="utf-8")

    page.set_input_files("#gi-file", str(path))
    page.click("#gi-check")
    wait_until(page, "!document.getElementById('gi-report').hidden")
    summary = page.locator("#gi-summary").inner_text()
    assert "现有网格.geojson" in summary and f"{len(frame)} 个网格" in summary, summary
    issues = page.locator("#gi-issues").inner_text()
    assert "重叠" in issues and "不属于任何网格" in issues and "之外" in issues, issues
    # the problem places are on the map, in red, as many as the server drew
    places = len(page.evaluate("window.LINLI.gridimport.report.places.features"))
    assert places >= 3 and len(page.evaluate("window.LINLI.gridimport.places.map(p => 1)")) == places
    red = page.evaluate(
        "window.LINLI.gridimport.places.filter(p => p.options.color === '#cb181d' && map_has(p)).length".replace(
            "map_has(p)", "window.LINLI.map.hasLayer(p)"
        )
    )
    assert red == places
    assert "街区划入" in page.locator("#gi-adoption").inner_text()
    _shot(page, "gridimport_report.png")
    # clicking a problem zooms to it
    page.locator("#gi-issues li[data-place]").first.click()

    page.click("#gi-adopt")
    wait_until(page, f"window.LINLI.grids.data.version === {version + 1}")
    shown = page.evaluate("window.LINLI.grids.data.grids.features.map(f => f.properties.name)")
    assert sorted(shown) == sorted(names)
    assert "已采用" in page.locator("#gi-status").inner_text()
    assert page.evaluate("window.LINLI.map.hasLayer(window.LINLI.gridimport.overlay)") is False
    _shot(page, "gridimport_adopted.png")
    page.click("#grids-undo")
    wait_until(page, f"window.LINLI.grids.data.version === {version + 2}")
    back = page.evaluate("window.LINLI.grids.data.grids.features.map(f => f.properties.name)")
    assert "第1网格" not in back
    assert not page.console_errors, json.dumps(page.console_errors, ensure_ascii=False)
    assert all(r.startswith(server[0]) or r.startswith("data:") for r in page.requests_seen)


def test_other_systems_compared_on_the_map_and_the_proposal_adopted(page, server, tmp_path):  # noqa: F811
    import itertools

    import numpy as np

    page.check("#grids-show")
    wait_until(page, "window.LINLI.grids.layer !== null")
    data = page.evaluate("window.LINLI.grids.data")
    version, n_grids = data["version"], len(data["grids"]["features"])
    area = shapely.union_all(
        gpd.GeoDataFrame.from_features(data["grids"]["features"], crs=4326).to_crs(32635).geometry.to_numpy()
    )
    x0, y0, x1, y1 = area.bounds
    paths = []
    for name, parts in (("综治网格", 3), ("警务网格", 2)):  # the grids' area in vertical strips
        xs = np.linspace(x0, x1, parts + 1)
        geoms = [area.intersection(shapely.box(a, y0, b, y1)) for a, b in itertools.pairwise(xs)]
        frame = gpd.GeoDataFrame({"编码": [f"{name[0]}{k + 1}" for k in range(parts)]}, geometry=geoms, crs=32635)
        path = tmp_path / f"{name}.geojson"
        path.write_text(frame.to_crs(4326).to_json(drop_id=True), encoding="utf-8")
        paths.append(str(path))
    page.set_input_files("#gi-systems", paths)
    page.click("#gi-compare")
    wait_until(page, "!document.getElementById('gi-compare-report').hidden")
    pairs = page.locator("#gi-pairs tr").count()
    assert pairs == 1 + 3  # header + every pair of the current grids and the two systems
    assert page.locator("#gi-matches tr").count() == 1 + n_grids
    assert "综治网格" in page.locator("#gi-matches").inner_text()
    compared = page.evaluate("window.LINLI.gridimport.compared")
    assert compared["disagreement"]["features"] and compared["proposal"]["features"]
    assert page.evaluate("window.LINLI.map.hasLayer(window.LINLI.gridimport.overlay)") is True
    _shot(page, "gridimport_compare.png")
    page.click("#gi-merge-adopt")
    wait_until(page, f"window.LINLI.grids.data.version === {version + 1}")
    assert "已采用" in page.locator("#gi-status").inner_text()
    assert not page.console_errors, json.dumps(page.console_errors, ensure_ascii=False)
