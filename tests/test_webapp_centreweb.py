"""The web placement counts the plan's centres and takes the page's weight; the wall map's title block (issue 21).

* A saved plan whose linked centre (多点串联: a clinic and a day-care home) is open changes the
  placement's before-coverage exactly as ``scripts.place_centers --centres`` does with the same
  centres in a ledger; up to a phase counts the later centres too; a counted site is not a
  candidate again; the result and the 选址 print say which centres were counted.
* ``weight`` (人口口径) counts the elderly instead of residents: the objective is the elderly
  newly covered, as the script's ``--weight`` gives on the same project.
* ``POST /api/programme/map.pdf`` prints the title block (编制单位, 编制人, 审核人, 审图号, 日期)
  over the project's ``[print]`` section, as the other prints.
"""

from __future__ import annotations

import io

import pyogrio
import pypdf
import pytest

from geo.project import PROJECTS_DIR
from webapp import create_app


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


#: On the demo's streets (central Helsinki): an open linked centre of two sites, each hosting one
#: function, and a planned centre of phase 2.
FEATURES = [
    {
        "kind": "candidate",
        "name": "卫生站",
        "geometry": _point(24.9400, 60.1720),
        "properties": {
            "centre": "议会多点中心",
            "centre_kind": "linked",
            "functions": "medical",
            "status": "open",
            "phase": 1,
        },
    },
    {
        "kind": "candidate",
        "name": "照料中心",
        "geometry": _point(24.9420, 60.1730),
        "properties": {"centre": "议会多点中心", "functions": "elderly"},
    },
    {
        "kind": "candidate",
        "name": "南区中心",
        "geometry": _point(24.9420, 60.1660),
        "properties": {"status": "planned", "phase": 2},
    },
]
#: The same centres as a programme ledger (建设台账) for the script.
LEDGER = """惠安县邻里中心建设台账
中心名称,站点名称,类型,角色,服务功能,状态,目标日期,期次,经度,纬度
议会多点中心,卫生站,多点串联,,病有所医,已建成,,1,24.9400,60.1720
议会多点中心,照料中心,多点串联,,老有所养,,,1,24.9420,60.1730
南区中心,南区中心,,,全部,规划,,2,24.9420,60.1660
"""


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture(scope="module")
def plan_id(app):
    r = _client(app).post("/api/plans", json={"name": "中心计入选址", "features": FEATURES})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _job(app, params: dict) -> dict:
    r = _client(app).post("/api/jobs", json={"kind": "placement", "params": params})
    assert r.status_code == 202, r.get_json()
    job = app.extensions["linli.jobs"].wait(r.get_json()["id"], 300)
    assert job["status"] == "done", job["message"]
    return job


def _run(app, params: dict) -> dict:
    return _job(app, params)["result"]


def _before(result: dict) -> dict[str, float]:
    return {row["function_zh"]: row["covered_before"] for row in result["coverage"]}


