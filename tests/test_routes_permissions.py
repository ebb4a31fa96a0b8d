"""Every route has an explicit permission rule, and the rules hold route by route (issue 19).

The table below is the whole app's permission map: a new route fails
:func:`test_every_route_has_the_rule_of_the_table` until it is given a rule and written here.
"""

from __future__ import annotations

import pytest
from flask import Flask

from webapp import create_app
from webapp.auth import rule_of
from webapp.users import UserStore

PASSWORD = "correct horse battery"
TOWN, OTHER_TOWN = "350521100", "350582001"
#: The demo's grids lie in community 000000000000: a planner of town 000000000 may edit them.
DEMO_TOWN = "000000000"

#: endpoint -> rule (``public``: anyone; otherwise the permission the role must hold).
EXPECTED = {
    "static": "public",
    "pages.favicon": "public",
    "api.csrf": "public",
    "auth.login_page": "public",
    "auth.login": "public",
    "auth.logout": "public",
    "auth.me": "public",
    "pages.index": "read",
    "pages.map_script": "read",
    "api.project": "read",
    "api.layer": "read",
    "api.summary": "read",
    "api.view": "read",
    "api.search": "read",
    "api.evaluate": "read",
    "api.evaluate_plan_sites": "read",
    "api.candidate_rings_of_sites": "read",
    "api.compare": "read",
    "grids.grids": "read",
    "grids.grid_card": "read",
    "grids.grid_edit": "edit_plan",
    "grids.grid_undo": "edit_plan",
    "programme.programme_view": "read",
    "lifecircle.check": "read",  # h-rural (issue 21): the scene's life-circle check
    "programme.programme_map": "read",
    "grids.grid_redo": "edit_plan",
    "grids.grid_restore": "edit_plan",
    "grids.grid_history": "read",
    "orgweb.orgchart_nodes": "read",
    "orgweb.orgchart_file": "read",
    "api.list_plans": "read",
    "api.get_plan": "read",
    "api.diff_plan": "read",
    "api.job_status": "read",
    "exports.map_layout": "read",
    "exports.coverage_tables": "read",
    "exports.report": "read",
    "exports.plan_layers_file": "read",
    "auth.logout_everywhere": "read",
    "api.create_plan": "create_plan",
    "api.save_plan": "edit_plan",
    "api.delete_plan": "edit_plan",
    "api.restore_plan": "edit_plan",
    "api.upload_to_plan": "edit_plan",
    "api.submit_job": "run_jobs",
    "api.cancel_job": "run_jobs",
    "api.preview_ledger": "admin",
    "api.apply_ledger_upload": "admin",
    "api.create_project": "admin",
    "auth.admin_page": "admin",
    "auth.list_users": "admin",
    "auth.create_user": "admin",
    "auth.update_user": "admin",
    "auth.audit_log": "admin",
    "auth.export_audit": "admin",
    "forget.forget_person_route": "admin",  # h-acct: a person's records removed on request
    # h-micro (issue 20): micro-grids on the map
    "micro.micro": "read",
    "micro.micro_history": "read",
    "micro.micro_card": "read",
    "micro.micro_generate": "edit_plan",
    "micro.micro_edit": "edit_plan",
    "micro.micro_rederive": "edit_plan",
    "micro.micro_undo": "edit_plan",
    "micro.micro_redo": "edit_plan",
    "micro.micro_restore": "edit_plan",
    "rosterweb.roster_get": "read",  # h-roster: the imported roster against the grids
    "rosterweb.roster_upload": "edit_plan",  # h-roster: a roster imported (planner of every grid's area)
    "rosterweb.roster_delete": "edit_plan",  # h-roster: the imported roster removed
    # h-micro2 (issue 20): the grids and micro-grids downloaded (GeoPackage, XLSX)
    "orgweb.grid_levels_file": "read",
    "rosterweb.roster_micro": "read",  # the roster's people in one micro-grid (its card)
    "linkweb.linkage_submit": "run_jobs",  # h-linkweb: the "1+10" linkage as a background job
    "linkweb.linkage_result": "read",  # h-linkweb: a finished linkage (its submitter or an admin)
    "linkweb.linkage_xlsx": "read",  # h-linkweb: its roster XLSX per grid (personal=1: admin)
    "linkweb.party_get": "read",  # h-linkweb: party coverage of the project's compound ledger
    "linkweb.party_upload": "run_jobs",  # h-linkweb: party coverage of an uploaded ledger (not kept)
    # h-gridimp (issue 20): existing grids imported and other systems compared (多网合一)
    "gridimport.import_check": "edit_plan",
    "gridimport.import_adopt": "edit_plan",
    "gridimport.systems_compare": "edit_plan",
    "gridimport.systems_adopt": "edit_plan",
    "micro.micro_bounds": "edit_plan",  # h-micro3 (issue 20): the micro-grids' household floor and ceiling
}

