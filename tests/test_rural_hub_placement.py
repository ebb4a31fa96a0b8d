"""Placement counts a hub's town centre (中心辐射) in the town circle's mode, as the programme coverage does (issue 21).

A toy street 0 .. 6,000 m walked at 4 km/h (15 minutes = 1,000 m): residents at 500 m (1,000
people), 2,500 m (400) and 5,500 m (300).  The hub 小岞镇邻里中心: its town centre at 0 m hosts
病有所医, its bank-branch station at 2,400 m hosts 老有所养.  The town circle (TD/T 1062-2021
乡集镇层级, data/standards/tdt1062_2021.json, 待核实): electric bicycle 20 km/h for 15 minutes =
5,000 m, so the town centre reaches the residents at 500 m and 2,500 m, not those at 5,500 m.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.access.centres import centre_facilities
from geo.access.coverage import accessibility
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.placement import place_centers
from geo.workflows.programme import make_programme, with_town_reach
from tests.conftest import TOY_EPSG, toy_network, toy_points


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=toy_points(xy).to_numpy(), crs=TOY_EPSG)


@pytest.fixture(scope="module")
def town():
    net = toy_network([[(k * 1000, 0), ((k + 1) * 1000, 0)] for k in range(6)])
    demand = _points([(500, 0), (2500, 0), (5500, 0)], residents=[1000.0, 400.0, 300.0], households=[400, 160, 120])
    programme = make_programme(
        _points(
            [(0, 0), (2400, 0)],
            centre=["小岞镇邻里中心", "小岞镇邻里中心"],
            site=["镇中心", "农商行服务点"],
            role=["中心", "服务站点"],
            functions=["病有所医", "老有所养"],
            status=["已建成", "已建成"],
            target_date=["2026-06-30", "2026-06-30"],
            phase=[1, 1],
        ),
        FUNCTIONS,
    )
    # The project with the open centres as facilities (project_with_centres does the same rows).
    fac = centre_facilities(programme.centres, programme.site_values("status") == "open")
    graph = net.cost_graph("walk")
    return graph, accessibility(graph, demand, fac.assign(type="")), programme


def test_the_counted_town_centre_covers_by_e_bike(town):
    graph, acc, programme = town
    walked = acc.covered("medical")
    assert walked.tolist() == [True, False, False]  # on foot: 500 m only
    rode = with_town_reach(acc, graph, programme)
    assert rode.towns == 1
    assert rode.acc.covered("medical").tolist() == [True, True, False]  # 2,500 m = 7.5 min by e-bike
    # The station stays on foot: 老有所养 at 2,400 m reaches the 400 at 2,500 m only (by e-bike
    # it would reach the 1,000 at 500 m too: 1,900 m = 5.7 min).
    assert acc.covered("elderly").tolist() == rode.acc.covered("elderly").tolist() == [False, True, False]
    assert rode.text_zh.startswith("中心辐射的镇级中心 1 处按电动自行车 20 km/h、15 分钟 ≈ 5,000 m")
    assert "待核实" in rode.text_zh and "to be confirmed" in rode.text_en
    assert rode.acc.reached_note == rode.text_zh
    # The input is not changed.
    assert acc.reached is None


def test_a_planner_speed_and_a_bad_speed(town):
    graph, acc, programme = town
    slow = with_town_reach(acc, graph, programme, town_speed_kmh=8)  # 2,000 m: as far as walking reaches here
    assert slow.acc.covered("medical").tolist() == [True, False, False]
    assert "8 km/h、15 分钟 ≈ 2,000 m" in slow.text_zh
    fast = with_town_reach(acc, graph, programme, town_speed_kmh=25)  # 6,250 m: everyone
    assert fast.acc.covered("medical").tolist() == [True, True, True]
    with pytest.raises(InputDataError, match="1-60"):
        with_town_reach(acc, graph, programme, town_speed_kmh=0)


def test_no_town_centre_counted_changes_nothing(town):
    graph, acc, programme = town
    # Up to phase 0 nothing is counted; a programme without a hub has no town centre.
    none = with_town_reach(acc, graph, programme, up_to_phase=0)
    assert none.towns == 0 and none.acc is acc and none.text_zh == ""
    single = make_programme(
        _points([(0, 0)], centre=["城东邻里中心"], status=["已建成"], target_date=["2026-06-30"], phase=[1]), FUNCTIONS
    )
    assert with_town_reach(acc, graph, single).towns == 0


def test_placement_places_beyond_the_town_centres_reach(town):
    graph, acc, programme = town
    candidates = _points([(2500, 0), (5500, 0)])
    existing = acc.facilities[acc.facilities["function"] == "medical"]

    def place(a):
        return place_centers(graph, a.demand, candidates, p=1, acc=a, functions=["medical"], existing=existing)

    walked = place(acc)
    rode = place(with_town_reach(acc, graph, programme).acc)
    # On foot the town centre covers the 1,000 at 500 m: the best new site is 2,500 m (+400).
    assert walked.sites["candidate"].tolist() == [0]
    assert walked.summary["covered_before"] == 1000 and walked.summary["covered_after"] == 1400
    # By e-bike it also covers the 400 at 2,500 m: the new site goes to 5,500 m (+300).
    assert rode.sites["candidate"].tolist() == [1]
    assert rode.summary["covered_before"] == 1400 and rode.summary["covered_after"] == 1700
    medical = rode.coverage.set_index("function").loc["medical"]
    assert medical["covered_before"] == 1400 and medical["covered_after"] == 1700


def test_the_reach_survives_a_weight(town):
    from geo.access.coverage import with_weight

    graph, acc, programme = town
    rode = with_town_reach(acc, graph, programme).acc
    demand = rode.demand.assign(elders=[10.0, 20.0, 30.0])
    weighted = with_weight(dataclasses.replace(rode, demand=demand), "elders")
    assert weighted.covered("medical").tolist() == [True, True, False]
    assert np.isclose(pd.Series(weighted.demand["elders"])[weighted.covered("medical")].sum(), 30.0)


def test_the_placement_script_counts_a_hub_by_its_town_speed(tmp_path, capsys):
    """scripts.place_centers --centres with an open hub on the demo: its town centre hosts 老有所养."""
    import pyogrio

    from scripts.place_centers import main
    from tests.test_programme import _ledger

    ledger = _ledger(
        tmp_path,
        [
            "车站中心,车站中心,中心辐射,中心,老有所养,已建成,2026-06-30,1,24.9400,60.1720",
            "车站中心,银行便民服务点,中心辐射,服务站点,事有所办,,,1,24.9450,60.1700",
        ],
    )
    argv = ["--project", "demo", "--model", "mclp", "--new", "1", "-q", "--centres", str(ledger)]
    argv += ["--centres-system", "wgs84", "--functions", "elderly"]
    before = {}
    for speed in (1, 6):
        out = tmp_path / f"选址{speed}.gpkg"
        assert main([*argv, "--out", str(out), "--town-speed", str(speed)]) == 0
        said = capsys.readouterr().out
        assert f"中心辐射的镇级中心 1 处按电动自行车 {speed} km/h、15 分钟" in said and "待核实" in said
        table = pyogrio.read_dataframe(out, layer="覆盖统计").set_index("所属功能")
        before[speed] = table.loc["老有所养", "布点前覆盖人口 (人)"]
    # 1 km/h reaches less than walking (walking alone); 6 km/h for 15 minutes (1,500 m) more.  (At the
    # default 20 km/h the town centre reaches every resident of the demo: nothing is left to place.)
    assert before[6] > before[1]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path / "x.gpkg"), "--town-speed", "0"])
    assert stop.value.code == 2 and "town-speed" in capsys.readouterr().err


def test_the_check_standard_note_of_a_print():
    from geo.workflows import check_standard_note

    gb = pd.DataFrame(
        {"standard": ["GB 50180-2018"] * 3, "level": ["15_minute"] * 3, "item": ["scale", "a", "b"]}
        | {"status": ["", "待核实", ""]}
    )
    assert check_standard_note(gb) == (
        "生活圈检查标准: GB 50180-2018（按分区城乡类型）；"
        "GB 50180-2018 有 1 项服务半径、出行时间或条文待核实（尚未与标准原文核对）"
    )
    both = pd.concat(
        [gb.assign(status=""), gb.assign(standard="TD/T 1062-2021", level="township", status="待核实")],
        ignore_index=True,
    )
    said = check_standard_note(both, chosen="tdt1062", town_reach_zh="电动自行车 12 km/h")
    assert said.startswith("生活圈检查标准: GB 50180-2018、TD/T 1062-2021（规划师指定）；TD/T 1062-2021 有 3 项")
    assert said.endswith("；镇级生活圈按电动自行车 12 km/h")
    # No unconfirmed line, no town level: the standard alone.
    assert (
        check_standard_note(gb.assign(status=""), town_reach_zh="x")
        == "生活圈检查标准: GB 50180-2018（按分区城乡类型）"
    )


def test_a_centres_notes_have_their_english():
    from geo.access.centres import make_centres

    far = _points([(0, 0), (1200, 0)], centre=["城东中心", "城东中心"], kind=["多点串联", ""])
    centres = make_centres(far, FUNCTIONS)
    assert centres.notes == ("多点串联中心「城东中心」的站点相距约 1,200 m，超过 500 m，请核对是否为同一中心",)
    assert centres.notes_en == (
        "The sites of the linked centre 「城东中心」 lie about 1,200 m apart, more than 500 m: "
        "check that they are one centre",
    )
