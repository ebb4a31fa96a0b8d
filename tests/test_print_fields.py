"""The print layouts' title block (编制单位, 编制人, 审核人, 审图号, 日期) set per project, and a
plan's own candidates printed with what each adds (issue 21)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pypdf
import pytest

from geo.errors import InputDataError
from geo.maps import content as maps
from geo.maps.layout import print_fields, render_layout
from geo.project import PROJECTS_DIR, load_project

ORG = "惠安县自然资源局"


def test_fields_merge_project_then_request():
    project = {"organisation": ORG, "审核人": "李四", "approval_no": ""}
    fields = print_fields(project, {"author": "张三", "reviewer": None, "organisation": ""})
    # None keeps the project's value, "" clears it (a blank line), Chinese keys are accepted.
    assert fields == {"organisation": "", "author": "张三", "reviewer": "李四", "approval_no": "", "date": ""}
    assert print_fields()["approval_no"] is None  # no 审图号 line unless someone asks for one


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"checker": "x"}, "打印字段 'checker' 无效"),
        ({"author": "x" * 101}, "不超过 100"),
        ({"author": "a\nb"}, "控制字符"),
    ],
)
def test_bad_fields_are_refused(given, words):
    with pytest.raises(InputDataError, match=words):
        print_fields(overrides=given)


def _project_file(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "县 项目.toml"
    path.write_text((PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    return path


def test_project_print_section(tmp_path):
    path = _project_file(tmp_path, f'[print]\n"编制单位" = "{ORG}"\nreviewer = "李四"\napproval_no = ""\n')
    project = load_project(path, cache_dir=None)
    assert project.print_fields == {"organisation": ORG, "reviewer": "李四", "approval_no": ""}
    assert load_project("demo", cache_dir=None).print_fields == {}


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ('[print]\nsigner = "x"\n', "打印字段 'signer' 无效"),
        ('print = "x"\n', "应为表"),
        ("[print]\nauthor = 3\n", "应为不超过"),
    ],
)
def test_bad_print_section_is_refused(tmp_path, section, words):
    text = (PROJECTS_DIR / "demo.toml").read_text(encoding="utf-8")
    path = tmp_path / "bad.toml"
    # A bare key must come before any table: put it first.
    path.write_text(section + text if not section.startswith("[") else text + "\n" + section, encoding="utf-8")
    with pytest.raises(InputDataError, match=words):
        load_project(path, cache_dir=None)


def test_title_block_prints_every_field_and_blanks(demo_project, tmp_path):
    from geo.access.coverage import accessibility

    acc = accessibility(demo_project.network.cost_graph("walk"), demo_project.demand, demo_project.facilities)
    content = maps.coverage_content(acc, "medical", network=demo_project.network)
    fields = print_fields(
        {"organisation": ORG, "approval_no": "闽S(2026)001号"}, {"reviewer": "李四", "date": "2026-12-06"}
    )
    text = maps.coverage_text(acc, "medical", project_name="演示", **fields)
    path = render_layout(content, tmp_path / "图.pdf", text=text)
    page = pypdf.PdfReader(path).pages[0].extract_text()
    for expected in (f"编制单位: {ORG}", "审核人: 李四", "审图号: 闽S(2026)001号", "日期: 2026-12-06"):
        assert expected in page
    assert "编制人: __________" in page  # not given: a blank line, never invented


# ------------------------------------------------------------------ a plan's candidates


@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    from webapp import create_app

    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _plan(client, features) -> int:
    plan = client.post("/api/plans", json={"name": "打印 方案"}).get_json()
    assert client.put(f"/api/plans/{plan['id']}", json={"version": 1, "features": features}).status_code == 200
    return plan["id"]


CANDIDATES = [
    {"kind": "candidate", "name": "中心 A", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}},
    {"kind": "candidate", "name": "$5 站", "geometry": {"type": "Point", "coordinates": [24.9405, 60.1685]}},
]


def test_plan_candidates_printed_with_what_each_adds(writer):
    plan_id = _plan(writer, CANDIDATES)
    response = writer.get(f"/api/export/plans/{plan_id}.pdf?reviewer=%E6%9D%8E%E5%9B%9B")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "方案「打印 方案」候选中心" in text and "审核人: 李四" in text
    assert "1. 中心 A" in text and "2. $5 站" in text  # '$' printed as itself
    assert "合计" in text
    sheet = writer.get(f"/api/export/plans/{plan_id}.xlsx")
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(sheet.data))
    rows = list(book["新增覆盖"].iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "候选中心名称", "功能")
    assert {r[1] for r in rows[1:]} == {"中心 A", "$5 站"}
    added = [r[4] for r in rows[1:]]
    assert all(isinstance(v, int) and v >= 0 for v in added)  # whole residents


def test_plan_print_matches_the_evaluate_route(writer):
    """The printed figures are the ones the page's 评估 shows (one computation, two faces)."""
    plan_id = _plan(writer, CANDIDATES[:1])
    body = writer.post("/api/evaluate-plan", json={"sites": [CANDIDATES[0]["geometry"]]}).get_json()
    sheet = writer.get(f"/api/export/plans/{plan_id}.xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.data))["新增覆盖"].iter_rows(values_only=True))
    printed = {r[2]: r[4] for r in rows[1:]}
    expected = {c["function_zh"]: round(c["newly_covered"]) for c in body["candidates"]}
    assert printed == expected


def test_plan_without_candidates_is_a_422(writer):
    square = [[[24.938, 60.168], [24.942, 60.168], [24.942, 60.171], [24.938, 60.168]]]
    plan_id = _plan(writer, [{"kind": "area", "name": "范围", "geometry": {"type": "Polygon", "coordinates": square}}])
    for fmt in ("pdf", "png", "xlsx", "csv"):
        response = writer.get(f"/api/export/plans/{plan_id}.{fmt}")
        assert response.status_code == 422 and "没有候选中心" in response.get_json()["error"]
    response = writer.get(f"/api/export/plans/{plan_id}.pdf?reviewer=a%0Ab")
    assert response.status_code == 422


def test_export_map_script_takes_the_project_fields(tmp_path):
    from scripts.export_map import main

    project = _project_file(tmp_path, f'[print]\norganisation = "{ORG}"\nreviewer = "李四"\n')
    out = tmp_path / "图"
    args = ["--project", str(project), "--map", "coverage", "--function", "medical", "--format", "pdf"]
    assert main([*args, "--out", str(out), "--author", "张三", "-q"]) == 0
    (pdf,) = out.glob("*.pdf")
    text = pypdf.PdfReader(pdf).pages[0].extract_text()
    assert f"编制单位: {ORG}" in text and "审核人: 李四" in text and "编制人: 张三" in text
    assert "审图号" not in text  # neither the project nor the options asked for one
