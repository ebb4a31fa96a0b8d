"""Several Linli instances in one PostgreSQL database, each in its own schema (issue 19).

``PLAN_DB_SCHEMA`` (``linli serve --plan-db-schema``, ``LINLI_PLAN_DB_SCHEMA``) puts every
table of an instance in its own schema: the plans' and grids', and the accounts', login
throttle, plan areas and audit log beside them.  A Linli that kept its tables in the default
schema (``public``) is moved once with ``linli users move-to-schema``; until then an instance
given a schema refuses to start beside it.  All on the real throw-away server of
tests/pg_server.py.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from tests.test_auth import PASSWORD
from webapp import create_app
from webapp.accounts import open_user_store
from webapp.plans import Feature, StoreUnavailableError, open_store
from webapp.plans.postgis import LINLI_TABLES, move_to_schema
from webapp.users_cli import main as users_main

POINT = {"type": "Point", "coordinates": [118.67, 24.94]}


def _tables(url: str) -> dict[str, set[str]]:
    """Schema -> Linli's tables in it."""
    with psycopg.connect(url) as con:
        rows = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = ANY(%s)",
            (list(LINLI_TABLES),),
        ).fetchall()
    out: dict[str, set[str]] = {}
    for schema, table in rows:
        out.setdefault(schema, set()).add(table)
    return out


def _instance(url: str, schema: str | None, tmp_path, name: str):
    plans = open_store(url, schema=schema)
    users = open_user_store(url, tmp_path / name, plan_store=plans, schema=schema)
    return plans, users


def test_two_instances_share_one_database_in_their_own_schemas(postgis_url, tmp_path):  # noqa: F811
    huian = _instance(postgis_url, "huian", tmp_path, "huian")
    anxi = _instance(postgis_url, "anxi", tmp_path, "anxi")
    try:
        for (plans, users), town in ((huian, "螺城镇"), (anxi, "凤城镇")):
            plans.create(f"{town}方案", "", features=[Feature("candidate", "A", POINT, {})])
            users.add("li", PASSWORD, "viewer")  # the same name in both: two different accounts
            users.record("li", "plan.save", town)
        assert [p["name"] for p in huian[0].list_plans()] == ["螺城镇方案"]
        assert [p["name"] for p in anxi[0].list_plans()] == ["凤城镇方案"]
        assert [a["object"] for a in huian[1].audit()] == ["螺城镇"]
        assert [a["object"] for a in anxi[1].audit()] == ["凤城镇"]
        huian[1].set_password("li", PASSWORD + "!")
        assert anxi[1].authenticate("li", PASSWORD, "10.0.0.1") is not None  # anxi's li kept his password
        assert huian[0].location.endswith("模式 schema huian")  # said in messages about the store
    finally:
        for plans, users in (huian, anxi):
            users.close()
            plans.close()
    every = set(LINLI_TABLES)
    assert _tables(postgis_url) == {"huian": every, "anxi": every}  # nothing in public
    # The app: its accounts (sharing the plan store's pool) and plans in the configured schema.
    app = create_app(
        {"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "app", "PLAN_DB": postgis_url}
        | {"PLAN_DB_SCHEMA": "huian"}
    )
    try:
        assert [u["name"] for u in app.extensions["linli.users"].list_users()] == ["li"]
        assert [p["name"] for p in app.extensions["linli.store"].list_plans()] == ["螺城镇方案"]
    finally:
        app.extensions["linli.users"].close()
        app.extensions["linli.store"].close()


def test_a_linli_in_the_default_schema_is_moved_once(postgis_url, tmp_path, capsys):  # noqa: F811
    # Before: one Linli with its tables in public (as every earlier version kept them).
    plans, users = _instance(postgis_url, None, tmp_path, "old")
    old = plans.create("旧方案", "东区", features=[Feature("candidate", "A", POINT, {})])
    users.add("root", PASSWORD, "admin")
    users.set_plan_area(old["id"], "350521100")
    users.record("root", "plan.save", f"plan_id={old['id']}")
    users.close()
    plans.close()
    assert _tables(postgis_url) == {"public": set(LINLI_TABLES)}

    # Given a schema, it refuses to start beside the unmoved tables, and says how to move them.
    with pytest.raises(StoreUnavailableError, match="move-to-schema --plan-db-schema huian"):
        open_store(postgis_url, schema="huian")
    assert users_main(["list", "--plan-db", postgis_url, "--plan-db-schema", "huian"]) == 2
    assert "move-to-schema" in capsys.readouterr().err

    command = ["move-to-schema", "--plan-db", postgis_url, "--plan-db-schema", "huian", "--instance", str(tmp_path)]
    assert users_main(command) == 0
    out = capsys.readouterr().out
    assert "已移入模式 huian" in out and "plans 1" in out and "users 1" in out
    assert _tables(postgis_url) == {"huian": set(LINLI_TABLES)}
    # Moved once: a second run finds nothing to move, changes nothing.
    assert users_main(command) == 2
    assert "没有邻里的数据表" in capsys.readouterr().err

    plans, users = _instance(postgis_url, "huian", tmp_path, "old")
    try:
        assert [p["name"] for p in plans.list_plans()] == ["旧方案"]
        assert users.authenticate("root", PASSWORD, "10.0.0.1")["name"] == "root"
        assert users.plan_area(old["id"]) == "350521100"
        assert [a["action"] for a in users.audit()] == ["db.move-schema", "plan.save"]
        new = plans.create("新方案", "")
        assert new["id"] > old["id"]  # the id sequences moved with their tables
    finally:
        users.close()
        plans.close()
    # The second instance of the office now starts beside it.
    plans, users = _instance(postgis_url, "anxi", tmp_path, "anxi")
    assert plans.list_plans() == [] and users.list_users() == []
    users.close()
    plans.close()


def test_a_move_while_a_server_uses_the_tables_is_refused_and_changes_nothing(postgis_url, tmp_path):  # noqa: F811
    plans = open_store(postgis_url)
    plans.create("方案", "")
    plans.close()
    before = _tables(postgis_url)
    with psycopg.connect(postgis_url) as busy:  # a running server's open transaction on the plans
        busy.execute("SELECT COUNT(*) FROM plans").fetchone()
        with pytest.raises(StoreUnavailableError, match="正被使用"):
            move_to_schema(postgis_url, "huian", lock_timeout_s=0.5)
        busy.rollback()
    assert _tables(postgis_url) == before and "huian" not in before  # all tables still where they were


@pytest.mark.parametrize("schema", ["Huian", "1huian", "pg_huian", "hui-an", "a" * 64, 350521])
def test_a_bad_schema_name_stops_the_start(postgis_url, tmp_path, schema):  # noqa: F811
    with pytest.raises(StoreUnavailableError, match="模式名 PLAN_DB_SCHEMA"):
        create_app(
            {"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path, "PLAN_DB": postgis_url}
            | {"PLAN_DB_SCHEMA": schema}
        )
    assert _tables(postgis_url) == {}
