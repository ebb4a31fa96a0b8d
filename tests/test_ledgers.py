"""County ledgers as offices keep them (issue 16): title rows, merged headers, units, vocabulary,
coordinate systems detected against real Chinese streets, the row-by-row report.

The Guixi study area (data/projects/guixi.toml) has real OpenStreetMap streets and made-up ledgers
whose true WGS84 positions are in tests/data/ledgers/guixi_truth.csv.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.access.compounds import residents_from_compounds
from geo.access.facilities import read_facility_ledger
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.io.coords import wgs84_to_bd09, wgs84_to_gcj02
from geo.io.ledger import ColumnsNotFoundError, read_ledger
from geo.io.sheets import read_sheet
from geo.io.tables import parse_count, parse_pair
from geo.network.graph import load_network
from geo.network.systems import SystemUnclearError, detect_system
from geo.project import load_project

DATA = Path(__file__).resolve().parents[1] / "data"
GUIXI = DATA / "study_areas" / "guixi"
TRUTH = Path(__file__).parent / "data" / "ledgers" / "guixi_truth.csv"
#: Metres per degree of latitude, and of longitude at Guixi (28.3 N), for position checks.
M_PER_DEG_LAT = 110_900.0
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(28.3))


def _truth(kind: str) -> pd.DataFrame:
    frame = pd.read_csv(TRUTH, dtype=str)
    frame = frame[frame["kind"] == kind].reset_index(drop=True)
    frame["lon_wgs84"] = frame["lon_wgs84"].astype(float)
    frame["lat_wgs84"] = frame["lat_wgs84"].astype(float)
    return frame


def _error_m(points: gpd.GeoSeries, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    pts = points.to_crs(4326)
    return np.hypot((pts.x.to_numpy() - lon) * M_PER_DEG_LON, (pts.y.to_numpy() - lat) * M_PER_DEG_LAT)


@pytest.fixture(scope="module")
def guixi():
    return load_project("guixi", cache_dir=None)


@pytest.fixture(scope="module")
def guixi_network():
    return load_network(GUIXI / "guixi.osm", cache_dir=None)


# --------------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("text", "value"),
    [("120", 120.0), ("120户", 120.0), ("１２０", 120.0), ("1,200 人", 1200.0), ("1.2万", 12000.0), (" 35 ", 35.0)],
)
def test_counts_written_with_units_or_full_width_digits(text, value):
    assert parse_count(text) == (value, None)


def test_counts_that_are_not_numbers_say_why():
    assert parse_count("") == (None, None)
    value, why = parse_count("约一百")
    assert value is None and "不是数字" in why
    assert "负数" in parse_count("-5")[1]


@pytest.mark.parametrize(
    "text",
    [
        "118.801234,25.031234",
        "118.801234，25.031234",
        "25.031234,118.801234",
        "(118.801234 25.031234)",
        "118.801234;25.031234",
    ],
)
def test_coordinates_in_one_cell_either_order(text):
    (lon, lat), why = parse_pair(text)
    assert why is None and (lon, lat) == pytest.approx((118.801234, 25.031234))


def test_a_pair_that_is_not_one_says_so():
    assert parse_pair("惠安县城")[0] is None
    assert "经度,纬度" in parse_pair("惠安县城")[1]


# --------------------------------------------------------------------- sheets


def test_header_found_below_title_rows_and_sign_off_rows_set_aside(tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(
        "惠安县螺城镇公共服务设施台账,,,,\n"
        "填报单位：螺城镇人民政府,,,,\n"
        "\n"
        "序号,设施名称,设施类别,经度,纬度\n"
        "1,城南幼儿园,幼儿园,118.79,25.03\n"
        "2,城北诊所,诊所,118.80,25.04\n"
        "合计,2,,,\n"
        "填表人：张某某,,审核人：李某某,,\n"
        "备注：坐标为高德拾取,,,,\n".encode("gbk")
    )
    sheet = read_sheet(path, path.name, "csv", known=("设施名称", "设施类别", "经度", "纬度"))
    assert sheet.header == ["序号", "设施名称", "设施类别", "经度", "纬度"]
    assert sheet.header_line == 4
    assert [line for line, _ in sheet.rows] == [5, 6]
    skipped = dict(sheet.skipped)
    assert set(skipped) == {1, 2, 7, 8, 9}
    assert "合计" in skipped[7] and "签字" in skipped[8] and "签字" in skipped[9] and "标题" in skipped[1]


def test_two_row_header_under_merged_cells_and_the_sheet_chosen_by_content(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["本表为演示用。坐标请用高德地图拾取。"])
    ws = wb.create_sheet("小区")
    ws.append(["某社区住宅小区台账"])
    ws.merge_cells("A1:E1")
    ws.append(["小区名称", "户数", "所属社区", "坐标", ""])
    ws.append(["", "", "", "经度", "纬度"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.merge_cells("C2:C3")
    ws.merge_cells("D2:E2")
    ws.append(["桂花园", "120户", "城南社区", 118.8, 25.03])
    ws.append(["东湖小区", "８０", "", 118.81, 25.04])
    ws.merge_cells("C4:C5")  # one community merged down over its two compounds
    path = tmp_path / "小区台账.xlsx"
    wb.save(path)
    sheet = read_sheet(path, path.name, "xlsx", known=("小区名称", "户数", "经度", "纬度", "所属社区"))
    assert sheet.sheet == "小区" and sheet.sheets == ("说明", "小区")
    assert sheet.header == ["小区名称", "户数", "所属社区", "经度", "纬度"]
    assert sheet.rows == [
        (4, ["桂花园", "120户", "城南社区", "118.8", "25.03"]),
        (5, ["东湖小区", "80", "城南社区", "118.81", "25.04"]),  # full-width digits made ASCII
    ]
    demand = residents_from_compounds(path, system="wgs84")
    assert demand["households"].tolist() == [120.0, 80.0]
    assert demand["community"].tolist() == ["城南社区", "城南社区"]
    with pytest.raises(InputDataError, match=r"没有工作表 '台账'.*说明、小区"):
        read_sheet(path, path.name, "xlsx", sheet="台账")


def test_xls_ledger_is_read(tmp_path):
    path = Path(__file__).parent / "data" / "ledgers" / "乡镇设施台账.xls"
    frame = read_facility_ledger(path, system="gcj02")
    report = frame.attrs["report"]
    assert report.header_line == 2 and report.rows_read == 3
    assert frame["name"].drop_duplicates().tolist() == ["螺城镇卫生院", "城南村卫生室", "螺城镇中心幼儿园"]
    assert frame["type"].tolist() == ["community_health_centre", "community_health_station", "kindergarten"]
    lon, _ = wgs84_to_gcj02(118.7953, 25.0301)
    assert frame.geometry.iloc[0].x == pytest.approx(118.7953, abs=1e-6)
    assert float(lon) != pytest.approx(118.7953, abs=1e-4)  # the file really is GCJ-02
    assert any("签字" in why for _, why in report.skipped)


def test_dms_and_wrong_extension_and_columns_named_by_the_planner(tmp_path):
    path = tmp_path / "设施.csv"
    path.write_text(
        "单位名称,业务类型,东经,北纬\n城南卫生室,村卫生室,118°47′43.1″E,25°01′48.4″N\n", encoding="utf-8-sig"
    )
    frame = read_facility_ledger(path, system="wgs84", columns={"name": "单位名称", "category": "业务类型"})
    assert frame["name"].tolist() == ["城南卫生室"] and frame["type"].tolist() == ["community_health_station"]
    assert frame.geometry.iloc[0].x == pytest.approx(118 + 47 / 60 + 43.1 / 3600)
    bad = tmp_path / "设施.xls"
    bad.write_bytes(path.read_bytes())
    with pytest.raises(InputDataError, match=r"不是有效的 \.xls 文件"):
        read_facility_ledger(bad, system="wgs84")
    nocoords = tmp_path / "无坐标.csv"
    nocoords.write_text("名称,类别,位置X,位置Y\n甲,诊所,118.8,25.0\n", encoding="utf-8")
    with pytest.raises(ColumnsNotFoundError, match="找不到坐标列") as info:
        read_facility_ledger(nocoords, system="wgs84")
    assert info.value.headers == ["名称", "类别", "位置X", "位置Y"]
    frame = read_facility_ledger(nocoords, system="wgs84", columns={"lon": "位置X", "lat": "位置Y"})
    assert frame.geometry.iloc[0].x == pytest.approx(118.8)


def test_read_ledger_keeps_every_other_column(tmp_path):
    path = tmp_path / "台账.csv"
    path.write_text('名称,类别,坐标,负责单位,备注\n甲,诊所,"118.8,25.0",卫健局,新建\n', encoding="utf-8")
    table = read_ledger(path, fields={"name": ("名称",), "category": ("类别",)})
    assert table.report.columns == {"pair": "坐标", "name": "名称", "category": "类别"}
    assert table.report.attributes == ["负责单位", "备注"]
    assert table.rows[["负责单位", "备注"]].iloc[0].tolist() == ["卫健局", "新建"]


# --------------------------------------------------------------------- the vocabulary


def test_county_vocabulary_maps_everyday_names_to_functions_and_types(tmp_path):
    names = {
        "邻里中心": (tuple(FUNCTIONS), ""),
        "党群服务中心": (("services", "leisure"), "community_service_station"),
        "便民服务中心": (("services",), "community_service_station"),
        "诊所": (("medical",), "clinic"),
        "卫生院": (("medical",), "community_health_centre"),
        "社区卫生服务中心": (("medical",), "community_health_centre"),
        "社区卫生服务站": (("medical",), "community_health_station"),
        "村卫生室": (("medical",), "community_health_station"),
        "幼儿园": (("childcare",), "kindergarten"),
        "托育": (("childcare",), "nursery"),
        "幼托": (("childcare",), "nursery"),
        "养老院": (("elderly",), "nursing_home"),
        "日间照料中心": (("elderly",), "elderly_day_care"),
        "居家养老服务站": (("elderly",), "home_care_station"),
        "长者食堂": (("elderly", "food"), ""),
        "老年食堂": (("elderly", "food"), ""),
        "农贸市场": (("food",), "fresh_market"),
        "菜市场": (("food",), "fresh_market"),
        "社区食堂": (("food",), "community_canteen"),  # a type of its own since issue 21
        "文化活动站": (("leisure",), "cultural_activity_station"),  # the 5-minute station, not the 15-minute centre
        "近邻学堂": (("leisure",), ""),
        "邻里医站": (("medical",), "community_health_station"),
        "近邻警室": (("services",), "police"),
        "警务室": (("services",), "police"),
        "暖心驿站": (("services",), ""),
        "金融网点服务站": (("services",), "bank"),
        "医疗保健服务;诊所": (("medical",), "clinic"),
        "医疗保健服务;综合医院;综合医院": (("medical",), "hospital"),
        "购物服务;综合市场;农贸市场": (("food",), "fresh_market"),
    }
    rows = "".join(f'{k},"{name}",118.8,25.03\n' for k, name in enumerate(names))
    path = tmp_path / "台账.csv"
    path.write_text("编号,类别,经度,纬度\n" + rows, encoding="utf-8")
    frame = read_facility_ledger(path, system="wgs84")
    assert frame.attrs["report"].unknown_categories == {}
    for name, (functions, ftype) in names.items():
        rows_of = frame[frame["category"] == name]
        assert tuple(rows_of["function"]) == functions, name
        typed = rows_of[rows_of["type"] != ""]["type"].tolist()
        assert typed == ([ftype] if ftype else []), name


def test_a_centre_row_that_lists_its_functions_gets_those(tmp_path):
    path = tmp_path / "台账.csv"
    path.write_text(
        "编号,名称,类别,服务功能,经度,纬度\nA1,城南邻里中心,邻里中心,老有所养、病有所医,118.8,25.03\n"
        "A2,无名站点,,事有所办,118.8,25.03\nA3,坏行,邻里中心,吃喝玩乐,118.8,25.03\n",
        encoding="utf-8",
    )
    frame = read_facility_ledger(path, system="wgs84")
    assert frame["function"].tolist() == ["elderly", "medical", "services"]
    assert frame["facility_id"].tolist() == ["A1（老有所养）", "A1（病有所医）", "A2"]
    assert frame["ledger_id"].tolist() == ["A1", "A1", "A2"]
    issue = frame.attrs["report"].issues[0]
    assert issue.line == 4 and issue.column == "服务功能" and "吃喝玩乐" in issue.why


def test_the_county_adds_its_own_words_in_a_table(tmp_path):
    table = tmp_path / "类别对照.csv"
    table.write_bytes("类别,服务功能,设施类型\n快递驿站,事有所办,\n乡村卫生所,病有所医,社区卫生服务站\n".encode("gbk"))
    path = tmp_path / "台账.csv"
    path.write_text("名称,类别,经度,纬度\n甲,快递驿站,118.8,25.03\n乙,乡村卫生所,118.8,25.03\n", encoding="utf-8")
    frame = read_facility_ledger(path, system="wgs84", category_map=table)
    assert frame["function"].tolist() == ["services", "medical"]
    assert frame["type"].tolist() == ["", "community_health_station"]
    table.write_text("类别,服务功能\n快递驿站,吃喝玩乐\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="第 2 行服务功能「吃喝玩乐」无效"):
        read_facility_ledger(path, system="wgs84", category_map=table)


# --------------------------------------------------------------------- the Guixi study area


def test_guixi_ledgers_load_with_gcj02_detected_and_positions_within_a_metre(guixi):
    facilities = guixi.facilities
    report = guixi.reports["facilities"]
    assert report.system == "gcj02" and "按路网判定为 GCJ-02" in report.system_note
    truth = _truth("facility").set_index("id")
    first = facilities.drop_duplicates("ledger_id").set_index("ledger_id")
    known = truth[truth["category"] != "快递驿站"]
    assert sorted(first.index) == sorted(known.index)
    err = _error_m(first.geometry.loc[known.index], known["lon_wgs84"].to_numpy(), known["lat_wgs84"].to_numpy())
    assert err.max() < 1.0
    assert report.unknown_categories == {"快递驿站": 2}
    centre = facilities[facilities["ledger_id"] == "GX-LL-001"]
    assert sorted(centre["function"]) == sorted(FUNCTIONS)
    assert set(facilities["source"]) == {"设施台账.xlsx"}
    assert {"所属社区", "地址"}.isdisjoint(facilities.columns) and "community" in facilities.columns


def test_guixi_compounds_keep_their_survey_columns_and_own_age_counts(guixi):
    demand = guixi.demand
    report = guixi.reports["demand"]
    assert report.system == "gcj02"
    truth = _truth("compound")
    assert demand["name"].tolist() == truth["name"].tolist()  # the 合计 row is not a compound
    np.testing.assert_allclose(demand["households"], truth["households"].astype(float))
    np.testing.assert_allclose(demand["residents"], truth["residents"].astype(float))
    np.testing.assert_allclose(demand["elderly"], truth["elderly"].astype(float))
    np.testing.assert_allclose(demand["children"], truth["children"].astype(float))
    assert {"党员数", "是否成立党支部", "物业公司", "业委会"} <= set(demand.columns)
    err = _error_m(demand.geometry, truth["lon_wgs84"].to_numpy(), truth["lat_wgs84"].to_numpy())
    assert err.max() < 1.0
    assert any("合计" in why for _, why in report.skipped)


def test_guixi_age_counts_drive_the_elderly_coverage(guixi):
    from geo.workflows import load_analysis

    analysis = load_analysis(guixi, elderly_share=0.5)
    acc = analysis.accessibility
    # The ledger's own 60岁以上人口 wins over one share for the whole area.
    np.testing.assert_allclose(acc.demand["elderly"], guixi.demand["elderly"])
    assert acc.basis("elderly") == "elderly"
    covered = acc.covered("elderly")
    share = acc.demand["elderly"][covered].sum() / acc.demand["elderly"].sum()
    assert 0.0 < share < 1.0


def _write_ledger(path: Path, lon, lat) -> None:
    rows = "".join(f"{k},站点{k},诊所,{x:.6f},{y:.6f}\n" for k, (x, y) in enumerate(zip(lon, lat, strict=True)))
    path.write_text("编号,名称,类别,经度,纬度\n" + rows, encoding="utf-8")


@pytest.mark.parametrize(("system", "convert"), [("bd09", wgs84_to_bd09), ("gcj02", wgs84_to_gcj02), ("wgs84", None)])
def test_undeclared_systems_are_detected_on_guixi_streets(tmp_path, guixi_network, system, convert):
    truth = _truth("compound").head(12)
    lon, lat = truth["lon_wgs84"].to_numpy(), truth["lat_wgs84"].to_numpy()
    written = convert(lon, lat) if convert else (lon, lat)
    path = tmp_path / "台账.csv"
    _write_ledger(path, *written)
    frame = read_facility_ledger(path, network=guixi_network)
    report = frame.attrs["report"]
    assert report.system == system, report.system_note
    assert _error_m(frame.geometry, lon, lat).max() < 1.0
    evidence = detect_system(*written, guixi_network)
    assert evidence.clear and evidence.system == system
    assert evidence.median_m[system] * 1.5 <= min(v for k, v in evidence.median_m.items() if k != system)


def test_a_declared_system_the_streets_contradict_gets_a_warning(tmp_path, guixi_network):
    truth = _truth("compound").head(12)
    path = tmp_path / "台账.csv"
    _write_ledger(path, *wgs84_to_gcj02(truth["lon_wgs84"].to_numpy(), truth["lat_wgs84"].to_numpy()))
    frame = read_facility_ledger(path, system="wgs84", network=guixi_network)
    report = frame.attrs["report"]
    assert report.system == "wgs84"
    assert any("更可能是 GCJ-02" in w for w in report.warnings)
    assert "注意" in report.to_text()


def test_too_little_evidence_stops_and_names_the_candidates(tmp_path, guixi_network):
    truth = _truth("compound").head(2)
    path = tmp_path / "台账.csv"
    _write_ledger(path, *wgs84_to_gcj02(truth["lon_wgs84"].to_numpy(), truth["lat_wgs84"].to_numpy()))
    with pytest.raises(SystemUnclearError) as info:
        read_facility_ledger(path, network=guixi_network)
    message = str(info.value)
    for name in ("WGS84", "GCJ-02", "BD-09", "中位距离"):
        assert name in message
    assert re.search(r"\d+ m", message)
    assert info.value.payload["ask"] == "system"


def _shifted_osm(tmp_path: Path, d_lon: float, d_lat: float) -> Path:
    """The Guixi streets moved to another place (same layout), as a stand-in street network there."""
    text = (GUIXI / "guixi.osm").read_text(encoding="utf-8")

    def move(m: re.Match) -> str:
        return f'{m.group(1)}="{float(m.group(2)) + (d_lat if m.group(1) == "lat" else d_lon):.7f}"'

    text = re.sub(
        r'\b(lat|lon|minlat|maxlat|minlon|maxlon)="(-?[\d.]+)"',
        lambda m: move(m) if m.group(1) in ("lat", "lon") else m.group(0),
        text,
    )
    path = tmp_path / "moved.osm"
    path.write_text(text, encoding="utf-8")
    return path


def test_undeclared_gcj02_near_quanzhou_is_detected(tmp_path):
    # The Guixi street layout moved to Hui'an (118.80 E, 25.03 N), where the GCJ-02 offset differs.
    d_lon, d_lat = 118.80 - 117.2232, 25.03 - 28.3021
    network = load_network(_shifted_osm(tmp_path, d_lon, d_lat), cache_dir=None)
    truth = _truth("facility").head(20)
    lon, lat = truth["lon_wgs84"].to_numpy() + d_lon, truth["lat_wgs84"].to_numpy() + d_lat
    gx, gy = wgs84_to_gcj02(lon, lat)
    shift_m = np.hypot((gx - lon) * 111_320 * np.cos(np.radians(25.03)), (gy - lat) * 110_900)
    assert 300 < shift_m.mean() < 700  # the half-kilometre that moved a coverage figure by 47 points
    path = tmp_path / "惠安设施台账.csv"
    _write_ledger(path, gx, gy)
    frame = read_facility_ledger(path, network=network)
    assert frame.attrs["report"].system == "gcj02"
    pts = frame.to_crs(4326).geometry
    err = np.hypot((pts.x - lon) * 111_320 * np.cos(np.radians(25.03)), (pts.y - lat) * 110_900)
    assert err.max() < 1.0


def test_truth_file_is_what_the_ledgers_hold():
    with open(TRUTH, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["kind"] == "facility" for r in rows) == 32
    assert sum(r["kind"] == "compound" for r in rows) == 28


# --------------------------------------------------------------------- messy fixtures (tests/data/ledgers)

FIXTURES = Path(__file__).parent / "data" / "ledgers"
FIXTURE_FILES = sorted(pd.read_csv(FIXTURES / "fixtures_truth.csv", dtype=str)["file"].unique())


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_messy_fixture_reads_as_its_truth_says(name, guixi_network):
    truth = pd.read_csv(FIXTURES / "fixtures_truth.csv", dtype=str, keep_default_na=False)
    truth = truth[truth["file"] == name].reset_index(drop=True)
    kind = truth["kind"].iloc[0]
    path = FIXTURES / name
    # Near Guixi the system is detected against the real streets; near Hui'an (no street network
    # bundled) it is given, as a planner would.
    near_guixi = name.startswith("guixi")
    system = None if near_guixi else truth["system"].iloc[0]
    network = guixi_network if near_guixi else None
    if kind == "facility":
        frame = read_facility_ledger(path, system=system or "auto", network=network)
        key = "line"
    else:
        frame = residents_from_compounds(path, system=system or "auto", network=network)
        key = "line"
    report = frame.attrs["report"]
    if near_guixi:
        assert report.system == truth["system"].iloc[0], report.system_note
    ok = truth[truth["status"] == "ok"]
    loaded = frame.drop_duplicates(key).set_index(key)
    assert sorted(loaded.index) == sorted(ok["row"].astype(int)), report.to_text()
    rows = ok.set_index(ok["row"].astype(int))
    pts = loaded.geometry.to_crs(4326)
    lon0 = rows["lon_wgs84"].astype(float)
    lat0 = rows["lat_wgs84"].astype(float)
    err = np.hypot(
        (pts.x - lon0[pts.index]) * 111_320 * np.cos(np.radians(lat0[pts.index])), (pts.y - lat0[pts.index]) * 110_900
    )
    assert err.max() < 0.5, err
    if kind == "facility":
        for line, want in rows["functions"].items():
            got = set(frame.loc[frame["line"] == line, "function"])
            assert set(want.split("|")) <= got, (line, want, got)
    else:
        for column in ("households", "residents", "elderly", "children"):
            want = pd.to_numeric(rows[column], errors="coerce")
            if column in loaded.columns and want.notna().any():
                have = loaded[column][want.notna()]
                np.testing.assert_allclose(have, want[want.notna()][have.index], rtol=1e-9)
    reported = truth[truth["status"] == "reported"]
    unknown_lines = set()
    for _, row in reported.iterrows():
        line = int(row["row"])
        if row["category"] and row["category"] in report.unknown_categories:
            unknown_lines.add(line)
            continue
        assert line in report.rows_not_loaded, (line, row["problem"], report.to_text())
    assert not (set(loaded.index) & set(report.rows_not_loaded))


# --------------------------------------------------------------------- a new study area from files


def test_a_new_study_area_is_written_and_loads_like_a_bundled_one(tmp_path):
    import shutil

    from geo.workflows import safe_file_name, write_project

    for name in ("guixi.osm", "设施台账.xlsx", "小区台账.xlsx"):
        shutil.copy(GUIXI / name, tmp_path / name)
    path = write_project(
        tmp_path, name='贵溪城区 "新"', network="guixi.osm", facilities="设施台账.xlsx", demand="小区台账.xlsx"
    )
    project = load_project(path, cache_dir=None)
    assert project.name == '贵溪城区 "新"'
    assert project.reports["facilities"].system == "gcj02" and len(project.demand) == 28
    with pytest.raises(InputDataError, match="OpenStreetMap"):
        write_project(tmp_path, name="x", network="设施台账.xlsx")
    with pytest.raises(InputDataError, match="不存在"):
        write_project(tmp_path, name="x", network="guixi.osm", demand="没有.xlsx")
    with pytest.raises(InputDataError, match="名字"):
        write_project(tmp_path, name="  ", network="guixi.osm")
    assert safe_file_name("C:\\fakepath\\../惠安 设施台账.xlsx", "f.xlsx") == "惠安_设施台账.xlsx"
    assert safe_file_name("", "f.xlsx") == "f.xlsx"
