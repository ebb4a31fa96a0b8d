"""The web app's pages and JSON API on the demo project, through Flask's test client."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import stat

import geopandas as gpd
import pytest
import shapely

from geo.access.coverage_tables import scenario_delta
from webapp import create_app
from webapp.assets import assert_offline
from webapp.plans import SqlitePlanStore, StoreUnavailableError
from webapp.state import get_state

# Central Helsinki (the demo extract), WGS84.
CENTER = [24.9400, 60.1700]
SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]
POLYGON = {"type": "Polygon", "coordinates": SQUARE}


@pytest.fixture()
def app(tmp_path):
    return create_app({"TESTING": True, "instance_path": tmp_path / "instance"})


@pytest.fixture()
def client(app):
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["token"]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    return client


def _page_with_scripts(client, url: str) -> str:
    """A page's HTML followed by the map scripts it loads (they are served as files)."""
    page = client.get(url).get_data(as_text=True)
    for src in re.findall(r'<script src="(/map-script/[0-9a-f]+\.js)"', page):
        with client.get(src) as js:
            page += js.get_data(as_text=True)
    return page


def _point(lon_lat=CENTER):
    return {"type": "Point", "coordinates": list(lon_lat)}


# --------------------------------------------------------------------------- pages


def test_map_page_is_complete_and_offline(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "邻里 15分钟便民服务区规划" in page
    assert "csrf" not in page.split("<body>")[0].lower()  # the page is the same for everyone (cached)
    assert "/static/vendor/leaflet/dist/leaflet.js" in page
    assert "/static/vendor/leaflet-draw/dist/leaflet.draw.js" in page
    assert_offline(page)  # no script, stylesheet or image from another host
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp  # no inline-script exception
    assert re.search(r"<script>(?!\s*</script>)", page) is None
    scripts = re.findall(r'<script src="(/map-script/[0-9a-f]+\.js)"', page)
    assert scripts
    for url in scripts:
        with client.get(url) as js:
            assert js.status_code == 200 and js.mimetype == "text/javascript"
            page += js.get_data(as_text=True)
    for layer in (
        "底图 (OSM)",
        "设施 病有所医",
        "服务范围（所选功能）",
        "居民步行时间（所选功能）",
        "覆盖缺口（所选功能）",
    ):
        assert layer in page or json.dumps(layer)[1:-1] in page  # layer names sit in the layer control's JSON


def test_english_interface_and_cookie(client):
    response = client.get("/?lang=en")
    assert "Linli 15-minute service area planning" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "Linli 15-minute" in client.get("/").get_data(as_text=True)


def test_vendored_assets_are_served(client):
    for path in ("leaflet/dist/leaflet.js", "fontawesome/css/all.min.css", "leaflet-draw/dist/images/spritesheet.svg"):
        with client.get(f"/static/vendor/{path}") as response:
            assert response.status_code == 200


def test_facility_names_are_escaped(app, client, monkeypatch):
    with app.app_context():
        state = get_state()
    facilities = state.acc.facilities.copy()
    facilities.loc[0, "name"] = "<script>alert(1)</script>`${x}`"
    monkeypatch.setattr(state, "acc", dataclasses.replace(state.acc, facilities=facilities))
    state.cache.clear()
    state._views.clear()
    function = facilities.loc[0, "function"]
    try:
        page = _page_with_scripts(client, "/?function=" + function)
        # The page fetches the facilities of its window: data in JSON, escaped where it is drawn.
        x, y = facilities.to_crs(4326).geometry.iloc[0].coords[0]
        view = client.get(
            f"/api/view/facilities?function={function}&bbox={x - 0.01},{y - 0.01},{x + 0.01},{y + 0.01}&zoom=15"
        )
        standalone = client.get(f"/api/export/map.html?function={function}").get_data(as_text=True)
    finally:
        state.cache.clear()
        state._views.clear()
    assert "<script>alert(1)</script>" not in page
    assert view.mimetype == "application/geo+json"
    assert "<script>alert(1)</script>`${x}`" in {f["properties"]["name"] for f in view.get_json()["features"]}
    with client.get("/static/viewport.js") as response:
        script = response.get_data(as_text=True)
    assert "esc(p.name" in script and "bindPopup(`<b>${esc(" in script  # names go through esc() into the HTML
    # The offline HTML export has the layers inline: escaped there.
    assert "<script>alert(1)</script>" not in standalone
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in standalone


def test_error_pages_have_no_traceback(client):
    page = client.get("/nosuch")
    assert page.status_code == 404 and "Traceback" not in page.get_data(as_text=True)
    api = client.get("/api/nosuch")
    assert api.status_code == 404 and api.get_json()["status"] == 404


# ----------------------------------------------------------------------- reading


def test_project_summary(client):
    data = client.get("/api/project").get_json()
    medical = next(row for row in data["coverage"] if row["group"] == "medical")
    assert medical["covered"] == pytest.approx(5446.84, abs=0.01)
    assert data["assumptions"]["speed_kmh"] == 4.0
    assert data["assumptions"]["budget_m"] == 1000


@pytest.mark.parametrize(
    ("layer", "count"),
    [("facilities", 102), ("boundary", 1), ("times", 59), ("service_areas", 3)],  # 99 + 3 schools
)
def test_layers_are_geojson(client, layer, count):
    response = client.get(f"/api/layers/{layer}?function=medical")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = response.get_json()
    assert data["type"] == "FeatureCollection" and len(data["features"]) == count


def test_unknown_layer_and_function(client):
    assert client.get("/api/layers/secret").status_code == 422
    response = client.get("/api/layers/times?function=parking")
    assert response.status_code == 422 and "不在分析的功能中" in response.get_json()["error"]


# ----------------------------------------------------------------------- analysis


def test_candidate_evaluation_matches_the_core(app, client):
    response = client.post("/api/evaluate", json={"geometry": _point()})
    assert response.status_code == 200
    data = response.get_json()
    rings = data["rings"]["features"]
    assert [(f["properties"]["min_from"], f["properties"]["minutes"]) for f in rings] == [(0, 5), (5, 10), (10, 15)]
    with app.app_context():
        state = get_state()
    site = gpd.GeoSeries([shapely.Point(CENTER)], crs=4326)
    core = scenario_delta(state.acc, state.graph, site)
    core = core[core["candidate"] == -1].set_index("function")
    for row in data["delta"]:
        assert row["newly_covered"] == pytest.approx(core.loc[row["function"], "newly_covered"])
    assert len(data["delta"]) == 6
    assert data["server_ms"] > 0 and "4 km/h" in data["assumption"]


def test_plan_evaluation_matches_the_core(app, client):
    lon, lat = CENTER
    sites = [{"type": "Point", "coordinates": [lon, lat]}, {"type": "Point", "coordinates": [lon + 0.004, lat]}]
    response = client.post("/api/evaluate-plan", json={"sites": sites})
    assert response.status_code == 200
    data = response.get_json()
    with app.app_context():
        state = get_state()
    points = gpd.GeoSeries([shapely.Point(s["coordinates"]) for s in sites], crs=4326)
    core = scenario_delta(state.acc, state.graph, points)
    together = core[core["candidate"] == -1].set_index("function")
    for row in data["together"]:
        assert row["newly_covered"] == pytest.approx(together.loc[row["function"], "newly_covered"], abs=0.05)
        assert row["sole_residents"] == pytest.approx(together.loc[row["function"], "sole_residents"], abs=0.05)
    assert {row["candidate"] for row in data["candidates"]} == {0, 1}
    assert all(row["snapped"] is True for row in data["candidates"])  # the page labels the unconnected
    assert data["server_ms"] > 0 and "km/h" in data["assumption"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sites": []}, "非空"),
        ({"sites": "x"}, "非空"),
        ({}, "非空"),
        ({"sites": [{"type": "Point", "coordinates": [24.94, 60.17]}] * 501}, "最多 500"),
        ({"sites": [{"type": "Point", "coordinates": [118.96, 25.03]}]}, "研究区"),
        ({"sites": [{"type": "Polygon", "coordinates": []}]}, "几何类型"),
    ],
)
def test_bad_plan_sites_are_refused(client, body, message):
    response = client.post("/api/evaluate-plan", json=body)
    assert response.status_code == 422
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ('{"geometry": {"type": "Point", "coordinates": [NaN, 60.17]}}', 400, "NaN"),
        ('{"geometry": ' + "[" * 5000 + "]" * 5000 + "}", 400, "嵌套"),
        ('{"geometry": {"type": "Point",', 400, "JSON 格式错误"),
        ('{"geometry": {"type": "Point", "coordinates": ["24.94", "60.17"]}}', 422, "不是数字"),
        ('{"geometry": {"type": "Point", "coordinates": [60.17, 24.94]}}', 422, "坐标可能颠倒"),
        ('{"geometry": {"type": "Point", "coordinates": [118.96, 25.03]}}', 422, "研究区"),
        ('{"geometry": {"type": "Circle", "coordinates": [24.94, 60.17]}}', 422, "几何类型"),
        ('{"geometry": {"type": "Point"}}', 422, "缺少坐标"),
        ("[1, 2]", 400, "对象"),
    ],
)
def test_bad_geometry_is_refused(client, body, status, message):
    response = client.post("/api/evaluate", data=body, content_type="application/json")
    assert response.status_code == status
    assert message in response.get_json()["error"]


