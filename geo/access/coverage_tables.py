"""Coverage figures of an :class:`~geo.access.coverage.Accessibility`: tables per function, type and
unit, gap cells, the life-circle standard check, and what candidate sites add (scenario deltas).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.coverage import ALL_UNITS, Accessibility
from geo.access.life_circle import life_circle_check
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import (
    demand_times_from_reach,
    reversed_graph,
)
from geo.network.snapping import snap_points

logger = logging.getLogger(__name__)

__all__ = ["Scenario", "coverage_table", "gap_cells", "plan_scenario", "scenario_delta", "standard_check"]

# ------------------------------------------------------------------------- coverage


def _group_rows(acc: Accessibility) -> list[tuple[str, str, str, str]]:
    """(group, kind, name_zh, function) of every function and type."""
    rows = [(f, "function", acc.standard.function_label(f), f) for f in acc.functions.groups]
    for key in acc.types.groups:
        ft = acc.standard.facility_type(key)
        rows.append((key, "type", ft.name_zh, ft.function))
    return rows


def coverage_table(acc: Accessibility, *, by_unit: bool = True) -> pd.DataFrame:
    """Residents and households covered per group, for the whole area and per unit.

    Returns
    -------
    pandas.DataFrame
        One row per (unit, group): ``unit`` (``ALL_UNITS`` for the whole area),
        ``unit_name``, ``group``, ``kind`` (function / type), ``name_zh``,
        ``function``, ``basis`` (residents / elderly / children), ``budget_min``,
        ``budget_note``, ``population``, ``covered``, ``covered_pct``,
        ``households``, ``households_covered``, ``facilities`` (count of the group).
    """
    demand = acc.demand
    units = np.full(len(demand), ALL_UNITS, dtype=object)
    unit_col = demand["unit"].astype(str).to_numpy(object) if by_unit and "unit" in demand.columns else None
    names = demand.attrs.get("unit_names", {})
    households = pd.to_numeric(demand["households"], errors="coerce").to_numpy(float)
    known_hh = np.isfinite(households)
    fac_count = {
        **acc.facilities["function"].astype(str).value_counts().to_dict(),
        **acc.facilities["type"].fillna("").astype(str).value_counts().to_dict(),
    }
    frames = []
    for group, kind, name_zh, function in _group_rows(acc):
        basis = acc.basis(group)
        population = demand[basis].to_numpy(float)
        covered = acc.covered(group)
        base = pd.DataFrame(
            {
                "population": population,
                "covered": np.where(covered, population, 0.0),
                "households": np.where(known_hh, households, 0.0),
                "households_covered": np.where(known_hh & covered, households, 0.0),
            }
        )
        parts = [base.assign(unit=units)]
        if unit_col is not None:
            parts.append(base.assign(unit=unit_col))
        summed = pd.concat(parts).groupby("unit", sort=False).sum().reset_index()
        summed = summed[summed["unit"] != ""]
        summed["group"], summed["kind"], summed["name_zh"], summed["function"] = group, kind, name_zh, function
        summed["basis"] = basis
        summed["budget_min"] = acc.budget_s[group] / 60.0
        summed["budget_note"] = acc.budget_note[group]
        summed["facilities"] = int(fac_count.get(group, 0))
        frames.append(summed)
    table = pd.concat(frames, ignore_index=True)
    table["covered_pct"] = np.where(
        table["population"] > 0, 100.0 * table["covered"] / table["population"].where(table["population"] > 0), np.nan
    )
    if not known_hh.any():
        table["households"] = np.nan
        table["households_covered"] = np.nan
    table["unit_name"] = table["unit"].map(lambda u: ALL_UNITS if u == ALL_UNITS else names.get(u, ""))
    columns = [
        "unit",
        "unit_name",
        "group",
        "kind",
        "name_zh",
        "function",
        "basis",
        "budget_min",
        "budget_note",
        "facilities",
        "population",
        "covered",
        "covered_pct",
        "households",
        "households_covered",
    ]
    return table[columns]


# ----------------------------------------------------------------------------- gaps


def gap_cells(acc: Accessibility, group: str, *, cell_m: float = settings.GAP_CELL_M) -> gpd.GeoDataFrame:
    """Uncovered residents of a group on a square grid, worst cell first.

    Cells of ``cell_m`` metres aligned to the CRS origin; only cells with demand are
    returned, ranked (``rank`` 1 = most uncovered residents).

    Returns
    -------
    geopandas.GeoDataFrame
        ``rank``, ``group``, ``uncovered``, ``population``, ``uncovered_pct``,
        ``points``, ``mean_time_min`` (of the uncovered points with a finite time),
        polygons in the network's CRS.
    """
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise InputDataError(f"网格边长 cell_m={cell_m} 应为正数（米） (cell size must be positive metres)")
    demand = acc.demand
    basis = acc.basis(group)
    population = demand[basis].to_numpy(float)
    covered = acc.covered(group)
    time_s = acc.times_s(group)
    xy = shapely.get_coordinates(shapely.point_on_surface(demand.geometry.to_numpy()))
    ij = np.floor(xy / cell_m).astype(np.int64)
    frame = pd.DataFrame(
        {
            "i": ij[:, 0],
            "j": ij[:, 1],
            "population": population,
            "uncovered": np.where(covered, 0.0, population),
            "points": 1,
            "t_unc": np.where(~covered & np.isfinite(time_s), time_s, 0.0),
            "n_unc": (~covered & np.isfinite(time_s)).astype(int),
        }
    )
    cells = frame.groupby(["i", "j"], sort=False).sum().reset_index()
    cells = cells.sort_values(["uncovered", "population"], ascending=False, kind="stable").reset_index(drop=True)
    x0, y0 = cells["i"].to_numpy() * cell_m, cells["j"].to_numpy() * cell_m
    geometry = shapely.box(x0, y0, x0 + cell_m, y0 + cell_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(cells["population"] > 0, 100.0 * cells["uncovered"] / cells["population"], np.nan)
        mean_t = np.where(cells["n_unc"] > 0, cells["t_unc"] / cells["n_unc"] / 60.0, np.nan)
    return gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(cells) + 1),
            "group": group,
            "uncovered": cells["uncovered"].to_numpy(),
            "population": cells["population"].to_numpy(),
            "uncovered_pct": pct,
            "points": cells["points"].to_numpy(),
            "mean_time_min": mean_t,
        },
        geometry=geometry,
        crs=demand.crs,
    )


# ------------------------------------------------------------------- standard check


def standard_check(
    acc: Accessibility,
    *,
    level: str = "15_minute",
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT,
) -> pd.DataFrame:
    """Pass / fail / missing per area unit and required facility type, every unit by ``acc.standard``.

    A unit checked at a life-circle level needs every facility type of that level and of the
    finer ones (a 15-minute unit: the 15-, 10- and 5-minute types); a type with a service radius
    is judged within it, one without by its level's walking time.  Measured: the share of the
    unit's residents (elderly / children for their functions) within reach on the network.
    ``pass`` when it is at least ``required_pct``; ``missing`` when no resident reaches any
    facility of the type; ``fail`` otherwise.  A unit column ``level`` in the demand's units
    overrides ``level`` per unit.  A first line per unit compares its residents with the level's
    population range (table 4.0.1); a whole study area outside it is not judged (``not_judged``).
    The standard per area (GB 50180 for towns, TD/T 1062 for villages) and the per-unit fallback
    are :func:`geo.access.life_circle.life_circle_check`, which this calls.

    Returns
    -------
    pandas.DataFrame
        :data:`geo.access.life_circle.CHECK_COLUMNS`.
    """
    return life_circle_check(acc, level=level, required_pct=required_pct, override=acc.standard)


# ------------------------------------------------------------------------ scenarios


@dataclass(frozen=True, eq=False)
class Scenario:
    """What a set of candidate sites adds, from one routing of the candidates.

    Attributes
    ----------
    table
        Per (candidate, function) and per function for all candidates together: as
        :func:`scenario_delta`.
    units
        All candidates together per area level, unit and function: ``level``, ``unit``,
        ``function``, ``function_zh``, ``basis``, ``budget_min``, ``population``,
        ``covered_before``, ``newly_covered``, ``covered_after``, ``uncovered_after``,
        ``sole_residents``, ``covered_pct_before``, ``covered_pct_after``; empty without units.
    """

    table: pd.DataFrame
    units: pd.DataFrame


#: Columns of :attr:`Scenario.units`.
SCENARIO_UNIT_COLUMNS = (
    "level",
    "unit",
    "function",
    "function_zh",
    "basis",
    "budget_min",
    "population",
    "covered_before",
    "newly_covered",
    "covered_after",
    "uncovered_after",
    "sole_residents",
    "covered_pct_before",
    "covered_pct_after",
)


def scenario_delta(
    acc: Accessibility,
    graph: CostGraph,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    functions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Residents newly covered by candidate sites (neighborhood centers), per function.

    Each candidate offers every function in ``functions`` (default: every function
    analysed; a 邻里中心 bundles all six, and a project's "1+6+X" extras).
    Only the candidates' own batched Dijkstra is run; existing coverage comes from
    ``acc``.  Polygons stand for their centroids.

    Returns
    -------
    pandas.DataFrame
        One row per (candidate, function) and per function for all candidates
        together (``candidate`` = -1): ``candidate``, ``function``, ``function_zh``,
        ``basis``, ``budget_min``, ``newly_covered``, ``sole_residents``,
        ``covered_before``, ``covered_after``, ``population``,
        ``covered_pct_before``, ``covered_pct_after``, ``snapped``.
        ``newly_covered`` of a candidate is what it adds alone; ``sole_residents``
        what only it adds among the candidates, i.e. what the plan would lose without
        it (for ``candidate`` = -1: the residents only one candidate reaches).
    """
    return plan_scenario(acc, graph, candidates, functions=functions).table


