"""The grids on the web map through the API: the layer, a card, edits with checks, undo and redo,
lines drawn to split a grid or move a boundary, blocks moved, the plan store's versions (history,
restore, conflicts between servers), bad edits."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
import shapely.geometry

from geo.grids.edits import apply_edit
from geo.grids.output import plan_to_dict
from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from webapp import create_app
from webapp.grids import mask_personal


@pytest.fixture()
def client(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "instance"})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _codes(data: dict) -> list[str]:
    return [f["properties"]["code"] for f in data["grids"]["features"]]


def _adjacent_pair(client, data: dict) -> list[str]:
    codes = _codes(data)
    for a in codes:
        for b in codes:
            if a < b:
                r = client.post("/api/grids/edit", json={"op": "merge", "grids": [a, b], "version": data["version"]})
                if r.status_code == 200:
                    client.post("/api/grids/undo", json={})
                    return [a, b]
    raise AssertionError("no two adjacent grids")


def test_grid_layer_has_codes_figures_and_label_points(client):
    data = client.get("/api/grids").get_json()
    assert len(data["grids"]["features"]) >= 2
    props = data["grids"]["features"][0]["properties"]
    assert props["households"] > 0 and props["code"].startswith(props["parent"])
    lat, lon = props["label_at"]
    assert -90 < lat < 90 and -180 < lon < 180
    assert "grid_member" not in props and "central_households" not in props  # personal data only on the card
    cov = client.get("/api/grids?coverage=medical").get_json()
    assert all(0 <= (f["properties"]["pct_medical"] or 0) <= 100 for f in cov["grids"]["features"])


def test_card_masks_personal_fields(client):
    data = client.get("/api/grids").get_json()
    code = _codes(data)[0]
    for field, value in (("grid_member", "张三 13812341234"), ("branch", "第一支部")):
        r = client.post("/api/grids/edit", json={"op": "set", "grid": code, "field": field, "value": value})
        assert r.status_code == 200
    card = client.get(f"/api/grids/{code}").get_json()
    assert card["grid_member"] == "张* 138****1234"
    assert card["branch"] == "第一支部"
    assert card["households"] > 0 and set(card["facilities"]) >= {"medical"}
    assert client.get("/api/grids/nope").status_code == 404


def test_merge_then_undo_returns_the_same_codes_and_checks_follow(client):
    data = client.get("/api/grids").get_json()
    before = _codes(data)
    a, b = _adjacent_pair(client, data)
    data = client.get("/api/grids").get_json()
    merged = client.post("/api/grids/edit", json={"op": "merge", "grids": [a, b], "version": data["version"]})
    assert merged.status_code == 200
    out = merged.get_json()
    assert _codes(out) == [c for c in before if c != max(a, b)]
    assert out["can_undo"] >= 1 and "edit_ms" in out
    assert any(i["kind"] == "above_ceiling" for i in out["issues"]) or out["issues"] == []
    back = client.post("/api/grids/undo", json={}).get_json()
    assert _codes(back) == before
    # a split of a grid gives a new code and leaves the others untouched
    split = client.post("/api/grids/edit", json={"op": "split", "grid": before[0]}).get_json()
    assert set(before) < set(_codes(split)) and len(_codes(split)) == len(before) + 1


def test_edits_are_kept_across_apps(tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    c = app.test_client()
    c.environ_base["HTTP_X_CSRF_TOKEN"] = c.get("/api/csrf").get_json()["token"]
    code = _codes(c.get("/api/grids").get_json())[0]
    c.post("/api/grids/edit", json={"op": "set", "grid": code, "field": "name", "value": "东街网格"})
    app2 = create_app({"TESTING": True, "instance_path": tmp_path / "i"})
    c2 = app2.test_client()
    c2.environ_base["HTTP_X_CSRF_TOKEN"] = c2.get("/api/csrf").get_json()["token"]
    assert c2.get(f"/api/grids/{code}").get_json()["name"] == "东街网格"
    # the history came back too: the edit can still be undone, and the version moved on
    back = c2.post("/api/grids/undo", json={})
    assert back.status_code == 200 and back.get_json()["version"] == 2
    assert c2.get(f"/api/grids/{code}").get_json()["name"] == ""


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"op": "merge", "grids": ["x"]}, 422, "两个网格"),
        ({"op": "merge", "grids": ["nope", "nope2"]}, 422, "nope"),
        ({"op": "explode"}, 422, "explode"),
        ({"op": "split", "grid": "nope"}, 422, "nope"),
        ({"op": "set", "grid": "G", "field": "password", "value": 1}, 422, ""),
        ({"op": "renumber", "version": 999}, 409, "刷新"),
        ({"op": "renumber", "version": "1"}, 422, "整数"),
    ],
)
def test_bad_edits_say_what_is_wrong_in_chinese(client, body, status, words):
    r = client.post("/api/grids/edit", json=body)
    assert r.status_code == status, r.get_json()
    message = r.get_json()["error"]
    assert words in message and "(" in message


def test_bad_bodies_and_undo_beyond_history(client):
    assert client.post("/api/grids/edit", data="[1]", content_type="application/json").status_code == 400
    assert client.post("/api/grids/edit", data="x", content_type="text/plain").status_code == 415
    r = client.post("/api/grids/undo", json={"steps": 5})
    assert r.status_code == 422 and "撤销" in r.get_json()["error"]
    assert client.post("/api/grids/undo", json={"steps": -1}).status_code == 422
    assert client.get("/api/grids?coverage=nosuch").status_code in (400, 422)


def test_mask_personal():
    assert mask_personal("张三") == "张*"
    assert mask_personal("欧阳娜娜") == "欧***"
    assert mask_personal("13812341234") == "138****1234"
    assert mask_personal("") == ""


# --------------------------------------------------------------------------- issue 20: store, lines, redo


def _app_client(instance):
    app = create_app({"TESTING": True, "instance_path": instance})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return app, client


def _plan(app):
    return next(iter(app.extensions["linli.grids"].values()))["plan"]


def _shapes(data: dict) -> dict:
    return {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in data["grids"]["features"]}


def _vertical_lines(geom, n: int = 9):
    """Lines from below to above ``geom`` (WGS84) at n longitudes across it."""
    w, s, e, north = geom.bounds
    for k in range(1, n + 1):
        x = w + (e - w) * k / (n + 1)
        yield [[x, s - 0.001], [x, north + 0.001]]


def test_grids_live_in_the_plan_store_with_history_and_restore(tmp_path):
    app, client = _app_client(tmp_path / "i")
    first = client.get("/api/grids").get_json()
    before = _codes(first)
    a, b = _adjacent_pair(client, first)  # a merge and its undo: versions 1 and 2
    merged = client.post("/api/grids/edit", json={"op": "merge", "grids": [a, b], "version": 2}).get_json()
    assert merged["version"] == 3 and _codes(merged) == [c for c in before if c != max(a, b)]
    assert not (tmp_path / "i" / "grids").exists()  # nothing in the instance folder: the plan store holds it
    with app.app_context():
        rows = app.extensions["linli.store"].grid_history(next(iter(app.extensions["linli.grids"])))
    assert [r["version"] for r in rows] == [3, 2, 1, 0]
    history = client.get("/api/grids/history").get_json()
    assert history["version"] == 3 and history["versions"] == rows
    newest = history["versions"][0]
    assert newest["user"] == "local" and newest["op"]["op"] == "merge" and newest["at"].endswith("+00:00")
    assert newest["summary"].startswith("合并") and min(a, b) in newest["summary"]
    # version 0 (as generated) comes back as version 4; the restore itself can be undone
    back = client.post("/api/grids/restore", json={"to": 0, "version": 3}).get_json()
    assert back["version"] == 4 and _codes(back) == before and back["can_undo"] >= 1
    assert client.get("/api/grids/history").get_json()["versions"][0]["op"] == {"op": "restore", "to": 0}
    undone = client.post("/api/grids/undo", json={"version": 4}).get_json()
    assert _codes(undone) == _codes(merged)
    assert client.post("/api/grids/restore", json={"to": 99}).status_code == 404
    assert client.post("/api/grids/restore", json={"to": "0"}).status_code == 422
    # every change is in the audit log, by whom and what
    audit = [e for e in app.extensions["linli.users"].audit() if e["action"].startswith("grid.")]
    assert [e["action"] for e in audit[:3]] == ["grid.undo", "grid.restore", "grid.edit"]
    assert "version=3" in audit[2]["object"] and '"merge"' in audit[2]["detail"]


def test_two_servers_on_one_store_a_stale_edit_gets_409_with_what_changed(tmp_path):
    _, one = _app_client(tmp_path / "i")
    _, two = _app_client(tmp_path / "i")  # a second process on the same plan store
    code = _codes(one.get("/api/grids").get_json())[0]
    version = two.get("/api/grids").get_json()["version"]
    ok = one.post(
        "/api/grids/edit", json={"op": "set", "grid": code, "field": "name", "value": "东街", "version": version}
    )
    assert ok.status_code == 200
    stale = two.post(
        "/api/grids/edit", json={"op": "set", "grid": code, "field": "name", "value": "西街", "version": version}
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["current_version"] == version + 1 and "刷新" in body["error"]
    assert [(v["version"], v["op"]["op"]) for v in body["conflict"]] == [(version + 1, "set")]
    # the second server reads the first one's edit, and an undo on a stale version is refused alike
    assert two.get(f"/api/grids/{code}").get_json()["name"] == "东街"
    assert two.post("/api/grids/undo", json={"version": version}).status_code == 409


def test_split_along_a_drawn_line_keeps_other_codes_and_redo(client):
    data = client.get("/api/grids").get_json()
    shapes = _shapes(data)
    code = max(shapes, key=lambda c: shapes[c].area)
    for line in _vertical_lines(shapes[code]):
        r = client.post("/api/grids/edit", json={"op": "split", "grid": code, "line": line})
        if r.status_code == 200:
            break
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    new = sorted(set(_codes(out)) - set(_codes(data)))
    assert len(new) == 1 and new[0].startswith(data["grids"]["features"][0]["properties"]["parent"])
    assert out["changed"]["grids"] == sorted([code, new[0]]) and out["changed"]["units"] > 0
    kinds = {i["kind"] for i in out["issues"]}
    assert "codes_kept" in kinds and "renumbered" not in kinds
    after = _shapes(out)
    for other in set(shapes) - {code}:  # untouched grids: same code, same outline
        assert after[other].equals_exact(shapes[other], 1e-9)
    assert out["can_redo"] == 0
    undone = client.post("/api/grids/undo", json={}).get_json()
    assert _codes(undone) == _codes(data) and undone["can_redo"] == 1
    redone = client.post("/api/grids/redo", json={}).get_json()
    assert _codes(redone) == _codes(out) and redone["can_redo"] == 0
    assert client.post("/api/grids/redo", json={}).status_code == 422  # nothing left to redo


def test_boundary_drawn_between_two_neighbours_moves_only_their_blocks(client):
    data = client.get("/api/grids").get_json()
    a, b = _adjacent_pair(client, client.get("/api/grids").get_json())
    data = client.get("/api/grids").get_json()
    shapes = _shapes(data)
    hh = {f["properties"]["code"]: f["properties"]["households"] for f in data["grids"]["features"]}
    for line in _vertical_lines(shapes[a].union(shapes[b]), 15):
        r = client.post("/api/grids/edit", json={"op": "boundary", "grids": [a, b], "line": line})
        if r.status_code == 200:
            break
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["changed"]["grids"] == sorted([a, b]) and _codes(out) == _codes(data)
    after = {f["properties"]["code"]: f["properties"]["households"] for f in out["grids"]["features"]}
    assert after[a] + after[b] == pytest.approx(hh[a] + hh[b])
    assert after[a] != pytest.approx(hh[a])
    for other in set(shapes) - {a, b}:
        assert _shapes(out)[other].equals_exact(shapes[other], 1e-9)


def test_a_block_clicked_on_the_map_moves_to_the_neighbour(client):
    client.get("/api/grids")
    plan = _plan(client.application)
    i, j = next((i, j) for i, j in plan.adjacency if plan.grid[i] != plan.grid[j])
    to, unit = str(plan.grid[i]), int(j)
    point = gpd.GeoSeries([plan.units.geometry.iloc[unit].representative_point()], crs=plan.units.crs).to_crs(4326)
    at = [point.x.iloc[0], point.y.iloc[0]]
    r = client.post("/api/grids/edit", json={"op": "move", "at": at, "to": to})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["changed"]["units"] == 1 and to in r.get_json()["changed"]["grids"]
    assert _plan(client.application).grid[unit] == to
    far = client.post("/api/grids/edit", json={"op": "move", "at": [0.0, 0.0], "to": to})
    assert far.status_code == 422 and "街区" in far.get_json()["error"]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ([[24.94, 60.17]], "2 至"),
        ([[24.94, 60.17], ["x", 1]], "有限数"),
        ([[24.94, 60.17], [24.94, 95.0]], "经纬度"),
        ([[24.0, 60.0], [24.0001, 60.0001]], "没有把"),  # far from every grid: cuts nothing
        ("a line", "2 至"),
    ],
)
def test_bad_lines_are_refused_with_the_reason(client, line, words):
    code = _codes(client.get("/api/grids").get_json())[0]
    r = client.post("/api/grids/edit", json={"op": "split", "grid": code, "line": line})
    assert r.status_code == 422, r.get_json()
    assert words in r.get_json()["error"]


def test_grids_kept_by_an_earlier_linli_in_the_instance_folder_are_taken_over(tmp_path):
    app, client = _app_client(tmp_path / "old")
    code = _codes(client.get("/api/grids").get_json())[0]
    plan = apply_edit(_plan(app), {"op": "set", "grid": code, "field": "name", "value": "老网格"})
    name = re.sub(r"[^\w.-]", "_", next(iter(app.extensions["linli.grids"])))  # as the earlier Linli named it
    legacy = tmp_path / "new" / "grids" / f"{name}.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps(plan_to_dict(plan), ensure_ascii=False), encoding="utf-8")
    _, fresh = _app_client(tmp_path / "new")
    assert fresh.get(f"/api/grids/{code}").get_json()["name"] == "老网格"
    assert fresh.get("/api/grids").get_json()["can_undo"] == 1  # its history came along


def test_coverage_follows_the_scene_budget(client):
    five = client.get("/api/grids?coverage=medical&budget=5").get_json()
    fifteen = client.get("/api/grids?coverage=medical&budget=15").get_json()
    pct5 = [f["properties"]["pct_medical"] or 0 for f in five["grids"]["features"]]
    pct15 = [f["properties"]["pct_medical"] or 0 for f in fifteen["grids"]["features"]]
    assert all(x <= y for x, y in zip(pct5, pct15, strict=True)) and sum(pct5) < sum(pct15)
    assert client.get("/api/grids?coverage=medical&budget=abc").status_code == 422


def test_grids_on_a_postgis_plan_store_two_servers(tmp_path, postgis_url):  # noqa: F811
    """The office setup: two servers on one PostGIS plan store, the grids' versions shared."""

    def server(name):
        app = create_app({"TESTING": True, "instance_path": tmp_path / name, "PLAN_DB": postgis_url})
        client = app.test_client()
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
        return app, client

    app, one = server("a")
    app_b, two = server("b")
    try:
        data = one.get("/api/grids").get_json()
        code = _codes(data)[0]
        assert two.get("/api/grids").get_json()["version"] == data["version"] == 0  # generated once, read by both
        split = one.post("/api/grids/edit", json={"op": "split", "grid": code, "version": 0})
        assert split.status_code == 200
        assert _codes(two.get("/api/grids").get_json()) == _codes(split.get_json())
        stale = two.post("/api/grids/edit", json={"op": "merge", "grids": _codes(data)[:2], "version": 0})
        assert stale.status_code == 409 and stale.get_json()["conflict"][0]["op"]["op"] == "split"
        back = two.post("/api/grids/restore", json={"to": 0, "version": 1}).get_json()
        assert _codes(back) == _codes(data) and back["version"] == 2
        assert [v["version"] for v in one.get("/api/grids/history").get_json()["versions"]] == [2, 1, 0]
    finally:
        app.extensions["linli.store"].close()
        app_b.extensions["linli.store"].close()
