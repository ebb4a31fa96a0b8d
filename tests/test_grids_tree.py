"""Organisation tree of grids: table with the division names above each grid, SVG/PNG diagram."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.edits import apply_edit
from geo.grids.partition import generate_grids
from geo.grids.tree import TREE_HEADERS, organisation_diagram, organisation_table
from geo.io.export import formula_safe
from tests.test_grids import EPSG, X0, Y0, squares


@pytest.fixture(scope="module")
def plan():
    # two Hui'an communities of 4 x 4 squares x 50 households = 800 each; bounds 150-250 -> 4 grids each
    parents = gpd.GeoDataFrame(
        {"code": ["350521100001", "350521101002"], "name": ["", "自定名称"]},
        geometry=[shapely.box(X0, Y0 - 400, X0 + 400, Y0), shapely.box(X0 + 400, Y0 - 400, X0 + 800, Y0)],
        crs=EPSG,
    )
    plan = generate_grids(squares(4, 8, 50.0), parents, min_households=150, max_households=250)
    first = plan.codes[0]
    for field, value in (
        ("grid_member", "张三 $x$"),
        ("branch", "=HYPERLINK(1)"),
        ("central_households", ["李四", "王五"]),
    ):
        plan = apply_edit(plan, {"op": "set", "grid": first, "field": field, "value": value})
    return plan


def test_table_names_every_level(plan):
    table = organisation_table(plan)
    assert list(table.columns) == list(TREE_HEADERS)
    assert len(table) == 8
    assert set(table["county"]) == {"惠安县"}
    assert table.groupby("town_code")["town"].first().to_dict() == {"350521100": "螺城镇", "350521101": "螺阳镇"}
    # the official village name when the parent has none; the parent's own name wins
    row = table.set_index("code").loc[plan.codes[0]]
    assert row["community"] == "北关社区居委会"
    assert set(table.loc[table["community_code"] == "350521101002", "community"]) == {"自定名称"}
    assert (row["grid_member"], row["branch"], row["central_households"]) == ("张三 $x$", "=HYPERLINK(1)", "李四、王五")
    assert table["households"].sum() == 1600.0


def test_table_for_unofficial_parent_codes():
    plan = generate_grids(squares(2, 2, 100.0), parent_code="DEMO", parent_name="演示")
    table = organisation_table(plan, names={})
    assert table[["county_code", "town_code", "community", "code"]].values.tolist() == [["", "", "演示", "DEMO01"]]
    # the placeholder parent code has 12 digits but no known county above it
    plan = generate_grids(squares(2, 2, 100.0))
    table = organisation_table(plan)
    assert table[["county_code", "town_code", "code"]].values.tolist() == [["", "", "00000000000001"]]


def test_spreadsheet_safe_prefixes_formulas():
    frame = pd.DataFrame({"a": ["=1+1", "+x", "ok", "-3", "@SUM"], "b": [1, 2, 3, 4, 5]})
    assert formula_safe(frame)["a"].tolist() == ["'=1+1", "'+x", "ok", "'-3", "'@SUM"]
    assert formula_safe(frame)["b"].tolist() == [1, 2, 3, 4, 5]


def test_diagram_svg_and_png(plan, tmp_path):
    table = organisation_table(plan)
    svg = organisation_diagram(table, tmp_path / "组织 架构.svg")
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    png = organisation_diagram(table, tmp_path / "tree.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputDataError, match="SVG 或 PNG"):
        organisation_diagram(table, tmp_path / "tree.pdf")
    with pytest.raises(InputDataError, match="没有网格"):
        organisation_diagram(table.iloc[:0], tmp_path / "empty.png")


def test_large_tree_ends_at_the_communities(plan, tmp_path, monkeypatch):
    # A county's 800 grids would be a picture hundreds of inches tall: above
    # DIAGRAM_MAX_GRIDS the diagram draws one box per community (grids, households, residents).
    from PIL import Image

    from geo.grids import tree

    table = organisation_table(plan)
    leaves, level = tree._leaves(table)
    assert level == "grid" and len(leaves) == 8
    with Image.open(organisation_diagram(table, tmp_path / "grids.png")) as image:
        full = image.size
    monkeypatch.setattr(tree, "DIAGRAM_MAX_GRIDS", 4)
    leaves, level = tree._leaves(table)
    assert level == "community"
    assert leaves[["community_code", "grids", "households"]].values.tolist() == [
        ["350521100001", 4, 800.0],
        ["350521101002", 4, 800.0],
    ]
    with Image.open(organisation_diagram(table, tmp_path / "communities.png")) as image:
        small = image.size
    assert small[1] < full[1] / 2
