"""Rosters read from CSV/XLSX and checked against two grids, with compounds matched by name."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import InputDataError
from geo.grids.rosters import check_roster, compound_key, read_roster
from geo.io.coords import wgs84_to_gcj02


@pytest.fixture
def grids():
    # Two grids side by side near Quanzhou (WGS84 degrees): A west of 118.6, B east.
    return gpd.GeoDataFrame(
        {"code": ["350521001001", "350521001002"]},
        geometry=[shapely.box(118.59, 25.0, 118.60, 25.01), shapely.box(118.60, 25.0, 118.61, 25.01)],
        crs=4326,
    )


@pytest.fixture
def compounds():
    return gpd.GeoDataFrame(
        {"name": ["阳光花园", "滨江小区"]},
        geometry=[shapely.Point(118.595, 25.005), shapely.Point(118.605, 25.005)],
        crs=4326,
    )


def _csv(tmp_path, rows, name="名册.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path


@pytest.mark.parametrize(
    ("a", "b"), [("阳光花园", "阳光"), ("滨江小区", "滨江"), ("ＡＢ苑", "ab"), (" 滨江 小区 ", "滨江")]
)
def test_compound_key(a, b):
    assert compound_key(a) == b


def test_rows_placed_by_code_compound_and_coordinates(tmp_path, grids, compounds):
    lon, lat = wgs84_to_gcj02(118.605, 25.005)
    path = _csv(
        tmp_path,
        {
            "姓名": ["张三", "李四", "王五", "赵六", "钱七", "张三"],
            "联系电话": ["13812341234", "13900000000", "13700000000", "13600000000", "13500000000", "13812341234"],
            "角色": ["网格员", "网格长", "网格员", "在职党员", "网格员", "网格员"],
            "网格编码": ["350521001001", "", "", "999", "", "350521001001"],
            "小区": ["", "阳光小区", "", "", "不存在花园", ""],
            "经度": ["", "", float(lon), "", "", ""],
            "纬度": ["", "", float(lat), "", "", ""],
        },
    )
    roster = read_roster(path, system="gcj02")
    check = check_roster(roster, grids, compounds=compounds)
    rows = check.rows
    assert rows["grid_code"].tolist() == ["350521001001", "350521001001", "350521001002", "", "", "350521001001"]
    assert rows["matched_by"].tolist()[:3] == ["网格编码", "小区", "坐标"]
    assert "不存在" in rows["why"].iat[3] and "999" in rows["why"].iat[3]
    assert "不在小区台账" in rows["why"].iat[4]
    assert "重复" in rows["why"].iat[5]
    counts = check.counts.set_index("grid_code")
    assert counts.loc["350521001001", "网格员"] == 1  # the duplicate is not counted twice
    assert counts.loc["350521001001", "网格长"] == 1
    assert counts.loc["350521001002", "网格员"] == 1
    assert check.missing.to_dict("records") == [{"grid_code": "350521001002", "missing": "网格长"}]
    assert len(check.unmatched) == 2


def test_xlsx_roster_with_title_row_and_given_role(tmp_path, grids):
    path = tmp_path / "楼栋长.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["XX社区楼栋长名册", None], ["姓名", "网格编码"], ["孙八", "350521001002"]]).to_excel(
            writer, index=False, header=False
        )
    check = check_roster(read_roster(path, role="楼栋长"), grids)
    assert check.rows["grid_code"].tolist() == ["350521001002"]
    assert check.counts.set_index("grid_code").loc["350521001002", "楼栋长"] == 1


def test_a_short_grid_code_is_not_placed_but_the_full_code_is_named(tmp_path, grids):
    # The map labels a grid by the end of its code and a spreadsheet drops leading zeros: "002"
    # and "2" end one grid's code and name it; "999" ends none. None of them is placed by guess.
    path = _csv(tmp_path, {"姓名": ["甲", "乙", "丙"], "角色": ["网格员"] * 3, "网格编码": ["002", "2", "999"]})
    why = check_roster(read_roster(path), grids).rows["why"].tolist()
    assert "是否指 350521001002" in why[0] and "是否指 350521001002" in why[1]
    assert "是否指" not in why[2] and "网格编码 999 不存在" in why[2]
    assert check_roster(read_roster(path), grids).rows["grid_code"].tolist() == ["", "", ""]


def test_unknown_role_in_a_row_is_flagged(tmp_path, grids):
    path = _csv(tmp_path, {"姓名": ["周九"], "角色": ["志愿者"], "网格编码": ["350521001001"]})
    check = check_roster(read_roster(path), grids)
    assert "角色" in check.rows["why"].iat[0]
    assert check.counts["网格员"].sum() == 0


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ({"姓名": ["张三"], "电话": ["1"]}, {"role": "网格员"}, "找不到网格编码"),
        ({"姓名": ["张三"], "网格编码": ["1"]}, {}, "没有「角色」列"),
        ({"姓名": ["张三"], "网格编码": ["1"]}, {"role": "队长"}, "角色"),
        ({"姓名": ["张三"], "网格编码": ["1"]}, {"role": "网格员", "system": "utm"}, "坐标系"),
    ],
)
def test_bad_rosters_are_refused_in_chinese(tmp_path, rows, kwargs, message):
    with pytest.raises(InputDataError, match=message):
        read_roster(_csv(tmp_path, rows), **kwargs)


def test_bad_files_are_refused(tmp_path):
    empty = tmp_path / "空.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputDataError, match="为空"):
        read_roster(empty, role="网格员")
    fake = tmp_path / "假.xlsx"
    fake.write_text("not a workbook")
    with pytest.raises(InputDataError, match="不是有效的"):
        read_roster(fake, role="网格员")
    with pytest.raises(InputDataError, match="类型不支持"):
        read_roster(tmp_path / "名册.docx", role="网格员")
