"""The organisation tree of the web app's grids (issue 20, "支部建在网格"): its nodes are those of
:func:`geo.grids.orgchart.organisation_nodes` for the current grid plan, names masked unless an
administrator asks ``?personal=1``; the wall chart (PDF, PNG) and its table (XLSX) as downloads."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from PIL import Image

from geo.grids.orgchart import ORG_HEADERS, organisation_nodes
from tests.accounts import app_with_accounts, client_of

WORKER = "张三丰 13812341234"  # a grid worker's name and phone, as planners type them into the card
CENTRES = ["李四", "王小五"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return app_with_accounts(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def named(app) -> str:
    """The first grid, given a name, a branch, a grid worker and centre households by the area's planner."""
    client = client_of(app, "town")
    code = client.get("/api/grids").get_json()["grids"]["features"][0]["properties"]["code"]
    for field, value in (
        ("name", "第一网格"),
        ("branch", "第一网格党支部"),
        ("grid_member", WORKER),
        ("central_households", CENTRES),
    ):
        answer = client.post("/api/grids/edit", json={"op": "set", "grid": code, "field": field, "value": value})
        assert answer.status_code == 200, answer.get_json()
    return code


def _plan(app):
    return next(iter(app.extensions["linli.grids"].values()))["plan"]


def test_nodes_are_those_of_the_current_plan_masked_by_default(app, named):
    viewer = client_of(app, "kan")
    answer = viewer.get("/api/grids/orgchart")  # a viewer reads the tree
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["masked"] is True and data["headers"] == ORG_HEADERS
    nodes = pd.DataFrame(data["nodes"])
    expected = organisation_nodes(_plan(app))  # the plan after the planner's four edits
    assert nodes.drop(columns="depth")[list(ORG_HEADERS)].to_dict("records") == expected.to_dict("records")
    # community first (depth 0), then its grids (depth 1); the web plan has no micro-grids
    assert nodes["depth"].tolist() == [0] + [1] * (len(nodes) - 1)
    grids = viewer.get("/api/grids").get_json()["grids"]["features"]
    assert sorted(nodes.loc[nodes["depth"] == 1, "code"]) == sorted(f["properties"]["code"] for f in grids)
    # the community's households are its grids' (demo: one community holding every grid)
    assert nodes["households"].iat[0] == pytest.approx(nodes.loc[nodes["depth"] == 1, "households"].sum())
    mine = nodes.set_index("code").loc[named]
    assert (mine["name"], mine["branch"]) == ("第一网格", "第一网格党支部")
    # names masked as 张* (geo.io.personal.mask_name: the first character, the rest starred)
    assert mine["grid_workers"] == "张" + "*" * (len(WORKER) - 1)
    assert mine["central_households"] == "李*、王**"
    text = answer.get_data(as_text=True)
    assert "张三丰" not in text and "13812341234" not in text and "李四" not in text


def test_only_an_administrator_sees_names_in_clear(app, named):
    for name in ("kan", "town"):
        for url in ("/api/grids/orgchart?personal=1", "/api/export/orgchart.xlsx?personal=1"):
            answer = client_of(app, name).get(url)
            assert answer.status_code == 403, (name, url)
            assert "管理员" in answer.get_json()["error"]
    clear = client_of(app, "root").get("/api/grids/orgchart?personal=1").get_json()
    assert clear["masked"] is False
    mine = {n["code"]: n for n in clear["nodes"]}[named]
    assert mine["grid_workers"] == WORKER and mine["central_households"] == "李四、王小五"


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_chart_downloads_pdf_png_and_xlsx(app, named):
    viewer = client_of(app, "kan")
    pdf = viewer.get("/api/export/orgchart.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert _pdf_pages(pdf.data) >= 1  # the demo's one community: one A3 page per 12-odd grid cards
    png = viewer.get("/api/export/orgchart.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.size[0] > image.size[1] > 1500  # A3 landscape at 150 dpi: 2480 x 1753
    xlsx = viewer.get("/api/export/orgchart.xlsx")
    assert xlsx.status_code == 200
    table = pd.read_excel(io.BytesIO(xlsx.data), sheet_name="组织架构", dtype=str).fillna("")
    nodes = organisation_nodes(_plan(app))
    assert list(table.columns[:3]) == ["层级", "编码", "名称"]
    assert table["编码"].tolist() == nodes["code"].tolist()  # codes as text, in the tree's order
    row = table.set_index("编码").loc[named]
    assert row["网格员"] == "张" + "*" * (len(WORKER) - 1) and row["党支部"] == "第一网格党支部"
    assert not table.isin(["李四", WORKER]).any().any()
    clear = client_of(app, "root").get("/api/export/orgchart.xlsx?personal=1")
    clear_table = pd.read_excel(io.BytesIO(clear.data), sheet_name="组织架构", dtype=str).fillna("")
    assert clear_table.set_index("编码").loc[named, "网格员"] == WORKER


def test_unknown_format_or_personal_value_is_a_422(app):
    root = client_of(app, "root")
    for url, says in (
        ("/api/export/orgchart.docx", "pdf, png, xlsx"),
        ("/api/export/orgchart.svg", "pdf, png, xlsx"),
        ("/api/grids/orgchart?personal=yes", "0, 1"),
        ("/api/export/orgchart.pdf?personal=2", "0, 1"),
    ):
        answer = root.get(url)
        assert answer.status_code == 422, url
        assert says in answer.get_json()["error"]


def test_chart_downloads_are_exports_under_admission(app):
    from webapp.limits import _kind_of

    with app.test_request_context():
        assert _kind_of("orgweb.orgchart_file") == "export"
        assert _kind_of("orgweb.orgchart_nodes") is None  # reading the tree is cheap
