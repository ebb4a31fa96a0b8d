"""The plan's building programme through the API: centres, lateness, progress, coverage by phase, wall map."""

from __future__ import annotations

import datetime as dt

import pytest

from webapp import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture()
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


#: A plan on the demo's streets (central Helsinki): a linked centre of two candidates (clinic and
#: day care), and a candidate saved before the programme existed (no properties at all).
FEATURES = [
    {
        "kind": "candidate",
        "name": "卫生站",
        "geometry": _point(24.9400, 60.1720),
        "properties": {
            "centre": "议会多点中心",
            "centre_kind": "linked",
            "functions": "medical",
            "status": "construction",
            "target_date": "2026-12-20",
            "phase": 1,
        },
    },
    {
        "kind": "candidate",
        "name": "照料中心",
        "geometry": _point(24.9420, 60.1730),
        "properties": {"centre": "议会多点中心", "functions": "老有所养"},
    },
    {"kind": "candidate", "name": "旧方案候选点", "geometry": _point(24.9450, 60.1700), "properties": {}},
]


def test_the_programme_of_a_plan(client, app):
    body = {"features": FEATURES, "today": "2026-12-06", "targets": ["2@2026-12-31"]}
    r = client.post("/api/programme", json=body)
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    centres = {c["centre"]: c for c in data["centres"]}
    assert list(centres) == ["议会多点中心", "旧方案候选点"]
    linked = centres["议会多点中心"]
    assert (linked["kind"], linked["sites"], linked["status"], linked["phase"]) == ("linked", 2, "construction", 1)
    assert (linked["lateness"], linked["days_left"]) == ("due_soon", 14)  # 2026-12-20 is 14 days on
    assert linked["functions_zh"] == "老有所养、病有所医"
    old = centres["旧方案候选点"]
    assert (old["kind"], old["status"], old["phase"], old["target_date"], old["lateness"]) == (
        "single",
        "planned",
        1,
        None,
        "no_date",
    )
    # Each candidate's colour keys, by its index among the plan's features.
    assert [(s["candidate"], s["status"], s["lateness"]) for s in data["sites"]] == [
        (0, "construction", "due_soon"),
        (1, "construction", "due_soon"),
        (2, "planned", "no_date"),
    ]
    goal = data["progress"][0]
    # Nothing open; due by 2026-12-31: only the linked centre (the other has no date) -> short of 2.
    assert (goal["open"], goal["scheduled"], goal["gap"], goal["verdict"]) == (0, 1, 2, "short")
    assert "km/h" in data["assumption"]
    # The figures are those of geo for the same plan.
    from geo.workflows.programme import programme_coverage, programme_from_features
    from webapp.state import get_state

    with app.app_context():
        state = get_state()
        programme = programme_from_features(FEATURES, state.acc.standard.functions)
        expected = programme_coverage(state.acc, state.graph, programme)
    got = {(c["stage"], c["function"]): c["covered_after"] for c in data["coverage"]}
    assert len(got) == len(expected)
    for row in expected.itertuples():
        assert got[(row.stage, row.function)] == pytest.approx(row.covered_after, abs=0.01)
    stages = list(dict.fromkeys(c["stage"] for c in data["coverage"]))
    assert stages == ["现状设施", "已建成（现状）", "第1期后"]


