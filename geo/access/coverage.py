"""Coverage of the six functions: who reaches what within which budget, where the gaps are.

The planners' question: "how many residents reach each kind of service within
5/10/15 minutes, where are the gaps, and does this area meet the standard?"

* :func:`accessibility` — for every demand point, the walking time to the nearest
  facility of every function and of every facility type (one multi-source Dijkstra
  per group, :mod:`geo.network.routing`), and the budget each group is judged by: functions by
  the minutes asked (default 15), types by their service radius in the standard
  (e.g. 幼儿园 300 m = 4.5 min at 4.0 km/h), or one budget for all.
* :func:`coverage_table` — residents (and households) covered per group, for the
  whole area and per area unit (towns, communities, grids, any polygons).
* :func:`gap_cells` — uncovered residents aggregated on a square grid, worst first.
* :func:`standard_check` — pass / fail / missing per unit and required type, with
  the measured and required figures and the clause.
* :func:`scenario_delta` — residents newly covered by candidate sites, per
  candidate and all together, from the candidates' own Dijkstra only.

Elderly care is counted over the elderly and childcare over young children when the
demand carries ``elderly`` / ``children`` columns (see :func:`apply_age_shares`).

Seconds and metres inside; minutes and percentages in the tables planners read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.standards import FUNCTIONS, Standard, load_standard
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import (
    NearestFacilities,
    demand_times_from_reach,
    nearest_facilities,
    reversed_graph,
    take_snapped,
)
from geo.network.snapping import Snapped, snap_points
from geo.settings import TravelProfile

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_UNITS",
    "Accessibility",
    "accessibility",
    "apply_age_shares",
    "assign_units",
    "coverage_table",
    "gap_cells",
    "scenario_delta",
    "standard_check",
]

#: Unit code of the whole study area in the tables.
ALL_UNITS = "全域"
#: Demand columns counted for the functions that serve one age group.
AGE_BASIS = {"elderly": "elderly", "childcare": "children"}
BASIS_ZH = {"residents": "常住人口", "elderly": "老年人口", "children": "儿童人口"}
VERDICT_ZH = {"pass": "达标", "fail": "不达标", "missing": "缺失", "no_residents": "无居民"}


@dataclass(frozen=True, eq=False)
class Accessibility:
    """Walking times from every demand point to every function and facility type.

    Attributes
    ----------
    demand
        Demand points in the network's CRS (``residents``, ``households``, optional
        ``elderly`` / ``children``, optional ``unit``), plus ``snapped`` (bool).
    facilities
        Facilities in the network's CRS with ``function`` and ``type``.
    functions, types
        Nearest-facility times per function and per facility type.
    budget_s
        Budget of every group (function keys and type keys) in seconds.
    budget_note
        Where each group's budget comes from, for display.
    profile
        The travel profile.
    standard
        The standard the type budgets were taken from.
    graph, demand_snapped
        The routing graph the times were computed on, and the demand points snapped onto
        it (reused by :func:`scenario_delta` instead of snapping them again).
    """

    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    functions: NearestFacilities
    types: NearestFacilities
    budget_s: dict[str, float]
    budget_note: dict[str, str]
    profile: TravelProfile
    standard: Standard
    graph: CostGraph | None = None
    demand_snapped: Snapped | None = None

    def times_s(self, group: str) -> np.ndarray:
        """Seconds from each demand point to the nearest facility of a function or type."""
        table = self.functions if group in self.functions.groups else self.types
        return table.time_s[:, table.column(group)]

    def nearest_index(self, group: str) -> np.ndarray:
        """Index (into :attr:`facilities`) of each point's nearest facility of a group, -1 if none."""
        table = self.functions if group in self.functions.groups else self.types
        return table.facility[:, table.column(group)]

    def covered(self, group: str) -> np.ndarray:
        """bool per demand point: the group is reached within its budget."""
        return self.times_s(group) <= self.budget_s[group]

    def basis(self, group: str) -> str:
        """Demand column counted for a group: ``residents``, or ``elderly`` / ``children``."""
        function = group if group in FUNCTIONS else self.standard.facility_type(group).function
        column = AGE_BASIS.get(function)
        return column if column is not None and column in self.demand.columns else "residents"

    @property
    def groups(self) -> tuple[str, ...]:
        """Functions, then facility types."""
        return self.functions.groups + self.types.groups