def test_an_open_linked_centre_counts_as_the_scripts_centres_do(app, plan_id, tmp_path):
    from scripts.place_centers import main

    params = {"model": "mclp", "new": 1, "function": "elderly", "minutes": 15, "plan": plan_id}
    counted = _run(app, {**params, "candidates": "network"})  # centres: open, the default
    ignored = _run(app, {**params, "candidates": "network", "centres": "none"})
    # The result says which centres it counted, site by site with their functions.
    block = counted["centres"]
    assert (block["mode"], block["plan"], counted["params"]["centres"]) == ("open", plan_id, "open")
    assert [(r["centre"], r["site"], r["kind"], r["functions"]) for r in block["counted"]] == [
        ("议会多点中心", "卫生站", "linked", "medical"),
        ("议会多点中心", "照料中心", "linked", "elderly"),
    ]
    assert "议会多点中心（多点串联，2 处站点：卫生站 病有所医；照料中心 老有所养）" in block["text_zh"]
    assert ignored["centres"]["counted"] == [] and "未计入" in ignored["centres"]["text_zh"]
    # The demo has no elderly care: the day-care home of the linked centre is the only one, and the
    # existing facilities of 老有所养 the placement keeps open are that one site.
    assert ignored["params"]["existing"] == 0 and counted["params"]["existing"] == 1
    assert _before(ignored)["老有所养"] == 0 < _before(counted)["老有所养"]
    # The clinic adds to 病有所医 only; nothing else changes.
    assert _before(counted)["病有所医"] >= _before(ignored)["病有所医"]

    # The script with the same centres in a ledger: the same before-coverage, function by function.
    ledger = tmp_path / "建设台账.csv"
    ledger.write_text(LEDGER, encoding="utf-8-sig")
    out = tmp_path / "选址.gpkg"
    argv = ["--project", "demo", "--model", "mclp", "--new", "1", "--functions", "elderly", "-q"]
    assert main([*argv, "--centres", str(ledger), "--centres-system", "wgs84", "--out", str(out)]) == 0
    script = pyogrio.read_dataframe(out, layer="覆盖统计").set_index("所属功能")["布点前覆盖人口 (人)"]
    assert set(script.index) == set(_before(counted))
    for function_zh, value in _before(counted).items():
        assert value == pytest.approx(float(script[function_zh]), abs=0.01), function_zh
    # The script's summary names the centres it counted in the same words as the page's result.
    summary = pyogrio.read_dataframe(out, layer="方案汇总", read_geometry=False)
    assert summary["计入的邻里中心"].iloc[0] == block["text_zh"]


def test_up_to_a_phase_and_a_counted_site_is_no_candidate(app, plan_id):
    params = {"model": "mclp", "new": 1, "function": "medical", "minutes": 15, "plan": plan_id}
    phase = _run(app, {**params, "candidates": "network", "centres": "phase", "centres_phase": 2})
    opened = _run(app, {**params, "candidates": "network"})
    assert [r["centre"] for r in phase["centres"]["counted"]] == ["议会多点中心", "议会多点中心", "南区中心"]
    assert "第 2 期及以前的邻里中心 2 个" in phase["centres"]["text_zh"]
    # 南区中心 hosts every function: 老有所养 (the day-care home's only, so far) counts its residents too.
    assert _before(phase)["老有所养"] > _before(opened)["老有所养"]
    assert all(_before(phase)[f] >= _before(opened)[f] for f in _before(opened))
    # Among the plan's own candidates, the two open sites are existing facilities: only 南区中心 is left.
    among = _run(app, {**params, "function": "elderly", "candidates": "plan"})
    assert [(round(s["lon"], 4), round(s["lat"], 4)) for s in among["sites"]] == [(24.942, 60.166)]


def test_the_placement_print_says_which_centres_were_counted(app, plan_id):
    job = _job(app, {"model": "mclp", "new": 1, "function": "elderly", "plan": plan_id, "candidates": "network"})
    pdf = _client(app).get(f"/api/export/map.pdf?map=placement&function=elderly&job={job['id']}")
    assert pdf.status_code == 200, pdf.get_json()
    text = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "议会多点中心" in text and "多点串联" in text
    assert "现有 1 处设施保留" in text  # the day-care home, the one existing 老有所养 facility


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"centres": "later"}, "centres='later' 无效"),
        ({"centres": "phase"}, "centres_phase 应为 1-99"),
        ({"centres": "phase", "centres_phase": 0}, "centres_phase 应为 1-99"),
        ({"centres": "phase", "centres_phase": True}, "centres_phase 应为 1-99"),
        ({"weight": "hardship"}, "不可用"),
    ],
)
def test_bad_centre_and_weight_options_are_refused(app, plan_id, change, words):
    body = {"kind": "placement", "params": {"plan": plan_id, "candidates": "network", **change}}
    r = _client(app).post("/api/jobs", json=body)
    assert r.status_code == 422, r.get_json()
    assert words in r.get_json()["error"]


