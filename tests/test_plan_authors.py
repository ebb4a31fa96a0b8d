"""Plans show their author (issue 19): the store records who created a plan and who saved it
last (account names; 本机 in single-user mode), on SQLite and PostGIS alike; the API answers
them, the plan's GeoPackage/Shapefile names them beside the plan; older stores are migrated
(tests/test_store.py checks the migrations of both backends)."""

from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import pytest

from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from tests.test_auth import PASSWORD, TOWN, make_app
from webapp import create_app
from webapp.plans import LOCAL_AUTHOR, Feature, open_store
from webapp.plans.base import author_label

POINT = {"type": "Point", "coordinates": [24.94, 60.17]}  # inside the demo study area


@pytest.fixture(params=["sqlite", "postgis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        plan_store = open_store(tmp_path / "plans.sqlite3")
    else:
        plan_store = open_store(request.getfixturevalue("postgis_url"))
    yield plan_store
    plan_store.close()


def test_the_store_records_who_created_and_who_saved(store):
    plan = store.create("东街", features=[Feature("candidate", "A", POINT, {})], author="li")
    assert (plan["created_by"], plan["updated_by"]) == ("li", "li")
    saved = store.save(plan["id"], version=1, notes="改", author="wang")
    assert (saved["created_by"], saved["updated_by"]) == ("li", "wang")
    kept = store.save(plan["id"], version=2, notes="脚本")  # a script that names no author keeps the last one
    assert kept["updated_by"] == "wang"
    store.delete(plan["id"])
    assert store.list_plans(deleted=True)[0]["updated_by"] == "wang"  # a delete is not a save
    restored = store.restore(plan["id"], author="zhao")
    assert (restored["created_by"], restored["updated_by"]) == ("li", "zhao")
    listed = store.list_plans()
    assert [(p["created_by"], p["updated_by"]) for p in listed] == [("li", "zhao")]
    anonymous = store.create("西街")
    assert (anonymous["created_by"], anonymous["updated_by"]) == ("", "")


def test_author_labels():
    assert author_label(LOCAL_AUTHOR) == "本机" and author_label("li") == "li"
    assert author_label("") == author_label(None) == "未记录"


def _client(app, name):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    if name:
        assert client.post("/api/login", json={"name": name, "password": PASSWORD}).status_code == 200
        client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def test_the_api_records_the_signed_in_user(tmp_path):
    app, _ = make_app(tmp_path, [("li", "planner", TOWN), ("wang", "planner", TOWN)])
    li, wang, root = _client(app, "li"), _client(app, "wang"), _client(app, "root")
    plan = li.post("/api/plans", json={"name": "镇方案"}).get_json()
    assert (plan["created_by"], plan["updated_by"]) == ("li", "li")
    saved = wang.put(f"/api/plans/{plan['id']}", json={"version": 1, "notes": "王改"}).get_json()
    assert (saved["created_by"], saved["updated_by"]) == ("li", "wang")
    assert root.delete(f"/api/plans/{plan['id']}").status_code == 200
    assert root.post(f"/api/plans/{plan['id']}/restore").get_json()["updated_by"] == "root"
    listed = li.get("/api/plans").get_json()["plans"]
    assert [(p["name"], p["created_by"], p["updated_by"]) for p in listed] == [("镇方案", "li", "root")]


@pytest.fixture(scope="module")
def local_app(tmp_path_factory):
    """Single-user mode (loopback, no accounts), the demo project loaded."""
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


def test_single_user_mode_records_this_computer_and_exports_name_the_authors(local_app, tmp_path):
    client = _client(local_app, None)
    plan = client.post("/api/plans", json={"name": "本机方案"}).get_json()
    assert (plan["created_by"], plan["updated_by"]) == (LOCAL_AUTHOR, LOCAL_AUTHOR)
    features = [{"kind": "candidate", "name": "中心 A", "geometry": POINT}]
    saved = client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": features})
    assert saved.status_code == 200 and saved.get_json()["updated_by"] == LOCAL_AUTHOR
    # Someone with an account saved it last (a store shared with a served instance): named as is.
    local_app.extensions["linli.store"].save(plan["id"], version=2, notes="", author="li")
    response = client.get(f"/api/export/plans/{plan['id']}.gpkg")
    assert response.status_code == 200
    path = tmp_path / "plan.gpkg"
    path.write_bytes(response.data)
    about = gpd.read_file(path, layer="研究区边界", engine="pyogrio")
    assert about[["plan", "created_by", "saved_by"]].values.tolist() == [["本机方案", "本机", "li"]]
    zipped = client.get(f"/api/export/plans/{plan['id']}.zip")  # UTF-8: the demo (Helsinki) has names GBK cannot hold
    assert zipped.status_code == 200, zipped.get_json()
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        archive.extractall(tmp_path / "shp")
    boundary = gpd.read_file(tmp_path / "shp" / "boundary.shp", engine="pyogrio")
    assert boundary[["plan", "created_by", "saved_by"]].values.tolist() == [["本机方案", "本机", "li"]]
