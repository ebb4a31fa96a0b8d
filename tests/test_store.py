"""The plan store's contract, run against both backends: SQLite (WAL) and PostgreSQL + PostGIS.

The PostGIS runs use a throw-away loopback server (tests/pg_server.py); when it cannot
start they are skipped with the reason and the SQLite runs stay.
"""

from __future__ import annotations

import contextlib
import threading

import psycopg
import pytest
import shapely.geometry

from geo.errors import InputDataError
from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from webapp import create_app
from webapp.plans import (
    Feature,
    NotDeletedError,
    NotFoundError,
    PlanStore,
    StaleVersionError,
    StoreUnavailableError,
    open_store,
)
from webapp.plans.postgis import PostgisPlanStore as PgPlanStore

# Central Helsinki (the demo extract), WGS84 lon/lat.
SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]
HOLE = [[24.939, 60.169], [24.940, 60.169], [24.940, 60.170], [24.939, 60.170], [24.939, 60.169]]
POLYGON = {"type": "Polygon", "coordinates": SQUARE}
# Full double precision (15-17 significant digits) must come back unchanged.
POINT = {"type": "Point", "coordinates": [24.940123456789012, 60.170987654321098]}
FAR_POINT = {"type": "Point", "coordinates": [118.7987, 25.0325]}  # Hui'an county, Fujian

HOSTILE = [
    "螺城镇 '); DROP TABLE plans; --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://example.invalid","点我")',
    "%s %(name)s ? $1 :name \\x27 ' \" ;",
    "+cmd|' /C calc'!A0",
]


@pytest.fixture(params=["sqlite", "postgis"])
def store(request, tmp_path):
    """A fresh, empty plan store of each backend."""
    if request.param == "sqlite":
        plan_store = open_store(tmp_path / "plans.sqlite3")
    else:
        plan_store = open_store(request.getfixturevalue("postgis_url"))
    yield plan_store
    plan_store.close()


def _features() -> list[Feature]:
    return [
        Feature(kind="area", name="规划范围", geometry=POLYGON, properties={"minutes": 15}),
        Feature(kind="candidate", name="中心 A", geometry=POINT, properties={"note": "新建", "score": 0.75}),
    ]


# ------------------------------------------------------------------ basics


def test_open_store_picks_the_backend(store):
    assert isinstance(store, PlanStore | PgPlanStore)
    assert store.integrity_ok()
    assert store.list_plans() == [] and store.list_plans(deleted=True) == []


def test_create_get_list(store):
    first = store.create("  西街  ", "备注")
    second = store.create("东街")
    assert first["name"] == "西街" and first["notes"] == "备注" and first["version"] == 1
    assert first["features"] == [] and first["deleted_at"] is None
    assert first["created_at"] == first["updated_at"] and first["created_at"].endswith("+00:00")
    got = store.get(first["id"])
    assert got == first
    listed = store.list_plans()
    assert [p["id"] for p in listed] == [second["id"], first["id"]]  # newest first (same second: by id)
    assert [p["n_features"] for p in listed] == [0, 0]
    with pytest.raises(InputDataError, match="方案名称不能为空"):
        store.create("   ")
    with pytest.raises(InputDataError, match="NUL"):
        store.create("a\x00b")


def test_save_bumps_version_and_replaces_features(store):
    plan = store.create("方案")
    saved = store.save(plan["id"], version=1, notes="第一版", features=_features())
    assert saved["version"] == 2 and saved["notes"] == "第一版" and saved["name"] == "方案"
    assert [f["kind"] for f in saved["features"]] == ["area", "candidate"]
    assert saved["features"][1]["properties"] == {"note": "新建", "score": 0.75}
    renamed = store.save(plan["id"], version=2, name="方案 二")  # features untouched when not given
    assert renamed["version"] == 3 and renamed["name"] == "方案 二" and len(renamed["features"]) == 2
    emptied = store.save(plan["id"], version=3, features=[])
    assert emptied["version"] == 4 and emptied["features"] == []
    assert store.list_plans()[0]["n_features"] == 0


def test_stale_save_raises_and_changes_nothing(store):
    plan = store.create("冲突")
    store.save(plan["id"], version=1, notes="A", features=_features())
    with pytest.raises(StaleVersionError, match="已被他人修改") as info:
        store.save(plan["id"], version=1, notes="B", features=[])
    assert info.value.current == 2
    after = store.get(plan["id"])
    assert after["version"] == 2 and after["notes"] == "A" and len(after["features"]) == 2
    with pytest.raises(InputDataError, match="version"):
        store.save(plan["id"], version="2")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="version"):
        store.save(plan["id"], version=True)  # type: ignore[arg-type]