def test_a_plan_whose_programme_is_wrong_is_refused_at_once(app):
    bad = [{**FEATURES[0], "properties": {"centre": "孤站", "centre_kind": "linked", "status": "open"}}]
    plan = _client(app).post("/api/plans", json={"name": "坏方案", "features": bad}).get_json()
    params = {"plan": plan["id"], "candidates": "network"}
    r = _client(app).post("/api/jobs", json={"kind": "placement", "params": params})
    assert r.status_code == 422 and "应有 2 个以上站点" in r.get_json()["error"]
    # Not counting the centres, the same plan's placement runs.
    assert _run(app, {**params, "centres": "none"})["centres"]["counted"] == []


# ------------------------------------------------------------------------ the weight


@pytest.fixture(scope="module")
def guixi(tmp_path_factory):
    # Guixi's made-up compound ledger carries 60岁以上人口 per compound: the weight "elderly".
    return create_app({"TESTING": True, "PROJECT": "guixi", "instance_path": tmp_path_factory.mktemp("g")})


def test_the_weight_changes_the_objective_as_the_scripts_weight(guixi, tmp_path):
    from scripts.place_centers import main

    params = {"model": "mclp", "new": 2, "function": "medical", "minutes": 15}
    plain = _run(guixi, params)
    aged = _run(guixi, {**params, "weight": "elderly"})
    assert (plain["params"]["weight"], aged["params"]["weight"]) == (None, "elderly")
    medical = next(r for r in aged["coverage"] if r["function"] == "medical")
    assert medical["basis"] == "elderly"
    # Hand check: the MCLP with the existing clinics open maximises the elderly newly covered for
    # 病有所医 (those the clinics reach weigh nothing), so its objective is exactly that number.
    assert aged["summary"]["objective"] == pytest.approx(medical["covered_after"] - medical["covered_before"], abs=0.01)
    plain_medical = next(r for r in plain["coverage"] if r["function"] == "medical")
    assert plain["summary"]["objective"] == pytest.approx(
        plain_medical["covered_after"] - plain_medical["covered_before"], abs=0.01
    )
    assert aged["summary"]["objective"] < plain["summary"]["objective"]  # the elderly are fewer than residents
    # The script's --weight on the same project: the same objective.
    out = tmp_path / "选址.gpkg"
    argv = ["--project", "guixi", "--model", "mclp", "--new", "2", "--functions", "medical", "-q", "--lang", "en"]
    assert main([*argv, "--weight", "elderly", "--out", str(out)]) == 0
    objective = float(pyogrio.read_dataframe(out, layer="summary", read_geometry=False)["objective"].iloc[0])
    assert aged["summary"]["objective"] == pytest.approx(objective, rel=1e-6)


# ------------------------------------------------------------------------ the wall map's title block


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proj")
    path = folder / "演示 打印.toml"
    section = '\n[print]\n"编制单位" = "惠安县自然资源局"\nreviewer = "李四"\n'
    path.write_text((PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8") + section, encoding="utf-8")
    app = create_app({"TESTING": True, "PROJECT": str(path), "instance_path": folder / "instance"})
    return _client(app)


def test_the_wall_map_prints_the_title_block(printed):
    body = {"features": FEATURES, "today": "2026-12-06", "paper": "A4"}
    pdf = printed.post("/api/programme/map.pdf", json={**body, "author": "张三", "approval_no": "闽S(2026)001号"})
    assert pdf.status_code == 200, pdf.get_json()
    text = pypdf.PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    # The project's [print] fields, the page's over them; the date is the programme's day.
    for expected in ("编制单位: 惠安县自然资源局", "审核人: 李四", "编制人: 张三", "审图号: 闽S(2026)001号"):
        assert expected in text, expected
    assert "日期: 2026-12-06" in text
    # An empty value clears the project's (a blank line to fill in); a date the page gives is printed.
    again = printed.post("/api/programme/map.pdf", json={**body, "reviewer": "", "date": "2026年12月"})
    text = pypdf.PdfReader(io.BytesIO(again.data)).pages[0].extract_text()
    assert "审核人: ____" in text and "日期: 2026年12月" in text and "审图号" not in text
    for bad in ({"reviewer": "a\nb"}, {"approval_no": 3}, {"organisation": "x" * 101}):
        r = printed.post("/api/programme/map.pdf", json={**body, **bad})
        assert r.status_code == 422 and "打印字段" in r.get_json()["error"]
