"""Layers by window and zoom (geo.maps.viewport, /api/view): what the page draws, never the county."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputDataError
from geo.maps.viewport import ViewLayer, aggregate_points, check_view, coordinate_digits, metres_per_pixel
from webapp import create_app
from webapp.state import get_state

# A hand-made layer near Quanzhou: a long east-west street, a short path, a big square.
LINES = gpd.GeoDataFrame(
    {"cls": ["street", "path"], "name": ["长街", ""]},
    geometry=[
        shapely.LineString([(118.50, 25.00), (118.51, 25.0001), (118.60, 25.00)]),
        shapely.LineString([(118.55, 25.01), (118.551, 25.01)]),
    ],
    crs=4326,
)


def test_a_pixel_on_the_ground_and_the_digits_worth_sending():
    assert metres_per_pixel(0, 0) == pytest.approx(156_543, rel=1e-4)
    assert metres_per_pixel(15, 25.0) == pytest.approx(4.33, rel=0.01)  # Quanzhou, zoom 15
    assert coordinate_digits(15) == 6 and coordinate_digits(10) == 4 and coordinate_digits(20) == 7


@pytest.mark.parametrize(
    ("bbox", "zoom", "message"),
    [
        ((1, 2, 3), 10, "四个数"),
        (("a", 2, 3, 4), 10, "四个数"),
        ((3, 2, 1, 4), 10, "西<东"),
        ((0, 0, math.nan, 1), 10, "西<东"),
        ((0, 0, 20, 1), 10, "超出范围"),
        ((0, 0, 1, 95), 10, "超出范围"),
        ((0, 0, 1, 1), 30, "缩放级别"),
    ],
)
def test_bad_windows_are_refused(bbox, zoom, message):
    with pytest.raises(InputDataError, match=message):
        check_view(bbox, zoom)


def test_features_come_by_window_and_zoom_clipped_and_merged():
    layer = ViewLayer(LINES, np.array([13, 15]), merge_by=("cls", "name"))
    window = (118.54, 24.99, 118.56, 25.02)
    assert set(layer.view(window, 15)["cls"]) == {"street", "path"}
    at_13 = layer.view(window, 13)
    assert list(at_13["cls"]) == ["street"]  # paths only from zoom 15
    assert layer.view(window, 12).empty  # streets only from zoom 13
    # The long street is clipped to the window (plus its 10 % margin).
    x0, _, x1, _ = at_13.geometry.iloc[0].bounds
    assert x0 >= 118.54 - 0.003 and x1 <= 118.56 + 0.003
    # Outside the window: nothing.
    assert layer.view((118.70, 25.10, 118.71, 25.11), 16).empty


def test_simplification_keeps_what_a_pixel_shows():
    wiggly = shapely.LineString([(118.5 + k * 1e-4, 25.0 + (k % 2) * 1e-6) for k in range(1001)])
    layer = ViewLayer(gpd.GeoDataFrame({"cls": ["street"]}, geometry=[wiggly], crs=4326), np.zeros(1))
    window = (118.49, 24.99, 118.61, 25.01)
    far = layer.view(window, 10).geometry.iloc[0]
    near = layer.view(window, 18).geometry.iloc[0]
    # 0.1 m wiggles vanish at zoom 10 (a pixel is ~140 m) and stay at zoom 18.
    assert shapely.get_num_coordinates(far) == 2
    assert shapely.get_num_coordinates(near) == 1001
    assert shapely.hausdorff_distance(far, wiggly) < 1e-5


def test_points_gather_into_cells_when_zoomed_out():
    rng = np.random.default_rng(0)
    xy = np.column_stack([118.5 + rng.uniform(0, 0.01, 200), 25.0 + rng.uniform(0, 0.01, 200)])
    residents = rng.integers(1, 50, 200).astype(float)
    minutes = np.where(np.arange(200) % 10 == 0, np.nan, rng.uniform(0, 20, 200))
    points = gpd.GeoDataFrame({"residents": residents, "time_min": minutes}, geometry=shapely.points(xy), crs=4326)
    cells = aggregate_points(points, 11, weight="residents", values=("time_min",))
    assert 1 <= len(cells) < 10
    assert cells["residents"].sum() == pytest.approx(residents.sum())
    assert cells["count"].sum() == 200
    reached = np.isfinite(minutes)
    whole = aggregate_points(points, 1, weight="residents", values=("time_min",))
    assert len(whole) == 1
    expected = (minutes[reached] * residents[reached]).sum() / residents[reached].sum()
    assert whole["time_min"].iloc[0] == pytest.approx(expected)
    assert whole["time_min_reached"].iloc[0] == pytest.approx(residents[reached].sum() / residents.sum())
    assert len(aggregate_points(points, 18, weight="residents")) > 150  # zoomed in: nearly one each


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})
    with app.app_context():
        extent = get_state().extent_wgs84
    return app.test_client(), extent


def _get(client, layer, bbox, zoom, function="medical"):
    text = ",".join(f"{v:.6f}" for v in bbox)
    return client.get(f"/api/view/{layer}?bbox={text}&zoom={zoom}&function={function}")


def test_the_demo_layers_by_window(client):
    client, (w, s, e, n) = client
    whole = (w, s, e, n)
    corner = (w, s, w + (e - w) / 4, s + (n - s) / 4)
    roads_far = _get(client, "roads", whole, 12).get_json()["features"]
    roads_near = _get(client, "roads", whole, 16).get_json()["features"]
    assert {f["properties"]["cls"] for f in roads_far} <= {"major"}
    assert {"street", "path"} <= {f["properties"]["cls"] for f in roads_near}
    assert all(f["properties"]["kind"] != "building" for f in _get(client, "areas", whole, 12).get_json()["features"])
    assert any(f["properties"]["kind"] == "building" for f in _get(client, "areas", corner, 16).get_json()["features"])
    rings = _get(client, "rings", whole, 14).get_json()["features"]
    assert sorted(f["properties"]["minutes"] for f in rings) == [5.0, 10.0, 15.0]
    # Residents: cells when zoomed out, every point when zoomed in; the same people either way.
    cells = _get(client, "times", whole, 12).get_json()["features"]
    points = _get(client, "times", whole, 16).get_json()["features"]
    assert len(cells) < len(points)
    assert sum(f["properties"]["residents"] for f in cells) == pytest.approx(
        sum(f["properties"]["residents"] for f in points), rel=1e-6
    )
    facilities = _get(client, "facilities", whole, 15).get_json()["features"]
    assert facilities and all(f["properties"]["name"] is not None for f in facilities)
    # A window elsewhere is empty, bad requests are Chinese 422s.
    assert _get(client, "roads", (0.0, 0.0, 0.01, 0.01), 16).get_json()["features"] == []
    assert _get(client, "secret", whole, 15).status_code == 422
    bad = client.get("/api/view/roads?bbox=1,2,3&zoom=15")
    assert bad.status_code == 422 and "bbox" in bad.get_json()["error"]
    assert _get(client, "rings", whole, 15, function="parking").status_code == 422


def test_layers_too_far_out_to_draw_are_empty_and_not_built(client):
    """At county zooms the page shows no street or water: the answer is empty and nothing is built."""
    from webapp.state import LAYER_MIN_ZOOM, get_state

    client, whole = client
    with client.application.app_context():
        state = get_state()
    for layer, first in LAYER_MIN_ZOOM.items():
        for key in [k for k in state._views if k[0] == layer]:
            del state._views[key]  # (built again on the next use)
        far = _get(client, layer, whole, first - 1)
        assert far.status_code == 200 and far.get_json()["features"] == []
        assert not [k for k in state._views if k[0] == layer]
        # One level is built per zoom drawn: at the first zoom only its kinds.
        _get(client, layer, whole, first)
        assert [k for k in state._views if k[0] == layer] == [(layer, str(first))]
    assert _get(client, "roads", whole, LAYER_MIN_ZOOM["roads"]).get_json()["features"]


def test_layers_and_scripts_are_gzipped_for_browsers_that_accept_it(client):
    import gzip
    import json

    client, (w, s, e, n) = client
    url = f"/api/view/roads?bbox={w},{s},{e},{n}&zoom=16&function=medical"
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    assert json.loads(body) == plain.get_json() and len(packed.get_data()) < len(body) / 3
    with client.get("/static/viewport.js", headers={"Accept-Encoding": "gzip"}) as script:
        assert script.headers["Content-Encoding"] == "gzip"
        assert b"LINLI_VIEW" in gzip.decompress(script.get_data())
    with client.get("/api/csrf", headers={"Accept-Encoding": "gzip"}) as small:  # too small to be worth it
        assert "Content-Encoding" not in small.headers


def test_geojson_text_matches_geopandas():
    # The fast writer (GEOS geometries, json properties) says what GeoPandas says.
    import json

    import geopandas as gpd
    import numpy as np
    import shapely

    from geo.io.export import geojson_text

    frame = gpd.GeoDataFrame(
        {"名称": ["邻里中心", None], "minutes": [5.0, np.nan], "n": [1, 2]},
        geometry=[shapely.Point(118.6, 24.9), shapely.LineString([(118.6, 24.9), (118.61, 24.95)])],
        crs="EPSG:4326",
    )
    ours = json.loads(geojson_text(frame))
    theirs = json.loads(frame.to_json(drop_id=True))
    assert ours == theirs
    assert "邻里中心" in geojson_text(frame)
    assert json.loads(geojson_text(frame.iloc[:0])) == {"type": "FeatureCollection", "features": []}