def test_concurrent_saves_exactly_one_wins(store):
    # F3: planners A and B loaded the same version and press "save" together, 5 rounds.
    plan = store.create("同时保存")
    for round_ in range(5):
        version = store.get(plan["id"])["version"]
        barrier = threading.Barrier(2)
        outcome: dict[str, object] = {}

        def save(who: str, version=version, barrier=barrier, outcome=outcome, round_=round_) -> None:
            barrier.wait()
            try:
                store.save(plan["id"], version=version, notes=f"{who}{round_}", features=_features()[:1])
                outcome[who] = "won"
            except StaleVersionError as exc:
                outcome[who] = exc
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome[who] = repr(exc)

        threads = [threading.Thread(target=save, args=(who,)) for who in "AB"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        winners = [who for who, result in outcome.items() if result == "won"]
        losers = [result for result in outcome.values() if isinstance(result, StaleVersionError)]
        assert len(winners) == 1 and len(losers) == 1, outcome
        assert losers[0].current == version + 1
        after = store.get(plan["id"])
        assert after["version"] == version + 1 and after["notes"] == f"{winners[0]}{round_}"
        assert len(after["features"]) == 1


def test_soft_delete_restore_and_recycle_bin(store):
    plan = store.create("回收")
    store.save(plan["id"], version=1, features=_features())
    with pytest.raises(StaleVersionError):
        store.delete(plan["id"], version=1)  # a newer version exists: not deleted
    assert store.delete(plan["id"], version=2) == {"id": plan["id"], "deleted": True}
    assert store.list_plans() == []
    assert [p["id"] for p in store.list_plans(deleted=True)] == [plan["id"]]
    with pytest.raises(NotFoundError, match="没有编号"):
        store.get(plan["id"])
    with pytest.raises(NotFoundError):
        store.save(plan["id"], version=2, notes="x")
    with pytest.raises(NotFoundError):
        store.delete(plan["id"])
    kept = store.get(plan["id"], include_deleted=True)
    assert kept["deleted_at"] is not None and len(kept["features"]) == 2
    restored = store.restore(plan["id"])
    assert restored["deleted_at"] is None and restored["version"] == 2 and len(restored["features"]) == 2
    assert [p["id"] for p in store.list_plans()] == [plan["id"]] and store.list_plans(deleted=True) == []
    with pytest.raises(NotDeletedError, match="不在回收站中，无需恢复"):
        store.restore(plan["id"])  # not deleted: a clear 422, not "no such plan"
    with pytest.raises(NotFoundError, match="回收站中没有编号为 999999 的方案"):
        store.restore(999_999)


@pytest.mark.parametrize("plan_id", [999_999, 0, -1, 2**63, 2**80, "abc", None, True])
def test_unknown_ids_are_not_found(store, plan_id):
    # G12: ids are the server's; anything else (out of range, not a number) is "no such plan".
    store.create("在")
    with pytest.raises(NotFoundError, match="没有编号"):
        store.get(plan_id)
    with pytest.raises(NotFoundError):
        store.save(plan_id, version=1, notes="x")
    with pytest.raises(NotFoundError):
        store.delete(plan_id)
    with pytest.raises(NotFoundError):
        store.restore(plan_id)


def test_hostile_text_is_stored_verbatim(store):
    # G9: values are bound as parameters, so SQL, script and formula text are plain data.
    for text in HOSTILE:
        plan = store.create(text, notes=text)
        features = [Feature(kind="candidate", name=text, geometry=POINT, properties={text: text, "k": text})]
        saved = store.save(plan["id"], version=1, name=text, notes=text + "\n第二行", features=features)
        got = store.get(plan["id"])
        assert got == saved
        assert got["name"] == text and got["notes"] == text + "\n第二行"
        assert got["features"][0]["name"] == text
        assert got["features"][0]["properties"] == {text: text, "k": text}
    assert len(store.list_plans()) == len(HOSTILE)  # the tables are all still there
    assert store.integrity_ok()


@pytest.mark.parametrize(
    ("kind", "geometry", "properties", "message"),
    [
        ("road", POLYGON, {}, "kind='road' 无效"),
        ("area", POLYGON, {"x": float("nan")}, "非有限数"),
        ("area", POLYGON, {"x": "a\x00b"}, "NUL"),
        ("area", "POLYGON((0 0, 1 0, 1 1, 0 0))", {}, "GeoJSON"),
    ],
)
def test_unstorable_features_change_nothing(store, kind, geometry, properties, message):
    plan = store.create("原样")
    store.save(plan["id"], version=1, features=_features())
    bad = Feature(kind=kind, name="坏", geometry=geometry, properties=properties)
    with pytest.raises(InputDataError, match=message):
        store.save(plan["id"], version=2, notes="changed", features=[*_features(), bad])
    after = store.get(plan["id"])
    assert after["version"] == 2 and after["notes"] == "" and len(after["features"]) == 2


# ------------------------------------------------------------------ geometry


def test_geometry_round_trip(store):
    # GeoJSON in, the same GeoJSON out (WGS84 lon/lat; PostGIS returns 15 decimals, ample for doubles here).
    shapes = {
        "area": {"type": "Polygon", "coordinates": [SQUARE[0], HOLE]},
        "town": {
            "type": "MultiPolygon",
            "coordinates": [SQUARE, [[[118.79, 25.03], [118.80, 25.03], [118.80, 25.04], [118.79, 25.03]]]],
        },
        "candidate": POINT,
        "grid": {"type": "LineString", "coordinates": [[24.938, 60.168], [24.942, 60.171]]},
    }
    plan = store.create("几何")
    saved = store.save(
        plan["id"], version=1, features=[Feature(kind=k, name=k, geometry=g, properties={}) for k, g in shapes.items()]
    )
    got = {f["kind"]: f["geometry"] for f in store.get(saved["id"])["features"]}
    for kind, geometry in shapes.items():
        assert got[kind]["type"] == geometry["type"]
        back, sent = shapely.geometry.shape(got[kind]), shapely.geometry.shape(geometry)
        assert back.equals_exact(sent, tolerance=1e-12), kind
        assert shapely.geometry.mapping(back) == shapely.geometry.mapping(sent), kind  # exact coordinates
    assert got["candidate"]["coordinates"] == POINT["coordinates"]


def test_postgis_columns_index_and_spatial_query(postgis_url):  # noqa: F811
    store = open_store(postgis_url)
    try:
        near = store.create("赫尔辛基")
        store.save(near["id"], version=1, features=_features())
        far = store.create("惠安")
        store.save(far["id"], version=1, features=[Feature("candidate", "螺城", FAR_POINT, {"town": "螺城镇"})])
        with store._connection() as con:
            column = con.execute(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_name = 'features' AND f_geometry_column = 'geometry'"
            ).fetchone()
            assert column == {"type": "GEOMETRY", "srid": 4326}
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'features'"
            ).fetchall()
            types = {r["column_name"]: r["data_type"] for r in rows}
            assert types["properties"] == "jsonb"
            # Which features lie in a box around central Helsinki?  Only the near plan's two.
            query = (
                "SELECT p.name AS plan, f.name FROM features f JOIN plans p ON p.id = f.plan_id "
                "WHERE ST_Intersects(f.geometry, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) ORDER BY f.id"
            )
            box = (24.93, 60.16, 24.95, 60.18)
            rows = con.execute(query, box).fetchall()
            assert [(r["plan"], r["name"]) for r in rows] == [("赫尔辛基", "规划范围"), ("赫尔辛基", "中心 A")]
            # ... answered through the GiST index (forced: the table is too small for the planner to bother).
            with con.transaction():
                con.execute("SET LOCAL enable_seqscan = off")
                plan = "\n".join(r["QUERY PLAN"] for r in con.execute("EXPLAIN " + query, box).fetchall())
            assert "features_geometry_gist" in plan
            # jsonb properties can be queried too.
            town = con.execute("SELECT properties->>'town' AS town FROM features WHERE properties ? 'town'").fetchone()
            assert town == {"town": "螺城镇"}
    finally:
        store.close()


