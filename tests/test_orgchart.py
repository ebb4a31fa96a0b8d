"""The "支部建在网格" organisation chart: community -> grids -> micro-grids with their people,
names masked by default, paged for the wall when a community has many grids."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from PIL import Image

from geo.errors import InputDataError
from geo.grids import orgchart
from geo.grids.levels import LevelPlan, generate_levels
from geo.grids.orgchart import ORG_HEADERS, organisation_chart, organisation_nodes, place_people
from geo.grids.rosters import Roster
from tests.test_grid_levels import COMMUNITY, _parent
from tests.test_grids import squares


@pytest.fixture(scope="module")
def town() -> LevelPlan:
    # 12 x 10 buildings of 20 households: 2,400 households in 5-8 grids of 300-500, micro-grids of 10-50.
    units = squares(12, 10, 20.0)
    return generate_levels(units, _parent(units), min_households=300, max_households=500)


def _people(town: LevelPlan) -> pd.DataFrame:
    g, m = town.grids.codes, town.micro.codes
    return pd.DataFrame(
        {
            "grid_code": [g[0], g[0], m[0], m[0], m[1], ""],
            "role": ["网格长", "网格员", "楼栋长", "党员中心户", "楼栋长", "网格长"],
            "name": ["张三", "李四", "王五", "赵六", "欧阳修文", "未落格"],
        }
    )


def test_nodes_carry_three_levels_and_masked_people(town):
    nodes = organisation_nodes(town, people=_people(town))
    assert list(nodes.columns) == list(ORG_HEADERS)
    levels = nodes["level"].value_counts().to_dict()
    assert levels == {"社区/村": 1, "网格": len(town.grids.codes), "微网格": len(town.micro.codes)}
    assert nodes["level"].iat[0] == "社区/村" and nodes["households"].iat[0] == pytest.approx(2400)
    # every micro-grid comes right after its grid: the row order nests
    current = ""
    for level, code, parent in nodes[["level", "code", "parent"]].itertuples(index=False):
        if level == "网格":
            current = code
            assert parent == COMMUNITY
        elif level == "微网格":
            assert parent == current and code.startswith(current)
    by_code = nodes.set_index("code")
    first_grid, first_micro = town.grids.codes[0], town.micro.codes[0]
    assert by_code.loc[first_grid, "grid_head"] == "张*"
    assert by_code.loc[first_grid, "grid_workers"] == "李*"
    assert by_code.loc[first_micro, "building_heads"] == "王*"
    assert by_code.loc[first_micro, "central_households"] == "赵*"
    assert by_code.loc[town.micro.codes[1], "building_heads"] == "欧***"
    assert not nodes.isin(["未落格"]).any().any()
    clear = organisation_nodes(town, people=_people(town), show_personal=True).set_index("code")
    assert clear.loc[first_grid, "grid_head"] == "张三"
    # micro households add up to their grid's
    micro = nodes[nodes["level"] == "微网格"].groupby("parent")["households"].sum()
    grids = nodes[nodes["level"] == "网格"].set_index("code")["households"]
    assert micro.reindex(grids.index).to_numpy() == pytest.approx(grids.to_numpy())


def test_chart_pages_png_and_pdf(town, tmp_path):
    nodes = organisation_nodes(town, people=_people(town))
    png = organisation_chart(nodes, tmp_path / "架构.png")
    assert png == [tmp_path / "架构.png"]  # 5-8 grids of 13 micro-grids fit on one A3 page
    with Image.open(png[0]) as image:
        assert image.size[0] > image.size[1] > 1500  # A3 landscape at 150 dpi: 2480 x 1753
    pdf = organisation_chart(nodes, tmp_path / "架构.pdf")[0]
    assert _pdf_pages(pdf) == 1
    with pytest.raises(InputDataError, match="PDF、PNG 或 SVG"):
        organisation_chart(nodes, tmp_path / "架构.docx")
    with pytest.raises(InputDataError, match="没有社区"):
        organisation_chart(nodes[nodes["level"] != "社区/村"], tmp_path / "x.png")


def _pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes()))


def test_a_community_of_many_grids_runs_over_pages(tmp_path, monkeypatch):
    # 60 grids of 10 micro-grids each: a card is (8 + 10 + 1) lines x 3.6 mm = 68.4 mm; 233 mm of a
    # page's height below the community box holds 3 cards per column (3 x 74.4 mm with the gaps),
    # 4 columns: 12 cards a page, so 5 pages.
    rows = [{"level": "社区/村", "code": "C", "name": "大社区", "parent": "", "households": 24_000.0}]
    for g in range(60):
        gc = f"C{g:02d}"
        rows.append({"level": "网格", "code": gc, "name": f"第{g}网格", "parent": "C", "households": 400.0})
        rows += [
            {"level": "微网格", "code": f"{gc}{m:02d}", "name": "", "parent": gc, "households": 40.0} for m in range(10)
        ]
    nodes = pd.DataFrame(rows).reindex(columns=list(ORG_HEADERS))
    people = [c for c in ORG_HEADERS if c not in ("households",)]
    nodes[people] = nodes[people].astype(object).where(nodes[people].notna(), "")
    pngs = organisation_chart(nodes, tmp_path / "大.png")
    assert [p.name for p in pngs] == ["大.png", "大_2.png", "大_3.png", "大_4.png", "大_5.png"]
    assert _pdf_pages(organisation_chart(nodes, tmp_path / "大.pdf")[0]) == 5
    monkeypatch.setattr(orgchart, "MAX_IMAGE_PAGES", 2)  # a county's many pages: the PDF has them all
    assert len(organisation_chart(nodes, tmp_path / "县.png")) == 2


def test_people_placed_in_micro_grids_by_coordinates(town):
    import geopandas as gpd

    from geo.grids.output import grids_gdf

    grids = grids_gdf(town.grids)
    micro = grids_gdf(town.micro)
    inside = micro.to_crs(4326).geometry.representative_point().iloc[0]
    roster = Roster(
        pd.DataFrame(
            {
                "line": [2, 3],
                "role": ["楼栋长", "网格长"],
                "name": ["王五", "张三"],
                "phone": ["", ""],
                "grid": ["", ""],
                "compound": ["", ""],
                "building": ["", ""],
                "address": ["", ""],
                "lon": [inside.x, inside.x],
                "lat": [inside.y, inside.y],
            }
        ),
        "名册.csv",
    )
    people = place_people(roster, grids, micro)
    # the building head goes to the micro-grid, the grid head to the grid holding the same point
    assert people["grid_code"].tolist() == [micro["code"].iat[0], micro["code"].iat[0][:-2]]
    assert isinstance(grids, gpd.GeoDataFrame)


def test_script_writes_the_chart_with_micro_grids_and_roster_people(tmp_path):
    from geo.project import load_project
    from scripts.grids import main

    homes = load_project("demo").demand.to_crs(4326).geometry.representative_point()
    roster = pd.DataFrame(
        {
            "姓名": ["张三", "李四"],
            "角色": ["网格长", "楼栋长"],
            "经度": [homes.x.iat[0], homes.x.iat[1]],
            "纬度": [homes.y.iat[0], homes.y.iat[1]],
        }
    )
    roster.to_csv(tmp_path / "名册.csv", index=False, encoding="utf-8-sig")
    out = tmp_path / "demo.gpkg"
    args = ["--project", "demo", "--out", str(out), "-q", "--no-coverage", "--levels"]
    assert main([*args, "--roster", str(tmp_path / "名册.csv"), "--roster-system", "wgs84"]) == 0
    table = pd.read_excel(tmp_path / "demo_orgchart.xlsx", sheet_name="组织架构", dtype=str).fillna("")
    assert set(table["层级"]) == {"社区/村", "网格", "微网格"}
    assert (table["网格长"] == "张*").sum() == 1 and (table["楼栋长"] == "李*").sum() == 1
    assert table.loc[table["楼栋长"] == "李*", "层级"].iat[0] == "微网格"
    assert not table.isin(["张三", "李四"]).any().any()
    assert (tmp_path / "demo_orgchart.png").stat().st_size > 10_000
    assert _pdf_pages(tmp_path / "demo_orgchart.pdf") >= 1
