"""Centres of one or several sites, the building programme (status, dates, phases) and its ledger.

Toy streets in metres (tests/conftest.py), walked at 4.0 km/h: 15 minutes = 1,000 m.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.access.centres import centre_coverage, centre_facilities, make_centres, site_reach
from geo.access.coverage import accessibility
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.workflows.programme import (
    Target,
    lateness,
    make_programme,
    parse_date,
    parse_phase,
    parse_status,
    parse_target,
    phase_stages,
    programme_coverage,
    programme_from_features,
    progress,
)
from tests.conftest import TOY_EPSG, toy_network, toy_points


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=toy_points(xy).to_numpy(), crs=TOY_EPSG)


@pytest.fixture(scope="module")
def street():
    """One straight street 0 .. 3,000 m; residents at 500 m (1,000 people) and 2,500 m (400 people).

    The only existing facility is a market (food) at 3,000 m: it covers the resident at 2,500 m
    (500 m) for food and nobody for anything else.
    """
    net = toy_network([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)]])
    demand = _points([(500, 0), (2500, 0)], residents=[1000.0, 400.0], households=[400, 160])
    existing = _points([(3000, 0)], function=["food"], type=[""])
    graph = net.cost_graph("walk")
    return graph, accessibility(graph, demand, existing)


def _linked_centre():
    # One linked (多点串联) centre: site 1 at 0 m hosts 病有所医, site 2 at 2,000 m hosts 老有所养.
    return _points(
        [(0, 0), (2000, 0)],
        centre=["城东邻里中心", "城东邻里中心"],
        site=["卫生站楼", "照料中心楼"],
        kind=["多点串联", ""],
        functions=["病有所医", "老有所养"],
    )


def test_a_linked_centre_covers_each_function_from_the_site_hosting_it(street):
    graph, acc = street
    centres = make_centres(_linked_centre(), FUNCTIONS)
    assert centres.sites["kind"].tolist() == ["linked", "linked"]
    reach = site_reach(acc, graph, centres)
    table = centre_coverage(acc, centres, reach, {"建成": np.array([True, True])}).set_index("function")
    # Resident at 500 m: site 1 (medical) is 500 m = 7.5 min away -> covered for 病有所医;
    # site 2 (elderly) is 1,500 m = 22.5 min > 15 -> not covered for 老有所养 by this centre.
    # Resident at 2,500 m: site 2 is 500 m away -> covered for 老有所养; site 1 is 2,500 m -> not for 病有所医.
    assert table.loc["medical", "covered_after"] == 1000
    assert table.loc["elderly", "covered_after"] == 400
    assert table.loc["elderly", "covered_before"] == 0
    # Nobody is covered for childcare: no site hosts it, though both sites are "the centre".
    assert table.loc["childcare", "covered_after"] == 0
    # Food: the existing market covers the 400 at 2,500 m; the centre hosts no food.
    assert table.loc["food", "covered_before"] == 400
    assert table.loc["food", "newly_covered"] == 0
    assert table.loc["medical", "covered_pct_after"] == pytest.approx(100 * 1000 / 1400)
    assert table.loc["medical", "sites"] == 1


def test_the_same_centre_as_one_site_hosting_everything_covers_more(street):
    graph, acc = street
    # The linked centre's site 1 alone, hosting every function (a single-site centre at 0 m).
    single = make_centres(_points([(0, 0)], centre=["城东邻里中心"]), FUNCTIONS)
    assert single.sites["kind"].tolist() == ["single"]
    table = centre_coverage(acc, single, site_reach(acc, graph, single), {"s": np.array([True])})
    by = table.set_index("function")
    # 0 m reaches the resident at 500 m for every function (1,000), never the one at 2,500 m.
    assert by.loc["elderly", "covered_after"] == 1000
    assert by.loc["food", "covered_after"] == 1400  # 1,000 new + the 400 the market covers


def test_centre_facilities_agree_with_the_coverage_of_the_sites(street):
    graph, acc = street
    centres = make_centres(_linked_centre(), FUNCTIONS)
    facilities = centre_facilities(centres)
    assert sorted(facilities["function"]) == ["elderly", "medical"]
    # Routed another way (nearest facility per function, the engine of coverage and placement):
    existing = _points([(3000, 0)], function=["food"], type=[""])
    with_centre = accessibility(graph, acc.demand, pd.concat([existing, facilities], ignore_index=True))
    table = centre_coverage(acc, centres, site_reach(acc, graph, centres), {"s": np.array([True, True])})
    for f, covered in table.set_index("function")["covered_after"].items():
        mask = with_centre.covered(f)
        assert float(with_centre.demand["residents"].to_numpy()[mask].sum()) == covered, f


def test_a_hub_with_a_station(street):
    graph, acc = street
    hub = _points(
        [(0, 0), (2400, 0)],
        centre=["镇邻里中心", "镇邻里中心"],
        site=["镇中心", "农商行便民服务点"],
        role=["中心", "服务站点"],
        functions=["全部", "事有所办"],
    )
    centres = make_centres(hub, FUNCTIONS)
    assert centres.sites["kind"].tolist() == ["hub", "hub"]
    assert centres.sites["role"].tolist() == ["main", "station"]
    table = centre_coverage(acc, centres, site_reach(acc, graph, centres), {"s": np.array([True, True])})
    by = table.set_index("function")
    # The station (100 m from the resident at 2,500 m) adds 事有所办 there, and nothing else.
    assert by.loc["services", "covered_after"] == 1400
    assert by.loc["medical", "covered_after"] == 1000
    # A station must say what it hosts.
    with pytest.raises(InputDataError, match="服务站点，须写明其服务功能"):
        make_centres(hub.assign(functions=["全部", ""]), FUNCTIONS)
    with pytest.raises(InputDataError, match="有且只有 1 个「中心」"):
        make_centres(hub.assign(role=["服务站点", "服务站点"], kind="中心辐射", functions="事有所办"), FUNCTIONS)


def test_kinds_are_checked_against_their_sites():
    two = _points([(0, 0), (100, 0)], centre=["甲", "甲"])
    with pytest.raises(InputDataError, match="单体集约，却有 2 个站点"):
        make_centres(two.assign(kind="单体集约"), FUNCTIONS)
    with pytest.raises(InputDataError, match="应有 2 个以上站点"):
        make_centres(two.iloc[:1].assign(kind="多点串联"), FUNCTIONS)
    with pytest.raises(InputDataError, match="不同的类型"):
        make_centres(two.assign(kind=["多点串联", "中心辐射"]), FUNCTIONS)
    with pytest.raises(InputDataError, match="类型「综合体」无效"):
        make_centres(two.assign(kind="综合体"), FUNCTIONS)
    with pytest.raises(InputDataError, match="服务功能「理发」无效"):
        make_centres(two.assign(functions="理发"), FUNCTIONS)
    far = _points([(0, 0), (1200, 0)], centre=["乙", "乙"])
    assert "相距约 1,200 m" in make_centres(far, FUNCTIONS).notes[0]


# ------------------------------------------------------------------------ programme


def test_words_of_the_programme():
    assert parse_status("在建") == "construction"
    assert parse_status(" 已建成 ") == "open"
    assert parse_status("差不多了") is None
    assert parse_date("2026-12-31")[0] == dt.date(2026, 12, 31)
    assert parse_date("2026/12/31")[0] == dt.date(2026, 12, 31)
    assert parse_date("2026年12月31日")[0] == dt.date(2026, 12, 31)
    assert parse_date("2026-12-31 00:00:00")[0] == dt.date(2026, 12, 31)  # an Excel date cell
    # A month means its last day, and says so.
    day, note, why = parse_date("2026年2月")
    assert day == dt.date(2026, 2, 28) and "月末" in note and why is None
    # Excel serial 46387 = 2026-12-31 (days since 1899-12-30).
    assert parse_date("46387")[0] == dt.date(2026, 12, 31)
    assert parse_date("2026年底")[0] == dt.date(2026, 12, 31)
    assert parse_date("2026-02-30")[2].startswith("日期不存在")
    assert parse_date("下个月")[2].startswith("无法识别")
    assert parse_date("12")[2].startswith("不是日期")
    assert parse_phase("第二期") == (2, None)
    assert parse_phase("首批") == (1, None)
    assert parse_phase("3") == (3, None)
    assert parse_phase("第十二批") == (12, None)
    assert parse_phase("0")[0] is None
    assert parse_target("24@2026年12月") == Target(24, dt.date(2026, 12, 31))
    with pytest.raises(InputDataError, match="个数@日期"):
        parse_target("24 by year end")


def _programme():
    # Four centres on the toy street; today is 2026-12-06 in every test.
    sites = _points(
        [(0, 0), (2000, 0), (2400, 0), (1000, 0), (500, 0)],
        centre=["甲", "甲", "乙", "丙", "丁"],
        kind=["多点串联", "多点串联", "", "", ""],
        functions=["病有所医", "老有所养", "全部", "全部", "全部"],
        status=["已建成", "", "在建", "规划", "已批复"],
        target_date=["2026-06-30", "", "2026-12-20", "2027-06-30", "2026-11-30"],
        phase=[1, 1, 1, 2, 3],
    )
    return make_programme(sites, FUNCTIONS)


TODAY = dt.date(2026, 12, 6)


def test_lateness_against_today():
    late = lateness(_programme(), TODAY).set_index("centre")
    assert late.loc["甲", "lateness"] == "open"  # open, whatever its date
    assert late.loc["乙", "lateness"] == "due_soon"  # 14 days left, not open
    assert late.loc["乙", "days_left"] == 14
    assert late.loc["丙", "lateness"] == "on_track"
    assert late.loc["丁", "lateness"] == "overdue"  # 2026-11-30 passed 6 days ago
    assert late.loc["丁", "days_late"] == 6
    assert late.loc["甲", "sites"] == 2
    assert late.loc["甲", "functions_zh"] == "老有所养、病有所医"


def test_progress_against_targets():
    table = progress(_programme(), [Target(3, dt.date(2026, 12, 31)), Target(1, dt.date(2026, 6, 30))], TODAY)
    year_end = table.iloc[0]
    # Open: 甲. Due by 2026-12-31: 甲 (06-30), 乙 (12-20), 丁 (11-30) = 3 >= 3 -> scheduled.
    assert (year_end["open"], year_end["construction"], year_end["scheduled"], year_end["gap"]) == (1, 1, 3, 2)
    assert year_end["verdict"] == "scheduled" and year_end["overdue"] == 1
    assert table.iloc[1]["verdict"] == "met"
    short = progress(_programme(), [Target(4, dt.date(2026, 12, 31))], TODAY).iloc[0]
    assert short["verdict"] == "short"
    missed = progress(_programme(), [Target(2, dt.date(2026, 12, 1))], TODAY).iloc[0]
    assert missed["verdict"] == "missed"


def test_phases_are_cumulative(street):
    graph, acc = street
    programme = _programme()
    stages = phase_stages(programme)
    assert list(stages) == ["已建成（现状）", "第1期后", "第2期后", "第3期后"]
    # Sites: 甲 x2 (phase 1, open), 乙 (1), 丙 (2), 丁 (3).
    assert stages["第1期后"].tolist() == [True, True, True, False, False]
    assert stages["第3期后"].all()
    assert stages["已建成（现状）"].tolist() == [True, True, False, False, False]
    table = programme_coverage(acc, graph, programme)
    medical = table[table["function"] == "medical"].set_index("stage")["covered_after"]
    # 现状: nobody. Open (甲's clinic at 0 m): 1,000. Phase 1 adds 乙 at 2,400 m (all functions): +400.
    assert medical.tolist() == [0, 1000, 1400, 1400, 1400]
    elderly = table[table["function"] == "elderly"].set_index("stage")["covered_after"]
    # 甲's day care at 2,000 m reaches only the 400 at 2,500 m; 丙 (1,000 m, phase 2) the 1,000 at 500 m.
    assert elderly.tolist() == [0, 400, 400, 1400, 1400]
    # Never shrinks from one phase to the next.
    for _, one in table[table["phase"] > 0].groupby("function"):
        assert np.all(np.diff(one["covered_after"].to_numpy()) >= 0)


def test_centres_that_disagree_or_lack_a_status_are_refused():
    sites = _points([(0, 0), (100, 0)], centre=["甲", "甲"], status=["在建", "规划"], phase=[1, 1])
    with pytest.raises(InputDataError, match="各站点状态不一致"):
        make_programme(sites, FUNCTIONS)
    with pytest.raises(InputDataError, match="没有状态"):
        make_programme(sites.assign(status=""), FUNCTIONS)
    with pytest.raises(InputDataError, match="状态「差不多」无效"):
        make_programme(sites.assign(status="差不多"), FUNCTIONS)
    with pytest.raises(InputDataError, match="目标日期「明年」"):
        make_programme(sites.assign(status="在建", target_date="明年"), FUNCTIONS)


def test_plans_saved_before_the_programme_are_single_centres():
    point = {"type": "Point", "coordinates": [118.80, 25.03]}
    old = [{"kind": "candidate", "name": "候选点 1", "geometry": point, "properties": {}}]
    programme = programme_from_features(old, FUNCTIONS)
    row = programme.table.iloc[0]
    assert (row["centre"], row["kind"], row["status"], row["phase"], row["target_date"]) == (
        "候选点 1",
        "single",
        "planned",
        1,
        None,
    )
    assert programme.centres.hosts.all()
    with pytest.raises(InputDataError, match="没有候选点"):
        programme_from_features([{"kind": "area", "geometry": point}], FUNCTIONS)
    # Two candidates of the same name without a centre stay two single centres.
    twins = [{**old[0], "name": "选址 1"}, {**old[0], "name": "选址 1"}]
    assert list(programme_from_features(twins, FUNCTIONS).table["centre"]) == ["选址 1（1）", "选址 1（2）"]
    # With a centre they are its sites.
    linked = [{**t, "properties": {"centre": "甲"}} for t in twins]
    assert programme_from_features(linked, FUNCTIONS).table.iloc[0]["sites"] == 2


# ---------------------------------------------------------------------- the ledger

#: A programme ledger on the demo's streets (central Helsinki, WGS84), as a county keeps it:
#: a title row, dates written three ways, a linked centre over two rows, a hub with a station.
LEDGER_HEADER = "中心名称,站点名称,类型,角色,服务功能,状态,目标日期,期次,经度,纬度"
LEDGER_ROWS = [
    "港口邻里中心,港口邻里中心,单体集约,,全部,已建成,2026-06-30,第一期,24.9450,60.1700",
    "议会多点中心,卫生站,多点串联,,病有所医,在建,2026年12月,1,24.9400,60.1720",
    "议会多点中心,照料中心,多点串联,,老有所养,,,1,24.9420,60.1730",
    "车站中心,车站中心,中心辐射,中心,全部,已批复,2026/12/31,2,24.9480,60.1740",
    "车站中心,银行便民服务点,中心辐射,服务站点,事有所办,,,2,24.9500,60.1760",
    "南区中心,南区中心,,,全部,规划,46387,第3期,24.9420,60.1660",
]


def _ledger(tmp_path, rows, name="建设台账.csv"):
    path = tmp_path / name
    path.write_text("\n".join(["惠安县邻里中心建设台账", LEDGER_HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


def test_the_ledger_reads_dates_three_ways(tmp_path, demo_project):
    from geo.workflows.programme_ledger import read_programme_ledger

    read = read_programme_ledger(_ledger(tmp_path, LEDGER_ROWS), demo_project.standard.functions, system="wgs84")
    assert read.complete
    table = read.programme.table.set_index("centre")
    assert list(table.index) == ["港口邻里中心", "议会多点中心", "车站中心", "南区中心"]
    # 2026年12月 -> month end; 2026/12/31; Excel serial 46387 -> 2026-12-31.
    assert table.loc["议会多点中心", "target_date"] == dt.date(2026, 12, 31)
    assert table.loc["车站中心", "target_date"] == dt.date(2026, 12, 31)
    assert table.loc["南区中心", "target_date"] == dt.date(2026, 12, 31)
    assert table.loc["港口邻里中心", "phase"] == 1 and table.loc["南区中心", "phase"] == 3
    assert table.loc["议会多点中心", "status"] == "construction"  # written on its first row only
    assert (table.loc["车站中心", "kind"], table.loc["车站中心", "sites"]) == ("hub", 2)
    # The month and the serial are noted on their lines (3: the first data row is line 3).
    notes = {i.line: i.why for i in read.report.issues}
    assert all(i.loaded for i in read.report.issues)
    assert "月末" in notes[4] and "Excel 日期序号 46387" in notes[8]


def test_bad_rows_of_the_ledger_are_reported_by_line(tmp_path, demo_project):
    from geo.workflows.programme_ledger import read_programme_ledger

    rows = list(LEDGER_ROWS)
    rows[0] = rows[0].replace("已建成", "快好了")  # line 3: unknown status
    rows[5] = rows[5].replace("46387", "明年春节")  # line 8: no date
    rows.append("新区中心,新区中心,,,全部,规划,2027-02-30,1,24.9440,60.1680")  # line 9: no such day
    rows.append("东区中心,东区中心,,,全部,规划,2027-06-30,第零期,24.9440,60.1690")  # line 10: bad phase
    rows[2] = rows[2].replace(",,,1,", ",规划,,1,")  # line 5 says 规划, line 4 says 在建: the centre disagrees
    read = read_programme_ledger(_ledger(tmp_path, rows), demo_project.standard.functions, system="wgs84")
    assert not read.complete
    assert read.report.rows_not_loaded == [3, 4, 5, 8, 9, 10]
    why = {i.line: i.why for i in read.report.issues if not i.loaded}
    assert "状态无法识别" in why[3]
    assert "无法识别的日期" in why[8]
    assert "日期不存在" in why[9]
    assert "期次" in why[10]
    assert "状态不一致" in why[4] and "状态不一致" in why[5]
    assert list(read.programme.table["centre"]) == ["车站中心"]
    text = read.report.to_text()
    assert "第 3 行" in text and "快好了" in text


def test_the_script_writes_the_workbook_and_the_wall_map(tmp_path):
    from openpyxl import load_workbook

    from scripts.programme import main

    out = tmp_path / "进度 图"
    ledger = _ledger(tmp_path, LEDGER_ROWS)
    argv = ["--project", "demo", "--ledger", str(ledger), "--out", str(out), "--today", "2026-12-06", "-q"]
    assert main([*argv, "--target", "3@2026-12-31", "--system", "wgs84", "--paper", "A4"]) == 0
    book = load_workbook(out / "programme.xlsx")
    assert book.sheetnames == ["说明", "中心进度", "站点", "目标进度", "分期覆盖", "读取报告"]
    centres = list(book["中心进度"].values)
    assert centres[0][:3] == ("中心名称", "类型", "站点数")
    assert centres[4][:3] == ("南区中心", "单体集约", 1)
    goals = list(book["目标进度"].values)
    assert goals[1][0] == "2026-12-31 前建成 3 个" and goals[1][-1] == "计划可达成"
    stages = [r[0] for r in list(book["分期覆盖"].values)[1:]]
    assert stages[0] == "现状设施" and "第3期后" in stages
    # Coverage never shrinks from phase to phase (cumulative), per function.
    rows = list(book["分期覆盖"].values)[1:]
    for function in {r[1] for r in rows}:
        after = [r[6] for r in rows if r[1] == function and str(r[0]).startswith("第")]
        assert after == sorted(after)
    assert (out / "programme_map.png").stat().st_size > 50_000
    assert (out / "programme_map.pdf").read_bytes().startswith(b"%PDF")


def test_the_script_refuses_a_ledger_with_bad_rows(tmp_path, capsys):
    from scripts.programme import main

    rows = [*LEDGER_ROWS, "北区中心,北区中心,,,全部,差不多,2027-06-30,1,24.9440,60.1690"]
    out = tmp_path / "out"
    argv = ["--project", "demo", "--ledger", str(_ledger(tmp_path, rows)), "--out", str(out), "-q", "--system", "wgs84"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "第 9 行" in err and "差不多" in err and "未写出任何文件" in err
    assert not out.exists()
    assert main([*argv, "--skip-bad-rows", "--today", "2026-12-06"]) == 0
    assert (out / "programme.xlsx").exists()
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--target", "24 by year end"])
    assert exit_info.value.code == 2


def test_placement_and_coverage_count_a_linked_centre_function_by_function(tmp_path, demo_project):
    """The centres open today as facilities of the project: the coverage of load_analysis (the
    engine of coverage and placement) equals the programme's "open" stage, function by function."""
    from geo.workflows import load_analysis
    from geo.workflows.programme import project_with_centres
    from geo.workflows.programme_ledger import read_programme_ledger

    read = read_programme_ledger(_ledger(tmp_path, LEDGER_ROWS), demo_project.standard.functions, system="wgs84")
    programme = read.programme
    base = load_analysis(demo_project)
    stages = programme_coverage(base.accessibility, base.graph, programme)
    opened = stages[stages["stage_key"] == "open"].set_index("function")["covered_after"]
    with_open = load_analysis(project_with_centres(demo_project, programme))
    acc = with_open.accessibility
    for f in acc.functions.groups:
        covered = float(acc.demand["residents"].to_numpy()[acc.covered(f)].sum())
        assert covered == pytest.approx(opened[f], abs=1e-6), f
    # Only the one open centre (港口邻里中心, all six functions at one site) was added.
    added = with_open.project.facilities[with_open.project.facilities["source"] == "邻里中心"]
    assert len(added) == 6 and set(added["category"]) == {"邻里中心"}
    # After phase 1 the linked centre's two sites add one function each.
    phase1 = project_with_centres(demo_project, programme, up_to_phase=1).facilities
    linked = phase1[phase1["name"].str.startswith("议会多点中心")]
    assert sorted(linked["function"]) == ["elderly", "medical"]
    assert len(demo_project.facilities) == len(base.project.facilities)  # the project is unchanged