def test_wrong_content_type_and_missing_csrf(app, client):
    assert client.post("/api/evaluate", data="x", content_type="text/plain").status_code == 415
    bare = app.test_client()
    response = bare.post("/api/evaluate", json={"geometry": _point()})
    assert response.status_code == 403 and "CSRF" in response.get_json()["error"]
    bare.get("/api/csrf")
    assert bare.post("/api/plans", json={"name": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403


def test_compare_drawn_with_computed(client):
    response = client.post(
        "/api/compare", json={"area": {"type": "Polygon", "coordinates": SQUARE}, "center": _point()}
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["drawn_m2"] == pytest.approx(data["overlap_m2"] + data["drawn_not_reachable_m2"], rel=1e-6)
    assert data["computed_m2"] == pytest.approx(data["overlap_m2"] + data["reachable_not_drawn_m2"], rel=1e-6)
    assert 0 <= data["iou"] <= 1
    assert data["shapes"]["computed"]["type"] in ("Polygon", "MultiPolygon")


def test_bow_tie_refused_or_repaired(client):
    bow = [[[24.938, 60.168], [24.942, 60.171], [24.942, 60.168], [24.938, 60.171], [24.938, 60.168]]]
    response = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": bow}})
    assert response.status_code == 422 and "Self-intersection" in response.get_json()["error"]
    repaired = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": bow}, "repair": True})
    assert repaired.status_code == 200 and "已自动修复" in repaired.get_json()["note"]


def test_open_ring_and_vertex_cap(client):
    open_ring = [SQUARE[0][:-1]]
    response = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": open_ring}})
    assert response.status_code == 422 and "未闭合" in response.get_json()["error"]
    ring = [[24.94 + 0.001 * shapely.Point(0, 0).x + k * 1e-7, 60.17] for k in range(25_000)]
    response = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": [ring]}})
    assert response.status_code == 413


# -------------------------------------------------------------------------- plans


def _features():
    return [
        {"kind": "area", "name": "规划范围", "geometry": {"type": "Polygon", "coordinates": SQUARE}},
        {"kind": "candidate", "name": "中心 A", "geometry": _point(), "properties": {"note": '=HYPERLINK("x")'}},
    ]


def test_plan_lifecycle(client):
    created = client.post("/api/plans", json={"name": "螺城镇 '); DROP TABLE plans; --", "notes": "<b>x</b>"})
    assert created.status_code == 201
    plan = created.get_json()
    assert plan["version"] == 1 and plan["name"] == "螺城镇 '); DROP TABLE plans; --"
    saved = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": _features()})
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"'
    got = client.get(f"/api/plans/{plan['id']}").get_json()
    assert got["version"] == 2 and [f["kind"] for f in got["features"]] == ["area", "candidate"]
    assert got["features"][1]["properties"]["note"] == '=HYPERLINK("x")'  # stored verbatim (G9)
    assert got["notes"] == "<b>x</b>"
    # Delete, then undo.
    assert client.delete(f"/api/plans/{plan['id']}?version=2").status_code == 200
    assert plan["id"] not in [p["id"] for p in client.get("/api/plans").get_json()["plans"]]
    assert plan["id"] in [p["id"] for p in client.get("/api/plans?deleted=1").get_json()["plans"]]
    assert client.get(f"/api/plans/{plan['id']}").status_code == 404
    restored = client.post(f"/api/plans/{plan['id']}/restore")
    assert restored.status_code == 200 and len(restored.get_json()["features"]) == 2


def test_stale_save_is_a_conflict(client):
    plan = client.post("/api/plans", json={"name": "冲突"}).get_json()
    first = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "notes": "A"})
    assert first.status_code == 200
    stale = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "notes": "B"})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["current_version"] == 2 and "已被他人修改" in body["error"]
    assert client.get(f"/api/plans/{plan['id']}").get_json()["notes"] == "A"  # nothing lost
    by_header = client.put(f"/api/plans/{plan['id']}", json={"notes": "C"}, headers={"If-Match": '"1"'})
    assert by_header.status_code == 409


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"version": 1, "features": [{"kind": "bunker", "geometry": _point()}]}, "kind"),
        (
            {"version": 1, "features": [{"kind": "candidate", "geometry": {"type": "Polygon", "coordinates": SQUARE}}]},
            "几何类型",
        ),
        ({"version": 1, "features": [{"kind": "area", "geometry": _point()}]}, "几何类型"),
        (
            {
                "version": 1,
                "features": [
                    {"kind": "area", "geometry": {"type": "Polygon", "coordinates": SQUARE}, "properties": {"a": [1]}}
                ],
            },
            "属性",
        ),
        ({"version": "1"}, "version"),
        ({"version": 1, "name": ""}, "名称"),
    ],
)
def test_bad_plan_saves_change_nothing(client, payload, message):
    plan = client.post("/api/plans", json={"name": "原样"}).get_json()
    response = client.put(f"/api/plans/{plan['id']}", json=payload)
    assert response.status_code == 422 and message in response.get_json()["error"]
    after = client.get(f"/api/plans/{plan['id']}").get_json()
    assert after["version"] == 1 and after["features"] == [] and after["name"] == "原样"