def test_postgis_refuses_what_is_not_geojson(postgis_url):  # noqa: F811
    # The shared checks let a dict with a "type" through; PostGIS itself refuses an unknown type.
    store = open_store(postgis_url)
    try:
        plan = store.create("坏几何")
        bad = Feature(kind="area", name="x", geometry={"type": "Circle", "coordinates": [1, 2]}, properties={})
        with pytest.raises(InputDataError, match="GeoJSON"):
            store.save(plan["id"], version=1, features=[bad])
        assert store.get(plan["id"])["version"] == 1
        assert store.integrity_ok()
    finally:
        store.close()


# ------------------------------------------------------------------ unusable location (C6)


def test_unusable_sqlite_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailableError, match="无法打开方案库"):
        open_store(blocker / "plans.sqlite3")


def test_unreachable_postgres_is_unavailable_without_leaking_the_password():
    from tests.pg_server import free_port

    url = f"postgresql://planner:s3cret-pw@127.0.0.1:{free_port()}/linli"  # nothing listens there
    with pytest.raises(StoreUnavailableError, match=r"无法连接方案库 127\.0\.0\.1") as info:
        open_store(url)
    assert "s3cret-pw" not in str(info.value) and "planner" not in str(info.value)


def test_missing_database_read_only_server_and_missing_postgis(postgis_server, postgis_url):  # noqa: F811
    with pytest.raises(StoreUnavailableError, match="无法连接方案库"):
        open_store(postgis_url.rsplit("/", 1)[0] + "/no_such_database")
    admin = postgis_server.url("postgres")
    dbname = postgis_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"ALTER DATABASE {dbname} SET default_transaction_read_only = on")  # generated name
        con.execute("CREATE ROLE linli_planner LOGIN")
        con.execute("CREATE DATABASE linli_bare OWNER linli_planner TEMPLATE template0")
    try:
        with pytest.raises(StoreUnavailableError, match="只读"):
            open_store(postgis_url)
        # A plain role cannot create PostGIS itself: the message says what the administrator must do.
        with pytest.raises(StoreUnavailableError, match="CREATE EXTENSION postgis"):
            open_store(postgis_server.url("linli_bare").replace("linli_test@", "linli_planner@"))
        # The superuser can: PostGIS is created on first use.
        store = open_store(postgis_server.url("linli_bare"))
        assert store.integrity_ok()
        store.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute("DROP DATABASE IF EXISTS linli_bare WITH (FORCE)")
            con.execute("DROP ROLE IF EXISTS linli_planner")


