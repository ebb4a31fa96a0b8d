"""Existing grids imported in the web app's grids panel and other grid systems compared (多网合一), issue 20.

The files are made from the demo's own grids (exported through ``GET /api/grids``) and perturbed:
grid 1 moved 40 m east (it overlaps its neighbours, leaves a gap and reaches outside the
community), names given.  Checked with the scripts' check, adopted as one version of the web
grids (undoable, audited, 409 when stale, only by a planner of the community), bad files refused
in Chinese with nothing changed.
"""

from __future__ import annotations

import io
import itertools
import json
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import shapely

from tests.accounts import app_with_accounts, client_of

COMMUNITY = "000000000000"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return app_with_accounts(tmp_path_factory.mktemp("instance"), other=True)


def demo_grids(client) -> gpd.GeoDataFrame:
    """The web grids as they are now, in metres (UTM 35N)."""
    data = client.get("/api/grids").get_json()
    frame = gpd.GeoDataFrame.from_features(data["grids"]["features"], crs=4326)
    return frame[["code", "households", "geometry"]].to_crs(32635)


def perturbed(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Chinese headers, a name per grid, grid 1 moved 40 m east; WGS84."""
    geoms = frame.geometry.to_numpy().copy()
    geoms[0] = shapely.affinity.translate(geoms[0], 40, 0)
    out = gpd.GeoDataFrame(
        {"网格编码": frame["code"].to_numpy(), "网格名称": [f"第{k + 1}网格" for k in range(len(frame))]},
        geometry=geoms,
        crs=frame.crs,
    )
    return out.to_crs(4326)


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(drop_id=True).encode("utf-8")


def post(client, url: str, files: list[tuple[bytes, str]], **form):
    fields = {"file": [(io.BytesIO(data), name) for data, name in files], **form}
    return client.post(url, data=fields, content_type="multipart/form-data")


def state_of(client) -> tuple[int, list[str]]:
    data = client.get("/api/grids").get_json()
    return data["version"], sorted(f["properties"]["code"] for f in data["grids"]["features"])


def test_import_is_checked_with_the_problem_places_and_nothing_stored(app):
    town = client_of(app, "town")
    before = state_of(town)
    history = town.get("/api/grids/history").get_json()["versions"]
    frame = demo_grids(town)
    answer = post(town, "/api/grids/import", [(geojson_bytes(perturbed(frame)), "现有网格.geojson")])
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["count"] == 7 and data["file"] == "现有网格.geojson"
    kinds = {i["kind"] for i in data["issues"]}
    # grid 1 moved 40 m: it overlaps a neighbour, leaves a gap in the community and reaches outside it
    assert {"overlap", "gap", "outside_parent"} <= kinds
    first = frame["code"].iat[0]
    assert all(i["grid"] == first for i in data["issues"] if i["kind"] in ("overlap", "outside_parent"))
    # the problem places on the map: the overlaps themselves (a strip at most 40 m wide), the gap
    places = gpd.GeoDataFrame.from_features(data["places"]["features"], crs=4326).to_crs(32635)
    by_kind = places.groupby("kind").geometry.apply(lambda g: float(g.area.sum()))
    assert by_kind["overlap"] > 0 and by_kind["gap"] > 0
    grid_1 = float(frame.geometry.iat[0].area)
    assert by_kind["overlap"] < grid_1  # a strip along the boundary, not whole grids
    # households: the file has none, so the bounds are checked on the blocks inside each grid
    assert data["households_from"] == "blocks"
    shown = {f["properties"]["code"]: f["properties"] for f in data["grids"]["features"]}
    assert shown[first]["name"] == "第1网格" and "overlap" in shown[first]["flags"]
    for code, hh in zip(frame["code"], frame["households"], strict=True):  # unmoved grids: the same blocks
        if code != first:
            assert shown[code]["households_blocks"] == pytest.approx(hh, abs=0.2)
    # what adopting would do: every block of the community placed but the few the move left behind
    adoption = data["adoption"]
    assert adoption["parents"] == [COMMUNITY] and adoption["grids"] == 7 and adoption["empty"] == []
    assert adoption["assigned"] + adoption["unassigned"] == 1183 and 0 < adoption["unassigned"] < 50
    # nothing stored
    assert state_of(town) == before
    assert town.get("/api/grids/history").get_json()["versions"] == history


def test_the_grids_exported_as_they_are_check_clean_and_would_be_adopted_unchanged(app):
    town = client_of(app, "town")
    frame = demo_grids(town)
    exact = gpd.GeoDataFrame({"网格编码": frame["code"]}, geometry=frame.geometry, crs=frame.crs).to_crs(4326)
    data = post(town, "/api/grids/import", [(geojson_bytes(exact), "原样.geojson")]).get_json()
    assert data["issues"] == [] and data["places"]["features"] == []
    # every block back in its own grid: each grid's households as the web grids have them
    assert data["adoption"]["unassigned"] == 0 and data["adoption"]["assigned"] == 1183
    for code, hh in zip(frame["code"], frame["households"], strict=True):
        assert data["adoption"]["households"][code] == pytest.approx(hh, abs=0.2)


def test_a_system_equal_to_the_grids_agrees_everywhere(app):
    town = client_of(app, "town")
    frame = demo_grids(town)
    same = gpd.GeoDataFrame({"编码": frame["code"]}, geometry=frame.geometry, crs=frame.crs).to_crs(4326)
    answer = post(town, "/api/grids/systems", [(geojson_bytes(same), "党建网格.geojson")])
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["pairs"][0]["disagree_households"] == 0 and data["disagreement"]["features"] == []
    assert all(m["best"]["党建网格"] == {"code": m["code"], "share_pct": 100.0} for m in data["matches"])


def test_adopt_makes_one_undoable_version_audited_and_stale_is_409(app):
    town = client_of(app, "town")
    version, codes = state_of(town)
    frame = demo_grids(town)
    file = [(geojson_bytes(perturbed(frame)), "现有网格.geojson")]
    answer = post(town, "/api/grids/import/adopt", file, version=str(version))
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["version"] == version + 1 and data["can_undo"] >= 1
    names = {f["properties"]["code"]: f["properties"]["name"] for f in data["grids"]["features"]}
    assert sorted(names) == codes and names[codes[0]] == "第1网格"  # imported codes and names kept
    assert data["adoption"]["unassigned"] > 0
    assert any(i["kind"] == "unassigned_unit" for i in data["issues"])  # the blocks the move left behind
    # the history says what happened, the audit log who did it
    top = town.get("/api/grids/history").get_json()["versions"][0]
    assert top["version"] == version + 1 and top["summary"].startswith("导入现有网格") and top["user"] == "town"
    audit = [a for a in app.extensions["linli.users"].audit() if a["action"] == "grid.import"]
    assert audit and "现有网格.geojson" in audit[0]["detail"]
    # a stale adoption (made on the version before) is refused with what changed since
    stale = post(town, "/api/grids/import/adopt", file, version=str(version))
    assert stale.status_code == 409 and stale.get_json()["current_version"] == version + 1
    # undo brings back the grids before, names and all
    undone = town.post("/api/grids/undo", json={"version": version + 1})
    assert undone.status_code == 200
    after = undone.get_json()
    assert sorted(f["properties"]["code"] for f in after["grids"]["features"]) == codes
    assert all(f["properties"]["name"] != "第1网格" for f in after["grids"]["features"])
    assert not any(i["kind"] == "unassigned_unit" for i in after["issues"])


def test_only_a_planner_whose_area_holds_the_grids_adopts_them(app):
    version, codes = state_of(client_of(app, "town"))
    file = [(geojson_bytes(perturbed(demo_grids(client_of(app, "town")))), "网格.geojson")]
    report = post(client_of(app, "other"), "/api/grids/import", file).get_json()  # the page is told first
    assert report["adoption"]["grids"] == 7 and report["adopt_error"].startswith("无权采用：区域 000000000000")
    assert post(client_of(app, "town"), "/api/grids/import", file).get_json()["adopt_error"] == ""
    other = post(client_of(app, "other"), "/api/grids/import/adopt", file, version=str(version))
    assert other.status_code == 403 and "无权修改区域 000000000000" in other.get_json()["error"]
    viewer = post(client_of(app, "kan"), "/api/grids/import", file)
    assert viewer.status_code == 403
    assert state_of(client_of(app, "town")) == (version, codes)


def _points(frame):
    return frame.assign(geometry=frame.geometry.representative_point())


def _zip_without_shx(frame, tmp_path) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.rename(columns={"网格编码": "code", "网格名称": "name"}).to_file(folder / "grids.shp", encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in folder.iterdir():
            if part.suffix != ".shx":
                zf.write(part, part.name)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("points", 422, "面"),
        ("no_code", 422, "没有网格编码列"),
        ("txt", 422, "类型不支持"),
        ("empty", 422, "为空"),
        ("far", 422, "研究区"),
        ("no_shx", 422, ".shx"),
        ("vrt", 422, "不是"),
        ("system", 422, "坐标系"),
    ],
)
def test_bad_files_are_refused_in_chinese_and_nothing_changes(app, tmp_path, case, status, words):
    # docs/bad-inputs.md U5, U11, U16: a Chinese 4xx naming the problem, no path, nothing stored
    town = client_of(app, "town")
    before = state_of(town)
    frame = perturbed(demo_grids(town))
    name = "网格.geojson"
    if case == "points":
        data = geojson_bytes(_points(frame))
    elif case == "no_code":
        data = geojson_bytes(frame.drop(columns="网格编码").rename(columns={"网格名称": "备注"}))
    elif case == "txt":
        data, name = b"code\n1\n", "网格.doc"
    elif case == "empty":
        data = b""
    elif case == "far":
        data = geojson_bytes(frame.set_geometry(frame.geometry.translate(30, 0)))
    elif case == "no_shx":
        data, name = _zip_without_shx(frame, tmp_path), "网格.zip"
    elif case == "system":
        data = geojson_bytes(frame)
    else:
        data = (
            b'<OGRVRTDataSource><OGRVRTLayer name="x">'
            b"<SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
        )
    system = "utm50" if case == "system" else "wgs84"
    for url in ("/api/grids/import", "/api/grids/import/adopt", "/api/grids/systems"):
        answer = post(town, url, [(data, name)], version=str(before[0]), system=system)
        body = answer.get_json()
        assert answer.status_code == status, (case, url, body)
        assert words in body["error"] and "/tmp" not in body["error"] and "root:" not in body["error"]
    assert state_of(town) == before


def test_codes_that_cannot_be_adopted_are_reported_then_refused(app):
    # a repeated code is listed by the check; adopting it is refused (422), nothing changes
    town = client_of(app, "town")
    before = state_of(town)
    frame = perturbed(demo_grids(town))
    frame.loc[1, "网格编码"] = frame.loc[0, "网格编码"]
    file = [(geojson_bytes(frame), "重复.geojson")]
    report = post(town, "/api/grids/import", file).get_json()
    assert any(i["kind"] == "duplicate_code" for i in report["issues"])
    assert report["adoption"] is None and "重复" in report["adopt_error"]
    refused = post(town, "/api/grids/import/adopt", file, version=str(before[0]))
    assert refused.status_code == 422 and "重复" in refused.get_json()["error"]
    missing = post(town, "/api/grids/import/adopt", [(geojson_bytes(perturbed(demo_grids(town))), "a.geojson")])
    assert missing.status_code == 422 and "version" in missing.get_json()["error"]
    assert state_of(town) == before


def test_a_zipped_shapefile_and_an_excel_list_are_read(app, tmp_path):
    town = client_of(app, "town")
    frame = perturbed(demo_grids(town)).to_crs(32635)  # a Shapefile in UTM metres (its .prj says so)
    folder = tmp_path / "shp"
    folder.mkdir()
    # field names within a .dbf's 10 bytes: 编码 and 名称 are 6 bytes each in UTF-8
    frame.rename(columns={"网格编码": "编码", "网格名称": "名称"}).to_file(folder / "网格.shp", encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    shp = post(town, "/api/grids/import", [(buffer.getvalue(), "网格.zip")])
    assert shp.status_code == 200, shp.get_json()
    assert shp.get_json()["count"] == 7 and shp.get_json()["adoption"]["grids"] == 7
    # an Excel list of codes and the buildings they hold, matched to the demo's named buildings
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["网格编码", "网格名称", "所辖楼栋"])
    sheet.append([f"{COMMUNITY}01", "一网格", "Hopeatalo"])
    sheet.append([f"{COMMUNITY}02", "二网格", "不存在的楼"])
    out = io.BytesIO()
    book.save(out)
    listed = post(town, "/api/grids/import", [(out.getvalue(), "网格清单.xlsx")])
    assert listed.status_code == 200, listed.get_json()
    data = listed.get_json()
    assert data["count"] == 1 and data["grids"]["features"][0]["properties"]["name"] == "一网格"
    unmatched = [i for i in data["issues"] if i["kind"] == "unmatched_place"]
    assert len(unmatched) == 2 and "第 3 行" in unmatched[0]["message"]  # the name, then its grid of nothing


def strips(client, parts: int, prefix: str) -> gpd.GeoDataFrame:
    """The demo's grid area cut into ``parts`` vertical strips (another system), WGS84."""
    area = shapely.union_all(demo_grids(client).geometry.to_numpy())
    x0, y0, x1, y1 = area.bounds
    xs = np.linspace(x0, x1, parts + 1)
    geoms = [area.intersection(shapely.box(a, y0, b, y1)) for a, b in itertools.pairwise(xs)]
    codes = [f"{prefix}{k + 1:02d}" for k in range(parts)]
    return gpd.GeoDataFrame({"编码": codes}, geometry=geoms, crs=32635).to_crs(4326)


def test_systems_compared_with_the_current_grids_and_the_proposal_adopted(app):
    town = client_of(app, "town")
    version, codes = state_of(town)
    files = [
        (geojson_bytes(strips(town, 3, "Z")), "综治网格.geojson"),
        (geojson_bytes(strips(town, 2, "J")), "警务网格.geojson"),
    ]
    answer = post(town, "/api/grids/systems", files)
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["systems"] == ["当前网格", "综治网格", "警务网格"]
    assert len(data["pairs"]) == 3  # every pair of the three systems
    pair = next(p for p in data["pairs"] if p["system_b"] == "综治网格" and p["system_a"] == "当前网格")
    assert 0 < pair["disagree_households"] <= pair["households"]
    # the disagreement on the map: the households there, which systems disagree
    diff = data["disagreement"]["features"]
    assert diff and all(f["properties"]["systems"] for f in diff)
    # the layer is the union of every pair's disagreement: at least the largest pair's households, at most all
    affected = sum(f["properties"]["households"] for f in diff)
    worst = max(p["disagree_households"] for p in data["pairs"])
    assert worst - 1 <= affected <= pair["households"] + 1
    # each current grid's best match in each system, with the share of its area
    assert [m["code"] for m in data["matches"]] == codes
    for m in data["matches"]:
        assert m["best"]["综治网格"]["code"].startswith("Z") and 0 < m["best"]["综治网格"]["share_pct"] <= 100
    # the merged proposal: whole pieces, every household
    proposal = data["proposal"]["features"]
    assert len(proposal) == data["proposal_count"] > 0
    total = sum(m["households"] for m in data["matches"])
    assert sum(f["properties"]["households"] for f in proposal) == pytest.approx(total, rel=0.01)
    assert state_of(town) == (version, codes)  # nothing kept
    # adopted as one version, undoable
    adopted = post(town, "/api/grids/systems/adopt", files, version=str(version))
    assert adopted.status_code == 200, adopted.get_json()
    assert adopted.get_json()["version"] == version + 1
    top = town.get("/api/grids/history").get_json()["versions"][0]
    assert top["summary"].startswith("采用多网合一方案")
    stale = post(town, "/api/grids/systems/adopt", files, version=str(version))
    assert stale.status_code == 409
    assert town.post("/api/grids/undo", json={"version": version + 1}).status_code == 200
    assert state_of(town)[1] == codes
    # one system is enough (it is compared with the current grids); five are too many
    too_many = post(town, "/api/grids/systems", files * 3)
    assert too_many.status_code == 422 and "最多" in too_many.get_json()["error"]
    audit = [a for a in app.extensions["linli.users"].audit() if a["action"] == "grid.merge_systems"]
    assert audit and json.loads(audit[0]["detail"])["systems"] == "综治网格、警务网格"


def test_a_file_over_the_upload_limit_is_a_413_and_no_file_is_a_422(app):
    # docs/bad-inputs.md U1: the app's limit (16 MB) made small; the body stays in memory
    town = client_of(app, "town")
    before = state_of(town)
    big = geojson_bytes(perturbed(demo_grids(town))) + b" " * 200_000
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    try:
        for url in ("/api/grids/import", "/api/grids/import/adopt", "/api/grids/systems"):
            answer = post(town, url, [(big, "网格.geojson")], version=str(before[0]))
            assert answer.status_code == 413 and "过大" in answer.get_json()["error"], url
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    nothing = town.post("/api/grids/import", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "没有上传网格文件" in nothing.get_json()["error"]
    assert state_of(town) == before
