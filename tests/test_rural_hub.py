"""A hub's town centre (中心辐射) is judged in the town circle's mode, not the scene's walking (issue 21).

The toy street of tests/test_programme.py: one straight residential street 0 .. 3,000 m, residents
at 500 m (1,000 people) and 2,500 m (400 people), a market at 3,000 m.  Walking 4 km/h: 15 minutes
= 1,000 m.  The town circle (TD/T 1062-2021 乡集镇层级 in data/standards/tdt1062_2021.json): electric
bicycle 20 km/h for 15 minutes = 5,000 m, marked 待核实.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from geo.access.centres import centre_coverage, make_centres, site_reach, town_sites
from geo.access.life_circle import town_reach
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.maps.programme import programme_text
from geo.workflows.programme import lateness, make_programme, programme_coverage, progress
from geo.workflows.programme_outputs import programme_sheets
from tests.test_programme import _points, street  # noqa: F401


def _hub(**extra):
    # 镇中心 at 0 m hosts 病有所医 only; the bank-branch station at 2,400 m hosts 老有所养 only.
    return _points(
        [(0, 0), (2400, 0)],
        centre=["小岞镇邻里中心", "小岞镇邻里中心"],
        site=["镇中心", "农商行服务点"],
        role=["中心", "服务站点"],
        functions=["病有所医", "老有所养"],
        **extra,
    )


def test_town_reach_comes_from_the_standard_data():
    reach = town_reach()
    assert reach.profile.name == "ebike" and reach.profile.speed_kmh == 20
    assert reach.minutes == 15 and reach.budget_s == 900
    assert not reach.confirmed
    assert reach.note_zh.startswith("电动自行车 20 km/h、15 分钟 ≈ 5,000 m")
    assert "乡集镇层级" in reach.note_zh and reach.note_zh.endswith("待核实）")
    slow = town_reach(speed_kmh=8)
    assert slow.profile.speed_kmh == 8 and "规划师指定" in slow.profile.source
    assert "8 km/h、15 分钟 ≈ 2,000 m" in slow.note_zh
    with pytest.raises(InputDataError, match="1-60"):
        town_reach(speed_kmh=0)


def test_the_town_centre_rides_its_stations_walk(street):  # noqa: F811
    graph, acc = street
    centres = make_centres(_hub(), FUNCTIONS)
    assert town_sites(centres).tolist() == [True, False]
    built = {"建成": np.array([True, True])}
    walked = centre_coverage(acc, centres, site_reach(acc, graph, centres), built).set_index("function")
    rode = centre_coverage(acc, centres, site_reach(acc, graph, centres, hub=town_reach()), built)
    rode = rode.set_index("function")
    # On foot (the scene): the town centre at 0 m reaches the 1,000 at 500 m (7.5 min), not the 400
    # at 2,500 m (37.5 min).  By e-bike (20 km/h, 15 min = 5 km) it reaches both: 2,500 m = 7.5 min.
    assert walked.loc["medical", "covered_after"] == 1000
    assert rode.loc["medical", "covered_after"] == 1400
    # The station stays on foot: 老有所养 at 2,400 m reaches only the 400 at 2,500 m (100 m);
    # the 1,000 at 500 m are 1,900 m = 28.5 min away (by e-bike it would be 5.7 min).
    assert walked.loc["elderly", "covered_after"] == rode.loc["elderly", "covered_after"] == 400
    # Each line says which mode its town centre was judged by; lines without one say nothing.
    assert rode.loc["medical", "town_sites"] == 1
    assert rode.loc["medical", "town_reach"].startswith("电动自行车 20 km/h、15 分钟")
    assert rode.loc["elderly", "town_sites"] == 0 and rode.loc["elderly", "town_reach"] == ""
    assert (walked["town_reach"] == "").all()


def test_a_slower_town_speed_reaches_less(street):  # noqa: F811
    graph, acc = street
    centres = make_centres(_hub(), FUNCTIONS)
    # 8 km/h for 15 minutes = 2,000 m: the 400 at 2,500 m are out of reach again.
    reach = site_reach(acc, graph, centres, hub=town_reach(speed_kmh=8))
    table = centre_coverage(acc, centres, reach, {"s": np.array([True, True])}).set_index("function")
    assert table.loc["medical", "covered_after"] == 1000
    assert "8 km/h" in table.loc["medical", "town_reach"]


def test_single_and_linked_centres_keep_walking(street):  # noqa: F811
    graph, acc = street
    single = make_centres(_points([(0, 0)], centre=["城东邻里中心"]), FUNCTIONS)
    reach = site_reach(acc, graph, single, hub=town_reach())
    assert reach.town is None  # no hub: nothing rides
    table = centre_coverage(acc, single, reach, {"s": np.array([True])}).set_index("function")
    assert table.loc["medical", "covered_after"] == 1000


def test_the_programme_and_its_wall_map_say_the_town_mode(street):  # noqa: F811
    graph, acc = street
    programme = make_programme(
        _hub(status=["已建成", "已建成"], target_date=["2026-06-30", "2026-06-30"], phase=[1, 1]), FUNCTIONS
    )
    table = programme_coverage(acc, graph, programme)
    medical = table[table["function"] == "medical"].set_index("stage")["covered_after"]
    assert medical.tolist() == [0, 1400, 1400]  # 现状, open, after phase 1: the town centre by e-bike
    today = dt.date(2026, 12, 6)
    late, goals = lateness(programme, today), progress(programme, [], today)
    sheets = programme_sheets(programme, late, goals, table)
    notes = sheets["说明"].set_index("项目")["内容"]
    assert notes["镇级中心可达口径"].startswith("中心辐射的镇级中心按电动自行车 20 km/h")
    assert "镇级中心可达口径" in sheets["分期覆盖"].columns
    text = programme_text(late, goals, table, today=today, project_name="小岞", assumption="步行 4 km/h, 15 分钟")
    assert any("镇级中心按电动自行车 20 km/h" in line and "待核实" in line for line in text.assumptions)


def test_the_programme_script_says_the_town_mode_and_takes_a_speed(tmp_path):
    from openpyxl import load_workbook

    from scripts.programme import main
    from tests.test_programme import LEDGER_ROWS, _ledger

    # The ledger of tests/test_programme.py has a hub: 车站中心 (town centre) with a bank-branch station.
    ledger = _ledger(tmp_path, LEDGER_ROWS)
    argv = ["--project", "demo", "--ledger", str(ledger), "--today", "2026-12-06", "--system", "wgs84", "-q"]
    said = {}
    for speed in (None, 12):
        out = tmp_path / f"out{speed}"
        assert main([*argv, "--out", str(out), *(["--town-speed", str(speed)] if speed else [])]) == 0
        notes = dict(list(load_workbook(out / "programme.xlsx")["说明"].values)[1:])
        said[speed] = notes["镇级中心可达口径"]
    assert said[None].startswith("中心辐射的镇级中心按电动自行车 20 km/h、15 分钟 ≈ 5,000 m")
    assert said[12].startswith("中心辐射的镇级中心按电动自行车 12 km/h、15 分钟 ≈ 3,000 m")


def test_the_programme_script_refuses_a_bad_town_speed(tmp_path, capsys):
    from scripts.programme import main

    with pytest.raises(SystemExit) as stop:
        main(["--project", "demo", "--ledger", "x.csv", "--out", str(tmp_path / "o"), "--town-speed", "0"])
    assert stop.value.code == 2 and "town-speed" in capsys.readouterr().err
