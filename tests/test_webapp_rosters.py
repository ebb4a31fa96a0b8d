"""Rosters imported in the web app's grids panel (issue 20): a roster (CSV/XLSX) checked against the
current grids with the script's check (counts per grid and role, grids without a 网格员 or 网格长,
unplaced rows with why), kept in the instance folder, masked by role, reached by the organisation
chart and by a person's removal on request; bad files refused with nothing kept."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from geo.grids.output import grids_gdf
from geo.grids.rosters import Roster, check_roster
from tests.accounts import app_with_accounts, client_of
from webapp.users_cli import main as users_main

#: The demo's grids lie in community 000000000000 (town 000000000).
G1, G2, G3 = "00000000000001", "00000000000002", "00000000000003"
#: A point inside the demo's grid 2 (its label point, WGS84 lon/lat).
IN_G2 = (24.951561, 60.17676)
PHONE = "13812345678"


def roster_csv() -> bytes:
    """Six rows: grid 1 has a worker and a head; grid 2 a worker placed by coordinates and an
    in-service member; one row of an unknown grid code and one duplicate are not counted."""
    lines = [
        "姓名,联系电话,角色,网格编码,经度,纬度",
        f"张三,{PHONE},网格员,{G1},,",
        f"李四,13900000001,网格长,{G1},,",
        f"王五,13900000002,网格员,,{IN_G2[0]},{IN_G2[1]}",
        f"孙七,13900000004,在职党员,{G2},,",
        "赵六,13900000003,楼栋长,99999,,",
        f"李四,13900000001,网格长,{G1},,",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return app_with_accounts(tmp_path_factory.mktemp("instance"), other=True)


def upload(client, data: bytes, name: str = "名册.csv", **form):
    fields = {"file": (io.BytesIO(data), name), "system": "wgs84", **form}
    return client.post("/api/grids/roster", data=fields, content_type="multipart/form-data")


def stored(app) -> list[str]:
    folder = Path(app.instance_path) / "rosters"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture()
def imported(app):
    """The six-row roster imported by the area's planner (removed again after the test)."""
    answer = upload(client_of(app, "town"), roster_csv())
    assert answer.status_code == 200, answer.get_json()
    yield answer.get_json()
    client_of(app, "root").delete("/api/grids/roster")


def test_upload_counts_per_grid_flags_and_lists_unplaced_rows_masked(app, imported):
    data = imported
    # 6 rows: 张三, 李四 (G1 by code), 王五 (G2 by position), 孙七 (G2 by code) counted;
    # 赵六's code 99999 is unknown and the second 李四 row is a duplicate.
    assert data["roster"]["rows"] == 6 and data["roster"]["placed"] == 4 and data["roster"]["unmatched_count"] == 2
    assert data["grids"][G1]["counts"] == {"网格员": 1, "网格长": 1, "楼栋长": 0, "党员中心户": 0, "在职党员": 0}
    assert data["grids"][G2]["counts"]["网格员"] == 1 and data["grids"][G2]["counts"]["在职党员"] == 1
    assert data["roster"]["totals"] == {"网格员": 2, "网格长": 1, "楼栋长": 0, "党员中心户": 0, "在职党员": 1}
    # G1 has both; G2 lacks its head; every other demo grid lacks both (7 grids in the demo)
    assert G1 not in data["missing"] and data["missing"][G2] == "网格长" and data["missing"][G3] == "网格员、网格长"
    assert len(data["grids"]) == 7 and data["roster"]["missing_count"] == 6
    # the same numbers as the script's check on the same rows and the same grids
    plan = next(iter(app.extensions["linli.grids"].values()))["plan"]
    rows = pd.read_csv(io.BytesIO(roster_csv()), dtype=str, keep_default_na=False).rename(
        columns={"姓名": "name", "联系电话": "phone", "角色": "role", "网格编码": "grid", "经度": "lon", "纬度": "lat"}
    )
    for column in ("compound", "building", "address"):
        rows[column] = ""
    rows["lon"] = pd.to_numeric(rows["lon"]).astype(float)
    rows["lat"] = pd.to_numeric(rows["lat"]).astype(float)
    rows["line"] = range(2, 2 + len(rows))
    script = check_roster(Roster(rows, "x"), grids_gdf(plan)[["code", "geometry"]])
    assert dict(zip(script.missing["grid_code"], script.missing["missing"], strict=True)) == data["missing"]
    # unplaced rows: why, masked name and phone
    why = {u["line"]: u for u in data["unmatched"]}
    assert why[6]["name"] == "赵*" and why[6]["phone"] == "139****0003" and "99999 不存在" in why[6]["why"]
    assert why[7]["why"].startswith("重复")
    # the organisation by name, masked; in-service members never named
    assert data["grids"][G1]["people"]["网格员"] == ["张*"] and data["grids"][G1]["people"]["网格长"] == ["李*"]
    assert "在职党员" not in data["grids"][G2]["people"]
    text = json.dumps(data, ensure_ascii=False)
    assert "张三" not in text and PHONE not in text and "孙七" not in text and data["masked"] is True
    # kept in the instance folder; the import audited without names
    assert len(stored(app)) == 2
    audit = [a for a in app.extensions["linli.users"].audit() if a["action"] == "roster.import"]
    assert audit and "rows=6" in audit[0]["detail"] and "placed=4" in audit[0]["detail"]
    assert "张三" not in json.dumps(audit, ensure_ascii=False)
    # read again as it is: the same answer
    again = client_of(app, "kan").get("/api/grids/roster").get_json()
    assert again["missing"] == data["missing"] and again["roster"]["placed"] == 4