def _check_demand(demand: gpd.GeoDataFrame) -> None:
    if "residents" not in demand.columns:
        raise InputDataError("需求点缺少 residents（人口）列 (demand points need a residents column)")
    residents = pd.to_numeric(demand["residents"], errors="coerce").to_numpy(float)
    if not np.isfinite(residents).all() or (residents < 0).any():
        bad = int(np.flatnonzero(~(np.isfinite(residents) & (residents >= 0)))[0])
        raise InputDataError(
            f"需求点第 {bad + 1} 行人口 residents={demand['residents'].iloc[bad]!r} 无效，应为非负数 "
            "(residents must be non-negative numbers)"
        )
    for column in AGE_BASIS.values():
        if column in demand.columns:
            values = pd.to_numeric(demand[column], errors="coerce").to_numpy(float)
            if not (np.isfinite(values) & (values >= 0) & (values <= residents + 1e-9)).all():
                raise InputDataError(
                    f"需求点的 {column} 人数应为 0 到 residents 之间的数 ({column} must lie between 0 and residents)"
                )


def _budgets(
    profile: TravelProfile, standard: Standard, type_keys: Sequence[str], minutes: float, single_budget: bool
) -> tuple[dict[str, float], dict[str, str]]:
    speed = profile.speed_mps
    budget_s: dict[str, float] = {}
    note: dict[str, str] = {}
    for function in FUNCTIONS:
        budget_s[function] = minutes * 60.0
        note[function] = (
            f"{minutes:g} 分钟 ({profile.label_zh} {profile.speed_kmh:g} km/h ≈ {minutes * 60 * speed:.0f} m)"
        )
    for key in type_keys:
        radius = standard.radius_m(key)
        if single_budget or radius is None:
            budget_s[key] = minutes * 60.0
            why = "统一预算" if single_budget else "标准未规定服务半径，取功能预算"
            note[key] = f"{minutes:g} 分钟 ({why})"
        else:
            budget_s[key] = radius / speed
            clause = standard.facility_type(key).clause or standard.code
            note[key] = (
                f"服务半径 {radius:g} m = {radius / speed / 60:.1f} 分钟 "
                f"({profile.label_zh} {profile.speed_kmh:g} km/h; {clause})"
            )
    return budget_s, note


