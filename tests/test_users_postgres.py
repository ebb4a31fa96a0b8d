"""Accounts beside the plans (issue 19: "PostGIS backend gets the same rules"): with a PostGIS plan
store the users, the login throttle, the plans' areas and the audit log live in the same
PostgreSQL database; every rule runs against both backends here.

The PostgreSQL runs use the throw-away loopback server of tests/pg_server.py (skipped, with the
reason, when it cannot start)."""

from __future__ import annotations

import io

import psycopg
import pytest

from geo.errors import InputDataError
from geo.io.forget import Person
from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from tests.test_auth import PASSWORD, Clock
from webapp import create_app
from webapp.accounts import open_user_store
from webapp.users import FIRST_WAIT_S, FORGOTTEN, LoginThrottledError, UnknownUserError, UserStore
from webapp.users_cli import main as users_main
from webapp.users_pg import PostgresUserStore


@pytest.fixture(params=["sqlite", "postgresql"])
def accounts(request, tmp_path):
    """An empty account store of each backend, with a clock the test moves."""
    if request.param == "sqlite":
        store = UserStore(tmp_path / "users.sqlite3", clock=Clock())
    else:
        store = PostgresUserStore(request.getfixturevalue("postgis_url"), clock=Clock())
    yield store
    store.close()


def test_users_roles_and_sessions(accounts):
    user = accounts.add("li", PASSWORD, "planner", "350521100")
    assert (user["role"], user["scope"], user["disabled"], user["session_epoch"]) == ("planner", "350521100", False, 1)
    assert "password_hash" not in user and accounts.by_id(user["id"])["name"] == "li"
    with pytest.raises(InputDataError, match="已存在"):
        accounts.add("li", PASSWORD, "viewer")
    with pytest.raises(UnknownUserError, match="没有用户"):
        accounts.get("nobody")
    with pytest.raises(UnknownUserError):
        accounts.get("a\x00b")  # no such name can exist (and PostgreSQL refuses NUL)
    assert not accounts.has_admin() and accounts.has_users()
    accounts.add("root", PASSWORD, "admin")
    assert accounts.has_admin() and [u["name"] for u in accounts.list_users()] == ["li", "root"]
    changed = accounts.update("li", role="viewer", scope="")
    assert (changed["role"], changed["scope"], changed["session_epoch"]) == ("viewer", "", 2)
    accounts.set_password("li", PASSWORD + "!")
    accounts.end_sessions("li")
    assert accounts.get("li")["session_epoch"] == 4
    assert accounts.authenticate("li", PASSWORD + "!", "10.0.0.1")["name"] == "li"
    accounts.update("li", disabled=True)
    assert accounts.authenticate("li", PASSWORD + "!", "10.0.0.1") is None
    assert accounts.get("li")["disabled"] and accounts.has_users()  # root is still enabled


def test_login_throttle(accounts):
    accounts.add("wang", PASSWORD, "viewer")
    for _ in range(5):
        assert accounts.authenticate("wang", "wrong password", "10.0.0.9") is None
    with pytest.raises(LoginThrottledError) as info:
        accounts.authenticate("wang", PASSWORD, "10.0.0.9")
    assert info.value.retry_after_s == int(FIRST_WAIT_S) + 1
    accounts.clock.now += FIRST_WAIT_S + 1
    assert accounts.authenticate("wang", PASSWORD, "10.0.0.9")["name"] == "wang"
    assert accounts.authenticate("a\x00b", PASSWORD, "10.0.0.8") is None  # NUL: a failure, not a 500


def test_plan_areas_and_the_audit_log(accounts):
    assert accounts.plan_area(7) is None
    accounts.set_plan_area(7, "350521100")
    accounts.set_plan_area(7, "350521")  # replaced, not duplicated
    assert accounts.plan_area(7) == "350521"
    accounts.record("li", "plan.save", "plan_id=7", "网格员 张三 13812345678", "10.0.0.1")
    accounts.record("li", "login.failed", "user=a\x00b", "", "10.0.0.1")
    accounts.record("li", "grid.edit", "code=001", "网格员 张三 13900000000", "10.0.0.1")  # another 张三
    log = accounts.audit()
    assert [a["action"] for a in log] == ["grid.edit", "login.failed", "plan.save"]
    assert log[1]["object"] == "user=a\ufffdb"
    assert accounts.audit(limit=1)[0]["action"] == "grid.edit"
    person = Person.of("张三", "138 1234 5678")
    assert accounts.forget_in_audit(person, dry_run=True) == 1
    assert accounts.audit()[2]["detail"] == "网格员 张三 13812345678"  # a dry run changes nothing
    assert accounts.forget_in_audit(person) == 1
    after = accounts.audit()
    assert after[2]["detail"] == FORGOTTEN and after[2]["action"] == "plan.save" and after[2]["user_name"] == "li"
    assert after[0]["detail"] == "网格员 张三 13900000000"  # the other 张三 is kept


