"""Coverage: nearest-facility times, coverage tables, gaps, the standard check, scenarios.

Toy graphs are worked out by hand (walk: 4.0 km/h = 0.9 s per metre); the real demo
is checked against an independent networkx construction that splits every edge at
the points on it.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.coverage import ALL_UNITS, accessibility, apply_age_shares, assign_units, with_budget
from geo.access.coverage_tables import coverage_table, gap_cells, plan_scenario, scenario_delta, standard_check
from geo.access.standards import FUNCTIONS
from geo.errors import InputDataError
from geo.network.routing import nearest_facilities
from geo.network.snapping import snap_points
from tests.conftest import TOY_EPSG, X0, Y0, toy_network, toy_points

WALK_S_PER_M = 3.6 / 4.0


def _points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=toy_points(xy).to_numpy(), crs=TOY_EPSG)


@pytest.fixture()
def line_net():
    # A(0,0) -- B(100,0) -- C(200,0)
    return toy_network([[(0, 0), (100, 0)], [(100, 0), (200, 0)]])


@pytest.fixture(scope="module")
def demo(demo_project):
    return demo_project


# ------------------------------------------------------------------ hand-checked


def test_time_through_a_node_counts_access_and_partial_edges(line_net):
    graph = line_net.cost_graph("walk")
    demand = snap_points(graph, toy_points([(50, 10)]))
    fac = snap_points(graph, toy_points([(150, 0)]))
    result = nearest_facilities(graph, demand, fac, ["medical"], max_time_s=600)
    # 10 m to the street, 50 m to B, 50 m along BC to the facility: 110 m.
    assert result.time_s[0, 0] == pytest.approx(110 * WALK_S_PER_M, abs=1e-3)
    assert result.facility[0, 0] == 0


def test_time_along_a_shared_edge_is_direct(line_net):
    graph = line_net.cost_graph("walk")
    demand = snap_points(graph, toy_points([(120, 5), (180, 0)]))
    fac = snap_points(graph, toy_points([(150, 3), (10, 0)]))
    result = nearest_facilities(graph, demand, fac, ["food", "food"], max_time_s=600)
    # 5 m + 30 m along BC + 3 m: 38 m; the second point: 30 m + 3 m = 33 m.
    assert result.time_s[:, 0] == pytest.approx(np.array([38, 33]) * WALK_S_PER_M, abs=1e-3)
    assert result.facility[:, 0].tolist() == [0, 0]


def test_point_on_a_facility_has_time_zero(line_net):
    graph = line_net.cost_graph("walk")
    demand = snap_points(graph, toy_points([(150, 0)]))
    fac = snap_points(graph, toy_points([(150, 0)]))
    result = nearest_facilities(graph, demand, fac, ["food"], max_time_s=600)
    assert result.time_s[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_beyond_budget_and_empty_group_are_infinite(line_net):
    graph = line_net.cost_graph("walk")
    demand = snap_points(graph, toy_points([(0, 0)]))
    fac = snap_points(graph, toy_points([(200, 0)]))
    result = nearest_facilities(graph, demand, fac, ["food"], groups=["food", "elderly"], max_time_s=100)
    # 200 m = 180 s > 100 s budget; no elderly facility at all.
    assert np.isinf(result.time_s).all()
    assert (result.facility == -1).all()
    with pytest.raises(InputDataError, match="未计算设施组"):
        result.column("medical")
    with pytest.raises(InputDataError, match="一致"):
        nearest_facilities(graph, demand, fac, ["a", "b"], max_time_s=100)


def test_one_way_streets_time_the_walk_to_the_facility():
    # A(0,0) -> B(100,0) one way for bikes; back along a 300 m detour B - D - A.
    net = toy_network(
        [[(0, 0), (100, 0)], [(100, 0), (100, 100), (0, 100), (0, 0)]],
        oneway=[1, 0],
    )
    graph = net.cost_graph("bike")
    home = snap_points(graph, toy_points([(0, 0)]))
    clinic = snap_points(graph, toy_points([(100, 0)]))
    to_clinic = nearest_facilities(graph, home, clinic, ["medical"], max_time_s=3600).time_s[0, 0]
    back_home = nearest_facilities(graph, clinic, home, ["medical"], max_time_s=3600).time_s[0, 0]
    s_per_m = 3.6 / 12.0
    # Home -> clinic rides the one-way street (100 m); the way back is the detour (300 m).
    assert to_clinic == pytest.approx(100 * s_per_m, abs=1e-3)
    assert back_home == pytest.approx(300 * s_per_m, abs=1e-3)


# ------------------------------------------------------------- against networkx


def _split_graph(graph, points_xy: np.ndarray, n_homes: int) -> tuple[nx.DiGraph, list]:
    """An independent graph: every edge split at the points snapped onto it, plus access legs."""
    net = graph.network
    snapped = snap_points(graph, points_xy, crs=net.crs)
    g = nx.DiGraph()

    def arc(a, b, cost):
        if np.isfinite(cost) and (not g.has_edge(a, b) or g[a][b]["w"] > cost):
            g.add_edge(a, b, w=cost)

    on_edge: dict[int, list[tuple[float, int]]] = {}
    for i in np.flatnonzero(snapped.ok):
        on_edge.setdefault(int(snapped.edge[i]), []).append((float(snapped.pos_m[i]), int(i)))
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        if u == v:
            continue
        stops = [
            (0.0, ("n", u)),
            *[(p, ("s", i)) for p, i in sorted(on_edge.get(e, []))],
            (net.edge_length_m[e], ("n", v)),
        ]
        for (pa, a), (pb, b) in itertools.pairwise(stops):
            arc(a, b, (pb - pa) * graph.fwd_s_per_m[e])
            arc(b, a, (pb - pa) * graph.bwd_s_per_m[e])
    names = []
    for i in range(len(snapped)):
        if snapped.ok[i]:
            leg = snapped.access_m[i] * graph.access_s_per_m
            arc(("p", i), ("s", i), leg)
            arc(("s", i), ("p", i), leg)
        names.append(("p", i))
    # Straight walks from a home (the first n_homes points) to a facility nearer than its street.
    for i in range(n_homes):
        for j in range(n_homes, len(snapped)):
            dist = float(np.hypot(*(points_xy[i] - points_xy[j])))
            if dist <= min(snapped.access_m[i], 300.0):
                # To a terminal of the facility: a straight walk ends there, it does
                # not continue onto the facility's street.
                arc(("p", i), ("t", j), dist * graph.access_s_per_m)
    return g, names


def test_demo_times_equal_a_networkx_brute_force(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities)
    dem_xy = shapely.get_coordinates(acc.demand.geometry.to_numpy())
    fac_xy = shapely.get_coordinates(acc.facilities.geometry.to_numpy())
    g, names = _split_graph(graph, np.vstack([dem_xy, fac_xy]), len(dem_xy))
    k = len(dem_xy)
    checked = 0
    for function in ("medical", "food", "leisure", "services"):
        own = np.flatnonzero(acc.facilities["function"].to_numpy() == function)
        sources = [names[k + j] for j in own] + [("t", k + j) for j in own if ("t", k + j) in g]
        lengths = nx.multi_source_dijkstra_path_length(g.reverse(copy=False), sources, weight="w")
        expected = np.array([lengths.get(names[i], np.inf) for i in range(k)])
        expected[expected > acc.functions.max_time_s] = np.inf
        ours = acc.times_s(function)
        assert np.isinf(ours).tolist() == np.isinf(expected).tolist()
        finite = np.isfinite(ours)
        np.testing.assert_allclose(ours[finite], expected[finite], atol=1e-3)
        checked += int(finite.sum())
    assert checked >= 4 * 50  # most of the 59 buildings reach every one of these functions


# ----------------------------------------------------------------- coverage figures


def test_demo_coverage_figures(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities)
    table = coverage_table(acc)
    whole = table[table["unit"] == ALL_UNITS].set_index("group")
    # 7,002.11 residents in 59 buildings (tests/test_demand.py derives the figure).
    assert whole.loc["medical", "population"] == pytest.approx(7002.11, abs=0.01)
    # Coverage is the sum over points within the budget, and the budget is 15 min.
    covered = acc.demand["residents"].to_numpy()[acc.times_s("medical") <= 15 * 60].sum()
    assert whole.loc["medical", "covered"] == pytest.approx(covered)
    assert whole.loc["medical", "budget_min"] == 15
    # No elderly-care or childcare POI in the extract: nobody covered.
    assert whole.loc["elderly", "covered"] == 0 and whole.loc["childcare", "covered"] == 0
    assert whole.loc["elderly", "facilities"] == 0
    # Types are judged by their service radius: fresh market 500 m = 7.5 min at 4 km/h.
    assert whole.loc["fresh_market", "budget_min"] == pytest.approx(7.5)
    assert "500 m" in whole.loc["fresh_market", "budget_note"]
    # Percentages in [0, 100]; a function covers at least as many as each of its types.
    assert table["covered_pct"].between(0, 100).all()
    for group, row in whole[whole["kind"] == "type"].iterrows():
        if row["function"] not in acc.budget_s:
            continue  # the demo's schools (学有所教): a group of its own, no function to compare with
        if acc.budget_s[group] == acc.budget_s[row["function"]]:
            assert row["covered"] <= whole.loc[row["function"], "covered"] + 1e-9


def test_single_budget_judges_types_by_the_same_minutes(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities, minutes=10, single_budget=True)
    assert {round(b) for b in acc.budget_s.values()} == {600}


def test_adding_a_facility_never_lowers_coverage(demo):
    graph = demo.network.cost_graph("walk")
    before = coverage_table(accessibility(graph, demo.demand, demo.facilities, minutes=5))
    rng = np.random.default_rng(3)
    extra = demo.demand.sample(5, random_state=1).geometry.to_numpy()
    extra = shapely.points(shapely.get_coordinates(extra) + rng.normal(0, 40, (5, 2)))
    added = gpd.GeoDataFrame({"function": list(FUNCTIONS)[:5], "type": [""] * 5}, geometry=extra, crs=demo.network.crs)
    more = pd.concat([demo.facilities, added.to_crs(demo.facilities.crs)], ignore_index=True)
    after = coverage_table(accessibility(graph, demo.demand, more, minutes=5))
    merged = before.merge(after, on=["unit", "group"], suffixes=("_b", "_a"))
    assert (merged["covered_a"] >= merged["covered_b"] - 1e-9).all()
    assert (merged["covered_a"] > merged["covered_b"]).any()


def test_scenario_delta_equals_recomputing_with_the_candidates(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities, minutes=5)
    sites = demo.demand.geometry.iloc[[3, 40]].reset_index(drop=True)
    delta = scenario_delta(acc, graph, sites)
    added = gpd.GeoDataFrame(
        {"function": [f for f in FUNCTIONS for _ in range(2)], "type": ""},
        geometry=list(sites) * len(FUNCTIONS),
        crs=sites.crs,
    )
    redo = accessibility(graph, demo.demand, pd.concat([demo.facilities, added], ignore_index=True), minutes=5)
    whole = coverage_table(redo, by_unit=False).set_index("group")
    together = delta[delta["candidate"] == -1].set_index("function")
    for function in FUNCTIONS:
        assert together.loc[function, "covered_after"] == pytest.approx(whole.loc[function, "covered"], abs=1e-6)
    # Each candidate alone adds no more than both together, and at least one adds something.
    single = delta[delta["candidate"] >= 0]
    for function, rows in single.groupby("function"):
        assert (rows["newly_covered"] <= together.loc[function, "newly_covered"] + 1e-9).all()
    assert delta["newly_covered"].max() > 0
    # A candidate's sole residents are what the plan loses without it.
    three = demo.demand.geometry.iloc[[3, 40, 41]].reset_index(drop=True)
    full = scenario_delta(acc, graph, three)
    all_new = full[full["candidate"] == -1].set_index("function")["newly_covered"]
    for c in range(3):
        rest = scenario_delta(acc, graph, three.drop(index=c).reset_index(drop=True))
        without = rest[rest["candidate"] == -1].set_index("function")["newly_covered"]
        sole = full[full["candidate"] == c].set_index("function")["sole_residents"]
        assert (sole - (all_new - without)).abs().max() == pytest.approx(0.0, abs=1e-6)
        assert (sole <= full[full["candidate"] == c].set_index("function")["newly_covered"] + 1e-9).all()
    with pytest.raises(InputDataError, match="候选点"):
        scenario_delta(acc, graph, sites.iloc[:0])
    with pytest.raises(InputDataError, match="无效，可选: 老有所养"):
        scenario_delta(acc, graph, sites, functions=["parking"])


def test_another_budget_is_a_threshold_on_the_same_times(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities)
    for minutes in (5, 10, 12.5, 30):
        judged = coverage_table(with_budget(acc, minutes), by_unit=False).set_index("group")
        routed = coverage_table(
            accessibility(graph, demo.demand, demo.facilities, minutes=minutes), by_unit=False
        ).set_index("group")
        for function in FUNCTIONS:
            assert judged.loc[function, "covered"] == pytest.approx(routed.loc[function, "covered"], abs=1e-9)
            assert judged.loc[function, "budget_min"] == pytest.approx(minutes)
        # Facility types keep their service radius.
        assert judged.loc["fresh_market", "budget_min"] == pytest.approx(7.5)
    assert "10 分钟" in with_budget(acc, 10).budget_note["medical"]
    for bad in (0, -5, 31, float("nan"), "15", True):
        with pytest.raises(InputDataError, match="时间阈值"):
            with_budget(acc, bad)


def test_plan_scenario_per_unit_adds_up_to_the_whole_area(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities, minutes=5)
    sites = demo.demand.geometry.iloc[[3, 40, 41]].reset_index(drop=True)
    # Two made-up communities, west and east of the middle of the buildings, and a level
    # whose only unit leaves some buildings outside.
    x = shapely.get_coordinates(shapely.centroid(acc.demand.geometry.to_numpy()))[:, 0]
    middle = float(np.median(x))
    community = np.where(x < middle, "W", "E").astype(object)
    grid = np.where(x < middle, "G1", "").astype(object)
    scenario = plan_scenario(acc, graph, sites, units={"community": community, "grid": grid})
    pd.testing.assert_frame_equal(scenario.table, scenario_delta(acc, graph, sites))
    whole = scenario.table[scenario.table["candidate"] == -1].set_index("function")
    units = scenario.units
    assert set(units["level"]) == {"community", "grid"}
    per_function = units[units["level"] == "community"].groupby("function")
    for column in ("population", "covered_before", "newly_covered", "covered_after", "sole_residents"):
        summed = per_function[column].sum()
        for function in FUNCTIONS:
            assert summed[function] == pytest.approx(whole.loc[function, column], abs=1e-6)
    # A unit by hand: the west's residents newly reached by some candidate and not covered before.
    residents = acc.demand["residents"].to_numpy()
    west = units[(units["unit"] == "W") & (units["function"] == "medical")].iloc[0]
    assert west["population"] == pytest.approx(residents[community == "W"].sum())
    assert west["covered_before"] == pytest.approx(residents[(community == "W") & acc.covered("medical")].sum())
    assert west["uncovered_after"] == pytest.approx(west["population"] - west["covered_after"])
    g1 = units[(units["unit"] == "G1") & (units["function"] == "medical")].iloc[0]
    assert g1["population"] == pytest.approx(west["population"])
    assert units["newly_covered"].max() > 0
    assert plan_scenario(acc, graph, sites).units.empty
    with pytest.raises(InputDataError, match="需求点数"):
        plan_scenario(acc, graph, sites, units={"community": community[:-1]})


def test_gap_cells_rank_the_uncovered(demo):
    graph = demo.network.cost_graph("walk")
    acc = accessibility(graph, demo.demand, demo.facilities, minutes=5)
    cells = gap_cells(acc, "medical", cell_m=200)
    uncovered_total = acc.demand["residents"].to_numpy()[~acc.covered("medical")].sum()
    assert cells["uncovered"].sum() == pytest.approx(uncovered_total)
    assert cells["population"].sum() == pytest.approx(acc.demand["residents"].sum())
    assert cells["rank"].tolist() == list(range(1, len(cells) + 1))
    assert (np.diff(cells["uncovered"].to_numpy()) <= 1e-9).all()
    assert np.allclose(cells.geometry.area, 200 * 200)
    with pytest.raises(InputDataError, match="网格边长"):
        gap_cells(acc, "medical", cell_m=0)


# ------------------------------------------------------------- units and age groups


def _toy_area():
    """A 600 m street with a kindergarten at its west end and two 'communities'.

    West community (x < 300): homes at 50 m and 250 m; east community: a home at 500 m.
    """
    net = toy_network([[(0, 0), (300, 0)], [(300, 0), (600, 0)]])
    demand = _points([(50, 0), (250, 0), (500, 0)], residents=[1000.0, 1000.0, 500.0], households=[400, 400, 200])
    facilities = _points(
        [(0, 0), (600, 0)], function=["childcare", "elderly"], type=["kindergarten", "elderly_day_care"]
    )
    units = gpd.GeoDataFrame(
        {"code": ["350521100001", "350521100002"], "name": ["西社区", "东社区"]},
        geometry=[shapely.box(X0 - 10, Y0 - 50, X0 + 300, Y0 + 50), shapely.box(X0 + 300, Y0 - 50, X0 + 610, Y0 + 50)],
        crs=TOY_EPSG,
    )
    return net, assign_units(demand, units), facilities


def test_standard_check_verdicts_on_a_toy_area():
    net, demand, facilities = _toy_area()
    acc = accessibility(net.cost_graph("walk"), demand, facilities)
    check = standard_check(acc, level="5_minute").set_index(["unit", "item"])
    # Kindergarten (300 m): west homes at 50 m (yes) and 250 m (yes) -> 100 % pass;
    # east home at 500 m from it -> 0 % -> missing.
    assert check.loc[("350521100001", "kindergarten"), "verdict"] == "pass"
    assert check.loc[("350521100002", "kindergarten"), "verdict"] == "missing"
    # Day care (300 m) at the east end: east home at 100 m -> pass; west: 350 m and 550 m -> missing.
    assert check.loc[("350521100002", "elderly_day_care"), "verdict"] == "pass"
    assert check.loc[("350521100001", "elderly_day_care"), "verdict"] == "missing"
    # No community service station anywhere -> missing, measured 0 %.
    assert check.loc[("350521100001", "community_service_station"), "verdict"] == "missing"
    assert check.loc[("350521100001", "community_service_station"), "measured"] == 0
    # Scale: 2,000 residents is below the 5,000-12,000 of a 5-minute life circle.
    assert check.loc[("350521100001", "scale"), "verdict"] == "fail"
    assert check.loc[("350521100001", "scale"), "measured"] == 2000
    assert check.loc[("350521100001", "kindergarten"), "clause"].startswith("GB 50180-2018")
    assert check.loc[("350521100001", "kindergarten"), "verdict_zh"] == "达标"
    # 10-minute units need the 10-minute types too (primary school, fresh market, ...).
    ten = standard_check(acc, level="10_minute")
    assert {"primary_school", "fresh_market", "kindergarten"} <= set(ten["item"])
    assert "middle_school" not in set(ten["item"])


def test_standard_check_fail_between_zero_and_required():
    net, demand, facilities = _toy_area()
    moved = facilities.copy()
    moved.loc[0, "geometry"] = shapely.Point(X0 + 100, Y0)  # kindergarten at 100 m
    acc = accessibility(net.cost_graph("walk"), demand, moved)
    check = standard_check(acc, level="5_minute").set_index(["unit", "item"])
    # West homes at 50 m and 250 m: both within 300 m -> pass; east home at 500 m ->
    # 400 m away -> missing.  With the kindergarten at 100 m and a 60 % requirement:
    assert check.loc[("350521100001", "kindergarten"), "verdict"] == "pass"
    half = facilities.copy()
    half.loc[0, "geometry"] = shapely.Point(X0 + 350, Y0)  # reaches 250 (100 m) and 500 (150 m), not 50 (300+)
    acc = accessibility(net.cost_graph("walk"), demand, half)
    check = standard_check(acc, level="5_minute").set_index(["unit", "item"])
    assert check.loc[("350521100001", "kindergarten"), "verdict"] == "fail"
    assert check.loc[("350521100001", "kindergarten"), "measured"] == pytest.approx(50.0)
    assert (
        standard_check(acc, level="5_minute", required_pct=50)
        .set_index(["unit", "item"])
        .loc[("350521100001", "kindergarten"), "verdict"]
        == "pass"
    )
    with pytest.raises(InputDataError, match="生活圈等级"):
        standard_check(acc, level="20_minute")
    with pytest.raises(InputDataError, match="达标覆盖率"):
        standard_check(acc, required_pct=0)


def test_coverage_per_unit_and_households():
    net, demand, facilities = _toy_area()
    acc = accessibility(net.cost_graph("walk"), demand, facilities)
    table = coverage_table(acc).set_index(["unit", "group"])
    assert table.loc[("350521100001", "kindergarten"), "covered_pct"] == pytest.approx(100)
    assert table.loc[("350521100001", "kindergarten"), "households_covered"] == 800
    assert table.loc[("350521100002", "kindergarten"), "covered"] == 0
    assert table.loc[(ALL_UNITS, "kindergarten"), "covered_pct"] == pytest.approx(80)
    assert table.loc[("350521100001", "kindergarten"), "unit_name"] == "西社区"


def test_elderly_care_counts_the_elderly():
    net, demand, facilities = _toy_area()
    shares = {"350521100001": 0.10, "350521100002": 0.30}
    aged = apply_age_shares(demand, elderly_share=shares, children_share=0.05)
    acc = accessibility(net.cost_graph("walk"), aged, facilities)
    table = coverage_table(acc).set_index(["unit", "group"])
    # Elderly: west 2 x 100, east 150; only the east home reaches the day care.
    assert table.loc[(ALL_UNITS, "elderly_day_care"), "basis"] == "elderly"
    assert table.loc[(ALL_UNITS, "elderly_day_care"), "population"] == pytest.approx(350)
    assert table.loc[(ALL_UNITS, "elderly_day_care"), "covered"] == pytest.approx(150)
    assert table.loc[(ALL_UNITS, "kindergarten"), "population"] == pytest.approx(125)
    with pytest.raises(InputDataError, match="没有老年人口比例"):
        apply_age_shares(demand, elderly_share={"350521100001": 0.1})
    with pytest.raises(InputDataError, match="0 到 1"):
        apply_age_shares(demand, elderly_share=1.5)
    with pytest.raises(InputDataError, match="assign_units"):
        apply_age_shares(demand.drop(columns="unit"), elderly_share={"x": 0.1})


def test_bad_inputs_are_clear_errors():
    net, demand, facilities = _toy_area()
    graph = net.cost_graph("walk")
    with pytest.raises(InputDataError, match="residents"):
        accessibility(graph, demand.drop(columns="residents"), facilities)
    bad = demand.copy()
    bad.loc[1, "residents"] = -5
    with pytest.raises(InputDataError, match="第 2 行"):
        accessibility(graph, bad, facilities)
    with pytest.raises(InputDataError, match="六大功能"):
        accessibility(graph, demand, facilities.assign(function="parking"))
    with pytest.raises(InputDataError, match="不在标准"):
        accessibility(graph, demand, facilities.assign(type="helipad"))
    with pytest.raises(InputDataError, match="function"):
        accessibility(graph, demand, facilities.drop(columns="function"))
    aged = demand.assign(elderly=demand["residents"] * 2)
    with pytest.raises(InputDataError, match="elderly"):
        accessibility(graph, aged, facilities)
    units = gpd.GeoDataFrame({"code": ["1", "1"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=TOY_EPSG)
    with pytest.raises(InputDataError, match="重复"):
        assign_units(demand, units)
    with pytest.raises(InputDataError, match="编码列"):
        assign_units(demand, units.rename(columns={"code": "id"}))


def test_demo_point_on_a_facility_has_time_about_zero(demo):
    graph = demo.network.cost_graph("walk")
    at = demo.facilities.geometry
    homes = gpd.GeoDataFrame({"residents": np.ones(len(at))}, geometry=at.to_numpy(), crs=at.crs)
    acc = accessibility(graph, homes, demo.facilities)
    for function in ("medical", "food", "leisure", "services"):
        own = (demo.facilities["function"] == function).to_numpy()
        # A home at a facility: 0 s to that facility; sub-millisecond numerics only.
        assert np.allclose(acc.times_s(function)[own], 0.0, atol=1e-3)
        assert (acc.nearest_index(function)[own] >= 0).all()
