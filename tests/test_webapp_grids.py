"""The grids on the web map through the API: the layer, a card, edits with checks, undo, bad edits."""

from __future__ import annotations

import pytest

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
