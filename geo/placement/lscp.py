"""Location set covering (LSCP): the fewest new sites covering every coverable point (or a share of the
weight): row-weighting local search on one core while HiGHS solves the LP bound, then the MIP.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse

from geo import settings
from geo.errors import InputDataError
from geo.placement.cover_search import CHUNK_STEPS, CoverSearch, dominated_rows
from geo.placement.highs import binary_pick, run_highs, set_cover_model
from geo.placement.problem import (
    FINISH_S,
    HEURISTIC_BOUND_S,
    HEURISTIC_TIME_LIMIT_S,
    LAGRANGE_ITERATIONS,
    MIP_REL_GAP,
    MIP_TIME_LIMIT_S,
    CoverReduction,
    Problem,
    Solution,
    dominated,
    reduce_cover,
    time_limit_notes,
)

logger = logging.getLogger(__name__)

__all__ = ["solve_lscp"]

# ---------------------------------------------------------------------------- LSCP


def _greedy_cover(At: sparse.csr_array, w: np.ndarray, need: float, n_rows: int) -> list[int]:
    """Greedy cover until ``need`` weight is covered, then drop redundant sites (vectorised)."""
    covered = np.zeros(n_rows, bool)
    chosen: list[int] = []
    got = 0.0
    while got < need - 1e-9:
        gain = At @ np.where(covered, 0.0, w)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        got += float(w[rows[~covered[rows]]].sum())
        covered[rows] = True
    return _drop_redundant(At, w, chosen, need, n_rows)


def _drop_redundant(At: sparse.csr_array, w: np.ndarray, chosen: list[int], need: float, n_rows: int) -> list[int]:
    """Remove sites whose rows stay covered (or the share stays met) without them, the last first."""
    count = np.zeros(n_rows, np.int64)
    for j in chosen:
        count[At.indices[At.indptr[j] : At.indptr[j + 1]]] += 1
    got = float(w[count > 0].sum())
    keep = list(chosen)
    for j in reversed(chosen):
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        lost = float(w[rows[count[rows] == 1]].sum())
        if got - lost >= need - 1e-9:
            count[rows] -= 1
            got -= lost
            keep.remove(j)
    return keep


def _reduce_set_cover(A: sparse.csr_array) -> tuple[sparse.csr_array, np.ndarray, np.ndarray, dict]:
    """Full set cover: essential columns, dominated rows and columns, until nothing changes.

    Returns the reduced matrix, the original column of each kept column, the columns
    forced in, and counts.
    """
    cols = np.arange(A.shape[1])
    forced: list[int] = []
    stats = {"rows_dominated": 0, "cols_dominated": 0, "cols_essential": 0}
    A = A.tocsr()
    for _ in range(20):
        size = np.diff(A.indptr)
        single = np.flatnonzero(size == 1)
        essential = np.unique(A.indices[A.indptr[single]]) if single.size else np.zeros(0, int)
        if essential.size:
            forced.extend(cols[essential].tolist())
            hit = np.asarray(A[:, essential].sum(axis=1)).ravel() > 0
            A = A[~hit]
            keep = np.ones(A.shape[1], bool)
            keep[essential] = False
            A, cols = A[:, keep].tocsr(), cols[keep]
            stats["cols_essential"] += int(essential.size)
        rd = dominated_rows(A) if A.shape[0] else np.zeros(0, bool)
        A = A[~rd].tocsr()
        used = np.diff(A.tocsc().indptr) > 0
        cd = dominated(A) | ~used if A.shape[0] else np.ones(A.shape[1], bool)
        A, cols = A[:, ~cd].tocsr(), cols[~cd]
        stats["rows_dominated"] += int(rd.sum())
        stats["cols_dominated"] += int(cd.sum())
        if not (essential.size or rd.any() or cd.any()):
            break
    return A, cols, np.asarray(forced, int), stats


def _lagrange_cover(A: sparse.csr_array, At: sparse.csr_array, best: float, *, deadline: float) -> float:
    """Lower bound of unicost set covering by subgradient optimisation (Beasley 1990).

    Relaxing every row ``sum_j a_ij x_j >= 1`` with ``u_i >= 0``:
    ``L(u) = sum_i u_i + sum_j min(0, 1 - (A^T u)_j)``, at most the LP optimum.
    """
    size = np.diff(At.indptr).astype(float)
    u = np.asarray((A.multiply(1.0 / size[None, :])).max(axis=1).todense()).ravel()  # cheapest share per row
    bound, theta, stall = 0.0, 2.0, 0
    for _ in range(LAGRANGE_ITERATIONS):
        rc = 1.0 - At @ u
        value = float(u.sum() + np.minimum(rc, 0.0).sum())
        if value > bound + 1e-9:
            bound, stall = value, 0
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 2, 0
        if np.ceil(bound - 1e-6) >= best or theta < 1e-4 or time.perf_counter() > deadline:
            break
        g = 1.0 - A @ (rc < 0).astype(float)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm <= 0:  # the relaxed solution is a cover: the bound is the optimum
            break
        u = np.maximum(u + theta * (best - value) / norm * g, 0.0)
    return bound


def _set_cover_exact(
    A: sparse.csr_array, method: str, time_limit_s: float, mip_rel_gap: float, stats: dict, t_start: float
) -> tuple[np.ndarray, float, str]:
    """Fewest columns covering every row: reductions, greedy, LP bound, local search, MIP.

    ``t_start`` is when the whole solve began (the heuristic's budget counts from it).
    Returns (columns chosen, proven lower bound, status).
    """
    t0 = time.perf_counter()
    A, cols, forced, red_stats = _reduce_set_cover(A)
    stats.update(red_stats)
    n_r, n_c = A.shape
    if n_r == 0:
        return forced, float(forced.size), "optimal"
    At = sparse.csr_array(A.T)
    ones = np.ones(n_r)
    cover_rows = sparse.csr_array(A.astype(float))
    lp_limit_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    if method == "heuristic":
        deadline = t_start + settings.PLACEMENT_LSCP_HEURISTIC_S
        lp_limit_s = min(lp_limit_s, 2 * settings.PLACEMENT_LSCP_HEURISTIC_S)
    else:
        deadline = time.perf_counter() + settings.PLACEMENT_LSCP_SEARCH_SHARE * time_limit_s
    start = np.asarray(_greedy_cover(At, ones, float(n_r), n_r), int)
    searches = [CoverSearch(A, start, seed=0), CoverSearch(A, start, seed=1)]
    lb_shared = [1.0]  # the LP's bound once known: both searches stop when they reach it
    stop = threading.Event()

    def run_second() -> None:
        while not stop.is_set() and time.perf_counter() < deadline and searches[1].best_size > lb_shared[0]:
            searches[1].run(CHUNK_STEPS)

    t_search = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Two cores: the LP bound (HiGHS releases the GIL) and then a second search run
        # on one, the local search (numba, GIL released too) on the other.
        lp_future = pool.submit(
            run_highs,
            *set_cover_model(cover_rows),
            maximize=False,
            time_limit_s=lp_limit_s,
            relax=True,
            lp_solver="ipm",
        )
        pool.submit(run_second)
        while time.perf_counter() < deadline and min(x.best_size for x in searches) > lb_shared[0]:
            searches[0].run(CHUNK_STEPS)
            if lp_future.done() and lp_future.result().status == "optimal":
                lb_shared[0] = float(np.ceil(lp_future.result().objective - 1e-6))
        stop.set()
        lp = lp_future.result()
    search = min(searches, key=lambda x: x.best_size)
    stats["search_s"] = round(time.perf_counter() - t_search, 3)
    stats["search_steps"] = sum(x.steps for x in searches)
    S = search.best.tolist()
    if lp.status == "optimal":
        lb = float(np.ceil(lp.objective - 1e-6))
    else:  # the LP ran out of time: the (weaker) Lagrangian bound
        lb = float(np.ceil(_lagrange_cover(A, At, len(S), deadline=time.perf_counter() + HEURISTIC_BOUND_S) - 1e-6))
    status = "optimal" if len(S) <= lb else "heuristic"
    if method == "exact" and status != "optimal":
        keep = np.ones(n_c, bool)
        if lp.row_dual is not None:  # reduced-cost fixing: a better plan has at most |S| - 1 sites
            u = np.clip(lp.row_dual[:n_r], 0.0, None)
            rc = 1.0 - At @ u
            lag = float(u.sum() + np.minimum(rc, 0).sum())
            keep = ~(lag + np.maximum(rc, 0) > len(S) - 1 + 1e-6)
            keep[S] = True
            stats["cols_fixed_out"] = int((~keep).sum())
        sub = cover_rows[:, np.flatnonzero(keep)].tocsr()
        kc = np.flatnonzero(keep)
        start = np.isin(kc, S).astype(float)
        left = max(time_limit_s - (time.perf_counter() - t0) - FINISH_S, 1.0)
        res = run_highs(*set_cover_model(sub), maximize=False, time_limit_s=left, start=start, mip_rel_gap=mip_rel_gap)
        if res.x is not None and res.objective < len(S) - 0.5:
            S = kc[binary_pick(res.x)].tolist()
        if np.isfinite(res.bound):
            lb = max(lb, float(np.ceil(min(res.bound, len(S)) - 1e-6)))
        status = "optimal" if len(S) <= lb else "time_limit"
    chosen = np.r_[forced, cols[np.asarray(S, int)]].astype(int)
    return chosen, lb + forced.size, status


def solve_lscp(
    problem: Problem,
    *,
    cover_s: float,
    share: float = 1.0,
    method: str = "exact",
    time_limit_s: float = MIP_TIME_LIMIT_S,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Solution:
    """Set covering: the fewest new sites covering every coverable point, or ``share`` of all weight.

    ``share`` counts the weight already covered by fixed sites.  With ``share == 1``
    every point that some candidate (or fixed site) reaches is covered; points no
    candidate reaches are reported in the reduction statistics, not an error.

    Raises
    ------
    InputDataError
        ``share`` outside (0, 1], a share larger than the coverable weight, no demand.
    """
    t0 = time.perf_counter()
    if not (0 < share <= 1):
        raise InputDataError(f"覆盖比例 share={share} 应在 (0, 1] 之间 (target share must be in (0, 1])")
    if method not in ("exact", "heuristic"):
        raise InputDataError(f"求解方法 {method!r} 无效 (method must be 'exact' or 'heuristic')")
    red = reduce_cover(problem, cover_s)
    total = float(problem.weight.sum())
    if total <= 0:
        raise InputDataError("所有需求点权重为零 (all demand weights are zero: nothing to cover)")
    A, w = red.A, red.w
    full = share >= 1.0
    need = float(w.sum()) if full else share * total - red.weight_fixed
    coverable = float(w.sum()) + red.weight_fixed
    if not full and share * total > coverable + 1e-9:
        raise InputDataError(
            f"目标覆盖率 {share:.0%} 不可达：候选点最多覆盖 {coverable / total:.1%} 的居民 "
            f"(target share infeasible: candidates reach at most {coverable / total:.1%})"
        )
    notes: list[str] = []
    if red.stats["points_uncoverable"]:
        notes.append(
            f"{red.stats['points_uncoverable']} 个需求点无候选点可覆盖 (points no candidate can cover; not counted)"
        )
    if need <= 1e-9:
        return Solution(
            "lscp",
            method,
            "optimal",
            np.zeros(0, int),
            0.0,
            0.0,
            time.perf_counter() - t0,
            tuple(notes),
            reduction=red.stats,
        )
    stats = dict(red.stats)
    if full:
        left_s = max(time_limit_s - (time.perf_counter() - t0), 1.0)  # the whole solve keeps to the limit
        chosen_local, bound, status = _set_cover_exact(A, method, left_s, mip_rel_gap, stats, t0)
        objective = float(chosen_local.size)
    else:
        chosen_local, objective, bound, status = _share_cover(A, w, need, method, time_limit_s, mip_rel_gap)
    notes += time_limit_notes(status, time_limit_s)
    red = CoverReduction(
        red.A, red.w, red.row_of, red.cols, red.covered_by_fixed, red.uncoverable, red.weight_fixed, stats
    )
    return Solution(
        model="lscp",
        method=method,
        status=status,
        chosen=np.sort(red.cols[chosen_local]),
        objective=objective,
        bound=bound,
        solve_time_s=time.perf_counter() - t0,
        notes=tuple(notes),
        reduction=red.stats,
    )


def _share_cover(
    A: sparse.csr_array, w: np.ndarray, need: float, method: str, time_limit_s: float, mip_rel_gap: float
) -> tuple[np.ndarray, float, float, str]:
    """Fewest columns covering ``need`` weight: greedy, LP bound, MIP."""
    n_r, n_c = A.shape
    At = sparse.csr_array(A.T)
    S = _greedy_cover(At, w, need, n_r)
    # columns: x (sites) then y (row covered); y_i <= sum of its sites, sum w y >= need
    rows = sparse.vstack(
        [
            sparse.hstack([-sparse.csr_array(A.astype(float)), sparse.eye_array(n_r, format="csr")]),
            sparse.hstack([sparse.csr_array((1, n_c)), sparse.csr_array(w[None, :])]),
        ]
    ).tocsr()
    model = (
        np.r_[np.ones(n_c), np.zeros(n_r)],
        np.zeros(n_c + n_r),
        np.ones(n_c + n_r),
        np.r_[np.ones(n_c, bool), np.zeros(n_r, bool)],
        rows,
        np.r_[np.full(n_r, -np.inf), need],
        np.r_[np.zeros(n_r), np.inf],
    )
    if method == "heuristic":
        lp = run_highs(*model, maximize=False, time_limit_s=HEURISTIC_TIME_LIMIT_S, relax=True, lp_solver="ipm")
        bound = float(np.ceil(lp.objective - 1e-6)) if lp.status == "optimal" else 1.0
        status = "optimal" if len(S) <= bound else "heuristic"
        return np.asarray(S, int), float(len(S)), bound, status
    start = np.zeros(n_c + n_r)
    start[S] = 1
    start[n_c:] = np.asarray(A[:, S].sum(axis=1)).ravel() > 0 if S else 0
    res = run_highs(*model, maximize=False, time_limit_s=time_limit_s, start=start, mip_rel_gap=mip_rel_gap)
    chosen = binary_pick(res.x[:n_c]) if res.x is not None and res.objective <= len(S) + 1e-9 else np.asarray(S, int)
    bound = min(float(np.ceil(res.bound - 1e-6)) if np.isfinite(res.bound) else 1.0, float(chosen.size))
    status = "optimal" if chosen.size <= bound else "time_limit"
    return chosen, float(chosen.size), bound, status