def test_programme_fields_are_kept_in_the_saved_plan(client):
    r = client.post("/api/plans", json={"name": "建设计划", "features": FEATURES})
    assert r.status_code == 201
    plan = client.get(f"/api/plans/{r.get_json()['id']}").get_json()
    props = [f["properties"] for f in plan["features"]]
    assert props[0]["status"] == "construction" and props[0]["phase"] == 1
    assert props[1] == {"centre": "议会多点中心", "functions": "老有所养"}
    # The saved plan is the programme as it was sent.
    again = client.post("/api/programme", json={"features": plan["features"], "today": "2026-12-06"}).get_json()
    assert [c["centre"] for c in again["centres"]] == ["议会多点中心", "旧方案候选点"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"features": [{**FEATURES[0], "properties": {"status": "快好了"}}]}, "状态「快好了」无效"),
        ({"features": [{**FEATURES[0], "properties": {"target_date": "明年"}}]}, "目标日期「明年」"),
        ({"features": [{**FEATURES[0], "properties": {"centre_kind": "linked"}}]}, "应有 2 个以上站点"),
        (
            {"features": [{**FEATURES[1], "properties": {"centre": "议会多点中心", "status": "规划"}}, FEATURES[0]]},
            "各站点状态不一致",
        ),
        ({"features": [{"kind": "area", "geometry": _point(24.94, 60.17)}]}, "应为 Polygon"),
        ({"features": [{"kind": "centre", "geometry": _point(24.94, 60.17)}]}, "类别 kind='centre' 无效"),
        ({"features": [FEATURES[2]], "today": "2026/12/06"}, "YYYY-MM-DD"),
        ({"features": [FEATURES[2]], "today": "2026-02-30"}, "不存在"),
        ({"features": [FEATURES[2]], "targets": ["24 by year end"]}, "个数@日期"),
        ({"features": [FEATURES[2]], "targets": ["1@2026-12-31"] * 6}, "最多 5 个"),
        ({"features": [{**FEATURES[2], "properties": {"functions": "理发"}}]}, "服务功能「理发」无效"),
    ],
)
def test_bad_programmes_are_refused_naming_what(client, change, words):
    body = {"features": FEATURES, "today": "2026-12-06", **change}
    r = client.post("/api/programme", json=body)
    assert r.status_code == 422, r.get_json()
    assert words in r.get_json()["error"]


def test_no_candidate_is_refused(client):
    area = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.945, 60.17], [24.945, 60.172], [24.94, 60.17]]]}
    r = client.post("/api/programme", json={"features": [{"kind": "area", "name": "", "geometry": area}]})
    assert r.status_code == 422 and "没有候选点" in r.get_json()["error"]


def test_the_wall_map(client):
    body = {"features": FEATURES, "today": "2026-12-06", "targets": ["2@2026-12-31"], "paper": "A4"}
    r = client.post("/api/programme/map.png", json=body)
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    assert "programme_2026-12-06_A4.png" in r.headers["Content-Disposition"]
    pdf = client.post("/api/programme/map.pdf", json={**body, "organisation": "惠安县住建局"})
    assert pdf.data.startswith(b"%PDF")
    assert client.post("/api/programme/map.svg", json=body).status_code == 422
    assert client.post("/api/programme/map.png", json={**body, "paper": "A0"}).status_code == 422
    assert client.post("/api/programme/map.png", json={**body, "author": "a\nb"}).status_code == 422


def test_today_defaults_to_the_server_date(client):
    r = client.post("/api/programme", json={"features": [FEATURES[2]]})
    assert r.get_json()["today"] == dt.date.today().isoformat()


def test_the_programme_routes_wait_for_a_place_like_the_plan_and_the_exports():
    """Both route the plan's sites (and the map renders a page): bounded like the plan's evaluation
    and the exports (webapp/limits.py), so a flood of them cannot hold every server thread."""
    from webapp.limits import ADMISSION

    assert "programme.programme_view" in ADMISSION["plan"][1]
    assert "programme.programme_map" in ADMISSION["export"][1]


def test_a_site_names_its_place_among_all_the_plans_features(client):
    """The page colours its candidates by their index among the features it sent, areas included."""
    area = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.945, 60.17], [24.945, 60.172], [24.94, 60.17]]]}
    features = [{"kind": "area", "name": "", "geometry": area}, *FEATURES]
    data = client.post("/api/programme", json={"features": features, "today": "2026-12-06"}).get_json()
    assert [s["candidate"] for s in data["sites"]] == [1, 2, 3]