#: Every route that changes something, as (method, URL): none is open to a viewer.
PLAN_ROUTES = [
    ("PUT", "/api/plans/{plan}"),
    ("DELETE", "/api/plans/{plan}"),
    ("POST", "/api/plans/{plan}/restore"),
    ("POST", "/api/plans/{plan}/upload"),
]
#: The grid edits: a planner edits only grids inside their area (issue 20).
GRID_ROUTES = [
    ("POST", "/api/grids/edit"),
    ("POST", "/api/grids/undo"),
    ("POST", "/api/grids/redo"),
    ("POST", "/api/grids/restore"),
    # h-micro (issue 20): the micro-grid edits
    ("POST", "/api/grids/micro/generate"),
    ("POST", "/api/grids/micro/edit"),
    ("POST", "/api/grids/micro/rederive"),
    ("POST", "/api/grids/micro/undo"),
    ("POST", "/api/grids/micro/redo"),
    ("POST", "/api/grids/micro/restore"),
    ("POST", "/api/grids/micro/bounds"),  # h-micro3
]
WRITE_ROUTES = [
    *PLAN_ROUTES,
    *GRID_ROUTES,
    ("POST", "/api/plans"),
    ("POST", "/api/jobs"),
    ("POST", "/api/jobs/1/cancel"),
    ("POST", "/api/ledgers/preview"),
    ("POST", "/api/ledgers/apply"),
    ("POST", "/api/projects"),
    ("POST", "/api/admin/users"),
    ("PATCH", "/api/admin/users/root"),
    ("POST", "/api/admin/forget-person"),  # h-acct
    ("POST", "/api/grids/roster"),  # h-roster
    ("DELETE", "/api/grids/roster"),  # h-roster
    ("POST", "/api/grids/import"),  # h-gridimp
    ("POST", "/api/grids/import/adopt"),  # h-gridimp
    ("POST", "/api/grids/systems"),  # h-gridimp
    ("POST", "/api/grids/systems/adopt"),  # h-gridimp
    ("POST", "/api/linkage"),  # h-linkweb
    ("POST", "/api/party"),  # h-linkweb
]
ADMIN_ROUTES = [
    ("POST", "/api/ledgers/preview"),
    ("POST", "/api/ledgers/apply"),
    ("POST", "/api/projects"),
    ("POST", "/api/admin/users"),
    ("PATCH", "/api/admin/users/root"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/audit.csv"),
    ("POST", "/api/admin/forget-person"),  # h-acct
]


def unruled(app: Flask) -> list[str]:
    """The endpoints of ``app`` without a permission rule."""
    return sorted({r.endpoint for r in app.url_map.iter_rules() if rule_of(app, r.endpoint) is None})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    store = UserStore(instance / "users.sqlite3")
    for name, role, scope in (("root", "admin", ""), ("kan", "viewer", ""), ("town", "planner", TOWN)):
        store.add(name, PASSWORD, role, scope)
    store.add("other", PASSWORD, "planner", OTHER_TOWN)
    store.add("demo", PASSWORD, "planner", DEMO_TOWN)
    return create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": instance, "LOGIN_REQUIRED": True})


def client_of(app, name: str | None):
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["token"]
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    if name:
        answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        # A login starts a new session, with a new CSRF token.
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


@pytest.fixture(scope="module")
def town_plan(app):
    answer = client_of(app, "town").post("/api/plans", json={"name": "镇方案"})
    assert answer.status_code == 201
    return answer.get_json()["id"]


def test_every_route_has_the_rule_of_the_table(app):
    assert unruled(app) == []
    found = {r.endpoint: rule_of(app, r.endpoint) for r in app.url_map.iter_rules()}
    assert found == EXPECTED, "a route was added or its rule changed: write it in EXPECTED"


def test_a_route_without_a_rule_is_found_and_refused(tmp_path):
    fresh = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path})
    fresh.add_url_rule("/api/forgotten", "forgotten", lambda: "open")
    assert unruled(fresh) == ["forgotten"]
    answer = fresh.test_client().get("/api/forgotten")
    assert answer.status_code == 403 and "没有权限规则" in answer.get_json()["error"]


@pytest.mark.parametrize(("method", "url"), WRITE_ROUTES)
def test_a_viewer_changes_nothing(app, town_plan, method, url):
    answer = client_of(app, "kan").open(url.format(plan=town_plan), method=method, json={})
    assert answer.status_code == 403, (method, url, answer.get_json())
    assert "无权" in answer.get_json()["error"]


