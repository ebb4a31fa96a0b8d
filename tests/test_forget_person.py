"""Personal data removable on request (issue 19): a person (name + phone, or id) taken out of the
instance folder's rosters and grids documents, every plan and the audit log, from the admin page
and from ``linli users forget-person``; the removal is audited without the person's data, and
the databases keep no old copy (docs/bad-inputs.md G15)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from geo.errors import InputDataError
from geo.io.forget import REDACTED, Person, forget_in_file, forget_in_value, mentions, redact_text, row_matches
from tests.pg_server import postgis_server, postgis_url  # noqa: F401  (fixtures)
from tests.test_auth import PASSWORD, TOWN, make_app
from webapp.plans import Feature, open_store
from webapp.plans.base import unpack_json
from webapp.users import FORGOTTEN
from webapp.users_cli import main as users_main

PHONE = "13812345678"
OTHER_PHONE = "13900000000"  # another 张三
ZHANG = Person.of("张三", PHONE)
POINT = {"type": "Point", "coordinates": [118.67, 24.94]}

# ---------------------------------------------------------------- the core (geo/io/forget.py)


@pytest.mark.parametrize(
    ("name", "phone", "person_id", "match"),
    [
        ("张三", "", "", "只凭姓名无法确定"),
        ("", PHONE, "", "只凭姓名无法确定"),
        ("张三", "12-34", "", "至少有 7 位数字"),
        ("张" * 65, PHONE, "", "不超过 64"),
        ("张\x00三", PHONE, "", "不超过 64"),
        (123, PHONE, "", "不超过 64"),
    ],
)
def test_a_person_needs_a_name_and_phone_or_an_id(name, phone, person_id, match):
    with pytest.raises(InputDataError, match=match):
        Person.of(name, phone, person_id)


def test_what_is_about_the_person():
    # Rows: the name in one cell and the phone in another (as written, or read by Excel as a number).
    assert row_matches(["1", "张三", "网格员", "138-1234-5678"], ZHANG)
    assert row_matches(["张三", 13812345678.0], ZHANG) and row_matches(["张三", "+86 138 1234 5678"], ZHANG)
    assert not row_matches(["张三", OTHER_PHONE], ZHANG) and not row_matches(["张三丰", PHONE], ZHANG)
    assert row_matches(["x", "350521199001011234"], Person.of(person_id="350521199001011234"))
    # Texts: the name and no phone but theirs.
    assert mentions("网格员 张三 13812345678", ZHANG) and mentions("张三", ZHANG)
    assert not mentions(f"网格员 张三 {OTHER_PHONE}", ZHANG) and not mentions("李四 13812345678", ZHANG)
    assert mentions("联系人张三13812345678", ZHANG) and mentions("user=张三", ZHANG)
    assert not mentions("张三丰", ZHANG) and not mentions("网格员：张三丰、李四", ZHANG)  # another name
    text, n = redact_text("联系人 张三 138 1234 5678，负责东区", ZHANG)
    assert (text, n) == (f"联系人 {REDACTED} {REDACTED}，负责东区", 2)
    document = {
        "fields": {
            "001": {"grid_member": "张三 13812345678", "central_households": ["张三", "王五"], "branch": "东区"}
        },
        "row": {"姓名": "张三", "电话": PHONE, "楼栋": "3 幢"},
        "other": {"姓名": "张三", "电话": OTHER_PHONE},
    }
    new, n = forget_in_value(document, ZHANG)
    assert n == 4
    assert new["fields"]["001"] == {"grid_member": "", "central_households": ["王五"], "branch": "东区"}
    assert new["row"] == {"姓名": "", "电话": "", "楼栋": "3 幢"}
    assert new["other"] == {"姓名": "张三", "电话": OTHER_PHONE}


def test_grid_and_division_codes_are_not_taken_for_another_phone():
    """A grid edit names its grid by a 14-digit code and a community by 12 digits: neither is
    "another phone beside the name", so the person's entry beside them is still removed."""
    op = {"op": "set", "grid": "35052110000101", "field": "grid_member", "value": f"张三 {PHONE}"}
    assert forget_in_value(op, ZHANG) == ({**op, "value": ""}, 1)
    assert mentions("社区 350521100001 网格员 张三", ZHANG)
    assert not mentions(f"张三 {OTHER_PHONE}", ZHANG)  # a mobile of another 张三 still is one
    assert not mentions("张三 0595-87654321", ZHANG)  # and a landline with its area code


