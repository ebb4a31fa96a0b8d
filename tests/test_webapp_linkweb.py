"""The "1+10" linkage and compound party coverage in the web app (issue 20, h-linkweb), on the demo.

The linkage runs as a background job of the job queue on the imported roster's in-service members
and the demo's households (its buildings' household counts), with the real solver (OR-Tools
min-cost flow, certified); its counts are the script's (``scripts/roster.py``) on the same rows,
grids and households; members are masked by role, the job store holds no one's name or phone, and
a person's removal on request leaves the stored result unable to name anyone.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo.errors import InputDataError
from geo.grids.output import grids_gdf
from scripts import roster as roster_script
from tests.accounts import app_with_accounts, client_of
from webapp.linkweb import run_linkage
from webapp.state import get_state

G1 = "00000000000001"
MEMBER_NAMES = ["甲一", "乙二", "丙三", "丁四", "戊五", "己六"]
PHONES = [f"1380000{k:04d}" for k in range(len(MEMBER_NAMES))]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return app_with_accounts(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def demand(app):
    with app.app_context():
        return get_state().project.demand.to_crs(4326)


def roster_csv(demand) -> bytes:
    """Six in-service members at six of the demo's buildings (spread over the area), one grid worker
    by code and one member without a position (not linked: the script takes members with one)."""
    picks = demand.geometry.iloc[np.linspace(0, len(demand) - 1, len(MEMBER_NAMES)).astype(int)]
    lines = ["姓名,联系电话,角色,网格编码,经度,纬度"]
    for name, phone, p in zip(MEMBER_NAMES, PHONES, picks, strict=True):
        lines.append(f"{name},{phone},在职党员,,{p.x:.7f},{p.y:.7f}")
    lines += [f"张三,13812345678,网格员,{G1},,", f"庚七,13900000009,在职党员,{G1},,"]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def upload(client, data: bytes, **form):
    fields = {"file": (io.BytesIO(data), "在职党员.csv"), "system": "wgs84", **form}
    return client.post("/api/grids/roster", data=fields, content_type="multipart/form-data")


def run(app, client, **params) -> dict:
    answer = client.post("/api/linkage", json=params)
    assert answer.status_code == 202, answer.get_json()
    job = app.extensions["linli.jobs"].wait(answer.get_json()["id"], timeout_s=300)
    assert job["status"] == "done", job
    return job


@pytest.fixture(scope="module")
def linked(app, demand):
    """The roster imported by the area's planner and the linkage run with k=10 (the default)."""
    town = client_of(app, "town")
    assert upload(town, roster_csv(demand)).status_code == 200
    job = run(app, town)
    return job, town.get(f"/api/linkage/{job['id']}").get_json()


def test_no_roster_is_a_clear_409(app):
    answer = client_of(app, "town").post("/api/linkage", json={})
    assert answer.status_code == 409
    assert "尚未导入名册" in answer.get_json()["error"]
    # a roster removed between the submit and the run: the job fails with the same sentence
    with app.app_context(), pytest.raises(InputDataError, match="尚未导入名册"):
        run_linkage({"k": 10, "radius_min": 10.0}, lambda stage, share: None)


@pytest.mark.parametrize(
    "params",
    [
        {"k": 0},
        {"k": 101},
        {"k": "10"},
        {"k": True},
        {"k": 2.5},
        {"radius_min": 0},
        {"radius_min": 31},
        {"radius_min": "x"},
    ],
)
def test_bad_settings_are_422(app, params):
    answer = client_of(app, "town").post("/api/linkage", json=params)
    assert answer.status_code == 422
    assert "应为" in answer.get_json()["error"] or "不超过" in answer.get_json()["error"]