@pytest.mark.parametrize(("method", "url"), PLAN_ROUTES)
def test_a_planner_of_another_area_cannot_change_this_areas_plan(app, town_plan, method, url):
    answer = client_of(app, "other").open(url.format(plan=town_plan), method=method, json={"version": 1})
    assert answer.status_code == 403
    assert answer.get_json()["error"].startswith(f"无权修改此方案：它属于区域 {TOWN}")


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
def test_a_planner_does_not_administer(app, method, url):
    answer = client_of(app, "town").open(url, method=method, json={})
    assert answer.status_code == 403


@pytest.mark.parametrize(("method", "url"), [*WRITE_ROUTES, ("GET", "/api/plans"), ("GET", "/api/export/report.pdf")])
def test_anonymous_api_requests_get_401(app, town_plan, method, url):
    answer = client_of(app, None).open(url.format(plan=town_plan), method=method, json={})
    assert answer.status_code == 401 and answer.get_json()["login"] == "/login"


@pytest.mark.parametrize("url", ["/", "/?lang=en", "/admin", "/map-script/0123.js"])
def test_anonymous_pages_go_to_login(app, url):
    answer = client_of(app, None).get(url)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login?next={url}"


@pytest.mark.parametrize("name", ["kan", "town", "root"])
def test_every_role_reads_the_plans(app, town_plan, name):
    client = client_of(app, name)
    assert client.get(f"/api/plans/{town_plan}").status_code == 200
    assert town_plan in [p["id"] for p in client.get("/api/plans").get_json()["plans"]]


def _grid_version(client) -> tuple[int, str]:
    data = client.get("/api/grids").get_json()
    return data["version"], data["grids"]["features"][0]["properties"]["code"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/grids/edit", {"op": "set", "field": "name", "value": "外区"}),
        ("POST", "/api/grids/edit", {"op": "split"}),
        ("POST", "/api/grids/edit", {"op": "renumber"}),
    ],
)
def test_a_planner_of_another_area_cannot_edit_these_grids(app, method, url, body):
    client = client_of(app, "town")
    version, code = _grid_version(client)
    answer = client.open(
        url,
        method=method,
        json={**body, "grid": code, "version": version}
        if "op" in body and body["op"] != "renumber"
        else {**body, "version": version},
    )
    assert answer.status_code == 403, answer.get_json()
    assert answer.get_json()["error"].startswith("无权修改区域 000000000000 的网格：您的范围是 350521100")
    assert _grid_version(client)[0] == version  # nothing written


def test_a_planner_of_the_grids_area_edits_undoes_redoes_and_restores_them_audited(app):
    client = client_of(app, "demo")
    version, code = _grid_version(client)
    body = {"op": "set", "grid": code, "field": "name", "value": "本区网格", "version": version}
    assert client.post("/api/grids/edit", json=body).status_code == 200
    assert client.post("/api/grids/undo", json={"version": version + 1}).status_code == 200
    assert client.post("/api/grids/redo", json={"version": version + 2}).status_code == 200
    assert client.post("/api/grids/restore", json={"to": version, "version": version + 3}).status_code == 200
    # after it, another area's planner cannot undo the demo planner's restore either
    other = client_of(app, "town").post("/api/grids/undo", json={})
    assert other.status_code == 403
    history = client_of(app, "kan").get("/api/grids/history").get_json()  # a viewer reads the history
    assert [v["user"] for v in history["versions"][:4]] == ["demo"] * 4
    audit = [e for e in client_of(app, "root").get("/api/admin/audit").get_json()["audit"] if e["user_name"] == "demo"]
    assert [e["action"] for e in audit[:4]] == ["grid.restore", "grid.redo", "grid.undo", "grid.edit"]


def test_micro_grids_are_edited_only_by_a_planner_of_their_area(app):
    """h-micro (issue 20): generating and editing micro-grids follow the grids' area rule."""
    town = client_of(app, "town")
    refused = town.post("/api/grids/micro/generate", json={})
    assert refused.status_code == 403 and refused.get_json()["error"].startswith("无权修改区域 000000000000")
    demo = client_of(app, "demo")
    made = demo.post("/api/grids/micro/generate", json={})
    assert made.status_code == 200, made.get_json()
    data = made.get_json()
    code = data["grids"]["features"][0]["properties"]["code"]
    split = {"op": "split", "grid": code, "version": data["version"]}
    answer = town.post("/api/grids/micro/edit", json=split)
    assert answer.status_code == 403 and "无权修改区域" in answer.get_json()["error"]
    assert town.get("/api/grids/micro").get_json()["version"] == data["version"]  # nothing written
    assert demo.post("/api/grids/micro/edit", json=split).status_code == 200
    audit = [e for e in client_of(app, "root").get("/api/admin/audit").get_json()["audit"] if e["user_name"] == "demo"]
    assert {"micro_grid.generate", "micro_grid.edit"} <= {e["action"] for e in audit}