def test_roster_files_lose_the_persons_rows_only(tmp_path):
    gbk = tmp_path / "名册.csv"
    gbk.write_bytes(
        "姓名,电话,角色\r\n张三,13812345678,网格员\r\n张三,13900000000,楼栋长\r\n李四,13711112222,网格长\r\n".encode(
            "gbk"
        )
    )
    assert forget_in_file(gbk, ZHANG, dry_run=True) == 1 and "13812345678" in gbk.read_bytes().decode("gbk")
    assert forget_in_file(gbk, ZHANG) == 1
    rows = list(csv.reader(io.StringIO(gbk.read_bytes().decode("gbk"))))  # still GBK, CRLF kept
    assert rows == [["姓名", "电话", "角色"], ["张三", OTHER_PHONE, "楼栋长"], ["李四", "13711112222", "网格长"]]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "网格员"
    sheet.append(["某社区网格员名册"])  # a title row above the header
    sheet.append(["序号", "姓名", "联系电话"])
    sheet.append([1, "张三", 13812345678])
    sheet.append([2, "王五", 13622223333])
    sheet["A1"].font = openpyxl.styles.Font(bold=True)
    path = tmp_path / "名册.xlsx"
    book.save(path)
    assert forget_in_file(path, ZHANG) == 1
    again = openpyxl.load_workbook(path)
    assert [list(r) for r in again["网格员"].iter_rows(values_only=True)] == [
        ["某社区网格员名册", None, None],
        ["序号", "姓名", "联系电话"],
        [2, "王五", 13622223333],
    ]
    assert again["网格员"]["A1"].font.bold  # the rest of the workbook as it was
    with pytest.raises(InputDataError, match="只能处理"):
        forget_in_file(tmp_path / "x.kml", ZHANG)


# ---------------------------------------------------------------- everything the server keeps


