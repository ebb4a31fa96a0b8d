"""The org chart numbers a micro-grid by its code after its grid's, and shows a micro-grid's own
楼栋长 field (geo/grids/orgchart.py, h-micro3, issue 20), on the toy street of tests/test_grids_micro.py."""

from __future__ import annotations

import dataclasses

from geo.grids.levels import LevelPlan
from geo.grids.orgchart import _card_lines, micro_label, organisation_nodes
from tests.test_grids_micro import levels  # noqa: F401  (the toy street's fixture)


def test_micro_label_is_the_code_after_the_grid_code():
    assert micro_label("0000000000000103", "00000000000001") == "03"  # 14-digit grid + 2 digits
    assert micro_label("G0112", "G01") == "12"
    assert micro_label("G01123", "G01") == "123"  # a grid with over 99 micro-grids: 3 digits
    assert micro_label("G0201", "G01") == "G0201"  # coded under another grid (not nested): the whole code
    assert micro_label("G01", "G01") == "G01" and micro_label("G0101", "") == "G0101"


def test_wall_chart_card_numbers_micro_grids_and_shows_their_building_head(levels):  # noqa: F811
    grids, micro = levels
    fields = {c: dict(f) for c, f in micro.fields.items()}
    fields["G0102"]["building_head"] = "王小五"
    micro = dataclasses.replace(micro, fields=fields)
    nodes = organisation_nodes(LevelPlan(grids=grids, micro=micro))
    row = nodes.set_index("code").loc["G0102"]
    assert row["building_heads"] == "王**"  # masked by default
    clear = organisation_nodes(LevelPlan(grids=grids, micro=micro), show_personal=True).set_index("code")
    assert clear.loc["G0102", "building_heads"] == "王小五"
    grid = nodes.set_index("code").loc["G01"].copy()
    grid["code"] = "G01"
    mine = nodes[(nodes["level"] == "微网格") & (nodes["parent"] == "G01")]
    lines = [text for text, _ in _card_lines(grid, mine, 60)]
    micro_lines = [line for line in lines if line.startswith("· ")]
    # each micro-grid by its number under G01 (01, 02), not the last three characters (101, 102)
    assert [line.split()[1] for line in micro_lines] == ["01", "02"]
    assert "楼栋长 王**" in micro_lines[1]
