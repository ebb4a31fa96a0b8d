"""In-service party members (在职党员) placed in the grid of their home by compound name, by address
matched to the compound ledger, or by coordinates; the unmatched listed with why."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.grids.rosters import address_key, building_key, check_roster, read_roster

WEST, EAST = "350521001001", "350521001002"


@pytest.fixture
def grids():
    # Two grids side by side (WGS84): WEST west of 118.60, EAST east of it.
    return gpd.GeoDataFrame(
        {"code": [WEST, EAST]},
        geometry=[shapely.box(118.59, 25.0, 118.60, 25.01), shapely.box(118.60, 25.0, 118.61, 25.01)],
        crs=4326,
    )


@pytest.fixture
def compounds():
    return gpd.GeoDataFrame(
        {
            "name": ["阳光花园", "滨江小区", "雄石花园1期", "城外苑"],
            "地址": ["福建省泉州市惠安县螺城镇建设路88号", "惠安县滨江路1号", "八一路2号", "城外路9号"],
        },
        geometry=[
            shapely.Point(118.595, 25.005),
            shapely.Point(118.605, 25.005),
            shapely.Point(118.607, 25.002),
            shapely.Point(118.70, 25.005),  # in no grid
        ],
        crs=4326,
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("福建省泉州市惠安县螺城镇建设路８８号", "建设路88号"),
        ("泉州市 丰泽区 东海街道 阳光小区３号楼２单元", "阳光小区3栋2单元"),
        ("惠安县阳光小区3幢", "阳光小区3栋"),
        ("阳光小区（一期）3座", "阳光小区一期3栋"),
        ("", ""),
    ],
)
def test_address_key(text, key):
    assert address_key(text) == key


def test_building_key_ignores_compound_suffixes():
    assert building_key("阳光花园3号楼") == building_key("阳光小区 ３幢") == "阳光3栋"


def test_members_placed_by_compound_address_and_coordinates(tmp_path, grids, compounds):
    rows = [
        # line 2: compound name with another suffix
        {"姓名": "甲", "小区": "阳光小区", "住址": "", "经度": "", "纬度": ""},
        # line 3: the compound's name inside a full address with full-width digits and a 幢
        {"姓名": "乙", "小区": "", "住址": "福建省泉州市惠安县滨江花园３幢２单元501室", "经度": "", "纬度": ""},
        # line 4: no compound name, the ledger's address at the start (prefixes differ)
        {"姓名": "丙", "小区": "", "住址": "惠安县螺城镇建设路８８号5栋302", "经度": "", "纬度": ""},
        # line 5: a phased compound written 雄石小区1期
        {"姓名": "丁", "小区": "", "住址": "八一路雄石小区1期6号楼", "经度": "", "纬度": ""},
        # line 6: an address that names no compound and no ledger address, but coordinates (WGS84)
        {"姓名": "戊", "小区": "", "住址": "人民路3号", "经度": "118.606", "纬度": "25.006"},
        # line 7: an address matching nothing, no coordinates
        {"姓名": "己", "小区": "", "住址": "某某村", "经度": "", "纬度": ""},
        # line 8: a compound in the ledger but in no grid
        {"姓名": "庚", "小区": "城外苑", "住址": "", "经度": "", "纬度": ""},
        # line 9: the road 阳光路 is not the compound 阳光花园
        {"姓名": "辛", "小区": "", "住址": "阳光路12号", "经度": "", "纬度": ""},
    ]
    path = tmp_path / "在职党员.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="gbk")
    roster = read_roster(path, role="在职党员", system="wgs84")
    check = check_roster(roster, grids, compounds=compounds)
    got = check.rows.set_index("line")
    assert got["grid_code"].tolist() == [WEST, EAST, WEST, EAST, EAST, "", "", ""]
    assert got["matched_by"].tolist() == ["小区", "地址", "地址", "地址", "坐标", "", "", ""]
    assert got["matched_compound"].tolist()[:4] == ["阳光花园", "滨江小区", "阳光花园", "雄石花园1期"]
    assert "住址中没有台账里的小区名称或地址" in got.loc[7, "why"]
    assert "不在任何网格内" in got.loc[8, "why"]
    assert "住址中没有" in got.loc[9, "why"]
    assert sorted(check.unmatched["line"]) == [7, 8, 9]
    counts = check.counts.set_index("grid_code")["在职党员"].to_dict()
    assert counts == {WEST: 2, EAST: 3}


def test_address_prefix_chooses_the_longest_ledger_address(grids):
    compounds = gpd.GeoDataFrame(
        {"name": ["甲区", "乙区"], "地址": ["建设路8号", "建设路88号"]},
        geometry=[shapely.Point(118.595, 25.005), shapely.Point(118.605, 25.005)],
        crs=4326,
    )
    roster = read_roster_frame({"姓名": ["a"], "住址": ["建设路88号3栋"]})
    check = check_roster(roster, grids, compounds=compounds)
    assert check.rows["grid_code"].tolist() == [EAST]  # 建设路8号 is not a prefix of 建设路88号


def read_roster_frame(data):
    from geo.grids.rosters import Roster

    frame = pd.DataFrame(data)
    n = len(frame)
    base = {"line": range(2, n + 2), "role": ["在职党员"] * n, "name": frame["姓名"], "phone": [""] * n}
    rest = {"grid": [""] * n, "compound": [""] * n, "building": [""] * n, "address": frame["住址"]}
    return Roster(pd.DataFrame({**base, **rest, "lon": [float("nan")] * n, "lat": [float("nan")] * n}), "x")


def test_script_places_members_by_address_against_the_guixi_ledger(tmp_path):
    """The (made-up) Guixi compound ledger, an XLSX with a title row and merged headers, GCJ-02."""
    from geo.project import load_project
    from scripts.roster import main

    ledger = load_project("guixi").demand.to_crs(4326)
    x0, y0, x1, y1 = ledger.total_bounds
    mid = float(ledger.geometry.x.median())
    grids = gpd.GeoDataFrame(
        {"code": ["W", "E"]},
        geometry=[shapely.box(x0 - 0.01, y0 - 0.01, mid, y1 + 0.01), shapely.box(mid, y0 - 0.01, x1 + 0.01, y1 + 0.01)],
        crs=4326,
    )
    grids.to_file(tmp_path / "grids.geojson")
    first = ledger.iloc[0]
    rows = pd.DataFrame(
        {
            "姓名": ["张三", "李四"],
            "手机": ["13812341234", "13900001111"],
            "住址": [f"江西省鹰潭市贵溪市{first['name'].replace('花园', '小区')}３号楼", "无此地址"],
        }
    )
    rows.to_csv(tmp_path / "党员.csv", index=False, encoding="utf-8-sig")
    out = tmp_path / "名册.xlsx"
    args = ["--grids", str(tmp_path / "grids.geojson"), "--roster", str(tmp_path / "党员.csv"), "--role", "在职党员"]
    args += ["--compounds", "data/study_areas/guixi/小区台账.xlsx", "--out", str(out), "--quiet"]
    assert main(args) == 0
    sheet = pd.read_excel(out, sheet_name="名册", dtype=str).fillna("").set_index("行号")
    want = "W" if first.geometry.x < mid else "E"
    assert sheet.loc["2", "网格编码"] == want and sheet.loc["2", "匹配方式"] == "地址"
    assert sheet.loc["2", "匹配小区"] == first["name"]
    assert sheet.loc["3", "网格编码"] == "" and "住址中没有" in sheet.loc["3", "说明"]
    assert set(sheet["姓名"]) == {"张*", "李*"}  # names masked by default
