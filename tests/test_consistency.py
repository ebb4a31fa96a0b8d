"""Every plan response is built inside its own transaction; creates are all-or-nothing; guards are checked.

A second store on the same database plays the colleague: it writes at the exact moment a
race would let its version leak into our answer (right after our commit, or between the
plan row and its features).  Both backends; PostGIS is skipped when its server cannot start.
"""

from __future__ import annotations

import contextlib

import pytest

from geo.errors import InputDataError
from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from webapp import create_app
from webapp.plans import Feature, open_store

SQUARE = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.171], [24.938, 60.168]]]
POLYGON = {"type": "Polygon", "coordinates": SQUARE}
POINT = {"type": "Point", "coordinates": [24.9401, 60.1702]}


@pytest.fixture(params=["sqlite", "postgis"])
def location(request, tmp_path):
    """Where both planners' stores point: one SQLite file or one PostGIS database."""
    if request.param == "sqlite":
        return tmp_path / "plans.sqlite3"
    return request.getfixturevalue("postgis_url")


@pytest.fixture()
def stores(location):
    """Our store and the colleague's, two connections to the same database."""
    ours, theirs = open_store(location), open_store(location)
    yield ours, theirs
    ours.close()
    theirs.close()


def _after_commit(store, action) -> None:
    """Run ``action`` once, right after ``store``'s next write transaction commits."""
    base = type(store)
    armed = [True]

    class AfterCommit(base):  # type: ignore[misc, valid-type]
        @contextlib.contextmanager
        def _tx(self):
            with base._tx(self) as con:
                yield con
            if armed[0]:
                armed[0] = False
                action()

    store.__class__ = AfterCommit


def _after_plan_row(store, action) -> None:
    """Run ``action`` once, after ``store`` has read a plan row and before it reads the features."""
    base = type(store)
    armed = [True]

    class Row:
        def __init__(self, row):
            self.row = row

        def fetchone(self):
            return self.row

    class Between(base):  # type: ignore[misc, valid-type]
        def _run(self, con, query, params=()):
            result = base._run(self, con, query, params)
            if armed[0] and query.startswith("SELECT id, name, notes, version, created_at"):
                armed[0] = False
                row = result.fetchone()
                action()
                return Row(row)
            return result

    store.__class__ = Between


def test_a_save_answers_with_the_version_it_wrote(stores):
    ours, theirs = stores
    plan = ours.create("方案")
    # The colleague saves version 3 the moment our version 2 is committed.
    _after_commit(ours, lambda: theirs.save(plan["id"], version=2, notes="同事的修改"))
    saved = ours.save(plan["id"], version=1, notes="我的修改", features=[Feature("area", "范围", POLYGON, {})])
    assert saved["version"] == 2 and saved["notes"] == "我的修改" and len(saved["features"]) == 1
    # The colleague's version is really there: our next save from version 2 is refused, not silent.
    assert theirs.get(plan["id"])["version"] == 3 and theirs.get(plan["id"])["notes"] == "同事的修改"


def test_a_restore_and_a_create_answer_with_what_they_wrote(stores):
    ours, theirs = stores
    plan = ours.create("方案", features=[Feature("candidate", "中心", POINT, {})])
    ours.delete(plan["id"], version=1)
    _after_commit(ours, lambda: theirs.save(plan["id"], version=1, notes="恢复后同事改了"))
    restored = ours.restore(plan["id"])
    assert restored["version"] == 1 and restored["notes"] == "" and len(restored["features"]) == 1


def test_a_read_is_one_version(stores):
    ours, theirs = stores
    plan = ours.create("方案", features=[Feature("area", "旧范围", POLYGON, {})])
    new = [Feature("candidate", "新中心 A", POINT, {}), Feature("candidate", "新中心 B", POINT, {})]
    # The colleague replaces every feature between our plan row and our features.
    _after_plan_row(ours, lambda: theirs.save(plan["id"], version=1, features=new))
    got = ours.get(plan["id"])
    assert got["version"] == 1 and [f["name"] for f in got["features"]] == ["旧范围"]
    again = ours.get(plan["id"])
    assert again["version"] == 2 and [f["name"] for f in again["features"]] == ["新中心 A", "新中心 B"]


@pytest.mark.parametrize(
    "feature",
    [
        Feature("area", "a\x00b", POLYGON, {}),
        Feature("river", "河", POLYGON, {}),
        Feature("area", "范围", {"type": "Polygon", "coordinates": [[[float("nan"), 1.0]]]}, {}),
    ],
    ids=["nul", "kind", "nan"],
)
def test_a_create_with_a_bad_feature_creates_nothing(stores, feature):
    ours, _ = stores
    with pytest.raises(InputDataError):
        ours.create("方案", features=[Feature("area", "好的", POLYGON, {}), feature])
    assert ours.list_plans() == [] and ours.list_plans(deleted=True) == []


@pytest.fixture()
def client(location, tmp_path):
    app = create_app({"TESTING": True, "instance_path": tmp_path / "instance", "PLAN_DB": str(location)})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    yield client
    app.extensions["linli.store"].close()


def test_api_create_with_bad_features_creates_nothing(client):
    good = {"kind": "area", "name": "范围", "geometry": POLYGON}
    for bad in (
        {"kind": "river", "geometry": POLYGON},
        {"kind": "candidate", "geometry": {"type": "Point", "coordinates": [118.79, 25.03]}},  # far away
        "not an object",
    ):
        response = client.post("/api/plans", json={"name": "新方案", "features": [good, bad]})
        assert response.status_code == 422, response.get_json()
        assert "error" in response.get_json()
    assert client.get("/api/plans").get_json()["plans"] == []
    assert client.get("/api/plans?deleted=1").get_json()["plans"] == []
    created = client.post("/api/plans", json={"name": "新方案", "features": [good]})
    assert created.status_code == 201
    assert created.get_json()["version"] == 1 and len(created.get_json()["features"]) == 1


@pytest.mark.parametrize("guard", ["abc", "", "1.5", "-1", "１", "١", "9" * 40])
def test_api_delete_refuses_a_malformed_version_guard(client, guard):
    plan = client.post("/api/plans", json={"name": "方案"}).get_json()
    response = client.delete(f"/api/plans/{plan['id']}", query_string={"version": guard})
    assert response.status_code == 422
    assert "version" in response.get_json()["error"]
    assert client.get(f"/api/plans/{plan['id']}").status_code == 200  # not deleted
    assert client.delete(f"/api/plans/{plan['id']}?version=2").status_code == 409
    assert client.delete(f"/api/plans/{plan['id']}?version=1").status_code == 200
