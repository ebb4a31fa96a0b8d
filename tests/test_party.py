"""Compound party coverage from the compound ledger's columns: rates per community/town/area
(worked out by hand) and the map and tables of compounds without a branch."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.party import party_coverage, yes_no

X0, Y0 = 660_000.0, 2_760_000.0


@pytest.mark.parametrize(
    ("cell", "answer", "name"),
    [
        ("是", True, ""),
        ("已成立", True, ""),
        ("√", True, ""),
        ("否", False, ""),
        ("未成立", False, ""),
        ("无", False, ""),
        ("", None, ""),
        (None, None, ""),
        (float("nan"), None, ""),
        ("阳光联合党支部", True, "阳光联合党支部"),
        ("万科物业", True, "万科物业"),
    ],
)
def test_yes_no(cell, answer, name):
    assert yes_no(cell) == (answer, name)


def _ledger() -> gpd.GeoDataFrame:
    # Six compounds: west community 甲 (x < 300) with four, east community 乙 with two.
    return gpd.GeoDataFrame(
        {
            "name": ["A", "B", "C", "D", "E", "F"],
            "line": [4, 5, 6, 7, 8, 9],
            "community": ["甲社区"] * 4 + ["乙社区"] * 2,
            "所属党支部": ["甲联合党支部", "甲联合党支部", "否", "", "乙党支部", "是"],
            "党员数": ["12", "３人", "0", "5", "20", ""],
            "物业公司": ["万科物业", "无", "无", "某物业", "", "某物业"],
            "业委会": ["已成立", "未成立", "未成立", "未成立", "已成立", "否"],
        },
        geometry=[shapely.Point(X0 + x, Y0 + 50) for x in (50, 100, 150, 250, 400, 500)],
        crs=32650,
    )


def test_rates_per_community_and_area_by_hand():
    cov = party_coverage(_ledger(), area_name="示例县")
    rates = cov.rates.set_index("name")
    whole = rates.loc["示例县"]
    # known: 5 (D is blank); covered: A, B (one joint branch), E, F = 4 -> 80 %
    assert (whole["compounds"], whole["known"], whole["covered"]) == (6, 5, 4)
    assert whole["coverage_pct"] == pytest.approx(80.0)
    # branches: 甲联合党支部, 乙党支部 named, F's unnamed 是 -> 3
    assert whole["branches"] == 3
    assert whole["members"] == pytest.approx(40.0)  # 12 + 3 + 0 + 5 + 20
    # property: known 5 (E blank), with 3 (万科, 某 x2) -> 60 %; committee: 2 of 6
    assert whole["property_pct"] == pytest.approx(60.0)
    assert whole["committee_pct"] == pytest.approx(100.0 * 2 / 6)
    west = rates.loc["甲社区"]
    assert (west["known"], west["covered"], west["branches"]) == (3, 2, 1)
    assert west["coverage_pct"] == pytest.approx(200.0 / 3)
    assert rates.loc["乙社区", "coverage_pct"] == pytest.approx(100.0)
    assert cov.without_branch["name"].tolist() == ["C"]
    assert cov.unknown[["line", "column"]].values.tolist() == [[7, "所属党支部"], [8, "物业公司"]]


def test_towns_and_communities_from_polygons():
    units = {
        "town": gpd.GeoDataFrame(
            {"code": ["350521100"], "name": ["螺城镇"]}, geometry=[shapely.box(X0, Y0, X0 + 600, Y0 + 100)], crs=32650
        ),
        "community": gpd.GeoDataFrame(
            {"code": ["350521100001", "350521100002"], "name": ["西", "东"]},
            geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 100), shapely.box(X0 + 300, Y0, X0 + 600, Y0 + 100)],
            crs=32650,
        ),
    }
    cov = party_coverage(_ledger().to_crs(4326), units=units)
    rates = cov.rates.set_index(["level", "code"])
    assert rates.loc[("镇街", "350521100"), "covered"] == 4
    assert rates.loc[("社区/村", "350521100001"), "compounds"] == 4
    assert rates.loc[("社区/村", "350521100002"), "coverage_pct"] == pytest.approx(100.0)


def test_a_ledger_without_a_branch_column_is_refused():
    with pytest.raises(InputDataError, match="没有党支部列"):
        party_coverage(_ledger().drop(columns="所属党支部"))
    with pytest.raises(InputDataError, match="没有列「支部」"):
        party_coverage(_ledger(), columns={"branch": "支部"})


def test_script_on_the_guixi_ledger(tmp_path):
    """Guixi's made-up ledger: 是否成立党支部 is 否 for compounds 1, 4, ..., 28 (j % 3 == 0): 10 of 28."""
    from scripts.party import main

    out = tmp_path / "党组织覆盖.xlsx"
    assert main(["--project", "guixi", "--out", str(out)]) == 0
    rates = pd.read_excel(out, sheet_name="覆盖率", dtype={"编码": str})
    whole = rates.iloc[0]
    assert (whole["小区数 (个)"], whole["有党支部 (个)"]) == (28, 18)
    assert whole["党组织覆盖率 (%)"] == pytest.approx(64.3, abs=0.05)
    assert set(rates["层级"]) == {"县区/全域", "社区/村"}
    missing = pd.read_excel(out, sheet_name="无党支部小区")
    assert len(missing) == 10 and set(missing["有党支部覆盖"]) == {"否"}
    assert (tmp_path / "党组织覆盖_map.png").stat().st_size > 10_000
    assert (tmp_path / "党组织覆盖_map.pdf").is_file()
    layer = gpd.read_file(tmp_path / "党组织覆盖.gpkg", layer="小区党组织")
    assert len(layer) == 28 and np.isclose(layer.geometry.x.mean(), 117.2, atol=0.3)
    assert main(["--project", "demo", "--out", str(tmp_path / "x.xlsx")]) == 2  # buildings, no ledger