def test_each_role_sees_what_the_rules_say(app, imported):
    viewer = client_of(app, "kan").get("/api/grids/roster").get_json()
    assert "unmatched" not in viewer and viewer["roster"]["unmatched_count"] == 2  # counts, not the rows
    assert viewer["grids"][G1]["people"]["网格员"] == ["张*"]  # the organisation masked, as the grids' own fields
    planner = client_of(app, "town").get("/api/grids/roster").get_json()
    assert planner["unmatched"][0]["name"].endswith("*")
    assert client_of(app, "town").get("/api/grids/roster?personal=1").status_code == 403
    assert client_of(app, "kan").get("/api/grids/roster?personal=1").status_code == 403
    assert client_of(app, "root").get("/api/grids/roster?personal=2").status_code == 422
    clear = client_of(app, "root").get("/api/grids/roster?personal=1").get_json()
    assert clear["masked"] is False and clear["grids"][G1]["people"]["网格员"] == ["张三"]
    assert all("****" in u["phone"] for u in clear["unmatched"])  # phones masked even then


def test_org_chart_and_its_exports_hold_the_roster(app, imported):
    viewer = client_of(app, "kan")
    nodes = {n["code"]: n for n in viewer.get("/api/grids/orgchart").get_json()["nodes"]}
    assert nodes[G1]["grid_workers"].endswith("张*") and nodes[G1]["grid_head"] == "李*"
    assert nodes[G2]["grid_workers"].endswith("王*") and nodes[G2]["grid_head"] == ""
    assert "孙" not in json.dumps(nodes, ensure_ascii=False)  # in-service members are not in the chart
    book = openpyxl.load_workbook(io.BytesIO(viewer.get("/api/export/orgchart.xlsx").data))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c]
    assert "李*" in cells and "张三" not in " ".join(cells)
    clear = client_of(app, "root").get("/api/export/orgchart.xlsx?personal=1")
    book = openpyxl.load_workbook(io.BytesIO(clear.data))
    assert "李四" in [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c]
    pdf = viewer.get("/api/export/orgchart.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_an_xlsx_roster_with_the_role_given_on_the_form(app):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["惠安县网格长名册"])  # a title row above the header, as counties write them
    sheet.append(["序号", "姓名", "手机", "网格编码"])
    for k, code in enumerate((G1, G2, G3), start=1):
        sheet.append([k, f"网格长{k}", f"1390000010{k}", code])
    buffer = io.BytesIO()
    book.save(buffer)
    client = client_of(app, "root")
    try:
        answer = upload(client, buffer.getvalue(), "网格长.xlsx", role="网格长")
        assert answer.status_code == 200, answer.get_json()
        data = answer.get_json()
        assert [data["grids"][c]["counts"]["网格长"] for c in (G1, G2, G3)] == [1, 1, 1]
        assert data["missing"][G1] == "网格员" and data["roster"]["unmatched_count"] == 0
        # added to it: the CSV's rows too (its duplicate 李四 still refused)
        added = upload(client, roster_csv(), add="1").get_json()
        assert added["roster"]["rows"] == 9 and added["grids"][G1]["counts"]["网格长"] == 2
        assert added["missing"].get(G1) is None
    finally:
        client.delete("/api/grids/roster")


@pytest.mark.parametrize(
    ("name", "data", "form", "status", "message"),
    [
        ("名册.csv", b"", {}, 422, "为空"),
        ("名册.pdf", "姓名,角色\n张三,网格员\n".encode(), {}, 422, "类型不支持"),
        ("名册.xlsx", "姓名,角色\n张三,网格员\n".encode(), {}, 422, "不是有效的 .xlsx"),
        ("名册.csv", "姓名,联系电话,网格编码\n张三,13800000000,1\n".encode(), {}, 422, "没有「角色」列"),
        (
            "名册.csv",
            "姓名,联系电话,角色\n张三,13800000000,网格员\n".encode(),
            {},
            422,
            "找不到网格编码、小区或经纬度列",
        ),
        ("名册.csv", "姓名,角色,网格编码\n".encode(), {}, 422, "没有数据行"),
        ("名册.csv", "姓名,角色,网格编码\n张三,网格员,1\n".encode(), {"system": "utm"}, 422, "坐标系"),
        ("名册.csv", "姓名,网格编码\n张三,1\n".encode(), {"role": "队长"}, 422, "角色"),
        ("名册.csv", "姓名,角色,网格编码\n张三,网格员,1\n".encode(), {"add": "2"}, 422, "add"),
    ],
)
def test_bad_roster_files_are_refused_in_chinese_and_nothing_is_kept(app, imported, name, data, form, status, message):
    before = stored(app)
    answer = upload(client_of(app, "town"), data, name, **form)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()["error"]
    assert message in error and "Traceback" not in error and "/tmp" not in error
    assert stored(app) == before  # the roster imported before is the one kept
    assert client_of(app, "kan").get("/api/grids/roster").get_json()["roster"]["rows"] == 6


def test_a_roster_over_the_upload_limit_is_a_413(app, imported):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 100_000  # the app's limit (16 MB) made small: the body stays in memory
    try:
        answer = upload(client_of(app, "town"), roster_csv() + b"x" * 200_000)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert answer.status_code == 413 and "过大" in answer.get_json()["error"]
    assert client_of(app, "kan").get("/api/grids/roster").get_json()["roster"]["rows"] == 6


def test_no_file_and_who_may_import(app):
    assert client_of(app, "town").post("/api/grids/roster", data={}).status_code == 422
    other = upload(client_of(app, "other"), roster_csv())
    assert other.status_code == 403 and "不在您的范围" in other.get_json()["error"]
    assert upload(client_of(app, "kan"), roster_csv()).status_code == 403
    assert stored(app) == [] and client_of(app, "kan").get("/api/grids/roster").get_json()["roster"] is None


def test_a_planner_asking_for_names_at_import_is_refused_before_anything_is_kept(app, imported):
    # ?personal=1 is an administrator's: a planner's import asking for it is a 403 and the roster
    # already imported stays as it was (the refusal comes before the file is read or kept).
    before = client_of(app, "root").get("/api/grids/roster").get_json()
    town = client_of(app, "town")
    fields = {"file": (io.BytesIO(roster_csv()[:60]), "另一份.csv"), "system": "wgs84"}
    answer = town.post("/api/grids/roster?personal=1", data=fields, content_type="multipart/form-data")
    assert answer.status_code == 403
    after = client_of(app, "root").get("/api/grids/roster").get_json()
    assert after == before and after["roster"]["file"] == before["roster"]["file"]


def test_counts_follow_the_grids_as_they_are_edited(app, imported):
    town = client_of(app, "town")
    version = town.get("/api/grids").get_json()["version"]
    merged = town.post("/api/grids/edit", json={"op": "merge", "grids": [G1, G2], "version": version})
    if merged.status_code != 200:
        pytest.skip("grids 1 and 2 of the demo are not adjacent")
    try:
        data = town.get("/api/grids/roster").get_json()
        assert G2 not in data["grids"] and data["grids"][G1]["counts"]["网格员"] == 2  # 王五 by position
        # 孙七's code 2 is gone with the merge: listed as unplaced, saying so
        assert data["grids"][G1]["counts"]["在职党员"] == 0 and data["roster"]["unmatched_count"] == 3
        assert any(f"{G2} 不存在" in u["why"] for u in data["unmatched"])
    finally:
        assert town.post("/api/grids/undo", json={}).status_code == 200


def test_removal_deletes_the_roster_and_is_audited(app, imported):
    town = client_of(app, "town")
    answer = town.delete("/api/grids/roster")
    assert answer.status_code == 200 and answer.get_json()["removed"] is True
    assert stored(app) == [] and town.get("/api/grids/roster").get_json()["roster"] is None
    assert any(a["action"] == "roster.delete" for a in app.extensions["linli.users"].audit())


def test_forget_person_from_the_admin_page_reaches_the_roster(app, imported):
    root = client_of(app, "root")
    report = root.post("/api/admin/forget-person", json={"name": "张三", "phone": PHONE}).get_json()
    assert any(path.startswith("rosters/") and n == 1 for path, n in report["files"].items()), report
    data = root.get("/api/grids/roster?personal=1").get_json()
    assert data["roster"]["rows"] == 5 and data["grids"][G1]["counts"]["网格员"] == 0
    assert data["missing"][G1] == "网格员"  # the grid lacks its worker now
    assert "张三" not in json.dumps(data, ensure_ascii=False)
    csv_file = next((Path(app.instance_path) / "rosters").glob("*.csv"))
    assert "张三" not in csv_file.read_text(encoding="utf-8-sig") and "李四" in csv_file.read_text(encoding="utf-8-sig")


def test_forget_person_from_the_command_line_reaches_the_roster(app, imported, capsys):
    code = users_main(
        ["forget-person", "--name", "李四", "--phone", "13900000001", "--instance", str(app.instance_path)]
    )
    assert code == 0
    data = client_of(app, "root").get("/api/grids/roster?personal=1").get_json()
    assert data["roster"]["rows"] == 4  # both of 李四's rows (the duplicate too)
    assert data["grids"][G1]["counts"]["网格长"] == 0 and "李四" not in json.dumps(data, ensure_ascii=False)