def test_server_restart_is_survived(postgis_server, postgis_url):  # noqa: F811
    # A pooled connection killed by the server: the call fails cleanly, the next one reconnects.
    store = open_store(postgis_url)
    try:
        plan = store.create("重连")
        dbname = postgis_url.rsplit("/", 1)[1]
        with psycopg.connect(postgis_server.url("postgres"), autocommit=True) as con:
            con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
        with contextlib.suppress(StoreUnavailableError):  # the broken connection is reported once and dropped
            store.get(plan["id"])
        assert store.get(plan["id"])["name"] == "重连"
    finally:
        store.close()


# ------------------------------------------------------------------ through the web API


def test_api_on_postgis(tmp_path, postgis_url):  # noqa: F811
    app = create_app({"TESTING": True, "instance_path": tmp_path / "instance", "PLAN_DB": postgis_url})
    assert isinstance(app.extensions["linli.store"], PgPlanStore)
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    features = [
        {"kind": "area", "name": "规划范围", "geometry": POLYGON},
        {
            "kind": "candidate",
            "name": "中心 A",
            "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
            "properties": {"note": '=HYPERLINK("x")'},
        },
    ]
    created = client.post("/api/plans", json={"name": HOSTILE[0], "notes": "<b>x</b>"})
    assert created.status_code == 201
    plan = created.get_json()
    saved = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": features})
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"'
    stale = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "notes": "B"})
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 2
    got = client.get(f"/api/plans/{plan['id']}").get_json()
    assert got["name"] == HOSTILE[0] and got["notes"] == "<b>x</b>" and got["version"] == 2
    assert got["features"][1]["properties"]["note"] == '=HYPERLINK("x")'
    assert got["features"][0]["geometry"] == POLYGON
    assert client.delete(f"/api/plans/{plan['id']}?version=2").status_code == 200
    assert client.get(f"/api/plans/{plan['id']}").status_code == 404
    assert plan["id"] in [p["id"] for p in client.get("/api/plans?deleted=1").get_json()["plans"]]
    restored = client.post(f"/api/plans/{plan['id']}/restore")
    assert restored.status_code == 200 and len(restored.get_json()["features"]) == 2
    assert client.get("/api/plans/999999").status_code == 404
    export = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert export.status_code == 200 and export.data[:16] == b"SQLite format 3\x00"
    app.extensions["linli.store"].close()


# ------------------------------------------------------------------ schema versions and migrations

