"""Neighborhood-center placement (邻里中心选址): location-allocation on walking times.

"Where should the next 24 neighborhood centers go?"  The models (maximal covering,
p-median, set covering, capacitated variants) and their solvers live in
:mod:`geo.placement.problem` and the model modules; this module brings the geometry: the walking-time cost
matrix and the explanation of the answer.

* candidate sites come from :mod:`geo.placement.candidates`.
* :func:`placement_costs` — the sparse (demand point, candidate, seconds) pairs within
  the cutoff, from the candidates' batched Dijkstra on the reversed graph
  (:func:`geo.network.routing.demand_times_from_reach`): resident *to* center, exact on edges.
* :func:`place_centers` — solve one model and explain the result: sites ranked by
  marginal residents, each demand point's assigned center, coverage per function
  before and after, the runner-up sites.

Metres and seconds inside; candidates and demand in any CRS (reprojected to the
network's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import settings
from geo.access.coverage import Accessibility, check_weight, with_weight
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import demand_times_from_reach, reversed_graph
from geo.network.snapping import snap_points
from geo.placement.candidates import as_points
from geo.placement.lscp import solve_lscp
from geo.placement.mclp import solve_mclp
from geo.placement.pmedian import solve_pmedian
from geo.placement.problem import MIP_REL_GAP, MIP_TIME_LIMIT_S, Problem, Solution

logger = logging.getLogger(__name__)

__all__ = [
    "MODELS",
    "PMEDIAN_CUTOFF_FACTOR",
    "PMEDIAN_PENALTY_FACTOR",
    "Placement",
    "PlacementCosts",
    "function_weights",
    "place_centers",
    "placement_costs",
]

# Documented defaults: geo/settings.py (sources there).
PMEDIAN_CUTOFF_FACTOR: float = settings.PMEDIAN_CUTOFF_FACTOR
PMEDIAN_PENALTY_FACTOR: float = settings.PMEDIAN_PENALTY_FACTOR
RUNNER_UPS: int = settings.PLACEMENT_RUNNER_UPS
#: What a long placement reports: the stage (Chinese, English in parentheses) and the share done (0-1).
StageProgress = Callable[[str, float], None]
STAGE_REACH_ZH = "计算候选点的步行可达范围 (walking reach of the candidate sites)"
STAGE_TIMES_ZH = "整理居民到候选点的步行时间 (walking times to the candidates)"
STAGE_SOLVE_ZH = "求解选址模型 (solving the model)"
STAGE_EXPLAIN_ZH = "统计各站点的新增覆盖 (counting what each site adds)"


def _no_progress(_stage: str, _fraction: float) -> None:
    return None


MODELS = {"mclp": "最大覆盖 (MCLP)", "pmedian": "总步行时间最小 (p-median)", "lscp": "最少中心全覆盖 (LSCP)"}
STATUS_ZH = {
    "optimal": "已证明最优 (proven optimal)",
    "time_limit": "达到时间上限，非最优 (time limit: not proven optimal)",
    "heuristic": "启发式解 (heuristic, gap to bound shown)",
    "infeasible": "不可行 (infeasible)",
    "error": "求解器异常 (solver error)",
}


# ---------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class PlacementCosts:
    """Walking times from demand points to candidate sites within a cutoff.

    Attributes
    ----------
    demand, cand, time_s
        The sparse pairs: resident point, candidate, seconds (resident to candidate).
    n_demand, n_cand
        Sizes.
    cutoff_s
        Pairs above it are absent.
    demand_snapped, cand_snapped
        bool: the point lies within the snapping tolerance of the walk network.
    """

    demand: np.ndarray
    cand: np.ndarray
    time_s: np.ndarray
    n_demand: int
    n_cand: int
    cutoff_s: float
    demand_snapped: np.ndarray
    cand_snapped: np.ndarray


def placement_costs(
    graph: CostGraph,
    demand: gpd.GeoDataFrame | gpd.GeoSeries,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cutoff_s: float,
    progress: StageProgress | None = None,
) -> PlacementCosts:
    """Walking times from every demand point to every candidate within ``cutoff_s`` seconds.

    One batched Dijkstra from the candidates on the reversed graph; times are exact
    on edges (partial edges and access legs count).  Never straight-line distance.
    ``progress(stage, share)`` is told before the reach sets (0) and the times (0.5).

    Raises
    ------
    InputDataError, CRSError
        Empty inputs, no CRS, cutoff out of range (see :func:`geo.network.reach.reach_sets`).
    """
    net = graph.network
    if len(demand) == 0:
        raise InputDataError("没有需求点 (no demand points)")
    if len(candidates) == 0:
        raise InputDataError("没有候选点 (no candidate sites)")
    dem = snap_points(graph, demand.geometry if isinstance(demand, gpd.GeoDataFrame) else demand)
    cand = snap_points(graph, candidates.geometry if isinstance(candidates, gpd.GeoDataFrame) else candidates)
    report = progress or _no_progress
    report(STAGE_REACH_ZH, 0.0)
    reach = reach_sets(reversed_graph(graph), cand, max_time_s=cutoff_s)
    report(STAGE_TIMES_ZH, 0.5)
    pairs = demand_times_from_reach(graph, reach, dem, cand)
    logger.info(
        "placement costs: %d demand points x %d candidates, %d pairs within %.0f s, %s",
        len(dem),
        len(cand),
        pairs.origin.size,
        cutoff_s,
        net.crs.to_string(),
    )
    return PlacementCosts(
        demand=pairs.demand.astype(np.int64),
        cand=pairs.origin.astype(np.int64),
        time_s=pairs.time_s,
        n_demand=len(dem),
        n_cand=len(cand),
        cutoff_s=float(cutoff_s),
        demand_snapped=dem.ok,
        cand_snapped=cand.ok,
    )


def function_weights(acc: Accessibility, functions: Sequence[str] | None = None) -> np.ndarray:
    """Weight of each demand point for a center hosting ``functions`` (default: every function analysed).

    A resident who lacks function f within its budget counts once for f: the weight
    is ``sum_f population_f x (not covered_f)``, with the population of each
    function's basis (residents, or elderly/children where the demand has them).
    """
    functions = acc.functions.groups if functions is None else tuple(functions)
    for f in functions:
        if f not in acc.functions.groups:
            allowed = "、".join(acc.standard.function_label(g) for g in acc.functions.groups)
            raise InputDataError(f"功能 {f!r} 不在分析的功能中（{allowed}） (unknown function)")
    if not functions:
        raise InputDataError("至少选择一个功能 (choose at least one function)")
    w = np.zeros(len(acc.demand))
    for f in functions:
        w += acc.demand[acc.basis(f)].to_numpy(float) * ~acc.covered(f)
    return w


# ---------------------------------------------------------------------------- solve + explain


@dataclass(frozen=True, eq=False)
class Placement:
    """A placement plan and its explanation.

    Attributes
    ----------
    solution
        The solver's answer (status, objective, proven bound and gap).
    sites
        Chosen new sites (network CRS): ``candidate``, ``rank`` (by marginal
        contribution), ``marginal`` (objective units: residents covered for MCLP,
        function-weighted when functions are given; seconds x residents saved for
        p-median), ``marginal_residents``, ``sole_residents`` (residents only this site
        reaches within the budget), ``assigned_residents``, ``mean_time_min``, plus the
        candidates' own columns.
    assignment
        Demand points (network CRS): ``assigned`` (candidate index of the nearest open
        site within the cutoff, -1 none), ``assigned_new`` (bool), ``time_min``,
        ``covered_before`` / ``covered_after`` (within the budget).
    runner_ups
        Best unchosen candidates by what each would add to the plan.
    coverage
        Per function (when ``acc`` is given): covered before/after, percentages.
    summary
        Key figures for the terminal and the web page.
    """

    solution: Solution
    sites: gpd.GeoDataFrame
    assignment: gpd.GeoDataFrame
    runner_ups: gpd.GeoDataFrame
    coverage: pd.DataFrame
    summary: dict


def _rank_cover(covers: list[np.ndarray], w: np.ndarray, residents: np.ndarray, base: np.ndarray):
    """Sequential marginal contribution (greedy order over the chosen set)."""
    covered = base.copy()
    left = list(range(len(covers)))
    order, marg_w, marg_r = [], [], []
    while left:
        gains = [float(w[covers[k][~covered[covers[k]]]].sum()) for k in left]
        k = left[int(np.argmax(gains))]
        new = covers[k][~covered[covers[k]]]
        order.append(k)
        marg_w.append(float(w[new].sum()))
        marg_r.append(float(residents[new].sum()))
        covered[covers[k]] = True
        left.remove(k)
    return order, marg_w, marg_r


def place_centers(
    graph: CostGraph,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    model: str = "mclp",
    p: int | None = None,
    minutes: float = 15.0,
    existing: gpd.GeoDataFrame | None = None,
    acc: Accessibility | None = None,
    functions: Sequence[str] | None = None,
    capacity: float | None = None,
    share: float = 1.0,
    method: str = "exact",
    time_limit_s: float = MIP_TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
    costs: PlacementCosts | None = None,
    progress: StageProgress | None = None,
    weight_column: str | None = None,
) -> Placement:
    """Choose new neighborhood-center sites and explain the choice.

    Parameters
    ----------
    graph
        Routing graph of the travel profile.
    demand
        Demand points with ``residents`` (any CRS).
    candidates
        Candidate sites (any CRS; points or polygons), optional boolean ``required`` /
        ``excluded`` columns.
    model
        ``mclp``, ``pmedian`` or ``lscp``.
    p
        New centers to place (MCLP, p-median).
    minutes
        Walking budget of coverage (MCLP, LSCP) and the base of the p-median cutoff
        (``PMEDIAN_CUTOFF_FACTOR`` x budget, penalty ``PMEDIAN_PENALTY_FACTOR`` x cutoff).
    existing
        Existing centers: always open, not counted in ``p``.
    acc
        Coverage of the six functions (:func:`geo.access.coverage.accessibility`) on the same
        ``demand``: the result reports coverage per function before/after; with
        ``functions`` the MCLP also weighs each resident by the hosted functions they lack.
    functions
        Functions a new center hosts (default: all six, for the coverage report only).
    capacity
        Residents one center serves at most (capacitated MCLP / p-median).
    share
        LSCP: share of all residents to cover (1 = every coverable resident).
    method
        ``exact`` (HiGHS MIP with a time limit) or ``heuristic`` (greedy + swaps with a
        Lagrangian/LP bound).
    time_limit_s
        Wall-clock limit of the MIP in seconds.
    costs
        Precomputed :func:`placement_costs` on the same demand and candidates (with
        ``existing`` appended) with a cutoff covering the model's.
    progress
        ``progress(stage_zh, share)`` at each stage: the reach sets (share 0-0.5 of the
        work), the walking times, the solver (0.6), the explanation (0.9).  A job's
        callback may raise to stop the work there.
    weight_column
        A demand column weighing each point instead of its residents (e.g. ``oldest_old`` or
        ``hardship`` counts from :mod:`geo.access.special_groups`): the models cover, or bring
        close, that column's total; ``capacity`` is then counted in it too.  The report still
        counts residents.

    Returns
    -------
    Placement

    Raises
    ------
    InputDataError
        Unknown model or method, ``p`` missing or larger than the free candidates, no
        coverable demand, all weights zero, demand without ``residents``.
    """
    if model not in MODELS:
        raise InputDataError(f"模型 {model!r} 无效，可选 {', '.join(MODELS)} (unknown model)")
    if model != "lscp" and p is None:
        raise InputDataError(f"{model} 需要新增中心数 p (p is required)")
    if not (np.isfinite(minutes) and minutes > 0):
        raise InputDataError(f"步行时间阈值 minutes={minutes} 须为正数 (budget must be > 0 minutes)")
    if "residents" not in demand.columns:
        raise InputDataError("需求点缺少 residents 列 (demand needs a residents column)")
    net = graph.network
    demand = demand.to_crs(net.crs).reset_index(drop=True)
    cands = as_points(candidates, "候选点 ").to_crs(net.crs).reset_index(drop=True)
    n_new = len(cands)
    fixed = np.zeros(n_new, bool)
    if "required" in cands.columns:
        fixed |= cands["required"].fillna(False).astype(bool).to_numpy()
    excluded = cands["excluded"].fillna(False).astype(bool).to_numpy() if "excluded" in cands.columns else None
    if existing is not None and len(existing):
        ex = as_points(existing, "现有中心 ").to_crs(net.crs)
        ex = gpd.GeoDataFrame({"source": ["existing"] * len(ex)}, geometry=ex.geometry.to_numpy(), crs=net.crs)
        cands = pd.concat([cands, ex], ignore_index=True)
        fixed = np.r_[fixed, np.ones(len(ex), bool)]
        excluded = None if excluded is None else np.r_[excluded, np.zeros(len(ex), bool)]
    cands = gpd.GeoDataFrame(cands, geometry="geometry", crs=net.crs)
    cover_s = minutes * 60.0
    cutoff_s = cover_s * PMEDIAN_CUTOFF_FACTOR if model == "pmedian" else cover_s
    penalty_s = cutoff_s * PMEDIAN_PENALTY_FACTOR
    report = progress or _no_progress
    if costs is None:
        costs = placement_costs(graph, demand, cands, cutoff_s=cutoff_s, progress=lambda st, f: report(st, 0.5 * f))
    elif costs.n_demand != len(demand) or costs.n_cand != len(cands) or costs.cutoff_s < cutoff_s:
        raise InputDataError("预先计算的成本矩阵与输入不符 (precomputed costs do not match the inputs)")
    keep = costs.time_s <= cutoff_s
    residents = demand["residents"].to_numpy(float)
    if not np.isfinite(residents).all() or (residents < 0).any():
        raise InputDataError("居民数 residents 须为非负数 (residents must be >= 0)")
    weight = residents if weight_column is None else check_weight(demand, weight_column)
    hosted: tuple[str, ...] = ()
    if acc is not None:
        if len(acc.demand) != len(demand):
            raise InputDataError("覆盖分析 acc 与需求点不一致 (acc was computed on other demand points)")
        hosted = tuple(functions) if functions is not None else acc.functions.groups
        if model == "mclp" and functions is not None:
            by = acc if weight_column is None else with_weight(acc, weight_column, values=weight)
            weight = function_weights(by, hosted)
    elif functions is not None:
        raise InputDataError("按功能加权需要覆盖分析 acc (functions need acc=accessibility(...))")
    unsnapped = ~costs.cand_snapped
    excluded = unsnapped if excluded is None else (excluded | unsnapped)
    excluded = excluded & ~fixed
    problem = Problem.from_pairs(
        costs.demand[keep], costs.cand[keep], costs.time_s[keep], weight, len(cands), fixed=fixed, excluded=excluded
    )
    kwargs: dict[str, Any] = {"method": method, "time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap}
    report(STAGE_SOLVE_ZH, 0.6)
    if model == "mclp":
        sol = solve_mclp(problem, int(p or 0), cover_s=cover_s, capacity=capacity, **kwargs)
    elif model == "pmedian":
        sol = solve_pmedian(problem, int(p or 0), penalty_s=penalty_s, capacity=capacity, **kwargs)
    else:
        if capacity is not None:
            raise InputDataError("LSCP 不支持容量约束 (capacity applies to mclp and pmedian only)")
        sol = solve_lscp(problem, cover_s=cover_s, share=share, **kwargs)
    report(STAGE_EXPLAIN_ZH, 0.9)
    return _explain(sol, problem, demand, cands, residents, weight, cover_s, penalty_s, acc, hosted, model)


def _explain(sol, problem, demand, cands, residents, weight, cover_s, penalty_s, acc, hosted, model) -> Placement:
    n_d = len(demand)
    d, c, t = problem.demand, problem.cand, problem.time_s
    open_mask = problem.fixed.copy()
    open_mask[sol.chosen] = True
    new_mask = np.zeros(problem.n_cand, bool)
    new_mask[sol.chosen] = True
    # Nearest open site of every demand point (within the cutoff).
    m = open_mask[c]
    order = np.lexsort((t[m], d[m]))
    dd, cc, tt = d[m][order], c[m][order], t[m][order]
    first = np.ones(dd.size, bool)
    first[1:] = dd[1:] != dd[:-1]
    assigned = np.full(n_d, -1, dtype=np.int64)
    time_s = np.full(n_d, np.inf)
    assigned[dd[first]] = cc[first]
    time_s[dd[first]] = tt[first]
    within = t <= cover_s
    fixed_cov = np.zeros(n_d, bool)
    fixed_cov[d[within & problem.fixed[c]]] = True
    if acc is not None and acc.reached and hosted and all(f in acc.reached for f in hosted):
        # h-rural2 (issue 21): a counted hub's town centre covers in the town circle's mode.
        fixed_cov |= np.logical_and.reduce([np.asarray(acc.reached[f], dtype=bool) for f in hosted])
    after_cov = fixed_cov.copy()
    after_cov[d[within & open_mask[c]]] = True
    # Sites ranked by marginal contribution.
    chosen = list(sol.chosen)
    if model == "pmedian":
        order_k, marg, marg_r = _rank_pmedian(chosen, problem, weight, penalty_s)
    else:
        covers = [d[within & (c == j)] for j in chosen]
        order_k, marg, marg_r = _rank_cover(covers, weight, residents, fixed_cov)
    count_new = np.bincount(d[within & new_mask[c]], minlength=n_d)
    sole = np.zeros(problem.n_cand)
    only = within & new_mask[c] & (count_new[d] == 1) & ~fixed_cov[d]
    np.add.at(sole, c[only], residents[d[only]])
    ranked = [chosen[k] for k in order_k]
    sites = cands.iloc[ranked].copy()
    sites.insert(0, "candidate", np.asarray(ranked, dtype=np.int64))
    sites.insert(1, "rank", np.arange(1, len(ranked) + 1))
    sites["marginal"] = marg
    sites["marginal_residents"] = marg_r
    sites["sole_residents"] = sole[ranked] if ranked else []
    has = assigned >= 0
    if sol.assign_share is not None:  # capacitated: what each site serves within its capacity
        a_d, a_c, a_s = sol.assign_share
        key = d * problem.n_cand + c  # sorted: a Problem keeps its pairs by point, then site
        a_t = t[np.searchsorted(key, a_d * problem.n_cand + a_c)]
        served = np.bincount(a_c, weights=a_s * residents[a_d], minlength=problem.n_cand)
        tsum = np.bincount(a_c, weights=a_s * residents[a_d] * a_t, minlength=problem.n_cand)
    else:  # everyone walks to the nearest open site
        served = np.bincount(assigned[has], weights=residents[has], minlength=problem.n_cand)
        tsum = np.bincount(assigned[has], weights=(residents * np.where(has, time_s, 0))[has], minlength=problem.n_cand)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_min = tsum / served / 60.0
    sites["assigned_residents"] = served[ranked] if ranked else []
    sites["mean_time_min"] = mean_min[ranked] if ranked else []
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=cands.crs)
    # Runner-ups: what each unchosen free site would add to the plan.
    free = problem.free & ~open_mask
    if model == "pmedian":
        cur = np.where(np.isfinite(time_s), time_s, penalty_s)
        add = np.bincount(c, weights=weight[d] * np.maximum(0.0, cur[d] - t), minlength=problem.n_cand)
    else:
        add = np.bincount(
            c[within], weights=np.where(after_cov[d[within]], 0.0, weight[d[within]]), minlength=problem.n_cand
        )
    runner = np.flatnonzero(free)
    runner = runner[np.argsort(-add[runner], kind="stable")][:RUNNER_UPS]
    runner_ups = cands.iloc[runner].copy()
    runner_ups.insert(0, "candidate", runner)
    runner_ups["would_add"] = add[runner]
    runner_ups = gpd.GeoDataFrame(runner_ups, geometry="geometry", crs=cands.crs)
    assignment = demand.copy()
    assignment["assigned"] = assigned
    assignment["assigned_new"] = new_mask[np.clip(assigned, 0, None)] & has
    assignment["time_min"] = np.where(has, time_s / 60.0, np.nan)
    assignment["covered_before"] = fixed_cov
    assignment["covered_after"] = after_cov
    coverage = _coverage_table(acc, hosted, d, c, t, new_mask, cover_s) if acc is not None else pd.DataFrame()
    total = float(residents.sum())
    summary = {
        "model": model,
        "model_zh": MODELS[model],
        "method": sol.method,
        "status": sol.status,
        "status_zh": STATUS_ZH.get(sol.status, sol.status),
        "new_sites": len(ranked),
        "objective": sol.objective,
        "bound": sol.bound,
        "gap_pct": 100.0 * sol.gap,
        "solve_time_s": sol.solve_time_s,
        "residents": total,
        "covered_before": float(residents[fixed_cov].sum()),
        "covered_after": float(residents[after_cov].sum()),
        "covered_pct_after": 100.0 * float(residents[after_cov].sum()) / total if total else float("nan"),
        "mean_time_min": float(np.nansum(residents * np.where(has, time_s, np.nan)) / residents[has].sum() / 60.0)
        if residents[has].sum() > 0
        else float("nan"),
        "unreached_residents": float(residents[~has].sum()),
        "served_within_capacity": float(served.sum()) if sol.assign_share is not None else None,
        "budget_min": cover_s / 60.0,
        "notes": sol.notes,
        "reduction": sol.reduction,
    }
    logger.info(
        "placement %s: %s, %d sites, objective %.1f, gap %.3f%%",
        model,
        sol.status,
        len(ranked),
        sol.objective,
        100 * sol.gap,
    )
    return Placement(sol, sites, assignment, runner_ups, coverage, summary)


def _rank_pmedian(chosen: list[int], problem: Problem, w: np.ndarray, penalty_s: float):
    d, c, t = problem.demand, problem.cand, problem.time_s
    cur = np.full(problem.n_demand, float(penalty_s))
    fm = problem.fixed[c]
    np.minimum.at(cur, d[fm], t[fm])
    left = list(range(len(chosen)))
    order, marg, marg_r = [], [], []
    while left:
        gains = []
        for k in left:
            on = c == chosen[k]
            gains.append(float((w[d[on]] * np.maximum(0.0, cur[d[on]] - t[on])).sum()))
        k = left[int(np.argmax(gains))]
        on = c == chosen[k]
        better = t[on] < cur[d[on]]
        order.append(k)
        marg.append(max(gains))
        marg_r.append(float(w[np.unique(d[on][better])].sum()))
        np.minimum.at(cur, d[on], t[on])
        left.remove(k)
    return order, marg, marg_r


def _coverage_table(acc, hosted, d, c, t, new_mask, cover_s) -> pd.DataFrame:
    rows = []
    for f in acc.functions.groups:
        basis = acc.basis(f)
        pop = acc.demand[basis].to_numpy(float)
        before = acc.covered(f)
        after = before.copy()
        if f in hosted:
            hit = new_mask[c] & (t <= min(cover_s, acc.budget_s[f]))
            after[d[hit]] = True
        total = float(pop.sum())
        rows.append(
            {
                "function": f,
                "function_zh": acc.standard.function_label(f),
                "hosted": f in hosted,
                "basis": basis,
                "population": total,
                "covered_before": float(pop[before].sum()),
                "covered_after": float(pop[after].sum()),
                "covered_pct_before": 100.0 * float(pop[before].sum()) / total if total else float("nan"),
                "covered_pct_after": 100.0 * float(pop[after].sum()) / total if total else float("nan"),
            }
        )
    return pd.DataFrame(rows)
