"""HiGHS for every model: one MIP/LP runner with warm start, gap and time limit, the set-cover model,
and the one finish of the capacitated models (their MIP started from the heuristic, optimal once the bound is met).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import sparse

from geo.errors import InputDataError
from geo.placement.problem import MIP_IPM_MIN_NNZ, MIP_REL_GAP

logger = logging.getLogger(__name__)

__all__ = [
    "CapResult",
    "MipResult",
    "assign_fixed_sites",
    "binary_pick",
    "finish_capacitated",
    "run_highs",
    "set_cover_model",
]

# ---------------------------------------------------------------------------- HiGHS


@dataclass(frozen=True)
class MipResult:
    """What HiGHS answered: status, solution vector (if any), objective, proven bound, row duals."""

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    time_s: float
    row_dual: np.ndarray | None = None


def run_highs(
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    integer: np.ndarray,
    rows: sparse.csr_array,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    maximize: bool,
    time_limit_s: float,
    start: np.ndarray | None = None,
    mip_rel_gap: float = MIP_REL_GAP,
    relax: bool = False,
    lp_solver: str = "choose",
    mip_lp_solver: str | None = None,
) -> MipResult:
    """Solve ``opt cost @ x`` s.t. ``row_lower <= rows @ x <= row_upper`` with HiGHS.

    ``mip_lp_solver``: the MIP's LP method (``ipm``, ``simplex``, ...); by default the
    interior-point method above :data:`MIP_IPM_MIN_NNZ` constraint nonzeros.
    """
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", 1)
    if relax:
        h.setOptionValue("solver", lp_solver)
    elif mip_lp_solver is not None:
        h.setOptionValue("mip_lp_solver", mip_lp_solver)
    elif rows.nnz > MIP_IPM_MIN_NNZ:
        # HiGHS's dual simplex stalls on large covering LPs (degenerate); the interior
        # point method solves their LPs in seconds.  (The MCLP asks for it always, through
        # ``mip_lp_solver``: its 500-candidate MIP went from 1.15 s to 0.3 s.)
        h.setOptionValue("mip_lp_solver", "ipm")
    lp = highspy.HighsLp()
    n = cost.size
    csc = sparse.csc_array(rows)
    csc.sort_indices()
    lp.num_col_ = n
    lp.num_row_ = rows.shape[0]
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_ = np.asarray(lower, float)
    lp.col_upper_ = np.asarray(upper, float)
    lp.row_lower_ = np.asarray(row_lower, float)
    lp.row_upper_ = np.asarray(row_upper, float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer]
    h.passModel(lp)
    if start is not None and not relax:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, float))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    elapsed = time.perf_counter() - t0
    if model_status == ms.kInfeasible:
        return MipResult("infeasible", None, float("nan"), float("nan"), elapsed)
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_x else None
    objective = float(info.objective_function_value) if has_x else float("nan")
    if relax:
        status = "optimal" if model_status == ms.kOptimal else "time_limit"
        duals = np.asarray(h.getSolution().row_dual) if status == "optimal" else None
        return MipResult(status, x, objective, objective, elapsed, duals)
    bound = float(info.mip_dual_bound)
    if model_status == ms.kOptimal:
        status = "optimal"
    elif model_status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit, ms.kSolutionLimit):
        status = "time_limit"
    else:
        status = "error"
        logger.warning("HiGHS status %s", h.modelStatusToString(model_status))
    return MipResult(status, x, objective, bound, elapsed)


def binary_pick(x: np.ndarray) -> np.ndarray:
    """Indices of the binary columns set in a MIP solution."""
    return np.flatnonzero(x > 0.5)


def set_cover_model(rows: sparse.csr_array) -> tuple:
    """Unicost set covering for :func:`run_highs`: binary columns, every row covered at least once."""
    n_r, n_c = rows.shape
    return np.ones(n_c), np.zeros(n_c), np.ones(n_c), np.ones(n_c, bool), rows, np.ones(n_r), np.full(n_r, np.inf)


class CapResult(NamedTuple):
    """The best capacitated plan so far: sites, LP solution, objective, bound, status and method."""

    chosen: np.ndarray
    x: np.ndarray
    objective: float
    bound: float
    status: str
    method: str


def finish_capacitated(
    model: tuple,
    best: CapResult,
    method: str,
    maximize: bool,
    free: np.ndarray,
    left_s: float,
    mip_rel_gap: float,
) -> CapResult:
    """Exact: the MIP from the heuristic's answer (kept if the MIP finds nothing better), unless
    that answer already meets its bound.  Either method: ``optimal`` once the bound is met."""
    sign = 1.0 if maximize else -1.0

    def proven(r: CapResult) -> bool:
        return sign * (r.objective - r.bound) >= -mip_rel_gap * max(abs(r.bound), 1.0)

    if method == "exact" and proven(best):  # nothing for the MIP to do
        best = best._replace(method="exact")
    elif method == "exact":
        n_c = free.size
        res = run_highs(*model, maximize=maximize, time_limit_s=max(left_s, 1.0), start=best.x, mip_rel_gap=mip_rel_gap)
        bound = best.bound
        if np.isfinite(res.bound):  # the tighter bound either way
            bound = min(bound, res.bound) if maximize else max(bound, res.bound)
        if res.x is not None and sign * res.objective >= sign * best.objective - 1e-9:
            chosen = np.flatnonzero((res.x[:n_c] > 0.5) & free)
            best = CapResult(chosen, res.x, float(res.objective), bound, res.status, "exact")
        else:
            status = "optimal" if res.status == "optimal" else "time_limit"
            best = best._replace(bound=bound, status=status, method="exact")
    return best._replace(status="optimal") if proven(best) else best


def assign_fixed_sites(model: tuple, open_mask: np.ndarray, n_c: int, maximize: bool, time_limit_s: float):
    """The best assignment of weight to the open sites under capacities: the model's LP with x fixed."""
    cost, lower, upper, integer, rows, lo, hi = model
    lower, upper = lower.copy(), upper.copy()
    lower[:n_c] = upper[:n_c] = open_mask.astype(float)
    res = run_highs(cost, lower, upper, integer, rows, lo, hi, maximize=maximize, time_limit_s=time_limit_s, relax=True)
    if res.x is None:
        raise InputDataError("容量约束下未找到可行方案 (no feasible capacitated assignment found in the time limit)")
    return res