def test_linkage_job_counts_equal_the_scripts(app, demand, linked, tmp_path):
    job, data = linked
    assert job["kind"] == "linkage" and job["params"] == {"k": 10, "radius_min": 10.0}
    assert data["method"] == "min-cost flow" and data["optimal"] is True and "OR-Tools" in data["solver"]
    # 6 members with a position (庚七 has none), the demo's 2,675 households (rounded per building)
    assert data["n_members"] == 6 and data["n_households"] == int(demand["households"].round().sum())
    # The script on the same rows, the same grids and the same households.
    plan = next(iter(app.extensions["linli.grids"].values()))["plan"]
    grids = tmp_path / "grids.geojson"
    grids_gdf(plan, issues=())[["code", "geometry"]].to_crs(4326).to_file(grids)
    homes = tmp_path / "住户.geojson"
    gpd.GeoDataFrame({"households": demand["households"]}, geometry=demand.geometry, crs=4326).to_file(homes)
    members = tmp_path / "在职党员.csv"
    members.write_bytes(roster_csv(demand))
    out = tmp_path / "联系户.xlsx"
    argv = ["--grids", grids, "--roster", members, "--system", "wgs84", "--project", "demo"]
    argv += ["--households", homes, "--k", "10", "--out", out, "--quiet"]
    assert roster_script.main([str(a) for a in argv]) == 0
    sheets = pd.read_excel(out, sheet_name=None, dtype={"网格编码": str})
    per_grid = sheets["联系户按网格"]
    assert data["per_grid"]["columns"] == ["grid_code", "members", "members_short", "households", "linked", "unlinked"]
    mine = [[r[0] or "（不在任何网格内）", *r[1:]] for r in data["per_grid"]["rows"]]
    assert mine == per_grid.astype(object).to_numpy().tolist()
    assert data["n_short"] == int(per_grid["联系不足10户的党员"].sum())
    assert data["n_unlinked"] == len(sheets["未联系户"]) == int(per_grid["未联系户"].sum())
    assert data["n_links"] == 6 * 10 - int((10 - sheets["联系党员"]["联系户数"]).sum())
    # On the map: unlinked households per building add up; members with fewer than k flagged.
    assert sum(n for _, _, n in data["unlinked"]) == data["n_unlinked"]
    assert sum(m["short"] for m in data["members"]) == data["n_short"]
    assert sum(line[5] for line in data["lines"]) == data["n_links"]
    assert data["lines_min_zoom"] == 16


def test_members_masked_by_role_and_never_in_the_job_store(app, linked):
    job, data = linked
    # the planner sees masked labels, no phone anywhere
    assert sorted(m["label"] for m in data["members"]) == sorted(n[0] + "*" for n in MEMBER_NAMES)
    text = str(data)
    assert not any(n in text for n in MEMBER_NAMES) and not any(p in text for p in PHONES)
    # only an administrator may ask for names in clear
    town = client_of(app, "town")
    assert town.get(f"/api/linkage/{job['id']}?personal=1").status_code == 403
    clear = client_of(app, "root").get(f"/api/linkage/{job['id']}?personal=1").get_json()
    assert sorted(m["label"] for m in clear["members"]) == sorted(MEMBER_NAMES) and clear["masked"] is False
    assert client_of(app, "root").get(f"/api/linkage/{job['id']}?personal=2").status_code == 422
    # a viewer sees no one's job (and so no member named)
    assert client_of(app, "kan").get(f"/api/linkage/{job['id']}").status_code == 403
    assert client_of(app, "kan").post("/api/linkage", json={}).status_code == 403
    # the job store keeps ids and counts only
    with sqlite3.connect(Path(app.instance_path) / "jobs.sqlite3") as con:
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM jobs") for v in row)
    assert not any(n in stored for n in MEMBER_NAMES) and not any(p in stored for p in PHONES)
    assert "member_rows" in stored