def test_placement_script_counts_the_ledgers_open_centres(tmp_path, demo_project, capsys):
    import pyogrio

    from geo.workflows import load_analysis
    from geo.workflows.programme_ledger import read_programme_ledger
    from scripts.place_centers import main

    ledger = _ledger(tmp_path, LEDGER_ROWS)
    out = tmp_path / "选址.gpkg"
    argv = ["--project", "demo", "--model", "mclp", "--new", "1", "--out", str(out), "-q"]
    assert main([*argv, "--centres", str(ledger), "--centres-system", "wgs84", "--functions", "elderly"]) == 0
    table = pyogrio.read_dataframe(out, layer="覆盖统计").set_index("所属功能")
    programme = read_programme_ledger(ledger, demo_project.standard.functions, system="wgs84").programme
    base = load_analysis(demo_project)
    stages = programme_coverage(base.accessibility, base.graph, programme)
    opened = stages[stages["stage_key"] == "open"].set_index("function_zh")["covered_after"]
    # Before the new centre: what the open centre (港口邻里中心) and the existing facilities cover.
    assert table.loc["老有所养", "布点前覆盖人口 (人)"] == pytest.approx(opened["老有所养"])
    existing = stages[stages["stage_key"] == "existing"].set_index("function")["covered_after"]
    assert existing["elderly"] == 0 and opened["老有所养"] > 0  # the demo has no elderly care: the centre adds it
    bad = _ledger(tmp_path, [*LEDGER_ROWS, "北区中心,北区中心,,,全部,差不多,2027-06-30,1,24.9440,60.1690"], "坏.csv")
    assert main([*argv, "--centres", str(bad), "--centres-system", "wgs84"]) == 2
    assert "第 9 行" in capsys.readouterr().err


