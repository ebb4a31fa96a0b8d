"""Accounts and roles (issue 19): hashing, throttling, expiry, logout everywhere, roles and
scopes, the audit log, masked personal data, the ``linli users`` command."""

from __future__ import annotations

import io
import sqlite3

import openpyxl
import pytest

from geo.errors import InputDataError
from webapp import create_app
from webapp.auth import NoAdminError
from webapp.privacy import mask_name, mask_phone
from webapp.users import FIRST_WAIT_S, LoginThrottledError, UserStore, check_scope, in_scope
from webapp.users_cli import main as users_main

PASSWORD = "correct horse battery"
#: Area codes: a county (6 digits), a town in it (9), a town of another county.
COUNTY, TOWN, OTHER_TOWN = "350521", "350521100", "350582001"


class Clock:
    """The time the user store sees (seconds); tests move it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path, users=(), *, root=True, **config):
    """A login-mode app (no project loaded: permission checks come before any analysis),
    with an administrator ``root`` unless ``root=False``."""
    instance = tmp_path / "instance"
    store = UserStore(instance / "users.sqlite3")
    if root:
        store.add("root", PASSWORD, "admin")
    for name, role, scope in users:
        store.add(name, PASSWORD, role, scope)
    settings = {"TESTING": True, "EAGER_LOAD": False, "instance_path": instance, "LOGIN_REQUIRED": True}
    app = create_app({**settings, **config})
    clock = Clock()
    app.extensions["linli.users"].clock = clock
    return app, clock


def csrf(client) -> dict:
    return {"X-CSRF-Token": client.get("/api/csrf").get_json()["token"]}


def login(client, name, password=PASSWORD, ip="10.0.0.1"):
    return client.post(
        "/api/login", json={"name": name, "password": password}, headers=csrf(client), environ_base={"REMOTE_ADDR": ip}
    )


def actions(app) -> list[tuple[str, str, str]]:
    return [(a["user_name"], a["action"], a["object"]) for a in app.extensions["linli.users"].audit()]


# ---------------------------------------------------------------- hashing


def test_passwords_are_stored_as_scrypt_hashes_only(tmp_path):
    store = UserStore(tmp_path / "users.sqlite3")
    store.add("wang", PASSWORD, "viewer")
    (digest,) = sqlite3.connect(tmp_path / "users.sqlite3").execute("SELECT password_hash FROM users").fetchone()
    assert digest.startswith("scrypt:") and PASSWORD not in digest
    assert store.authenticate("wang", PASSWORD, "ip")["name"] == "wang"
    assert store.authenticate("wang", PASSWORD + "x", "ip") is None
    assert "password_hash" not in store.get("wang")


@pytest.mark.parametrize(
    ("name", "password", "role", "scope", "match"),
    [
        ("a b", PASSWORD, "viewer", "", "用户名"),
        ("", PASSWORD, "viewer", "", "用户名"),
        ("wang", "short", "viewer", "", "10-200"),
        ("wang", PASSWORD, "root", "", "role='root'"),
        ("wang", PASSWORD, "planner", "", "区域代码"),
        ("wang", PASSWORD, "planner", "3505", "区域代码"),
        ("wang", PASSWORD, "viewer", COUNTY, "只有规划员"),
    ],
)
def test_bad_account_fields_are_refused(tmp_path, name, password, role, scope, match):
    store = UserStore(tmp_path / "users.sqlite3")
    with pytest.raises(InputDataError, match=match):
        store.add(name, password, role, scope)
    assert store.list_users() == []


def test_a_name_is_taken_once(tmp_path):
    store = UserStore(tmp_path / "users.sqlite3")
    store.add("wang", PASSWORD, "viewer")
    with pytest.raises(InputDataError, match="已存在"):
        store.add("wang", PASSWORD, "admin")


# ---------------------------------------------------------------- throttling


def test_five_failures_make_the_account_wait_and_the_wait_grows(tmp_path):
    clock = Clock()
    store = UserStore(tmp_path / "users.sqlite3", clock=clock)
    store.add("wang", PASSWORD, "viewer")
    for _ in range(5):
        assert store.authenticate("wang", "wrong password", "10.0.0.1") is None
    # Even the right password waits: the password is not checked while throttled.
    with pytest.raises(LoginThrottledError, match="登录失败次数过多") as info:
        store.authenticate("wang", PASSWORD, "10.0.0.2")
    assert info.value.retry_after_s == FIRST_WAIT_S + 1
    clock.now += FIRST_WAIT_S + 1
    assert store.authenticate("wang", "wrong again", "10.0.0.2") is None  # the 6th failure: 60 s
    clock.now += FIRST_WAIT_S + 1
    with pytest.raises(LoginThrottledError):
        store.authenticate("wang", PASSWORD, "10.0.0.3")
    clock.now += FIRST_WAIT_S
    assert store.authenticate("wang", PASSWORD, "10.0.0.3")["name"] == "wang"
    # A success clears the account's count.
    assert store.authenticate("wang", "wrong", "10.0.0.3") is None
    assert store.authenticate("wang", PASSWORD, "10.0.0.3")["name"] == "wang"


def test_one_address_trying_many_accounts_is_throttled(tmp_path):
    store = UserStore(tmp_path / "users.sqlite3", clock=Clock())
    store.add("li", PASSWORD, "viewer")
    for k in range(5):
        store.authenticate(f"guess{k}", PASSWORD, "10.9.9.9")
    with pytest.raises(LoginThrottledError):
        store.authenticate("li", PASSWORD, "10.9.9.9")
    assert store.authenticate("li", PASSWORD, "10.0.0.1")["name"] == "li"  # from elsewhere


def test_throttled_login_answers_429_with_retry_after_and_is_audited(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", "")])
    client = app.test_client()
    for _ in range(5):
        assert login(client, "admin", "wrong password").status_code == 401
    answer = login(client, "admin")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == str(int(FIRST_WAIT_S) + 1)
    assert "登录失败次数过多" in answer.get_json()["error"]
    assert ("admin", "login.throttled", "user=admin") in actions(app)
    assert actions(app).count(("admin", "login.failed", "user=admin")) == 5


# ---------------------------------------------------------------- sessions


def test_login_gives_a_session_and_logout_ends_it(tmp_path):
    app, _ = make_app(tmp_path, users=[("wang", "viewer", "")])
    client = app.test_client()
    assert client.get("/api/plans").status_code == 401
    answer = login(client, "wang")
    assert answer.status_code == 200 and answer.get_json()["user"] == {"name": "wang", "role": "viewer", "scope": ""}
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/api/plans").status_code == 200
    assert client.post("/api/logout", headers=csrf(client)).status_code == 200
    assert client.get("/api/plans").status_code == 401
    assert [a[1] for a in actions(app)] == ["logout", "login"]


def test_cookies_are_secure_when_served_over_https(tmp_path):
    app, _ = make_app(tmp_path, users=[("wang", "viewer", "")], SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    assert "Secure" in login(client, "wang").headers["Set-Cookie"]


def test_sessions_expire(tmp_path):
    app, clock = make_app(tmp_path, users=[("wang", "viewer", "")], SESSION_HOURS=8)
    client = app.test_client()
    login(client, "wang")
    clock.now += 8 * 3600 - 60
    assert client.get("/api/plans").status_code == 200
    clock.now += 120
    assert client.get("/api/plans").status_code == 401


def test_logout_everywhere_ends_every_session_of_the_user(tmp_path):
    app, _ = make_app(tmp_path, users=[("wang", "planner", TOWN), ("li", "planner", TOWN)])
    office, laptop, colleague = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((office, "wang"), (laptop, "wang"), (colleague, "li")):
        assert login(client, name).status_code == 200
    assert office.post("/api/logout-all", headers=csrf(office)).status_code == 200
    assert laptop.get("/api/plans").status_code == 401
    assert office.get("/api/plans").status_code == 401
    assert colleague.get("/api/plans").status_code == 200
    assert ("wang", "logout.everywhere", "user=wang") in actions(app)


def test_disabling_a_user_or_changing_their_role_ends_their_sessions(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", ""), ("wang", "planner", TOWN)])
    admin, wang = app.test_client(), app.test_client()
    login(admin, "admin")
    login(wang, "wang")
    answer = admin.patch("/api/admin/users/wang", json={"role": "viewer", "scope": ""}, headers=csrf(admin))
    assert answer.status_code == 200 and answer.get_json()["role"] == "viewer"
    assert wang.get("/api/plans").status_code == 401
    assert login(wang, "wang").get_json()["user"]["role"] == "viewer"
    admin.patch("/api/admin/users/wang", json={"disabled": True}, headers=csrf(admin))
    assert wang.get("/api/plans").status_code == 401
    assert login(wang, "wang", ip="10.0.0.7").status_code == 401
    assert ("admin", "user.update", "name=wang") in actions(app)


def test_anonymous_page_goes_to_login_and_api_answers_401(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", "")])
    client = app.test_client()
    answer = client.get("/?function=medical")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/?function=medical"
    body = client.post("/api/plans", json={"name": "x"}, headers=csrf(client))
    assert body.status_code == 401 and body.get_json()["error"] == "请先登录 (login required)"
    assert client.get("/login").status_code == 200
    static = client.get("/static/auth.js")
    static.close()
    assert static.status_code == 200


def test_login_page_never_sends_elsewhere_and_speaks_english(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", "")])
    client = app.test_client()
    html = client.get("/login?next=//evil.example/x").get_data(as_text=True)
    assert 'data-next="/"' in html
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in english and "登录" not in english


def test_login_refuses_malformed_bodies(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", "")])
    client = app.test_client()
    headers = csrf(client)
    assert client.post("/api/login", json={"name": ["admin"], "password": 1}, headers=headers).status_code == 422
    assert client.post("/api/login", data="name=admin", headers=headers).status_code == 415
    assert client.post("/api/login", json={"name": "admin", "password": PASSWORD}).status_code == 403  # no CSRF


def test_beyond_loopback_needs_an_administrator(tmp_path):
    with pytest.raises(NoAdminError, match="linli users add"):
        make_app(tmp_path, users=[("wang", "viewer", "")], root=False)


def test_single_user_mode_needs_no_login_and_is_administrator(tmp_path):
    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "inst"})
    client = app.test_client()
    assert client.get("/api/me").get_json() == {
        "user": {"name": "local", "role": "admin", "scope": ""},
        "login_required": False,
    }
    assert client.post("/api/plans", json={"name": "本机方案"}, headers=csrf(client)).status_code == 201
    assert client.get("/admin").status_code == 200
    viewer = {"name": "kan", "password": PASSWORD, "role": "viewer", "scope": ""}
    answer = client.post("/api/admin/users", json=viewer, headers=csrf(client))
    assert answer.status_code == 422 and "第一个用户必须是管理员" in answer.get_json()["error"]
    assert client.get("/api/me").get_json()["login_required"] is False
    # Once a user is configured, login is on even on loopback.
    app.extensions["linli.users"].add("admin", PASSWORD, "admin")
    assert client.get("/api/plans").status_code == 401
    assert ("local", "plan.create", "plan_id=1") in actions(app)


# ---------------------------------------------------------------- roles and scopes


def test_scope_codes_nest():
    assert in_scope(COUNTY, TOWN) and in_scope(TOWN, TOWN + "001")
    assert not in_scope(TOWN, COUNTY) and not in_scope(TOWN, OTHER_TOWN) and not in_scope(TOWN, None)
    assert check_scope("planner", TOWN) == ("planner", TOWN)


def _new_plan(client, name="方案"):
    answer = client.post("/api/plans", json={"name": name}, headers=csrf(client))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_planner_edits_the_plans_of_their_area_and_reads_the_rest(tmp_path):
    users = [("town", "planner", TOWN), ("county", "planner", COUNTY), ("other", "planner", OTHER_TOWN)]
    app, _ = make_app(tmp_path, users=[("admin", "admin", ""), *users])
    town, county, other, admin = (app.test_client() for _ in range(4))
    for client, name in ((town, "town"), (county, "county"), (other, "other"), (admin, "admin")):
        login(client, name)
    plan = _new_plan(town, "镇里的方案")
    assert app.extensions["linli.users"].plan_area(plan["id"]) == TOWN
    # Another town's planner reads it but may not change it: 403 with a Chinese message.
    assert other.get(f"/api/plans/{plan['id']}").status_code == 200
    refused = other.put(f"/api/plans/{plan['id']}", json={"version": 1, "name": "改"}, headers=csrf(other))
    assert refused.status_code == 403
    assert refused.get_json()["error"].startswith(f"无权修改此方案：它属于区域 {TOWN}")
    for method, url in (("delete", f"/api/plans/{plan['id']}"), ("post", f"/api/plans/{plan['id']}/restore")):
        assert getattr(other, method)(url, headers=csrf(other)).status_code == 403
    # The county's planner edits the town's plan; so does the administrator.
    saved = county.put(f"/api/plans/{plan['id']}", json={"version": 1, "name": "县里改"}, headers=csrf(county))
    assert saved.status_code == 200 and saved.get_json()["version"] == 2
    assert admin.delete(f"/api/plans/{plan['id']}?version=2", headers=csrf(admin)).status_code == 200
    assert town.post(f"/api/plans/{plan['id']}/restore", headers=csrf(town)).status_code == 200
    # A plan of the administrator (county-wide, no area) is edited only by administrators.
    own = _new_plan(admin, "全县方案")
    answer = county.put(f"/api/plans/{own['id']}", json={"version": 1, "name": "x"}, headers=csrf(county))
    assert answer.status_code == 403 and "全县" in answer.get_json()["error"]
    log = actions(app)
    assert ("town", "plan.create", f"plan_id={plan['id']}") in log
    assert ("county", "plan.save", f"plan_id={plan['id']}") in log
    assert ("admin", "plan.delete", f"plan_id={plan['id']}") in log
    assert ("town", "plan.restore", f"plan_id={plan['id']}") in log
    assert not any(a[0] == "other" and a[1].startswith("plan.") for a in log)  # refused: nothing recorded


def test_a_viewer_reads_and_changes_nothing(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", ""), ("kan", "viewer", "")])
    admin, viewer = app.test_client(), app.test_client()
    login(admin, "admin")
    login(viewer, "kan")
    plan = _new_plan(admin)
    assert viewer.get("/api/plans").get_json()["plans"][0]["id"] == plan["id"]
    answer = viewer.post("/api/plans", json={"name": "x"}, headers=csrf(viewer))
    assert answer.status_code == 403 and "无权执行此操作" in answer.get_json()["error"]
    assert viewer.get("/admin").status_code == 403
    assert len(viewer.get("/api/plans").get_json()["plans"]) == 1


# ---------------------------------------------------------------- administration and audit


def test_admin_creates_users_and_exports_the_audit_log(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", "")])
    admin = app.test_client()
    login(admin, "admin")
    made = admin.post(
        "/api/admin/users",
        json={"name": "=HYPERLINK(1)", "password": PASSWORD, "role": "planner", "scope": TOWN},
        headers=csrf(admin),
    )
    assert made.status_code == 422  # names are letters and digits only
    made = admin.post(
        "/api/admin/users",
        json={"name": "zhang", "password": PASSWORD, "role": "planner", "scope": TOWN},
        headers=csrf(admin),
    )
    assert made.status_code == 201 and made.get_json()["scope"] == TOWN
    assert "password_hash" not in str(admin.get("/api/admin/users").get_json())
    # A failed login with a formula for a name lands in the log; the export escapes it.
    login(app.test_client(), "=1+1", "whatever password", ip="10.0.0.9")
    csv_text = admin.get("/api/admin/audit.csv").get_data().decode("utf-8-sig")
    assert "'=1+1" in csv_text and ",=1+1" not in csv_text
    assert "user.create" in csv_text and "id=" in csv_text
    book = openpyxl.load_workbook(io.BytesIO(admin.get("/api/admin/audit.xlsx").get_data()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号 id", "时间 time (UTC)", "用户 user", "操作 action")
    assert {r[3] for r in rows[1:]} >= {"login", "user.create", "login.failed", "audit.export"}
    page = admin.get("/admin?lang=en").get_data(as_text=True)
    assert "zhang" in page and "Audit log" in page
    assert admin.get("/api/admin/audit.pdf").status_code == 422


# ---------------------------------------------------------------- personal data


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 138-1234-1234", "+86 138-****-1234"),
        ("0595-12345678", "0595-****5678"),
        ("12345", "*****"),
    ],
)
def test_phone_numbers_are_masked(phone, masked):
    assert mask_phone(phone) == masked


def test_names_are_masked():
    assert (mask_name("张三丰"), mask_name("李四"), mask_name(" "), mask_name("Wang")) == ("张**", "李*", "", "W***")


def test_only_an_administrator_may_ask_an_export_for_personal_data(tmp_path):
    app, _ = make_app(tmp_path, users=[("admin", "admin", ""), ("zhang", "planner", TOWN)])
    admin, planner = app.test_client(), app.test_client()
    login(admin, "admin")
    login(planner, "zhang")
    refused = planner.get("/api/export/plans/999.gpkg?personal=1")
    assert refused.status_code == 403 and "个人信息" in refused.get_json()["error"]
    assert admin.get("/api/export/plans/999.gpkg?personal=1").status_code == 404  # allowed; there is no plan 999


# ---------------------------------------------------------------- the command


def test_linli_users_command(tmp_path, monkeypatch, capsys):
    instance = str(tmp_path / "inst")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        users_main(["add", "wang", "--role", "planner", "--scope", TOWN, "--password-stdin", "--instance", instance])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert users_main(["add", "li", "--role", "viewer", "--password-stdin", "--instance", instance]) == 2
    assert "10-200" in capsys.readouterr().err
    assert users_main(["disable", "wang", "--instance", instance]) == 0
    assert users_main(["list", "--instance", instance]) == 0
    assert f"wang\tplanner\t{TOWN}\t已停用 disabled" in capsys.readouterr().out
    assert users_main(["enable", "nobody", "--instance", instance]) == 2
    store = UserStore(tmp_path / "inst" / "users.sqlite3")
    assert [a["action"] for a in store.audit()] == ["user.disable", "user.create"]


def test_serving_beyond_loopback_without_an_administrator_refuses_to_start(tmp_path, monkeypatch, capsys):
    from webapp.__main__ import main as serve_main

    monkeypatch.setenv("LINLI_SECRET_KEY", "k" * 40)
    status = serve_main(["--host", "0.0.0.0", "--port", "8821", "--instance", str(tmp_path / "inst")])
    assert status == 2
    err = capsys.readouterr().err
    assert "至少需要一位管理员" in err and "linli users add NAME --role admin" in err