def _seed(app):
    """A roster and a grids document in the instance folder, plans (one in the recycle bin) and
    audit entries naming 张三 (13812345678), and the same name with another phone."""
    instance = Path(app.instance_path)
    rosters = instance / "rosters"
    rosters.mkdir()
    (rosters / "网格员.csv").write_text(
        f"姓名,电话\n张三,{PHONE}\n张三,{OTHER_PHONE}\n李四,13711112222\n", encoding="utf-8-sig"
    )
    (rosters / "党员.kml").write_text("<kml/>", encoding="utf-8")  # a kind listed, not rewritten
    grids = instance / "grids"
    grids.mkdir()
    doc = {"fields": {"001": {"grid_member": f"张三 {PHONE}", "central_households": ["张三", "王五"]}}}
    doc["history"] = [{"op": "set", "grid": "001", "field": "grid_member", "value": f"张三 {PHONE}"}]
    (grids / "demo.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    plans = app.extensions["linli.store"]
    live = plans.create(
        "东街方案",
        f"联系人 张三 {PHONE}",
        features=[
            Feature("candidate", "中心 A", POINT, {"姓名": "张三", "电话": PHONE, "面积": 120}),
            Feature("candidate", "中心 B", POINT, {"联系人": f"张三 {OTHER_PHONE}"}),
        ],
        author="li",
    )
    binned = plans.create("旧方案", "", features=[Feature("grid", f"张三 {PHONE}", POINT, {})])
    plans.delete(binned["id"])
    users = app.extensions["linli.users"]
    users.record("li", "grid.edit", "code=001", f"网格员 张三 {PHONE}", "10.0.0.1")
    users.record("li", "grid.edit", "code=002", f"网格员 张三 {OTHER_PHONE}", "10.0.0.1")
    return live, binned


def _client(app, name):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    assert client.post("/api/login", json={"name": name, "password": PASSWORD}).status_code == 200
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _raw(path) -> bytes:
    """A database file with its WAL, as bytes on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_the_admin_removes_a_person_from_everything_stored(tmp_path):
    app, _ = make_app(tmp_path, [("li", "planner", TOWN)])
    live, binned = _seed(app)
    instance = tmp_path / "instance"
    root, li = _client(app, "root"), _client(app, "li")
    refused = li.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE})
    assert refused.status_code == 403
    vague = root.post("/api/admin/forget-person", json={"name": "张三"})
    assert vague.status_code == 422 and "只凭姓名无法确定" in vague.get_json()["error"]
    counted = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE, "dry_run": True})
    assert counted.get_json()["removed"] == 10 and PHONE in (instance / "rosters" / "网格员.csv").read_text("utf-8-sig")

    done = root.post("/api/admin/forget-person", json={"name": "张三", "phone": "138 1234 5678"})
    assert done.status_code == 200
    report = done.get_json()
    # The roster row; the grid member, the household and the edit history; the live plan's record,
    # its notes' name and phone (2 + 2), the deleted plan's feature name; one audit entry.
    assert report["files"] == {"rosters/网格员.csv": 1, "grids/demo.json": 3}
    assert (report["plans"], report["audit"], report["removed"]) == (5, 1, 10)
    assert report["not_scanned"] == ["rosters/党员.kml"]
    assert (instance / "rosters" / "网格员.csv").read_text("utf-8-sig").splitlines() == [
        "姓名,电话",
        f"张三,{OTHER_PHONE}",
        "李四,13711112222",
    ]
    doc = json.loads((instance / "grids" / "demo.json").read_text("utf-8"))
    assert doc["fields"]["001"] == {"grid_member": "", "central_households": ["王五"]}
    plans = app.extensions["linli.store"]
    plan = plans.get(live["id"])
    assert plan["notes"] == f"联系人 {REDACTED} {REDACTED}" and plan["version"] == 2 and plan["updated_by"] == "root"
    assert plan["features"][0]["properties"] == {"姓名": "", "电话": "", "面积": 120}
    assert plan["features"][1]["properties"] == {"联系人": f"张三 {OTHER_PHONE}"}  # another 张三
    assert plans.get(binned["id"], include_deleted=True)["features"][0]["name"] == ""
    audit = app.extensions["linli.users"].audit()
    assert [a["detail"] for a in audit if a["object"] == "code=001"] == [FORGOTTEN]
    forget = audit[0]
    assert (forget["user_name"], forget["action"], forget["object"]) == ("root", "person.forget", "removed=10")
    assert "张三" not in json.dumps(forget, ensure_ascii=False) and "1381234" not in json.dumps(forget)
    # No old copy on disk: not in the databases' free pages or WAL.
    for db in ("plans.sqlite3", "users.sqlite3"):
        assert PHONE.encode() not in _raw(instance / db), db
    # Asked again: nothing left to remove (the removal itself is audited each time).
    again = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE}).get_json()
    assert again["removed"] == 0


def _unpacked(text: str) -> str:
    return json.dumps(unpack_json(text), ensure_ascii=False)


def test_grids_in_the_plan_store_forget_the_person_in_every_version(tmp_path):
    """The grids live in the plan store with their history (issue 20): the person's 网格员 and
    党员中心户 entries go from the current grids and from every stored version; the removal is a
    new version, by the administrator, whose summary names no one."""
    app, _ = make_app(tmp_path, [])
    root = _client(app, "root")
    grids = root.get("/api/grids").get_json()
    code, version = grids["grids"]["features"][0]["properties"]["code"], grids["version"]
    for field, value in (("grid_member", f"张三 {PHONE}"), ("central_households", ["张三", "王五"])):
        answer = root.post(
            "/api/grids/edit", json={"op": "set", "grid": code, "field": field, "value": value, "version": version}
        )
        assert answer.status_code == 200, answer.get_json()
        version = answer.get_json()["version"]
    store = app.extensions["linli.store"]
    project = next(iter(app.extensions["linli.grids"]))
    with app.app_context():
        stored = _unpacked(store.grid_plan(project)["state"]) + "".join(
            _unpacked(store.grid_snapshot(project, v)) for v in range(version + 1)
        )
    assert PHONE in stored and "张三" in stored

    done = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE}).get_json()
    assert done["plans"] >= 3  # the current grids and the two versions that named them
    with app.app_context():
        stored = _unpacked(store.grid_plan(project)["state"]) + "".join(
            _unpacked(store.grid_snapshot(project, v)) for v in range(version + 1)
        )
        history = store.grid_history(project)
    assert PHONE not in stored and "张三" not in stored and "王五" in stored
    assert PHONE not in json.dumps(history, ensure_ascii=False)
    # The removal is a version of its own (so no server's grids in memory can write the person
    # back): a page at the old version is told to reload, then edits on.
    stale = root.post(
        "/api/grids/edit", json={"op": "set", "grid": code, "field": "branch", "value": "东区", "version": version}
    )
    assert stale.status_code == 409 and stale.get_json()["current_version"] == version + 1
    after = root.get("/api/grids").get_json()
    assert after["version"] == version + 1
    with app.app_context():
        forgotten = store.grid_history(project)[0]
    assert (forgotten["version"], forgotten["op"], forgotten["user"]) == (version + 1, {"op": "forget"}, "root")
    assert PHONE.encode() not in _raw(tmp_path / "instance" / "plans.sqlite3")


def test_by_id_and_from_the_command_line(tmp_path, capsys):
    app, _ = make_app(tmp_path, [])
    instance = tmp_path / "instance"
    (instance / "党员.csv").write_text("编号,姓名\nD-0042,赵六\nD-0043,钱七\n", encoding="utf-8")
    plans = app.extensions["linli.store"]
    plan = plans.create("方案", "党员 D-0042 负责", author=":local")
    plans.close()
    app.extensions["linli.users"].close()
    assert users_main(["forget-person", "--name", "赵六", "--instance", str(instance)]) == 2
    assert "只凭姓名无法确定" in capsys.readouterr().err
    assert users_main(["forget-person", "--id", "D-0042", "--dry-run", "--instance", str(instance)]) == 0
    assert "将删除 (would remove) 2 条记录" in capsys.readouterr().out
    assert users_main(["forget-person", "--id", "D-0042", "--instance", str(instance)]) == 0
    out = capsys.readouterr().out
    assert "已删除 (removed) 2 条记录" in out and "党员.csv: 1" in out
    assert (instance / "党员.csv").read_text("utf-8").splitlines() == ["编号,姓名", "D-0043,钱七"]
    store = open_store(instance / "plans.sqlite3")
    assert store.get(plan["id"])["notes"] == f"党员 {REDACTED} 负责"
    assert store.get(plan["id"])["updated_by"].startswith("cli:")
    store.close()


def test_plans_on_postgis_forget_alike(postgis_url):  # noqa: F811
    store = open_store(postgis_url)
    try:
        plan = store.create(
            "方案", f"张三 {PHONE}", features=[Feature("candidate", "A", POINT, {"姓名": "张三", "电话": PHONE})]
        )
        assert store.forget_person(ZHANG, dry_run=True) == 4 and store.get(plan["id"])["version"] == 1
        assert store.forget_person(ZHANG, author="root") == 4
        after = store.get(plan["id"])
        assert after["features"][0]["properties"] == {"姓名": "", "电话": ""}
        assert (after["notes"], after["version"], after["updated_by"]) == (f"{REDACTED} {REDACTED}", 2, "root")
    finally:
        store.close()


def test_grids_on_both_backends_get_a_new_version_without_the_person(tmp_path, request):
    """The store's own rule (SQLite and PostGIS): the current grids without the person become the
    next version (op ``forget``, by the author); a dry run changes nothing; a project whose grids
    never named the person keeps its version."""
    from webapp.plans.base import FORGET_SUMMARY, pack_json

    for location in (tmp_path / "plans.sqlite3", request.getfixturevalue("postgis_url")):
        store = open_store(location)
        try:
            fields = {"001": {"grid_member": f"张三 {PHONE}", "branch": "东区"}}
            state = {"grid": [["001"]], "fields": fields, "history": [], "future": [], "version": 3}
            for project, st in (("demo", state), ("other", {**state, "fields": {"001": {"branch": "西区"}}})):
                assert store.create_grid_plan(
                    project,
                    version=3,
                    base=pack_json({"units": []}),
                    state=pack_json(st),
                    snapshot=pack_json({"grid": st["grid"], "fields": st["fields"]}),
                    user="li",
                    summary="生成",
                )
            assert store.forget_person(ZHANG, author="root", dry_run=True) == 2
            assert store.grid_plan_version("demo") == 3
            assert store.forget_person(ZHANG, author="root") == 2
            assert (store.grid_plan_version("demo"), store.grid_plan_version("other")) == (4, 3)
            now = unpack_json(store.grid_plan("demo")["state"])
            assert now["version"] == 4 and now["fields"]["001"] == {"grid_member": "", "branch": "东区"}
            latest = store.grid_history("demo")[0]
            assert (latest["summary"], latest["user"], latest["op"]) == (FORGET_SUMMARY, "root", {"op": "forget"})
            assert unpack_json(store.grid_snapshot("demo", 4))["fields"] == now["fields"]
            assert PHONE not in json.dumps(unpack_json(store.grid_snapshot("demo", 3)), ensure_ascii=False)
        finally:
            store.close()


def test_the_grids_lock_is_held_only_around_the_databases(tmp_path, monkeypatch):
    """The server's grids lock (``hold``) is not held while the folder's files are prepared (a
    GeoPackage compacted can take a while; grid requests go on), and is held while the plan store
    and the audit log lose the person, with ``then`` (dropping the grids in memory) inside it."""
    import threading

    import webapp.forget as forget

    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "名册.csv").write_text("姓名,电话\n张三,13812345678\n李四,13900000000\n", encoding="utf-8")
    plans = open_store(instance / "plans.sqlite3")
    from webapp.users import UserStore

    users = UserStore(instance / "users.sqlite3")
    lock = threading.Lock()
    seen: dict[str, bool] = {}
    staging = forget.stage_forget

    def stage(path, person, **kw):
        seen["staging"] = lock.locked()
        return staging(path, person, **kw)

    store_forget = plans.forget_person

    def forget_in_store(person, **kw):
        seen["store"] = lock.locked()
        return store_forget(person, **kw)

    monkeypatch.setattr(forget, "stage_forget", stage)
    monkeypatch.setattr(plans, "forget_person", forget_in_store)
    report = forget.forget_person(
        Person.of("张三", "13812345678"),
        plans=plans,
        users=users,
        instance=instance,
        actor="root",
        hold=lock,
        then=lambda: seen.setdefault("then", lock.locked()),
    )
    assert seen == {"staging": False, "store": True, "then": True}
    assert report.files == {"名册.csv": 1} and not lock.locked()
    assert "张三" not in (instance / "名册.csv").read_text(encoding="utf-8")
    plans.close()