def test_an_xlsx_ledger_with_excel_dates_and_serials(tmp_path, demo_project):
    """As Excel keeps it: a date cell, a date typed as a number (46387), a month as text, a status
    nobody knows; the bad row is named by its line in the sheet."""
    from openpyxl import Workbook

    from geo.workflows.programme_ledger import read_programme_ledger

    book = Workbook()
    ws = book.active
    ws.append(["2026年邻里中心建设台账"])
    ws.append(LEDGER_HEADER.split(","))
    ws.append(["港口邻里中心", "", "", "", "全部", "已建成", dt.datetime(2026, 6, 30), "1", 24.945, 60.170])
    ws.cell(row=3, column=7).number_format = "yyyy/m/d"
    ws.append(["南区中心", "", "", "", "全部", "规划", 46387, "第2期", 24.942, 60.166])
    ws.append(["车站中心", "", "", "", "全部", "已批复", "2026年12月", "首批", 24.948, 60.174])
    ws.append(["北区中心", "", "", "", "全部", "搁置", "2027-06-30", 1, 24.944, 60.169])
    path = tmp_path / "台账.xlsx"
    book.save(path)
    read = read_programme_ledger(path, demo_project.standard.functions, system="wgs84")
    table = read.programme.table.set_index("centre")
    assert table.loc["港口邻里中心", "target_date"] == dt.date(2026, 6, 30)
    assert table.loc["南区中心", "target_date"] == dt.date(2026, 12, 31)
    assert table.loc["车站中心", "target_date"] == dt.date(2026, 12, 31)
    assert (table.loc["南区中心", "phase"], table.loc["车站中心", "phase"]) == (2, 1)
    assert read.report.rows_not_loaded == [6]
    assert "搁置" in read.report.to_text() and "第 6 行" in read.report.to_text()