def test_unknown_and_non_integer_ids(client):
    assert client.get("/api/plans/999999").status_code == 404
    assert client.get("/api/plans/abc").status_code == 404
    assert client.put("/api/plans/-1", json={"version": 1}).status_code == 404
    plan = client.post("/api/plans", json={"name": "ids", "features": []}).get_json()
    feature = {**_features()[1], "id": 12345}
    saved = client.put(f"/api/plans/{plan['id']}", json={"version": plan["version"], "features": [feature]}).get_json()
    assert saved["features"][0]["id"] != 12345  # the server assigns ids (G12)


def test_request_body_limit(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i", "MAX_CONTENT_LENGTH": 1000})
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["token"]
    response = client.post(
        "/api/plans",
        data=json.dumps({"name": "x" * 5000}),
        content_type="application/json",
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 413


# ------------------------------------------------------------------ store and start


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    second = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    mode = (tmp_path / "i" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_store_in_wal_mode_and_unusable_folder(tmp_path):
    store = SqlitePlanStore(tmp_path / "plans.sqlite3")
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity_ok()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailableError, match="无法打开方案库"):
        SqlitePlanStore(blocker / "plans.sqlite3")


def test_amap_tiles_are_refused(tmp_path):
    with pytest.raises(ValueError, match="GCJ-02"):
        create_app(
            {"instance_path": tmp_path, "BASEMAPS": [{"name": "高德", "url": "https://webrd01.is.autonavi.com/x"}]}
        )


def test_serving_beyond_loopback_needs_a_key(monkeypatch, capsys):
    from webapp.__main__ import main

    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    assert main(["--host", "0.0.0.0"]) == 2
    assert "LINLI_SECRET_KEY" in capsys.readouterr().err


def test_gpkg_response_is_not_cached_on_disk(client, tmp_path):
    plan = client.post("/api/plans", json={"name": "tmp"}).get_json()
    data = client.get(f"/api/export/plans/{plan['id']}.gpkg").data
    assert data[:16] == b"SQLite format 3\x00"
    assert io.BytesIO(data).getbuffer().nbytes > 0


# ------------------------------------------------------------------------ uploads


def _upload(client, plan, data: bytes, filename: str, kind="town", version=None, system="wgs84"):
    return client.post(
        f"/api/plans/{plan['id']}/upload",
        data={
            "file": (io.BytesIO(data), filename),
            "kind": kind,
            "version": str(plan["version"] if version is None else version),
            "system": system,
        },
        content_type="multipart/form-data",
    )


def _town_geojson() -> bytes:
    frame = gpd.GeoDataFrame({"名称": ["螺城镇 (演示)"]}, geometry=[shapely.Polygon(SQUARE[0])], crs=4326)
    return frame.to_json().encode("utf-8")


def test_upload_a_town_polygon_with_a_chinese_name(client):
    plan = client.post("/api/plans", json={"name": "上传"}).get_json()
    response = _upload(client, plan, _town_geojson(), "镇界 边界.geojson")
    assert response.status_code == 200
    data = response.get_json()
    assert data["added"] == 1 and data["version"] == 2
    town = data["features"][0]
    assert town["kind"] == "town" and town["name"] == "螺城镇 (演示)"
    assert town["properties"]["source_file"] == "镇界 边界.geojson"


def test_upload_gcj02_candidates_are_converted(client):
    plan = client.post("/api/plans", json={"name": "高德选点"}).get_json()
    # A point picked in Amap is shifted; Helsinki is outside China, so GCJ-02 leaves it
    # unshifted there (the conversion itself is tested in tests/test_coords.py).
    csv = "名称,经度,纬度\n候选甲,24.9400,60.1700\n".encode("gb18030")
    response = _upload(client, plan, csv, "候选点.csv", kind="candidate", system="gcj02")
    assert response.status_code == 200
    feature = response.get_json()["features"][0]
    assert feature["kind"] == "candidate"
    assert feature["geometry"]["coordinates"] == pytest.approx([24.94, 60.17])


@pytest.mark.parametrize(
    ("data", "filename", "status", "message"),
    [
        (b"", "empty.geojson", 422, "为空"),
        (b'<OGRVRTDataSource><OGRVRTLayer name="x"/></OGRVRTDataSource>', "x.geojson", 422, ""),
        (b"not a zip", "roads.zip", 422, ""),
        (b"lon,lat\n200,95\n", "bad.csv", 422, ""),
    ],
)
def test_bad_uploads_change_nothing(client, data, filename, status, message):
    plan = client.post("/api/plans", json={"name": "坏文件"}).get_json()
    response = _upload(client, plan, data, filename)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert "/tmp" not in response.get_json()["error"]  # no server path in the message
    after = client.get(f"/api/plans/{plan['id']}").get_json()
    assert after["version"] == 1 and after["features"] == []


def test_upload_far_away_and_stale(client):
    plan = client.post("/api/plans", json={"name": "远处"}).get_json()
    far = gpd.GeoDataFrame(geometry=[shapely.box(118.9, 25.0, 119.0, 25.1)], crs=4326).to_json().encode()
    response = _upload(client, plan, far, "惠安.geojson")
    assert response.status_code == 422
    stale = _upload(client, plan, _town_geojson(), "镇界.geojson", version=7)
    assert stale.status_code == 409
    missing = client.post(
        f"/api/plans/{plan['id']}/upload", data={"kind": "town", "version": "1"}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422


def test_upload_over_the_size_limit(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i", "MAX_CONTENT_LENGTH": 2000})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    plan = client.post("/api/plans", json={"name": "大"}).get_json()
    response = _upload(client, plan, b"x" * 5000, "big.geojson")
    assert response.status_code == 413


def test_online_basemap_presets(tmp_path):
    from webapp import basemap

    with pytest.raises(ValueError, match="TIANDITU_KEY"):
        basemap("tianditu")
    with pytest.raises(ValueError, match="未知底图"):
        basemap("amap")
    app = create_app({"TESTING": True, "instance_path": tmp_path / "b", "BASEMAPS": [basemap("osm")]})
    client = app.test_client()
    response = client.get("/")
    assert "https://tile.openstreetmap.org" in response.headers["Content-Security-Policy"]
    assert "tile.openstreetmap.org" in _page_with_scripts(client, "/")


def test_server_refuses_an_unusable_plan_store(tmp_path, capsys):
    from webapp.__main__ import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--plan-db", str(blocker / "plans.sqlite3"), "--instance", str(tmp_path / "i")]) == 2
    assert "无法打开方案库" in capsys.readouterr().err


def test_session_cookie_flags(tmp_path):
    plain = create_app({"TESTING": True, "instance_path": tmp_path / "a"}).test_client()
    cookie = plain.get("/api/csrf").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http on loopback
    https = create_app({"TESTING": True, "instance_path": tmp_path / "b", "SESSION_COOKIE_SECURE": True})
    assert "Secure" in https.test_client().get("/api/csrf").headers["Set-Cookie"]


# ------------------------------------------------------------------------ scenes (issue 18)


def test_summary_of_another_budget_and_profile_equals_the_core(app, client):
    from geo.access.coverage import accessibility
    from geo.access.coverage_tables import coverage_table

    default = client.get("/api/summary").get_json()
    assert default["profile"] == "walk" and default["budget_min"] == 15
    assert default["assumptions"]["budget_m"] == 1000 and default["assumptions"]["minutes"] == [5, 10, 15]
    data = client.get("/api/summary?profile=elderly&budget=10").get_json()
    assert data["assumptions"]["profile"] == "elderly" and data["assumptions"]["speed_kmh"] == 3.2
    assert data["assumptions"]["minutes"] == [5, 10] and data["assumptions"]["budget_m"] == 533
    with app.app_context():
        state = get_state()
    graph = state.project.network.cost_graph("elderly")
    core = coverage_table(accessibility(graph, state.acc.demand, state.project.facilities, minutes=10), by_unit=False)
    core = core.set_index("group")
    for row in data["coverage"]:
        assert row["covered"] == pytest.approx(core.loc[row["group"], "covered"], abs=0.01)
        assert row["budget_min"] == 10
    # A shorter budget and a slower walker never cover more.
    before = {row["group"]: row["covered"] for row in default["coverage"]}
    assert all(row["covered"] <= before[row["group"]] + 1e-9 for row in data["coverage"])
    assert any(row["covered"] < before[row["group"]] for row in data["coverage"])
    custom = client.get("/api/summary?budget=12.5").get_json()
    assert custom["assumptions"]["minutes"] == [5, 10, 12.5]


@pytest.mark.parametrize(
    ("query", "message"),
    [("profile=car", "出行方式"), ("budget=0", "时间阈值"), ("budget=45", "时间阈值"), ("budget=abc", "时间阈值")],
)
def test_bad_scenes_are_clear_errors(client, query, message):
    for url in (f"/api/summary?{query}", f"/api/view/rings?bbox=24.93,60.16,24.95,60.18&zoom=15&{query}"):
        response = client.get(url)
        assert response.status_code == 422
        assert message in response.get_json()["error"]
    response = client.post("/api/evaluate", json={"geometry": _point(), **dict([query.split("=")])})
    assert response.status_code == 422 and message in response.get_json()["error"]


def test_candidate_and_plan_in_another_scene(app, client):
    lon, lat = CENTER
    sites = [{"type": "Point", "coordinates": [lon, lat]}, {"type": "Point", "coordinates": [lon + 0.004, lat]}]
    one = client.post("/api/evaluate", json={"geometry": _point(), "profile": "elderly", "budget": 10}).get_json()
    assert [f["properties"]["minutes"] for f in one["rings"]["features"]] == [5, 10]
    assert "3.2 km/h" in one["assumption"] and "10 分钟" in one["assumption"]
    plan = client.post("/api/evaluate-plan", json={"sites": sites, "profile": "elderly", "budget": 10}).get_json()
    with app.app_context():
        state = get_state()
    analysis = state.analysis_of(state.scene("elderly", 10))
    points = gpd.GeoSeries([shapely.Point(s["coordinates"]) for s in sites], crs=4326)
    core = scenario_delta(analysis.accessibility, analysis.graph, points)
    together = core[core["candidate"] == -1].set_index("function")
    for row in plan["together"]:
        assert row["newly_covered"] == pytest.approx(together.loc[row["function"], "newly_covered"], abs=0.05)
        assert row["budget_min"] == 10
        assert row["uncovered_after"] == pytest.approx(row["population"] - row["covered_after"], abs=0.1)
    walk = client.post("/api/evaluate-plan", json={"sites": sites}).get_json()
    assert {r["function"]: r["covered_before"] for r in plan["together"]} != {
        r["function"]: r["covered_before"] for r in walk["together"]
    }
    # The demo has no area units: no unit rows.
    assert plan["units"] == []


def test_plan_evaluated_per_area_unit(app, client, monkeypatch):
    with app.app_context():
        state = get_state()
    w, s, e, n = state.extent_wgs84
    mid = (w + e) / 2
    units = gpd.GeoDataFrame(
        {"code": ["350521001001", "350521001002"], "name": ["西社区", "东社区"]},
        geometry=[shapely.box(w, s, mid, n), shapely.box(mid, s, e, n)],
        crs=4326,
    )
    project = dataclasses.replace(state.project, units={"community": units.to_crs(state.project.network.crs)})
    # The state is shared by every app of the process: the test's units are undone after it.
    monkeypatch.setattr(state, "analysis", dataclasses.replace(state.analysis, project=project))
    monkeypatch.setattr(state, "_unit_codes", None)
    lon, lat = CENTER
    sites = [{"type": "Point", "coordinates": [lon, lat]}, {"type": "Point", "coordinates": [lon + 0.004, lat]}]
    data = client.post("/api/evaluate-plan", json={"sites": sites}).get_json()
    rows = [r for r in data["units"] if r["function"] == "medical"]
    assert {r["unit"] for r in rows} == {"350521001001", "350521001002"}
    assert {r["unit_name"] for r in rows} == {"西社区", "东社区"}
    whole = next(r for r in data["together"] if r["function"] == "medical")
    for column in ("population", "newly_covered", "covered_after"):
        assert sum(r[column] for r in rows) == pytest.approx(whole[column], abs=0.2)


def test_restore_says_why_it_cannot(client):
    # Restoring a plan that is not deleted, or one that does not exist: clear Chinese errors.
    plan = client.post("/api/plans", json={"name": "在用方案"}).get_json()
    live = client.post(f"/api/plans/{plan['id']}/restore")
    assert live.status_code == 422
    assert "「在用方案」" in live.get_json()["error"] and "不在回收站中" in live.get_json()["error"]
    unknown = client.post("/api/plans/999999/restore")
    assert unknown.status_code == 404 and "没有编号为 999999 的方案" in unknown.get_json()["error"]
    assert client.post("/api/plans/abc/restore").status_code == 404
    # The recycle bin lists the deleted plan with its version and when it was deleted.
    assert client.delete(f"/api/plans/{plan['id']}?version=1").status_code == 200
    (binned,) = client.get("/api/plans?deleted=1").get_json()["plans"]
    assert (binned["name"], binned["version"]) == ("在用方案", 1) and binned["deleted_at"]
    again = client.delete(f"/api/plans/{plan['id']}")
    assert again.status_code == 404


def test_diff_of_a_stale_plan(client):
    """After a stale save the page asks what differs: theirs (saved) against mine (on screen)."""
    moved = [[[24.939, 60.168], [24.943, 60.168], [24.943, 60.171], [24.939, 60.171], [24.939, 60.168]]]
    plan = client.post("/api/plans", json={"name": "差异"}).get_json()
    base = [
        {"kind": "area", "name": "范围", "geometry": POLYGON},
        {"kind": "candidate", "name": "中心", "geometry": _point()},
    ]
    client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": base})
    theirs = [base[0], base[1], {"kind": "candidate", "name": "对方新增", "geometry": _point([24.941, 60.17])}]
    theirs[0] = {"kind": "area", "name": "范围", "geometry": {"type": "Polygon", "coordinates": moved}}
    client.put(f"/api/plans/{plan['id']}", json={"version": 2, "notes": "对方", "features": theirs})
    mine = [*base, {"kind": "candidate", "name": "", "geometry": _point([24.9395, 60.1695])}]
    response = client.post(f"/api/plans/{plan['id']}/diff", json={"name": "差异", "notes": "", "features": mine})
    assert response.status_code == 200
    body = response.get_json()
    assert body["theirs"]["version"] == 3 and body["theirs"]["notes"] == "对方"
    assert (body["name_changed"], body["notes_changed"], body["same"]) == (False, True, 1)
    assert [(f["kind"], f["name"]) for f in body["only_theirs"]] == [("candidate", "对方新增")]
    assert [(f["kind"], f["name"]) for f in body["only_mine"]] == [("candidate", "")]
    assert [(f["kind"], f["name"]) for f in body["changed"]] == [("area", "范围")]
    # Nothing was written.
    assert client.get(f"/api/plans/{plan['id']}").get_json()["version"] == 3
    # Bad inputs: no such plan, features that are not features, a name that is not text.
    url = f"/api/plans/{plan['id']}/diff"
    assert client.post("/api/plans/999999/diff", json={"features": []}).status_code == 404
    bad = client.post(url, json={"features": [{"kind": "hut", "geometry": POLYGON}]})
    assert bad.status_code == 422 and "kind='hut'" in bad.get_json()["error"]
    assert client.post(url, json={"features": "x"}).status_code == 422
    assert client.post(url, json={"name": 3, "features": []}).status_code == 422
    assert client.post(url, data="[", content_type="application/json").status_code == 400


def test_candidate_rings_of_a_plan_at_once_equal_each_candidates_own(client):
    lon, lat = CENTER
    sites = [_point([lon, lat]), _point([lon + 0.004, lat])]
    data = client.post("/api/candidate-rings", json={"sites": sites, "profile": "elderly", "budget": 10}).get_json()
    features = data["rings"]["features"]
    assert {f["properties"]["origin"] for f in features} == {0, 1}
    for k, site in enumerate(sites):
        own = client.post("/api/evaluate", json={"geometry": site, "profile": "elderly", "budget": 10}).get_json()
        alone = {f["properties"]["minutes"]: shapely.geometry.shape(f["geometry"]) for f in own["rings"]["features"]}
        batch = {
            f["properties"]["minutes"]: shapely.geometry.shape(f["geometry"])
            for f in features
            if f["properties"]["origin"] == k
        }
        assert sorted(batch) == sorted(alone) == [5, 10]
        for minutes, shape in alone.items():
            assert batch[minutes].symmetric_difference(shape).area <= 1e-6 * shape.area
    assert "3.2 km/h" in data["assumption"]
    for body, message in [
        ({"sites": []}, "非空"),
        ({"sites": [_point()] * 51}, "最多"),
        ({"sites": [_point()], "budget": 0}, "时间阈值"),
    ]:
        response = client.post("/api/candidate-rings", json=body)
        assert response.status_code == 422 and message in response.get_json()["error"]