def plan_scenario(
    acc: Accessibility,
    graph: CostGraph,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    functions: Sequence[str] | None = None,
    units: Mapping[str, np.ndarray] | None = None,
) -> Scenario:
    """A plan's candidate sites as one scenario: :func:`scenario_delta`'s table and, with
    ``units``, the same figures per area unit.

    Parameters
    ----------
    units
        Per area level (``town``, ``community``, ``grid``...) the unit code of every demand
        point of ``acc`` (``""`` outside every unit), e.g. from
        :func:`geo.access.coverage.assign_units`.

    Raises
    ------
    InputDataError
        No candidate, candidates without a CRS, a function not analysed, or unit codes
        not one per demand point.
    """
    n_demand = len(acc.demand)
    for level, codes in (units or {}).items():
        if len(codes) != n_demand:
            raise InputDataError(
                f"分区 {level} 的编码数 {len(codes)} 与需求点数 {n_demand} 不符 (one unit code per demand point)"
            )
    functions = acc.functions.groups if functions is None else tuple(functions)
    for f in functions:
        if f not in acc.functions.groups:
            acc.standard.function_label(f)  # names the allowed functions
            raise InputDataError(f"功能 {f!r} 未计算可达时间 (function not analysed)")
    geoms = candidates.geometry if isinstance(candidates, gpd.GeoDataFrame) else candidates
    if len(geoms) == 0:
        raise InputDataError("没有候选点 (no candidate sites)")
    if geoms.crs is None:
        raise InputDataError("候选点没有坐标系 (candidates have no CRS)")
    geoms = geoms.to_crs(graph.network.crs)
    points = geoms.to_numpy()
    if (shapely.get_type_id(points) != 0).any():
        points = shapely.centroid(points)
    cand = snap_points(graph, gpd.GeoSeries(points, crs=graph.network.crs))
    # The demand was snapped when the times were computed; on the same graph that is reused.
    dem = acc.demand_snapped if graph is acc.graph and acc.demand_snapped is not None else None
    if dem is None:
        dem = snap_points(graph, acc.demand.geometry)
    budget = max(acc.budget_s[f] for f in functions)
    reach = reach_sets(reversed_graph(graph), cand, max_time_s=budget)
    pairs = demand_times_from_reach(graph, reach, dem, cand)
    k = len(cand)
    rows = []
    unit_parts: list[pd.DataFrame] = []
    for f in functions:
        basis = acc.basis(f)
        population = acc.demand[basis].to_numpy(float)
        total = float(population.sum())
        before = acc.covered(f)
        covered_before = float(population[before].sum())
        hit = pairs.time_s <= acc.budget_s[f]
        o, d = pairs.origin[hit], pairs.demand[hit]
        new = ~before[d]
        per_cand = np.bincount(o[new], weights=population[d[new]], minlength=k)
        any_new = np.unique(d[new])
        together = float(population[any_new].sum())
        # Residents newly reached by exactly one candidate: that candidate's sole share.
        pair = np.unique(d[new].astype(np.int64) * k + o[new])
        pd_, po = pair // k, pair % k
        alone = np.bincount(pd_, minlength=population.shape[0])[pd_] == 1
        sole = np.bincount(po[alone], weights=population[pd_[alone]], minlength=k)
        if units:
            gained_at = np.zeros(n_demand)
            gained_at[any_new] = population[any_new]
            sole_at = np.zeros(n_demand)
            sole_at[pd_[alone]] = population[pd_[alone]]
            for level, codes in units.items():
                unit_parts.append(
                    _unit_rows(
                        acc, f, basis, level, np.asarray(codes, dtype=object), population, before, gained_at, sole_at
                    )
                )
        for c in range(-1, k):
            gained = together if c < 0 else float(per_cand[c])
            rows.append(
                {
                    "candidate": c,
                    "function": f,
                    "function_zh": acc.standard.function_label(f),
                    "basis": basis,
                    "budget_min": acc.budget_s[f] / 60.0,
                    "newly_covered": gained,
                    "sole_residents": float(sole.sum()) if c < 0 else float(sole[c]),
                    "covered_before": covered_before,
                    "covered_after": covered_before + gained,
                    "population": total,
                    "snapped": bool(cand.ok.all()) if c < 0 else bool(cand.ok[c]),
                }
            )
    # Column by column: a frame from a list of dicts costs milliseconds even for a few rows.
    table = _with_percentages(pd.DataFrame({key: [row[key] for row in rows] for key in rows[0]}))
    unit_table = (
        _with_percentages(pd.concat(unit_parts, ignore_index=True))
        if unit_parts
        else pd.DataFrame({c: [] for c in SCENARIO_UNIT_COLUMNS})
    )
    return Scenario(table, unit_table[list(SCENARIO_UNIT_COLUMNS)])