def accessibility(
    graph: CostGraph,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    minutes: float = max(settings.DEFAULT_BUDGETS_MIN),
    single_budget: bool = False,
    standard: Standard | None = None,
    search_min: float | None = None,
) -> Accessibility:
    """Walking time from every demand point to the nearest facility of every function and type.

    Parameters
    ----------
    graph
        Routing graph of the travel profile.
    demand
        Demand points (or polygons: their centroids) with ``residents``; optional
        ``households``, ``elderly``, ``children``.  Any CRS.
    facilities
        Facilities with ``function`` (one of the six) and ``type`` (a key of the
        standard, or empty).  Any CRS.
    minutes
        Budget of the six functions (and of types without a radius).
    single_budget
        Judge every facility type by ``minutes`` too instead of its service radius.
    standard
        Planning standard (default GB 50180-2018, ``data/standards``).
    search_min
        How far times are searched (minutes); default the larger of the largest
        budget and ``settings.ACCESS_SEARCH_MIN``.  Beyond it a time is ``inf``.

    Returns
    -------
    Accessibility
    """
    standard = standard or load_standard()
    _check_demand(demand)
    for column in ("function", "type"):
        if column not in facilities.columns:
            raise InputDataError(f"设施缺少 {column} 列 (facilities need a {column} column)")
    unknown = sorted(set(facilities["function"].astype(str)) - set(FUNCTIONS))
    if unknown:
        raise InputDataError(
            f"设施功能 {', '.join(unknown)} 不在六大功能中 (unknown functions; allowed: {', '.join(FUNCTIONS)})"
        )
    types = facilities["type"].fillna("").astype(str).to_numpy(object)
    type_keys = tuple(sorted({t for t in types if t}))
    for key in type_keys:
        standard.facility_type(key)  # unknown types are an error naming the standard
    budget_s, note = _budgets(graph.profile, standard, type_keys, minutes, single_budget)
    search_s = max(max(budget_s.values()), (search_min or settings.ACCESS_SEARCH_MIN) * 60.0)
    net = graph.network
    demand = demand.to_crs(net.crs).reset_index(drop=True)
    facilities = facilities.to_crs(net.crs).reset_index(drop=True)
    dem = snap_points(graph, demand.geometry)
    fac = snap_points(graph, facilities.geometry)
    by_function = nearest_facilities(
        graph,
        dem,
        fac,
        facilities["function"].astype(str).to_numpy(object),
        groups=tuple(FUNCTIONS),
        max_time_s=search_s,
    )
    with_type = np.flatnonzero(types != "")
    by_type = nearest_facilities(
        graph, dem, take_snapped(fac, with_type), types[with_type], groups=type_keys, max_time_s=search_s
    )
    # Facility indices of the type table refer to the typed subset: map back.
    type_facility = np.where(by_type.facility >= 0, with_type[np.clip(by_type.facility, 0, None)], -1)
    by_type = NearestFacilities(by_type.groups, by_type.time_s, type_facility, by_type.max_time_s)
    demand = demand.assign(snapped=dem.ok)
    if "households" not in demand.columns:
        demand["households"] = np.nan
    logger.info(
        "accessibility: %d demand points (%d snapped), %d facilities, %d functions + %d types, search %.0f min",
        len(demand),
        int(dem.ok.sum()),
        len(facilities),
        len(FUNCTIONS),
        len(type_keys),
        search_s / 60,
    )
    return Accessibility(
        demand=demand,
        facilities=facilities.assign(snapped=fac.ok),
        functions=by_function,
        types=by_type,
        budget_s=budget_s,
        budget_note=note,
        profile=graph.profile,
        standard=standard,
        graph=graph,
        demand_snapped=dem,
    )


# ---------------------------------------------------------------------------- units


