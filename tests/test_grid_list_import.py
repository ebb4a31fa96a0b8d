"""Grids kept as an Excel list of codes and the compounds/buildings they hold: read, drawn, checked.

The compounds are four points on a line, 100 m apart, in UTM 50N; each point's Voronoi cell
inside the 400 m x 200 m study area is the 100 m-wide strip around it, so a grid of two
compounds is a 200 m x 200 m = 40,000 m² square (worked out by hand).
"""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.imports import check_grids, grids_from_list, read_grid_list

X0, Y0 = 660_000.0, 2_760_000.0
EPSG = 32650
AREA = shapely.box(X0, Y0, X0 + 400, Y0 + 200)


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["阳光花园", "滨江小区", "东湖苑", "西湖家园"], "households": [120.0, 200.0, 150.0, 90.0]},
        geometry=[shapely.Point(X0 + 50 + 100 * k, Y0 + 100) for k in range(4)],
        crs=EPSG,
    )


def _messy_workbook(path):
    """A title row, a sign-off line, the code merged down over each grid's compound rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["北关社区网格划分清单（演示）"])
    ws.merge_cells("A1:D1")
    ws.append(["填报单位：北关社区"])
    ws.append(["网格编码", "网格名称", "所辖小区", "户数"])
    ws.append(["35052110000101", "第一网格", "阳光小区", None])  # 小区 for 花园
    ws.append([None, None, "滨江 小区", None])  # a space inside
    ws.merge_cells("A4:A5")
    ws.merge_cells("B4:B5")
    ws.append(["35052110000102", "第二网格", "东湖苑、西湖家园、南山花园", 240])  # 南山花园 is in no ledger
    ws.append([])
    ws.append(["填表人：张某某", None, "审核人：李某某"])
    wb.save(path)
    return path


def test_messy_workbook_gives_grids_with_areas_and_lines_of_unmatched(tmp_path, compounds):
    listing = read_grid_list(_messy_workbook(tmp_path / "网格清单.xlsx"))
    assert listing.rows["code"].tolist() == ["35052110000101"] * 2 + ["35052110000102"] * 3
    result = grids_from_list(listing, compounds, extent=AREA)
    grids = result.grids.set_index("code")
    # each grid is two 100 m x 200 m strips: 40,000 m²
    assert grids.geometry.area.to_numpy() == pytest.approx([40_000.0, 40_000.0])
    assert grids.loc["35052110000101", "households"] == pytest.approx(320.0)  # 120 + 200 from the ledger
    assert grids.loc["35052110000102", "households"] == pytest.approx(240.0)  # the list's own figure wins
    assert grids["places"].tolist() == [2, 2]
    assert result.unmatched[["line", "place"]].values.tolist() == [[6, "南山花园"]]
    assert "不在小区台账中" in result.unmatched["why"].iat[0]
    assert "第 6 行" in result.issues()[0].message
    # the same checks as any import: side by side, no overlap, no gap
    assert check_grids(result.grids, min_households=100, max_households=500) == []


def test_gbk_csv_with_full_width_names_and_one_row_per_grid(tmp_path, compounds):
    path = tmp_path / "grids.csv"
    text = "网格编码,网格名称,包含小区\n35052110000101,一,阳光花园；ＢＪ\n35052110000102,二,滨江小区、东湖苑\n"
    path.write_bytes(text.replace("ＢＪ", "西湖家园").encode("gbk"))
    compounds = compounds.assign(name=["阳光花园", "滨江小区", "东湖苑", "西湖家园"])
    result = grids_from_list(read_grid_list(path), compounds, extent=AREA)
    assert result.unmatched.empty
    by_code = result.grids.set_index("code")["places"].to_dict()
    assert by_code == {"35052110000101": 2, "35052110000102": 2}
    # 阳光花园 (strip 0-100) and 西湖家园 (strip 300-400) are not touching: one grid in two parts
    first = result.grids.set_index("code").geometry["35052110000101"]
    assert len(shapely.get_parts(first)) == 2
    assert first.area == pytest.approx(40_000.0)


def test_full_width_and_suffix_variants_match(tmp_path, compounds):
    path = tmp_path / "grids.csv"
    path.write_text("编码,小区\n１,阳光\n2,滨江花园\n2,东 湖 小 区\n", encoding="utf-8-sig")
    result = grids_from_list(read_grid_list(path), compounds, extent=AREA)
    assert result.unmatched.empty
    assert sorted(result.grids["code"]) == ["1", "2"]  # １ full-width read as 1


def test_a_compound_in_two_grids_and_a_grid_of_nothing_are_listed(tmp_path, compounds):
    path = tmp_path / "grids.csv"
    path.write_text("网格编码,小区\nA1,阳光花园\nA2,阳光花园\nA3,无名小区\n", encoding="utf-8")
    result = grids_from_list(read_grid_list(path), compounds, extent=AREA)
    assert result.grids["code"].tolist() == ["A1"]
    whys = list(zip(result.unmatched["line"], result.unmatched["why"], strict=True))
    assert [line for line, _ in whys] == [3, 3, 4, 4]
    assert "已列入网格 A1" in whys[0][1]
    assert "不在小区台账中" in whys[2][1]
    assert "均未匹配" in whys[1][1] and "均未匹配" in whys[3][1]


def test_buildings_named_under_their_compound(tmp_path):
    buildings = gpd.GeoDataFrame(
        {"name": ["阳光花园1号楼", "阳光花园2幢", "阳光小区３栋"], "households": [30.0, 40.0, 50.0]},
        geometry=[shapely.Point(X0 + 50 + 100 * k, Y0 + 100) for k in range(3)],
        crs=EPSG,
    )
    path = tmp_path / "grids.csv"
    path.write_text("网格编码,小区,楼栋\nM1,阳光花园,1栋、2号楼\nM2,阳光花园,3幢\n", encoding="utf-8")
    result = grids_from_list(read_grid_list(path), buildings=buildings, extent=shapely.box(X0, Y0, X0 + 300, Y0 + 200))
    hh = result.grids.set_index("code")["households"].to_dict()
    assert hh == {"M1": 70.0, "M2": 50.0}
    assert result.unmatched.empty


def test_bad_lists_are_refused_in_chinese(tmp_path, compounds):
    path = tmp_path / "a.csv"
    path.write_text("名称,小区\n一,阳光花园\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有网格编码列"):
        read_grid_list(path)
    path.write_text("网格编码,备注\n1,x\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有小区或楼栋列"):
        read_grid_list(path)
    path.write_text("网格编码,小区\n1,无此小区\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有一个小区或楼栋能匹配"):
        grids_from_list(read_grid_list(path), compounds)
    path.write_text("网格编码,楼栋\n1,3栋\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="没有楼栋数据可匹配"):
        grids_from_list(read_grid_list(path), compounds)


def test_script_imports_a_list_against_the_guixi_compound_ledger(tmp_path):
    """Guixi's (made-up) compound ledger is the project's demand: 28 compounds with households."""
    import pandas as pd

    from geo.project import load_project
    from scripts.grids import main

    ledger = load_project("guixi").demand
    names = ledger["name"].tolist()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["贵溪城区网格清单（演示）"])
    ws.append(["网格编码", "网格名称", "所辖小区"])
    ws.append(["G01", "一", "、".join(names[:10])])
    # 小区 written for 花园 etc. before the phase, and one name in no ledger (line 4)
    ws.append(["G02", "二", "、".join(n.replace("雄石花园", "雄石小区") for n in names[10:]) + "、无名小区"])
    path = tmp_path / "清单.xlsx"
    wb.save(path)
    out = tmp_path / "导入.gpkg"
    assert main(["--project", "guixi", "--out", str(out), "--import", str(path)]) == 0
    layer = gpd.read_file(out, layer="网格")
    assert sorted(layer["网格编码"]) == ["G01", "G02"]
    total = float(ledger["households"].sum())
    assert layer["户数 (户)"].sum() == pytest.approx(total)  # every compound in one grid
    problems = pd.read_excel(tmp_path / "导入_issues.xlsx", dtype=str)
    unmatched = problems[problems["类型"] == "unmatched_place"]
    assert len(unmatched) == 1 and "第 4 行" in unmatched["说明"].iat[0] and "无名小区" in unmatched["说明"].iat[0]