def test_the_app_keeps_its_accounts_in_the_postgis_database(tmp_path, postgis_url):  # noqa: F811
    instance = tmp_path / "instance"
    setup = PostgresUserStore(postgis_url)
    setup.add("root", PASSWORD, "admin")
    setup.close()
    app = create_app(
        {
            "TESTING": True,
            "EAGER_LOAD": False,
            "instance_path": instance,
            "PLAN_DB": postgis_url,
            "LOGIN_REQUIRED": True,
        }
    )
    try:
        assert isinstance(app.extensions["linli.users"], PostgresUserStore)
        assert app.extensions["linli.users"]._pool is app.extensions["linli.store"]._pool  # one database, one pool
        client = app.test_client()
        token = client.get("/api/csrf").get_json()["token"]
        answer = client.post("/api/login", json={"name": "root", "password": PASSWORD}, headers={"X-CSRF-Token": token})
        assert answer.status_code == 200
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
        created = client.post("/api/admin/users", json={"name": "li", "password": PASSWORD, "role": "viewer"})
        assert created.status_code == 201
        assert not (instance / "users.sqlite3").exists()  # nothing of the accounts on the app server's disk
        with psycopg.connect(postgis_url) as con:
            assert con.execute("SELECT name FROM users ORDER BY name").fetchall() == [("li",), ("root",)]
            actions = [r[0] for r in con.execute("SELECT action FROM audit ORDER BY id")]
        assert actions == ["login", "user.create"]
    finally:
        app.extensions["linli.users"].close()
        app.extensions["linli.store"].close()


def test_moving_to_postgis_keeps_the_accounts(tmp_path, postgis_url):  # noqa: F811
    """An office that served with SQLite accounts and moves its plans to PostGIS: at the first
    start the users (ids kept: sessions stay valid), plan areas and audit log are copied once."""
    instance = tmp_path / "instance"
    old = UserStore(instance / "users.sqlite3")
    root = old.add("root", PASSWORD, "admin")
    old.add("li", PASSWORD, "planner", "350521100")
    old.set_plan_area(3, "350521100")
    old.record("root", "user.create", "name=li")
    old.close()
    store = open_user_store(postgis_url, instance)
    try:
        assert isinstance(store, PostgresUserStore)
        assert store.get("root")["id"] == root["id"] and store.get("li")["scope"] == "350521100"
        assert store.plan_area(3) == "350521100"
        assert [a["action"] for a in store.audit()] == ["users.import", "user.create"]
        assert store.add("wang", PASSWORD, "viewer")["id"] == 3  # ids continue after the copied ones
        assert store.authenticate("li", PASSWORD, "ip")["name"] == "li"
    finally:
        store.close()
    again = open_user_store(postgis_url, instance)  # not copied twice
    assert [u["name"] for u in again.list_users()] == ["li", "root", "wang"]
    assert [a["action"] for a in again.audit()].count("users.import") == 1
    again.close()


def test_the_users_command_works_on_the_postgis_database(tmp_path, postgis_url, monkeypatch, capsys):  # noqa: F811
    instance = tmp_path / "instance"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["add", "zhang", "--role", "admin", "--password-stdin", "--instance", str(instance)]
    assert users_main([*argv, "--plan-db", postgis_url]) == 0
    monkeypatch.setenv("LINLI_PLAN_DB", postgis_url)
    assert users_main(["list", "--instance", str(instance)]) == 0
    assert "zhang\tadmin" in capsys.readouterr().out
    assert not (instance / "users.sqlite3").exists()
    store = PostgresUserStore(postgis_url)
    assert store.has_admin() and store.audit()[0]["action"] == "user.create"
    store.close()


def test_an_unreachable_account_database_is_said_at_start(tmp_path):
    from tests.pg_server import free_port
    from webapp.plans import StoreUnavailableError

    url = f"postgresql://linli@127.0.0.1:{free_port()}/linli"
    with pytest.raises(StoreUnavailableError, match="无法连接账号库"):
        PostgresUserStore(url)