def _with_percentages(table: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = table["population"].where(table["population"] > 0)
        table["covered_pct_before"] = 100.0 * table["covered_before"] / pop
        table["covered_pct_after"] = 100.0 * table["covered_after"] / pop
    return table


def _unit_rows(
    acc: Accessibility,
    function: str,
    basis: str,
    level: str,
    codes: np.ndarray,
    population: np.ndarray,
    before: np.ndarray,
    gained_at: np.ndarray,
    sole_at: np.ndarray,
) -> pd.DataFrame:
    """One function's scenario summed per unit of a level (points outside every unit left out)."""
    inside = codes != ""
    names, inverse = np.unique(codes[inside].astype(str), return_inverse=True)
    m = len(names)
    total = np.bincount(inverse, weights=population[inside], minlength=m)
    covered = np.bincount(inverse, weights=(population * before)[inside], minlength=m)
    gained = np.bincount(inverse, weights=gained_at[inside], minlength=m)
    sole = np.bincount(inverse, weights=sole_at[inside], minlength=m)
    return pd.DataFrame(
        {
            "level": level,
            "unit": names.astype(object),
            "function": function,
            "function_zh": acc.standard.function_label(function),
            "basis": basis,
            "budget_min": acc.budget_s[function] / 60.0,
            "population": total,
            "covered_before": covered,
            "newly_covered": gained,
            "covered_after": covered + gained,
            "uncovered_after": total - covered - gained,
            "sole_residents": sole,
        }
    )