# The tables as the first, unversioned release created them (user_version 0, no version table).
_OLD_SQLITE = """
CREATE TABLE plans (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT);
CREATE TABLE features (id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('area', 'candidate', 'town', 'grid')), name TEXT NOT NULL DEFAULT '',
    geometry TEXT NOT NULL, properties TEXT NOT NULL DEFAULT '{}');
CREATE INDEX features_plan ON features(plan_id);
INSERT INTO plans (name, notes, version, created_at, updated_at) VALUES ('旧方案', '升级前', 3,
    '2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00');
INSERT INTO features (plan_id, kind, name, geometry, properties) VALUES (1, 'candidate', '中心 A',
    '{"type": "Point", "coordinates": [24.94, 60.17]}', '{"note": "新建"}');
"""


def test_unversioned_sqlite_store_is_migrated_and_keeps_its_plans(tmp_path):
    import sqlite3

    path = tmp_path / "plans.sqlite3"
    with sqlite3.connect(path) as con:
        con.executescript(_OLD_SQLITE)
    store = open_store(path)
    try:
        assert store._conn().execute("PRAGMA user_version").fetchone()[0] == store.schema_version == 4
        indexes = {r[0] for r in store._conn().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"features_plan", "plans_listing"} <= indexes
        plan = store.get(1)
        assert (plan["name"], plan["notes"], plan["version"]) == ("旧方案", "升级前", 3)
        assert plan["features"][0]["geometry"] == {"type": "Point", "coordinates": [24.94, 60.17]}
        assert (plan["created_by"], plan["updated_by"]) == ("", "")  # made before authors were recorded
        saved = store.save(1, version=3, notes="升级后", author="li")
        assert (saved["version"], saved["created_by"], saved["updated_by"]) == (4, "", "li")
        assert store.integrity_ok()
    finally:
        store.close()
    again = open_store(path)  # opening a current store changes nothing
    assert again.get(1)["notes"] == "升级后"
    again.close()


def test_sqlite_store_from_a_newer_linli_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "plans.sqlite3"
    open_store(path).close()
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreUnavailableError, match=r"结构版本为 99，高于本程序支持的 4"):
        open_store(path)
    with sqlite3.connect(path) as con:  # refused without touching it
        assert con.execute("PRAGMA user_version").fetchone()[0] == 99


