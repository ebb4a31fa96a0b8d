"""Neighborhood-center placement: exact optima by enumeration, spopt agreement, errors, real data."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.coverage import accessibility
from geo.errors import InputDataError
from geo.placement.candidates import network_candidates, read_candidates
from geo.placement.centers import function_weights, place_centers, placement_costs
from geo.placement.lscp import solve_lscp
from geo.placement.mclp import solve_mclp
from geo.placement.pmedian import solve_pmedian
from geo.placement.problem import Problem, reduce_cover
from tests.conftest import X0, Y0, toy_network, toy_points

# ---------------------------------------------------------------------------- helpers


def random_instance(seed: int, cutoff: float = 80.0):
    """A dense random instance: times U(0, 100) s, weights 0-9, pairs kept within ``cutoff``."""
    rng = np.random.default_rng(seed)
    nd, nc = int(rng.integers(6, 22)), int(rng.integers(4, 9))
    T = rng.uniform(0, 100, (nd, nc))
    w = rng.integers(0, 10, nd).astype(float)
    w[0] = 5.0  # never all zero
    d, c = np.nonzero(cutoff >= T)
    return T, w, Problem.from_pairs(d, c, T[d, c], w, nc), int(rng.integers(1, nc))


def brute_mclp(T, w, p, cover):
    return max(w[(T[:, list(S)] <= cover).any(axis=1)].sum() for S in itertools.combinations(range(T.shape[1]), p))


def brute_pmedian(T, w, p, cutoff, penalty):
    Tp = np.where(cutoff >= T, T, penalty)
    return min((w * Tp[:, list(S)].min(axis=1)).sum() for S in itertools.combinations(range(T.shape[1]), p))


def brute_lscp(T, w, cover):
    cov = cover >= T
    need = cov.any(axis=1) & (w > 0)
    for k in range(1, T.shape[1] + 1):
        for S in itertools.combinations(range(T.shape[1]), k):
            if (cov[:, list(S)].any(axis=1) | ~need).all():
                return k
    return 0


# ---------------------------------------------------------------------------- exact = enumeration


@pytest.mark.parametrize("seed", range(12))
def test_mclp_exact_equals_enumeration_and_heuristic_is_bounded(seed):
    T, w, prob, p = random_instance(seed)
    best = brute_mclp(T, w, p, 40.0)  # every p-subset enumerated
    exact = solve_mclp(prob, p, cover_s=40.0)
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    assert exact.gap == pytest.approx(0.0, abs=1e-6)
    assert len(exact.chosen) <= p
    heur = solve_mclp(prob, p, cover_s=40.0, method="heuristic")
    assert heur.objective <= best + 1e-9 <= heur.bound + 2e-9  # the bound really bounds


@pytest.mark.parametrize("seed", range(12))
def test_pmedian_exact_equals_enumeration_and_heuristic_is_bounded(seed):
    T, w, prob, p = random_instance(seed)
    best = brute_pmedian(T, w, p, 80.0, 150.0)  # beyond 80 s a resident counts 150 s
    exact = solve_pmedian(prob, p, penalty_s=150.0)
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    assert len(exact.chosen) == p
    heur = solve_pmedian(prob, p, penalty_s=150.0, method="heuristic")
    assert heur.bound - 1e-6 <= best <= heur.objective + 1e-6


@pytest.mark.parametrize("seed", range(12))
def test_lscp_exact_equals_enumeration(seed):
    T, w, prob, _ = random_instance(seed)
    k = brute_lscp(T, w, 40.0)
    exact = solve_lscp(prob, cover_s=40.0)
    assert exact.status == "optimal"
    assert exact.objective == k
    heur = solve_lscp(prob, cover_s=40.0, method="heuristic")
    assert heur.bound <= k <= heur.objective


def test_lscp_share_is_the_fewest_sites_reaching_the_share():
    T, w, prob, _ = random_instance(3)
    cov = T <= 40.0
    target = 0.6 * w.sum()
    k = next(
        k
        for k in range(1, T.shape[1] + 1)
        if any(w[cov[:, list(S)].any(axis=1)].sum() >= target for S in itertools.combinations(range(T.shape[1]), k))
    )
    sol = solve_lscp(prob, cover_s=40.0, share=0.6)
    assert sol.objective == k
    assert w[cov[:, sol.chosen].any(axis=1)].sum() >= target


def test_fixed_sites_count_but_are_not_chosen_and_excluded_never_open():
    # 3 points, 3 candidates; site 0 (fixed) covers point 0; site 1 covers 1; site 2 covers 1 and 2.
    d = np.array([0, 1, 1, 2])
    c = np.array([0, 1, 2, 2])
    t = np.array([10.0, 10.0, 10.0, 10.0])
    w = np.array([5.0, 3.0, 4.0])
    fixed = np.array([True, False, False])
    prob = Problem.from_pairs(d, c, t, w, 3, fixed=fixed)
    sol = solve_mclp(prob, 1, cover_s=20.0)
    assert list(sol.chosen) == [2]
    assert sol.objective == pytest.approx(12.0)  # 5 by the fixed site + 3 + 4
    excl = Problem.from_pairs(d, c, t, w, 3, fixed=fixed, excluded=np.array([False, False, True]))
    assert list(solve_mclp(excl, 1, cover_s=20.0).chosen) == [1]
    assert solve_mclp(excl, 1, cover_s=20.0).objective == pytest.approx(8.0)


def test_capacitated_mclp_and_pmedian_by_hand():
    # Points A, B (10 residents each); site 0 reaches A (10 s) and B (20 s), site 1 reaches B (5 s).
    d, c, t = np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([10.0, 20.0, 5.0])
    prob = Problem.from_pairs(d, c, t, np.array([10.0, 10.0]), 2)
    one = solve_mclp(prob, 1, cover_s=30.0, capacity=12.0)
    assert one.objective == pytest.approx(12.0)  # one site serves at most 12
    two = solve_mclp(prob, 2, cover_s=30.0, capacity=12.0)
    assert two.objective == pytest.approx(20.0)
    assert one.status == two.status == "optimal"
    # p-median, one site of capacity 12, penalty 100 s: site 0 serving A (10 x 10 s) + 2 of B
    # (2 x 20 s) + 8 of B at the penalty (800) = 940; site 1: B (50) + 10 of A at 100 = 1050.
    pm = solve_pmedian(prob, 1, penalty_s=100.0, capacity=12.0)
    assert pm.objective == pytest.approx(940.0)
    assert list(pm.chosen) == [0]
    _dem, _cand, share = pm.assign_share
    assert share.sum() == pytest.approx(1.2)
    # The heuristics: the same answers here; MCLP's bound is the capacity of one site (12): proven.
    h_one = solve_mclp(prob, 1, cover_s=30.0, capacity=12.0, method="heuristic")
    assert (h_one.method, h_one.status, h_one.objective, h_one.bound) == ("heuristic", "optimal", 12.0, 12.0)
    h_pm = solve_pmedian(prob, 1, penalty_s=100.0, capacity=12.0, method="heuristic")
    assert h_pm.objective == pytest.approx(940.0) and list(h_pm.chosen) == [0]
    # Its bound: the uncapacitated one is 300 (site 0 without a limit: 10 x 10 + 10 x 20); the
    # capacity's is higher: 12 of the 20 served at best, each at least its nearest time:
    # B 10 x 5 + A 2 x 10 + the other 8 at the penalty 8 x 100 = 870.
    assert h_pm.bound == pytest.approx(870.0) and h_pm.status == "heuristic"


@pytest.mark.parametrize("seed", range(10))
def test_capacitated_heuristics_are_feasible_and_their_bounds_hold(seed):
    _T, w, prob, p = random_instance(seed)
    capacity = float(max(w.sum() / (p + 1), 1.0))
    for solve, kwargs, better in (
        (solve_mclp, {"cover_s": 40.0}, 1.0),
        (solve_pmedian, {"penalty_s": 200.0}, -1.0),
    ):
        exact = solve(prob, p, capacity=capacity, **kwargs)
        heur = solve(prob, p, capacity=capacity, method="heuristic", **kwargs)
        assert exact.status == "optimal" and exact.method == "exact"
        assert len(heur.chosen) <= p and heur.method == "heuristic"
        # the heuristic is never better than the optimum, and its bound is on the right side of it
        assert better * heur.objective <= better * exact.objective + 1e-6
        assert better * heur.bound >= better * exact.objective - 1e-6
        # every site serves at most its capacity; every point at most its residents
        dem, cand, share = heur.assign_share
        served = np.bincount(cand, weights=share * w[dem], minlength=prob.n_cand)
        assert (served <= capacity + 1e-6).all()
        assert (np.bincount(dem, weights=share, minlength=prob.n_demand) <= 1 + 1e-6).all()
        assert set(cand) <= set(heur.chosen)


def test_reductions_merge_identical_rows_and_drop_dominated_candidates():
    # Points 0 and 1 reach exactly {0, 1}; point 2 reaches {1}; candidate 0 covers a subset of candidate 1.
    d = np.array([0, 0, 1, 1, 2, 3])
    c = np.array([0, 1, 0, 1, 1, 2])
    t = np.full(6, 5.0)
    w = np.array([1.0, 2.0, 3.0, 0.0])  # point 3 has no residents
    red = reduce_cover(Problem.from_pairs(d, c, t, w, 4), 10.0)
    assert red.stats["demand_rows"] == 2  # {0,1} merged, {2}; point 3 (zero weight) set aside
    assert sorted(red.w.tolist()) == [3.0, 3.0]
    assert red.stats["candidates_dominated"] == 1
    assert red.stats["candidates_covering_nothing"] == 2  # candidate 2 (zero weight only), 3 (nothing)
    assert list(red.cols) == [1]
    assert red.stats["points_zero_weight"] == 1


def test_time_limited_run_is_not_called_optimal():
    # Large enough that no machine proves the optimum in 0.02 s (here it is not proven in 0.5 s).
    rng = np.random.default_rng(0)
    T = rng.uniform(0, 100, (3000, 400))
    w = rng.integers(1, 40, 3000).astype(float)
    d, c = np.nonzero(T <= 8.0)
    prob = Problem.from_pairs(d, c, T[d, c], w, 400)
    sol = solve_mclp(prob, 25, cover_s=8.0, time_limit_s=0.02)
    assert sol.status == "time_limit"
    assert not sol.optimal
    assert sol.bound > sol.objective  # an honest, positive gap
    assert sol.gap > 0
    assert any("时间上限" in n for n in sol.notes)


# ---------------------------------------------------------------------------- spopt


def _spopt():
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    return pulp, locate


@pytest.mark.parametrize("seed", range(4))
def test_objectives_agree_with_spopt(seed):
    pulp, locate = _spopt()
    rng = np.random.default_rng(100 + seed)
    nd, nc, p = 40, 15, 4
    T = rng.uniform(0, 1000, (nd, nc)).round(1)
    w = rng.integers(1, 41, nd).astype(float)
    cover, cutoff, penalty = 300.0, 800.0, 1600.0
    d, c = np.nonzero(cutoff >= T)
    prob = Problem.from_pairs(d, c, T[d, c], w, nc)
    solver = pulp.PULP_CBC_CMD(msg=False)

    mclp = locate.MCLP.from_cost_matrix(T, w, service_radius=cover, p_facilities=p).solve(solver)
    assert solve_mclp(prob, p, cover_s=cover).objective == pytest.approx(pulp.value(mclp.problem.objective))

    Tp = np.where(cutoff >= T, T, penalty)  # the same penalty beyond the cutoff
    pmed = locate.PMedian.from_cost_matrix(Tp, w, p_facilities=p).solve(solver)
    assert solve_pmedian(prob, p, penalty_s=penalty).objective == pytest.approx(pulp.value(pmed.problem.objective))

    coverable = (cover >= T).any(axis=1)
    lscp = locate.LSCP.from_cost_matrix(T[coverable], service_radius=cover).solve(solver)
    assert solve_lscp(prob, cover_s=cover).objective == pytest.approx(pulp.value(lscp.problem.objective))


# ---------------------------------------------------------------------------- errors


def test_errors_are_clear():
    _T, w, prob, _ = random_instance(1)
    with pytest.raises(InputDataError, match="多于可选候选点"):
        solve_mclp(prob, prob.n_cand + 1, cover_s=40.0)
    with pytest.raises(InputDataError, match="正整数"):
        solve_pmedian(prob, 0, penalty_s=150.0)
    with pytest.raises(InputDataError, match="没有可由新中心覆盖"):
        solve_mclp(prob, 1, cover_s=1e-6)  # nothing within a microsecond
    zero = Problem.from_pairs(prob.demand, prob.cand, prob.time_s, np.zeros(prob.n_demand), prob.n_cand)
    with pytest.raises(InputDataError, match="没有可由新中心覆盖"):
        solve_mclp(zero, 1, cover_s=40.0)
    with pytest.raises(InputDataError, match="权重为零"):
        solve_pmedian(zero, 1, penalty_s=150.0)
    with pytest.raises(InputDataError, match="权重为零"):
        solve_lscp(zero, cover_s=40.0)
    with pytest.raises(InputDataError, match="求解方法"):
        solve_mclp(prob, 1, cover_s=40.0, method="fast")
    with pytest.raises(InputDataError, match="惩罚时间"):
        solve_pmedian(prob, 1, penalty_s=10.0)
    with pytest.raises(InputDataError, match="覆盖比例"):
        solve_lscp(prob, cover_s=40.0, share=1.5)
    with pytest.raises(InputDataError, match="不可达"):
        solve_lscp(prob, cover_s=1.0, share=0.99)
    with pytest.raises(InputDataError, match="容量"):
        solve_mclp(prob, 1, cover_s=40.0, capacity=0.0)
    with pytest.raises(InputDataError, match="同时被指定"):
        Problem.from_pairs(
            prob.demand,
            prob.cand,
            prob.time_s,
            w,
            prob.n_cand,
            fixed=np.ones(prob.n_cand, bool),
            excluded=np.ones(prob.n_cand, bool),
        )
    with pytest.raises(InputDataError, match="非负"):
        Problem.from_pairs(prob.demand, prob.cand, prob.time_s, -w, prob.n_cand)
    with pytest.raises(InputDataError, match="越界"):
        Problem.from_pairs(prob.demand, prob.cand + 100, prob.time_s, w, prob.n_cand)
    with pytest.raises(InputDataError, match="长度不一致"):
        Problem.from_pairs(prob.demand[:-1], prob.cand, prob.time_s, w, prob.n_cand)


# ---------------------------------------------------------------------------- geometry: toy and real


@pytest.fixture(scope="module")
def line_street():
    """One straight 1200 m street; homes on it at x = 0, 600, 1200 m; candidates at 300 and 900 m."""
    net = toy_network([[(0, 0), (600, 0)], [(600, 0), (1200, 0)]])
    graph = net.cost_graph("walk")
    demand = gpd.GeoDataFrame({"residents": [10.0, 1.0, 20.0]}, geometry=toy_points([(0, 0), (600, 0), (1200, 0)]))
    cands = gpd.GeoDataFrame(geometry=toy_points([(300, 0), (900, 0)]))
    return graph, demand, cands


def test_costs_and_mclp_on_a_toy_street(line_street):
    graph, demand, cands = line_street
    costs = placement_costs(graph, demand, cands, cutoff_s=600.0)
    speed = graph.profile.speed_kmh / 3.6
    got = {(int(a), int(b)): float(s) for a, b, s in zip(costs.demand, costs.cand, costs.time_s, strict=True)}
    # Walks along the street: 300 m to the nearer candidate, 900 m to the farther (beyond 600 s at 4 km/h).
    assert got[(0, 0)] == pytest.approx(300 / speed, rel=1e-6)
    assert got[(1, 1)] == pytest.approx(300 / speed, rel=1e-6)
    assert (0, 1) not in got
    # 5 minutes at 4 km/h = 333 m: site 1 (900 m) covers x=600 and x=1200 (21 residents), site 0 only 11.
    one = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5)
    assert one.sites["candidate"].tolist() == [1]
    assert one.summary["covered_after"] == pytest.approx(21.0)
    assert one.solution.status == "optimal"
    two = place_centers(graph, demand, cands, model="mclp", p=2, minutes=5)
    assert two.summary["covered_after"] == pytest.approx(31.0)
    assert two.sites["marginal_residents"].tolist() == pytest.approx([21.0, 10.0])
    assert two.assignment["assigned"].tolist() == [0, 0, 1]  # x=600 is equidistant; first site wins
    runner = place_centers(graph, demand, cands, model="lscp", minutes=5)
    assert runner.summary["new_sites"] == 2


def test_existing_centers_are_fixed_and_not_counted(line_street):
    graph, demand, cands = line_street
    existing = gpd.GeoDataFrame(geometry=toy_points([(1150, 0)]))  # covers x=600? no (550 m); x=1200 yes
    plan = place_centers(graph, demand, cands, model="mclp", p=1, minutes=5, existing=existing)
    assert plan.summary["covered_before"] == pytest.approx(20.0)
    assert plan.sites["candidate"].tolist() == [0]  # now the site at 300 m adds 11
    assert plan.summary["covered_after"] == pytest.approx(31.0)


@pytest.fixture(scope="module")
def demo(demo_project):
    project = demo_project
    graph = project.network.cost_graph(project.profile)
    return project, graph, network_candidates(graph)


def test_network_candidates_respect_the_spacing(demo):
    _project, graph, cands = demo
    assert len(cands) == 54  # one node per occupied 200 m cell of the demo extract
    cell = np.floor(shapely.get_coordinates(cands.geometry.to_numpy()) / 200.0)
    assert len(np.unique(cell, axis=0)) == len(cands)
    with pytest.raises(InputDataError, match="间距"):
        network_candidates(graph, spacing_m=0)
    with pytest.raises(InputDataError, match="没有路网节点"):
        network_candidates(graph, boundary=shapely.box(0, 0, 1, 1))


def test_demo_plans_explain_themselves(demo):
    project, graph, cands = demo
    acc = accessibility(graph, project.demand, project.facilities, minutes=5)
    plan = place_centers(graph, project.demand, cands, model="mclp", p=3, minutes=5, acc=acc)
    s = plan.summary
    assert s["status"] == "optimal"
    total = project.demand["residents"].sum()
    assert 0 < s["covered_after"] <= total
    # Marginal residents add up to the newly covered and fall with the rank.
    assert plan.sites["marginal_residents"].sum() == pytest.approx(s["covered_after"] - s["covered_before"])
    assert (np.diff(plan.sites["marginal"]) <= 1e-9).all()
    # The heuristic finds the same optimum here and proves it.
    heur = place_centers(graph, project.demand, cands, model="mclp", p=3, minutes=5, method="heuristic")
    assert heur.summary["objective"] == pytest.approx(s["objective"])
    # Coverage per function never falls, and the centers host every function.
    cov = plan.coverage
    assert len(cov) == 6 and (cov["covered_after"] >= cov["covered_before"] - 1e-9).all()
    assert (cov["covered_pct_after"] <= 100 + 1e-9).all()
    # Every assigned demand point reaches its center within the budget.
    a = plan.assignment
    assert (a.loc[a["covered_after"], "time_min"] <= 5 + 1e-9).all()
    assert len(plan.runner_ups) == 5
    assert not set(plan.runner_ups["candidate"]) & set(plan.sites["candidate"])


def test_function_weighted_mclp_counts_missing_functions(demo):
    project, graph, cands = demo
    acc = accessibility(graph, project.demand, project.facilities, minutes=5)
    w = function_weights(acc, ("elderly", "medical"))
    # The demo has no elderly facility: every resident lacks it; medical is lacking for some.
    res = acc.demand["residents"].to_numpy()
    assert w == pytest.approx(res + res * ~acc.covered("medical"))
    plan = place_centers(
        graph, project.demand, cands, model="mclp", p=2, minutes=5, acc=acc, functions=("elderly", "medical")
    )
    cov = plan.coverage.set_index("function")
    gained = (cov["covered_after"] - cov["covered_before"])[["elderly", "medical"]].sum()
    assert plan.summary["objective"] == pytest.approx(gained)
    assert cov.loc["food", "covered_after"] == cov.loc["food", "covered_before"]  # not hosted
    with pytest.raises(InputDataError, match="不在分析的功能中（老有所养、幼有所育"):
        function_weights(acc, ("schools",))
    with pytest.raises(InputDataError, match="需要覆盖分析"):
        place_centers(graph, project.demand, cands, model="mclp", p=2, functions=("medical",))


def test_demo_pmedian_heuristic_and_exact_agree_within_the_bound(demo):
    project, graph, cands = demo
    exact = place_centers(graph, project.demand, cands, model="pmedian", p=3, minutes=5)
    heur = place_centers(graph, project.demand, cands, model="pmedian", p=3, minutes=5, method="heuristic")
    assert exact.solution.status == "optimal"
    assert heur.solution.bound <= exact.solution.objective + 1e-6 <= heur.solution.objective + 2e-6
    assert exact.summary["mean_time_min"] < 10  # every resident within the 10-minute cutoff here


def test_place_centers_errors(demo, tmp_path):
    project, graph, cands = demo
    with pytest.raises(InputDataError, match="模型"):
        place_centers(graph, project.demand, cands, model="pcenter", p=2)
    with pytest.raises(InputDataError, match="需要新增中心数"):
        place_centers(graph, project.demand, cands, model="mclp")
    with pytest.raises(InputDataError, match="多于可选候选点"):
        place_centers(graph, project.demand, cands.iloc[:2], model="mclp", p=3)
    with pytest.raises(InputDataError, match="residents"):
        place_centers(graph, project.demand.drop(columns="residents"), cands, model="mclp", p=2)
    with pytest.raises(InputDataError, match="步行时间阈值"):
        place_centers(graph, project.demand, cands, model="mclp", p=2, minutes=float("nan"))
    with pytest.raises(InputDataError, match="LSCP 不支持容量"):
        place_centers(graph, project.demand, cands, model="lscp", capacity=100)
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=cands.crs)
    with pytest.raises(InputDataError, match="点或面"):
        place_centers(graph, project.demand, lines, model="mclp", p=1)
    with pytest.raises(InputDataError, match="没有坐标系"):
        place_centers(graph, project.demand, cands.set_crs(None, allow_override=True), model="mclp", p=1)
    with pytest.raises(InputDataError, match="为空"):
        place_centers(graph, project.demand, cands.iloc[:0], model="mclp", p=1)
    far = project.demand.assign(residents=0.0)
    with pytest.raises(InputDataError, match="没有可由新中心覆盖"):
        place_centers(graph, far, cands, model="mclp", p=1)
    acc = accessibility(graph, project.demand.iloc[:5], project.facilities)
    with pytest.raises(InputDataError, match="acc"):
        place_centers(graph, project.demand, cands, model="mclp", p=1, acc=acc)


def test_read_candidates_from_a_planner_csv(demo, tmp_path):
    project, graph, cands = demo
    lonlat = cands.to_crs(4326).geometry
    table = pd.DataFrame(
        {
            "名称": ["甲", "乙", "丙"],
            "经度": lonlat.x[:3],
            "纬度": lonlat.y[:3],
            "required": ["是", "否", ""],
            "excluded": ["", "", "1"],
        }
    )
    path = tmp_path / "候选 点.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    got = read_candidates(path)
    assert got["required"].tolist() == [True, False, False]
    assert got["excluded"].tolist() == [False, False, True]
    plan = place_centers(graph, project.demand, got, model="pmedian", p=1, minutes=5)
    assert plan.sites["candidate"].tolist() == [1]  # 0 is required (fixed), 2 excluded: 1 is the only free site


def test_toy_origin_is_in_utm50():
    # The toy helpers put points at (X0, Y0) in UTM 50N; guard the assumption the toy street test makes.
    assert toy_points([(0, 0)]).iloc[0].x == X0 and toy_points([(0, 0)]).iloc[0].y == Y0


@pytest.mark.parametrize("seed", range(8))
def test_pmedian_lagrangian_path_equals_enumeration(seed, monkeypatch):
    # Large instances take the Lagrangian heuristic + variable fixing path; force it here.
    import geo.placement.pmedian as solve

    monkeypatch.setattr(solve, "PMEDIAN_DIRECT_MIP_PAIRS", 0)
    T, w, prob, p = random_instance(seed)
    best = brute_pmedian(T, w, p, 80.0, 150.0)
    sol = solve.solve_pmedian(prob, p, penalty_s=150.0, time_limit_s=5.0)
    assert sol.bound - 1e-6 <= best <= sol.objective + 1e-6  # never a bound past the optimum
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(best)


def test_more_input_errors(demo):
    project, graph, cands = demo
    empty_geom = cands.copy()
    empty_geom.loc[0, "geometry"] = shapely.Point()
    with pytest.raises(InputDataError, match="空几何"):
        place_centers(graph, project.demand, empty_geom, model="mclp", p=1)
    with pytest.raises(InputDataError, match="居民数"):
        place_centers(graph, project.demand.assign(residents=-1.0), cands, model="mclp", p=1)
    costs = placement_costs(graph, project.demand, cands.iloc[:10], cutoff_s=300.0)
    with pytest.raises(InputDataError, match="成本矩阵与输入不符"):
        place_centers(graph, project.demand, cands, model="mclp", p=1, costs=costs)
    acc = accessibility(graph, project.demand, project.facilities, minutes=5)
    with pytest.raises(InputDataError, match="至少选择一个功能"):
        function_weights(acc, ())
    with pytest.raises(InputDataError, match="没有需求点"):
        placement_costs(graph, project.demand.iloc[:0], cands, cutoff_s=300.0)
    with pytest.raises(InputDataError, match="没有候选点"):
        placement_costs(graph, project.demand, cands.iloc[:0], cutoff_s=300.0)


def test_precomputed_costs_give_the_same_plan(demo):
    project, graph, cands = demo
    costs = placement_costs(graph, project.demand, cands, cutoff_s=600.0)  # one matrix, several questions
    a = place_centers(graph, project.demand, cands, model="mclp", p=3, minutes=5, costs=costs)
    b = place_centers(graph, project.demand, cands, model="mclp", p=3, minutes=5)
    assert a.summary["objective"] == pytest.approx(b.summary["objective"])
    assert a.sites["candidate"].tolist() == b.sites["candidate"].tolist()