def assign_units(
    demand: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, code: str = "code", name: str = "name"
) -> gpd.GeoDataFrame:
    """Give every demand point the code of the area unit it lies in (``unit``; empty outside all).

    A point on the shared edge of two units goes to the first in ``units``' order.
    """
    if code not in units.columns:
        raise InputDataError(f"分区图层缺少编码列 {code!r} (area units need a {code!r} column)")
    if units[code].astype(str).duplicated().any():
        dup = units[code].astype(str)[units[code].astype(str).duplicated()].iloc[0]
        raise InputDataError(f"分区编码 {dup} 重复 (duplicate unit code)")
    polygons = units.to_crs(demand.crs)
    geoms = polygons.geometry.to_numpy()
    if not shapely.is_valid(geoms).all():
        geoms = shapely.make_valid(geoms)
    tree = shapely.STRtree(geoms)
    points = demand.geometry.to_numpy()
    if (shapely.get_type_id(points) != 0).any():
        points = shapely.point_on_surface(points)
    pi, ui = tree.query(points, predicate="intersects")
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.ones(pi.size, dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    unit = np.full(len(demand), "", dtype=object)
    unit[pi[first]] = polygons[code].astype(str).to_numpy(object)[ui[first]]
    out = demand.assign(unit=unit)
    names = dict(zip(polygons[code].astype(str), polygons[name].astype(str), strict=True)) if name in units else {}
    out.attrs["unit_names"] = names
    if "level" in polygons.columns:
        out.attrs["unit_levels"] = dict(zip(polygons[code].astype(str), polygons["level"].astype(str), strict=True))
    return out


def apply_age_shares(
    demand: gpd.GeoDataFrame,
    *,
    elderly_share: float | dict[str, float] | None = None,
    children_share: float | dict[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Add ``elderly`` / ``children`` from shares of residents (one figure, or one per unit code).

    Shares are fractions (0.15 = 15 %), e.g. typed in from the census tables of each
    town; with a dict the demand needs a ``unit`` column (:func:`assign_units`) and a
    unit without a share is an error.
    """
    out = demand.copy()
    residents = out["residents"].to_numpy(float)
    for column, share in (("elderly", elderly_share), ("children", children_share)):
        if share is None:
            continue
        if isinstance(share, dict):
            if "unit" not in out.columns:
                raise InputDataError("按分区给定比例需要先分配分区 (shares per unit need assign_units first)")
            missing = sorted(set(out["unit"]) - set(share) - {""})
            if missing:
                raise InputDataError(f"分区 {', '.join(missing)} 没有{BASIS_ZH[column]}比例 (no share for these units)")
            values = out["unit"].map(share).fillna(0.0).to_numpy(float)
        else:
            values = np.full(len(out), float(share))
        if not (np.isfinite(values) & (values >= 0) & (values <= 1)).all():
            raise InputDataError(f"{BASIS_ZH[column]}比例应在 0 到 1 之间 ({column} share must be a fraction 0-1)")
        out[column] = residents * values
    return out


# ------------------------------------------------------------------------- coverage


def _group_rows(acc: Accessibility) -> list[tuple[str, str, str, str]]:
    """(group, kind, name_zh, function) of every function and type."""
    rows = [(f, "function", FUNCTIONS[f], f) for f in FUNCTIONS]
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


def _required_types(standard: Standard, level: str) -> list[str]:
    """Facility types with a service radius required at a level: the level and every finer one."""
    if level not in standard.levels:
        raise InputDataError(
            f"生活圈等级 {level!r} 不在标准 {standard.code} 中 (unknown level; have {', '.join(standard.levels)})"
        )
    minutes = standard.levels[level].walking_minutes
    keep = []
    for key, ft in standard.facility_types.items():
        if ft.radius_m is None or ft.level is None:
            continue
        ft_minutes = standard.levels[ft.level].walking_minutes
        if minutes is not None and ft_minutes is not None and ft_minutes <= minutes:
            keep.append(key)
    return keep


def standard_check(
    acc: Accessibility,
    *,
    level: str = "15_minute",
    required_pct: float = settings.STANDARD_REQUIRED_COVERAGE_PCT,
) -> pd.DataFrame:
    """Pass / fail / missing per area unit and required facility type.

    A unit checked at a life-circle level needs every facility type of that level and
    of the finer ones that has a service radius (a 15-minute unit: the 15-, 10- and
    5-minute types).  Measured: the share of the unit's residents (elderly / children
    for their functions) within the type's radius on the network.  ``pass`` when it is
    at least ``required_pct``; ``missing`` when no resident of the unit reaches any
    facility of the type within the radius; ``fail`` otherwise.  A unit column
    ``level`` in the demand's units overrides ``level`` per unit.  A first row per
    unit compares its residents with the level's population range (table 4.0.1).

    Returns
    -------
    pandas.DataFrame
        ``unit``, ``unit_name``, ``level``, ``item`` (type key or ``scale``),
        ``name_zh``, ``verdict`` (pass / fail / missing / no_residents),
        ``verdict_zh``, ``measured``, ``required``, ``unit_of_measure``, ``clause``.
    """
    standard = acc.standard
    if not (0 < required_pct <= 100):
        raise InputDataError(f"达标覆盖率 required_pct={required_pct} 应在 (0, 100] 之间 (percent)")
    required = _required_types(standard, level)
    missing_types = [k for k in required if k not in acc.types.groups]
    demand = acc.demand
    unit_codes = demand["unit"].astype(str).to_numpy(object) if "unit" in demand.columns else None
    units = [ALL_UNITS] if unit_codes is None else sorted({u for u in unit_codes if u})
    names = demand.attrs.get("unit_names", {})
    levels = demand.attrs.get("unit_levels", {})
    lvl_info = standard.levels
    rows = []
    for unit in units:
        mask = np.ones(len(demand), dtype=bool) if unit == ALL_UNITS else unit_codes == unit
        unit_level = levels.get(unit, level)
        needed = required if unit_level == level else _required_types(standard, unit_level)
        residents = float(demand.loc[mask, "residents"].sum())
        lo, hi = lvl_info[unit_level].residents
        rows.append(
            {
                "unit": unit,
                "level": unit_level,
                "item": "scale",
                "name_zh": f"人口规模 ({lvl_info[unit_level].name_zh})",
                "verdict": "pass" if lo <= residents <= hi else "fail",
                "measured": residents,
                "required": f"{lo:,}-{hi:,}",
                "unit_of_measure": "人",
                "clause": lvl_info[unit_level].clause,
            }
        )
        for key in needed:
            ft = standard.facility_type(key)
            basis = AGE_BASIS.get(ft.function) if AGE_BASIS.get(ft.function) in demand.columns else "residents"
            population = demand.loc[mask, basis].to_numpy(float)
            total = float(population.sum())
            if key in missing_types or key not in acc.types.groups:
                covered = 0.0
            else:
                covered = float(population[acc.covered(key)[mask]].sum())
            if total <= 0:
                verdict, measured = "no_residents", np.nan
            else:
                measured = 100.0 * covered / total
                verdict = "pass" if measured >= required_pct - 1e-9 else ("missing" if covered <= 0 else "fail")
            rows.append(
                {
                    "unit": unit,
                    "level": unit_level,
                    "item": key,
                    "name_zh": f"{ft.name_zh} (≤{ft.radius_m:g} m, {BASIS_ZH[str(basis)]})",
                    "verdict": verdict,
                    "measured": measured,
                    "required": f"≥{required_pct:g}",
                    "unit_of_measure": "%",
                    "clause": ft.clause or standard.code,
                }
            )
    table = pd.DataFrame(rows)
    table["verdict_zh"] = table["verdict"].map(VERDICT_ZH)
    table["unit_name"] = table["unit"].map(lambda u: ALL_UNITS if u == ALL_UNITS else names.get(u, ""))
    return table[
        [
            "unit",
            "unit_name",
            "level",
            "item",
            "name_zh",
            "verdict",
            "verdict_zh",
            "measured",
            "required",
            "unit_of_measure",
            "clause",
        ]
    ]


# ------------------------------------------------------------------------ scenarios


def scenario_delta(
    acc: Accessibility,
    graph: CostGraph,
    candidates: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    functions: Sequence[str] = tuple(FUNCTIONS),
) -> pd.DataFrame:
    """Residents newly covered by candidate sites (neighborhood centers), per function.

    Each candidate offers every function in ``functions`` (a 邻里中心 bundles all six).
    Only the candidates' own batched Dijkstra is run; existing coverage comes from
    ``acc``.  Polygons stand for their centroids.

    Returns
    -------
    pandas.DataFrame
        One row per (candidate, function) and per function for all candidates
        together (``candidate`` = -1): ``candidate``, ``function``, ``function_zh``,
        ``basis``, ``budget_min``, ``newly_covered``, ``covered_before``,
        ``covered_after``, ``population``, ``covered_pct_before``,
        ``covered_pct_after``, ``snapped``.
    """
    for f in functions:
        if f not in FUNCTIONS:
            raise InputDataError(f"功能 {f!r} 不在六大功能中 (unknown function)")
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
        for c in range(-1, k):
            gained = together if c < 0 else float(per_cand[c])
            rows.append(
                {
                    "candidate": c,
                    "function": f,
                    "function_zh": FUNCTIONS[f],
                    "basis": basis,
                    "budget_min": acc.budget_s[f] / 60.0,
                    "newly_covered": gained,
                    "covered_before": covered_before,
                    "covered_after": covered_before + gained,
                    "population": total,
                    "snapped": bool(cand.ok.all()) if c < 0 else bool(cand.ok[c]),
                }
            )
    table = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = table["population"].where(table["population"] > 0)
        table["covered_pct_before"] = 100.0 * table["covered_before"] / pop
        table["covered_pct_after"] = 100.0 * table["covered_after"] / pop
    return table