def test_postgis_store_is_migrated_and_a_newer_one_refused(postgis_url):  # noqa: F811
    with psycopg.connect(postgis_url, autocommit=True) as con:  # an unversioned store of the first release
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        con.execute(
            "CREATE TABLE plans (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, "
            "notes text NOT NULL DEFAULT '', version integer NOT NULL DEFAULT 1, "
            "created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), "
            "deleted_at timestamptz)"
        )
        con.execute(
            "CREATE TABLE features (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "plan_id bigint NOT NULL REFERENCES plans(id) ON DELETE CASCADE, kind text NOT NULL, "
            "name text NOT NULL DEFAULT '', geometry geometry(Geometry, 4326) NOT NULL, "
            "properties jsonb NOT NULL DEFAULT '{}'::jsonb)"
        )
        con.execute("INSERT INTO plans (name, version) VALUES ('旧方案', 2)")
    store = open_store(postgis_url)
    try:
        assert store.get(1)["name"] == "旧方案" and store.get(1)["version"] == 2
        assert (store.get(1)["created_by"], store.get(1)["updated_by"]) == ("", "")
        assert store.save(1, version=2, author="li")["updated_by"] == "li"
        with store._connection() as con:
            assert con.execute("SELECT version FROM linli_schema").fetchall() == [{"version": 4}]
            names = {r["indexname"] for r in con.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'plans'")}
            assert "plans_listing" in names
    finally:
        store.close()
    with psycopg.connect(postgis_url, autocommit=True) as con:
        con.execute("UPDATE linli_schema SET version = 7")
    with pytest.raises(StoreUnavailableError, match="高于本程序支持的 4"):
        open_store(postgis_url)


def test_diff_of_two_versions_matches_by_kind_name_and_geometry():
    """Their version against mine: one feature the same (mine rewritten from the other corner
    and to 6 decimals, as the browser sends it), one moved, one only theirs, one only mine."""
    from webapp.plans.diff import diff_plans

    moved = {"type": "Point", "coordinates": [24.9410, 60.1710]}
    theirs = {
        "name": "方案",
        "notes": "对方备注",
        "features": [
            {"kind": "area", "name": "规划范围", "geometry": POLYGON},
            {"kind": "candidate", "name": "中心 A", "geometry": POINT},
            {"kind": "town", "name": "对方的乡镇界", "geometry": POLYGON},
        ],
    }
    # The same square, starting at another corner and running the other way round.
    rewritten = {"type": "Polygon", "coordinates": [[[24.942, 60.171], [24.942, 60.168], [24.938, 60.168],
                                                     [24.938, 60.171], [24.942, 60.171]]]}  # fmt: skip
    mine = [
        {"kind": "area", "name": "规划范围", "geometry": rewritten},
        {"kind": "candidate", "name": "中心 A", "geometry": moved},
        {"kind": "candidate", "name": "", "geometry": POINT},
    ]
    diff = diff_plans(theirs, " 方案 ", "我的备注", mine)
    assert not diff.name_changed and diff.notes_changed
    assert diff.same == 1
    assert [(f["kind"], f["name"]) for f in diff.only_theirs] == [("town", "对方的乡镇界")]
    assert [(f["kind"], f["name"]) for f in diff.only_mine] == [("candidate", "")]
    assert [(f["kind"], f["name"]) for f in diff.changed] == [("candidate", "中心 A")]
    assert diff.changed[0]["theirs"] == POINT and diff.changed[0]["mine"] == moved
    # Identical versions: nothing differs; a duplicate on one side only is "only mine".
    same = diff_plans(theirs, "方案", "对方备注", theirs["features"] + [theirs["features"][0]])
    assert (same.same, same.only_theirs, same.changed, same.name_changed, same.notes_changed) == (
        3,
        [],
        [],
        False,
        False,
    )
    assert [(f["kind"], f["name"]) for f in same.only_mine] == [("area", "规划范围")]


# --------------------------------------------------------------- grid plans (issue 20)


def _grid_save(store, version: int, who: str) -> None:
    store.save_grid_plan(
        "演示",
        version=version,
        new_version=version + 1,
        state=f"state-{who}",
        snapshot=f"snap-{who}-{version + 1}",
        op={"op": "set", "value": who},
        summary=f"填写: {who}",
        user=who,
    )


def test_grid_plan_versions_history_and_snapshots(store):
    assert store.grid_plan("演示") is None and store.grid_plan_version("演示") is None
    first = {"base": "B", "state": "S0", "snapshot": "snap-0", "user": "张三", "summary": "生成: 7 个网格"}
    assert store.create_grid_plan("演示", version=0, **first) is True
    assert store.create_grid_plan("演示", version=0, **{**first, "base": "other"}) is False  # the first one is kept
    _grid_save(store, 0, "李四")
    row = store.grid_plan("演示")
    assert row["version"] == 1 and row["base"] == "B" and row["state"] == "state-李四" and row["updated_by"] == "李四"
    with pytest.raises(StaleVersionError) as stale:
        _grid_save(store, 0, "王五")  # made on version 0, the plan is at 1: nothing written
    assert stale.value.current == 1 and "刷新" in str(stale.value)
    history = store.grid_history("演示")
    assert [(h["version"], h["user"], h["op"]["op"]) for h in history] == [(1, "李四", "set"), (0, "张三", "generate")]
    assert history[0]["summary"] == "填写: 李四" and history[0]["at"].endswith("+00:00")
    assert [h["version"] for h in store.grid_history("演示", since=0)] == [1]
    assert store.grid_snapshot("演示", 0) == "snap-0" and store.grid_snapshot("演示", 1) == "snap-李四-1"
    with pytest.raises(NotFoundError):
        store.grid_snapshot("演示", 7)
    with pytest.raises(NotFoundError):
        store.save_grid_plan("没有的项目", version=0, new_version=1, state="", snapshot="", op={}, summary="", user="")
    assert store.grid_plan_version("另一个项目") is None  # projects are kept apart


def test_concurrent_grid_edits_exactly_one_wins(store):
    store.create_grid_plan("演示", version=0, base="B", state="S", snapshot="s", user="", summary="")
    for version in range(3):
        barrier = threading.Barrier(2)
        outcome: dict[str, object] = {}

        def save(who: str, version=version, barrier=barrier, outcome=outcome) -> None:
            barrier.wait()
            try:
                _grid_save(store, version, who)
                outcome[who] = "won"
            except StaleVersionError as exc:
                outcome[who] = exc
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome[who] = repr(exc)

        threads = [threading.Thread(target=save, args=(who,)) for who in "AB"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        winners = [who for who, result in outcome.items() if result == "won"]
        assert len(winners) == 1 and sum(isinstance(r, StaleVersionError) for r in outcome.values()) == 1, outcome
        assert store.grid_plan("演示")["state"] == f"state-{winners[0]}"
    assert [h["version"] for h in store.grid_history("演示")] == [3, 2, 1, 0]
