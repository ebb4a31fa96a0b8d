"""Micro-grids (微网格/网点) through the API on the demo (h-micro, issue 20): generated from the grids
and buildings, nested and coded under their grids, edited with the grid edit machinery (codes of
untouched micro-grids kept), undo and redo, the version guard (409), nesting refused or flagged,
flags after a grid edit and their re-derivation, and the person forgotten in micro-grid fields."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely.geometry

from geo.grids.micro import micro_issues, rederive_micro
from tests.test_auth import make_app
from tests.test_forget_person import PHONE, _client, _unpacked
from webapp import create_app


@pytest.fixture()
def app(tmp_path):
    return create_app({"TESTING": True, "instance_path": tmp_path / "instance"})


@pytest.fixture()
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _codes(data: dict) -> list[str]:
    return [f["properties"]["code"] for f in data["grids"]["features"]]


def _generated(client) -> dict:
    answer = client.post("/api/grids/micro/generate", json={})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _micro_plan(app):
    return next(v for k, v in app.extensions["linli.grids"].items() if k.endswith("#micro"))["plan"]


def _kinds(data: dict) -> set[str]:
    return {i["kind"] for i in data["issues"]}


def test_micro_grids_are_generated_nested_in_the_grids_and_coded_under_them(client):
    assert client.get("/api/grids/micro").get_json()["micro"] is None  # nothing before the planner asks
    assert client.post("/api/grids/micro/edit", json={"op": "split", "grid": "x"}).status_code == 422
    grids = client.get("/api/grids").get_json()
    parents = set(_codes(grids))
    data = _generated(client)
    # the demo: 7 grids of 300-500 households -> 53 micro-grids of (mostly) 10-50 from 1,226 building plots
    assert data["version"] == 0 and (data["min_households"], data["max_households"]) == (10, 50)
    assert len(data["grids"]["features"]) > 3 * len(parents)
    for f in data["grids"]["features"]:
        p = f["properties"]
        assert p["parent"] in parents and p["code"].startswith(p["parent"]) and len(p["code"]) == len(p["parent"]) + 2
        assert isinstance(p["code"], str) and p["households"] >= 0
    assert data["stale_grids"] == [] and not _kinds(data) & {"crosses_parent", "not_nested", "gap", "overlap"}
    # the households of the micro-grids add up to the grids' (nothing lost, nothing counted twice)
    total = sum(f["properties"]["households"] for f in data["grids"]["features"])
    assert total == pytest.approx(sum(f["properties"]["households"] for f in grids["grids"]["features"]), rel=1e-3)
    code = _codes(data)[0]
    card = client.get(f"/api/grids/micro/card/{code}").get_json()
    assert card["code"] == code and card["parent"] == code[:-2] and card["households"] > 0 and card["units"] >= 1
    assert client.get("/api/grids/micro/card/nope").status_code == 404
    history = client.get("/api/grids/micro/history").get_json()["versions"]
    assert [v["version"] for v in history] == [0] and history[0]["summary"].endswith("个微网格")
    assert client.get("/api/grids").get_json()["version"] == grids["version"]  # the grids untouched


def test_split_keeps_the_other_codes_and_undo_redo_go_back_and_forth(client):
    data = _generated(client)
    before = _codes(data)
    code = next(f["properties"]["code"] for f in data["grids"]["features"] if f["properties"]["units"] >= 4)
    answer = client.post("/api/grids/micro/edit", json={"op": "split", "grid": code, "version": data["version"]})
    assert answer.status_code == 200, answer.get_json()
    out = answer.get_json()
    new = sorted(set(_codes(out)) - set(before))
    assert set(before) <= set(_codes(out)) and len(new) == 1  # no untouched micro-grid renumbered
    siblings = [c for c in before if c[:-2] == code[:-2]]
    assert new[0] == f"{code[:-2]}{max(int(c[-2:]) for c in siblings) + 1:02d}"  # the next free number
    kept = next(i for i in out["issues"] if i["kind"] == "codes_kept")
    assert kept["message"].startswith(f"{len(before) - 1} 个未改动的微网格编码不变")
    assert "renumbered" not in _kinds(out) and out["changed"]["grids"] == sorted([code, new[0]])
    assert out["version"] == 1 and out["can_undo"] == 1 and "edit_ms" in out
    undone = client.post("/api/grids/micro/undo", json={"version": 1}).get_json()
    assert _codes(undone) == before and undone["can_redo"] == 1 and undone["version"] == 2
    redone = client.post("/api/grids/micro/redo", json={"version": 2}).get_json()
    assert _codes(redone) == _codes(out)
    history = client.get("/api/grids/micro/history").get_json()["versions"]
    assert [v["op"]["op"] for v in history] == ["redo", "undo", "split", "generate"]
    restored = client.post("/api/grids/micro/restore", json={"to": 0, "version": 3}).get_json()
    assert _codes(restored) == before and restored["version"] == 4


def test_a_stale_micro_edit_gets_409_with_the_versions_since(client):
    data = _generated(client)
    code = _codes(data)[0]
    ok = client.post("/api/grids/micro/edit", json={"op": "set", "grid": code, "field": "name", "value": "一号楼"})
    assert ok.status_code == 200
    for url, body in (
        ("/api/grids/micro/edit", {"op": "split", "grid": code, "version": 0}),
        ("/api/grids/micro/undo", {"version": 0}),
        ("/api/grids/micro/generate", {"version": 0}),
    ):
        stale = client.post(url, json=body)
        assert stale.status_code == 409, (url, stale.get_json())
        body = stale.get_json()
        assert body["current_version"] == 1 and [v["version"] for v in body["conflict"]] == [1]
    assert client.get("/api/grids/micro").get_json()["version"] == 1  # nothing written


def test_a_micro_edit_across_grids_is_refused_and_renumber_is_the_grids_only(app, client):
    data = _generated(client)
    micro = _micro_plan(app)
    parent = micro.units["parent"].to_numpy(object)
    adj = micro.adjacency
    across = adj[parent[adj[:, 0]] != parent[adj[:, 1]]]
    assert across.size  # neighbouring plots in two grids exist on the demo
    i, j = across[0]
    ids = micro.units["unit_id"].to_numpy(object)
    for op in (
        {"op": "merge", "grids": [micro.grid[i], micro.grid[j]]},
        {"op": "move", "unit": ids[i], "to": micro.grid[j]},
    ):
        refused = client.post("/api/grids/micro/edit", json={**op, "version": data["version"]})
        assert refused.status_code == 422, op
        assert "另一个上级区划" in refused.get_json()["error"] or "不同上级区划" in refused.get_json()["error"]
    renumber = client.post("/api/grids/micro/edit", json={"op": "renumber", "version": data["version"]})
    assert renumber.status_code == 422 and "微网格编辑操作" in renumber.get_json()["error"]
    assert client.get("/api/grids/micro").get_json()["version"] == data["version"]


def test_a_grid_edit_flags_the_micro_grids_it_crosses_and_rederive_fixes_only_those(client):
    data = _generated(client)
    grids = client.get("/api/grids").get_json()
    split = client.post("/api/grids/edit", json={"op": "split", "grid": _codes(grids)[0], "version": grids["version"]})
    assert split.status_code == 200
    new_grid = sorted(set(_codes(split.get_json())) - set(_codes(grids)))[0]
    flagged = client.get("/api/grids/micro").get_json()
    assert flagged["version"] == data["version"]  # the micro-grids were not rewritten
    assert flagged["stale_grids"] == sorted([_codes(grids)[0], new_grid])
    assert _kinds(flagged) & {"crosses_parent", "not_nested"}
    nesting = [i for i in flagged["issues"] if i["kind"] in ("crosses_parent", "not_nested")]
    assert all(i["message"].startswith("微网格") for i in nesting)
    untouched = [c for c in _codes(data) if not c.startswith(tuple(flagged["stale_grids"]))]

    fixed = client.post(
        "/api/grids/micro/rederive", json={"grids": flagged["stale_grids"], "version": flagged["version"]}
    ).get_json()
    assert fixed["stale_grids"] == [] and not _kinds(fixed) & {"crosses_parent", "not_nested"}
    assert set(untouched) <= set(_codes(fixed))  # the other grids' micro-grids keep their codes
    assert any(c.startswith(new_grid) for c in _codes(fixed))
    for f in fixed["grids"]["features"]:
        assert f["properties"]["code"].startswith(f["properties"]["parent"])
    back = client.post("/api/grids/micro/undo", json={"version": fixed["version"]}).get_json()
    assert back["stale_grids"] == flagged["stale_grids"]  # undo brings the flags back
    client.post("/api/grids/undo", json={})
    assert client.get("/api/grids/micro").get_json()["stale_grids"] == []  # the grid edit undone: nested again
    bad = client.post("/api/grids/micro/rederive", json={"grids": ["nope"], "version": back["version"] + 0})
    assert bad.status_code == 422


def test_micro_checks_name_bounds_and_rederive_in_the_core(app, client):
    _generated(client)
    micro = _micro_plan(app)
    issues = micro_issues(micro)
    hh = {c: micro.units["households"].to_numpy(float)[micro.grid == c].sum() for c in micro.codes}
    below = {i.grid for i in issues if i.kind == "below_floor"}
    assert below == {c for c, v in hh.items() if v < 10 - 1e-6}  # the floor of the micro level, not the grids'
    assert all(i.message.startswith("微网格") for i in issues if i.kind in ("below_floor", "above_ceiling"))
    again = rederive_micro(micro, sorted(set(micro.units["parent"].astype(str))))
    assert again.codes == micro.codes and (again.grid == micro.grid).all()  # same plots, same seed: nothing moves
    assert again.history[-1][0] == {"op": "rederive", "grids": sorted(set(micro.units["parent"].astype(str)))}
    assert np.array_equal(again.history[-1][1], micro.grid)


def test_forget_person_reaches_micro_grid_fields(tmp_path):
    app, _ = make_app(tmp_path, [])
    root = _client(app, "root")
    data = _generated(root)
    code = _codes(data)[0]
    answer = root.post(
        "/api/grids/micro/edit",
        json={"op": "set", "grid": code, "field": "grid_member", "value": f"张三 {PHONE}", "version": 0},
    )
    assert answer.status_code == 200
    assert root.get(f"/api/grids/micro/card/{code}").get_json()["grid_member"] == "张* 138****5678"
    store = app.extensions["linli.store"]
    key = next(k for k in app.extensions["linli.grids"] if k.endswith("#micro"))
    with app.app_context():
        assert PHONE in _unpacked(store.grid_plan(key)["state"]) + _unpacked(store.grid_snapshot(key, 1))
    done = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE}).get_json()
    assert done["plans"] >= 2
    with app.app_context():
        stored = _unpacked(store.grid_plan(key)["state"]) + _unpacked(store.grid_snapshot(key, 1))
        history = store.grid_history(key)
    assert PHONE not in stored and "张三" not in stored and PHONE not in json.dumps(history, ensure_ascii=False)
    assert root.get(f"/api/grids/micro/card/{code}").get_json()["grid_member"] == ""
    # The removal is a micro-grid version of its own, by the administrator (so that no server's
    # micro-grids in memory can write the person back): the page's next edit reloads first.
    assert root.get("/api/grids/micro").get_json()["version"] == 2
    with app.app_context():
        forgotten = store.grid_history(key)[0]
    assert (forgotten["version"], forgotten["op"], forgotten["user"]) == (2, {"op": "forget"}, "root")


def test_lines_drawn_split_a_micro_grid_and_move_a_boundary(app, client):
    """A line drawn on the map ([lon, lat], WGS84, as the page sends it) splits a micro-grid or moves
    the boundary between two micro-grids of one grid, as it does for grids."""
    data = _generated(client)
    shapes = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in data["grids"]["features"]}
    micro = _micro_plan(app)
    parent = micro.units["parent"].to_numpy(object)
    adj = micro.adjacency
    pair = adj[(micro.grid[adj[:, 0]] != micro.grid[adj[:, 1]]) & (parent[adj[:, 0]] == parent[adj[:, 1]])][0]
    a, b = (str(micro.grid[int(k)]) for k in pair)
    sizes = {c: int((micro.grid == c).sum()) for c in micro.codes}
    big = max(sizes, key=lambda c: sizes[c])

    def across(geom, k):  # a north-south line across the shape, k tenths from its west edge
        w, s, e, n = geom.bounds
        x = w + (e - w) * k / 10
        return [[x, s - 0.001], [x, n + 0.001]]

    version = data["version"]
    done = {}
    for name, op in (
        ("split", lambda k: {"op": "split", "grid": big, "line": across(shapes[big], k)}),
        ("boundary", lambda k: {"op": "boundary", "grids": [a, b], "line": across(shapes[a] | shapes[b], k)}),
    ):
        for k in range(1, 10):
            answer = client.post("/api/grids/micro/edit", json={**op(k), "version": version})
            if answer.status_code == 200:
                out = answer.get_json()
                done[name] = out
                assert "renumbered" not in _kinds(out) and out["version"] == version + 1
                version = client.post("/api/grids/micro/undo", json={"version": out["version"]}).get_json()["version"]
                break
            assert answer.status_code == 422, answer.get_json()  # a line that cuts nothing is said so
    assert set(done) == {"split", "boundary"}
    assert len(done["split"]["grids"]["features"]) == len(data["grids"]["features"]) + 1
    assert set(done["boundary"]["changed"]["grids"]) == {a, b}
    bad = client.post("/api/grids/micro/edit", json={"op": "split", "grid": big, "line": [[0, 0]], "version": version})
    assert bad.status_code == 422 and "line" in bad.get_json()["error"]