def test_roster_xlsx_per_grid_is_masked(app, linked):
    job, data = linked
    town = client_of(app, "town")
    whole = town.get(f"/api/linkage/{job['id']}/roster.xlsx")
    assert whole.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(whole.data))
    assert book.sheetnames == ["联系党员", "未联系户", "联系户按网格", "说明"]
    members = pd.read_excel(io.BytesIO(whole.data), sheet_name="联系党员", dtype=str)
    assert sorted(members["姓名"]) == sorted(n[0] + "*" for n in MEMBER_NAMES)
    assert all("****" in p for p in members["联系电话"])
    code = next(r[0] for r in data["per_grid"]["rows"] if r[0] and r[1])
    one = town.get(f"/api/linkage/{job['id']}/roster.xlsx?grid={code}")
    rows = pd.read_excel(io.BytesIO(one.data), sheet_name="联系党员", dtype=str)
    assert set(rows["网格编码"]) == {code} and len(rows) == next(r[1] for r in data["per_grid"]["rows"] if r[0] == code)
    assert town.get(f"/api/linkage/{job['id']}/roster.xlsx?grid=nope").status_code == 404
    assert town.get(f"/api/linkage/{job['id']}/roster.xlsx?personal=1").status_code == 403
    clear = client_of(app, "root").get(f"/api/linkage/{job['id']}/roster.xlsx?personal=1")
    names = pd.read_excel(io.BytesIO(clear.data), sheet_name="联系党员", dtype=str)["姓名"]
    assert sorted(names) == sorted(MEMBER_NAMES)


def test_forget_person_leaves_the_result_naming_no_one(app, demand, linked):
    job, _ = linked
    root = client_of(app, "root")
    report = root.post("/api/admin/forget-person", json={"name": MEMBER_NAMES[0], "phone": PHONES[0]}).get_json()
    assert report["removed"] >= 1
    after = root.get(f"/api/linkage/{job['id']}?personal=1").get_json()
    assert after["stale"] is True and after["members"] == [] and after["lines"] == []
    assert after["n_members"] == 6  # the counts stay
    assert root.get(f"/api/linkage/{job['id']}/roster.xlsx").status_code == 409
    # a new run after the removal links the five left
    town = client_of(app, "town")
    again = run(app, town, k=5, radius_min=5)
    data = town.get(f"/api/linkage/{again['id']}").get_json()
    assert data["n_members"] == 5 and data["k"] == 5 and data["stale"] is False


def test_party_coverage_of_an_uploaded_ledger(app, demand):
    town = client_of(app, "town")
    # the demo's residents are buildings, not a compound ledger
    answer = town.get("/api/party")
    assert answer.status_code == 422 and "小区台账" in answer.get_json()["error"]
    # four compounds at demo buildings: A, B covered, C not, D blank -> 2 of 3 known = 66.7 %
    p = demand.geometry.iloc[[0, 10, 20, 30]]
    ledger = pd.DataFrame(
        {
            "小区名称": ["A小区", "B小区", "C小区", "D小区"],
            "户数": [100, 80, 60, 40],
            "经度": p.x.round(7),
            "纬度": p.y.round(7),
            "是否成立党支部": ["是", "某联合党支部", "否", ""],
            "党员数": [12, 3, 0, 5],
            "物业公司": ["万科物业", "无", "无", "某物业"],
            "业委会": ["已成立", "未成立", "否", "是"],
        }
    ).to_csv(index=False)
    fields = {"file": (io.BytesIO(ledger.encode("utf-8-sig")), "小区台账.csv"), "system": "wgs84"}
    answer = town.post("/api/party", data=fields, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    whole = data["rates"][0]
    assert (whole["compounds"], whole["known"], whole["covered"]) == (4, 3, 2)
    assert whole["coverage_pct"] == pytest.approx(66.7, abs=0.05)
    assert [c["name"] for c in data["without_branch"]] == ["C小区"] and data["unknown"] == 1
    assert data["without_branch"][0]["lon"] == pytest.approx(p.iloc[2].x, abs=1e-5)
    bad = town.post("/api/party", data={"file": (io.BytesIO(b"x"), "a.txt")}, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert client_of(app, "kan").post("/api/party", data={}, content_type="multipart/form-data").status_code == 403
