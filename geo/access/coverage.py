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
* :func:`with_budget` — the same walking times judged by another budget (no routing).

Elderly care is counted over the elderly and childcare over young children when the
demand carries ``elderly`` / ``children`` columns (see :func:`apply_age_shares`).
:func:`with_weight` counts every group over one chosen demand column instead (e.g. the
高龄/空巢/困难群众 counts of :mod:`geo.access.special_groups`).

Seconds and metres inside; minutes and percentages in the tables planners read.

The walking times are computed here (:func:`accessibility`); the tables, gap cells, the
standard check and scenario deltas in :mod:`geo.access.coverage_tables`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.standards import UNCONFIRMED_ZH, Standard, load_standard
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.routing import (
    NearestFacilities,
    nearest_facilities,
    take_snapped,
)
from geo.network.snapping import Snapped, snap_points
from geo.settings import TravelProfile

logger = logging.getLogger(__name__)

__all__ = [
    "AGE_BASIS",
    "ALL_UNITS",
    "BASIS_ZH",
    "VERDICT_ZH",
    "Accessibility",
    "accessibility",
    "apply_age_shares",
    "assign_units",
    "check_weight",
    "with_budget",
    "with_weight",
]

#: Unit code of the whole study area in the tables.
ALL_UNITS = "全域"
#: Demand columns counted for the functions that serve one age group.
AGE_BASIS = {"elderly": "elderly", "childcare": "children"}
BASIS_ZH = {
    "residents": "常住人口",
    "elderly": "老年人口",
    "children": "儿童人口",
    "oldest_old": "高龄老人",
    "empty_nest": "空巢老人",
    "hardship": "困难群众",
}
VERDICT_ZH = {
    "pass": "达标",
    "fail": "不达标",
    "missing": "缺失",
    "no_residents": "无居民",
    "not_judged": "未判定（人口规模不符）",
    "no_range": "标准未给规模",
}


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
    weight
        A demand column every group is counted over instead of residents / the age groups
        (:func:`with_weight`); ``None``: the default bases.
    reached
        Function -> bool per demand point: covered besides the walking times, by a hub's town
        centre in the town circle's mode and minutes
        (:func:`geo.workflows.programme.with_town_reach`); ``None``: walking times only.
    reached_note
        What ``reached`` was judged by (mode, speed, minutes, clause), for the figures it changes.
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
    weight: str | None = None
    reached: Mapping[str, np.ndarray] | None = None
    reached_note: str = ""

    def times_s(self, group: str) -> np.ndarray:
        """Seconds from each demand point to the nearest facility of a function or type."""
        table = self.functions if group in self.functions.groups else self.types
        return table.time_s[:, table.column(group)]

    def nearest_index(self, group: str) -> np.ndarray:
        """Index (into :attr:`facilities`) of each point's nearest facility of a group, -1 if none."""
        table = self.functions if group in self.functions.groups else self.types
        return table.facility[:, table.column(group)]

    def covered(self, group: str) -> np.ndarray:
        """bool per demand point: the group is reached within its budget (or by a town centre, :attr:`reached`)."""
        within = self.times_s(group) <= self.budget_s[group]
        extra = None if self.reached is None else self.reached.get(group)
        return within if extra is None else within | extra

    def basis(self, group: str) -> str:
        """Demand column counted for a group: the chosen weight, ``residents``, or ``elderly`` / ``children``."""
        if self.weight is not None:
            return self.weight
        function = group if group in self.standard.functions else self.standard.facility_type(group).function
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
    for function in standard.functions:
        budget_s[function] = minutes * 60.0
        note[function] = (
            f"{minutes:g} 分钟 ({profile.label_zh} {profile.speed_kmh:g} km/h ≈ {minutes * 60 * speed:.0f} m)"
        )
    for key in type_keys:
        radius = standard.radius_m(key)
        if single_budget or radius is None:
            budget_s[key] = minutes * 60.0
            why = "统一时间阈值" if single_budget else "标准未规定服务半径，取功能时间阈值"
            note[key] = f"{minutes:g} 分钟 ({why})"
        else:
            budget_s[key] = radius / speed
            ftype = standard.facility_type(key)
            clause = ftype.clause or standard.code
            unconfirmed = "" if ftype.confirmed else f"; {UNCONFIRMED_ZH}"
            note[key] = (
                f"服务半径 {radius:g} m = {radius / speed / 60:.1f} 分钟 "
                f"({profile.label_zh} {profile.speed_kmh:g} km/h; {clause}{unconfirmed})"
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
        Facilities with ``function`` (one of the six, or of ``standard.functions``) and ``type`` (a key of the
        standard, or empty).  Any CRS.
    minutes
        Budget of every function (and of types without a radius).
    single_budget
        Judge every facility type by ``minutes`` too instead of its service radius.
    standard
        Planning standard (default GB 50180-2018, ``data/standards``); its ``functions``
        (the six, and a project's "1+6+X" extras) are the functions analysed.
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
    # Facilities of a group of their own (学有所教: schools) are routed by type only.
    unknown = sorted(set(facilities["function"].astype(str)) - set(standard.functions) - set(standard.groups))
    if unknown:
        allowed = "、".join(standard.functions.values())
        raise InputDataError(
            f"设施功能 {', '.join(unknown)} 不在分析的功能中（{allowed}）；六大功能以外的功能须在项目中声明 "
            f"(unknown functions; declare extra functions in the project: functions = [...])"
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
        groups=tuple(standard.functions),
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
        len(standard.functions),
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


def check_weight(demand: pd.DataFrame, column: str) -> np.ndarray:
    """The values of a demand column chosen as the weight: numbers >= 0, not all zero.

    Raises
    ------
    InputDataError
        No such column (the numeric columns are listed), values not numbers or negative, all zero.
    """
    if column not in demand.columns:
        numeric = [str(c) for c in demand.columns if c != "geometry" and pd.api.types.is_numeric_dtype(demand[c].dtype)]
        raise InputDataError(
            f"需求点没有权重列「{column}」；可用的数值列: {'、'.join(numeric)} (no such weight column)"
        )
    values = pd.to_numeric(demand[column], errors="coerce").to_numpy(float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputDataError(f"权重列「{column}」须全为非负数 (weights must be numbers >= 0)")
    if values.sum() <= 0:
        raise InputDataError(f"权重列「{column}」全为 0，无从加权 (all weights are zero)")
    return values


def with_weight(acc: Accessibility, column: str | None, *, values: np.ndarray | None = None) -> Accessibility:
    """The same walking times, every group counted over a chosen demand column (no routing).

    Parameters
    ----------
    acc
        Accessibility.
    column
        Demand column to count (``oldest_old``, ``hardship``, a ledger's own column ...);
        ``None`` goes back to residents and the age groups.
    values
        The column's values, one per demand point in the order of ``acc.demand``, when the
        demand does not carry it yet (e.g. counts of :func:`geo.access.special_groups.count_special_groups`).

    Raises
    ------
    InputDataError
        See :func:`check_weight`; ``values`` of another length than the demand.
    """
    if column is None:
        return dataclasses.replace(acc, weight=None)
    demand = acc.demand
    if values is not None:
        values = np.asarray(values, dtype=float)
        if values.shape != (len(demand),):
            raise InputDataError(
                f"权重 {column} 有 {values.size} 个值，需求点有 {len(demand)} 个 (one weight per demand point)"
            )
        demand = demand.assign(**{column: values})
    check_weight(demand, column)
    logger.info("coverage weighted by %s: %.0f in all", column, float(demand[column].sum()))
    return dataclasses.replace(acc, demand=demand, weight=column)


def with_budget(acc: Accessibility, minutes: float) -> Accessibility:
    """The same walking times with every function judged by ``minutes`` (facility types keep theirs).

    Nothing is routed again: the times were searched up to ``acc.functions.max_time_s``, so any
    budget up to that is a threshold on them (a planner switching 15 -> 10 minutes waits for
    nothing).

    Raises
    ------
    InputDataError
        A budget that is not a number, not positive, or beyond the searched time.
    """
    limit_min = acc.functions.max_time_s / 60.0
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not np.isfinite(minutes):
        raise InputDataError(f"时间阈值 {minutes!r} 应为数字（分钟） (the budget must be a number of minutes)")
    if not 0 < minutes <= limit_min:
        raise InputDataError(
            f"时间阈值应在 0-{limit_min:g} 分钟之间，当前为 {minutes:g} 分钟 "
            f"(the budget must lie in 0-{limit_min:g} min, the time searched)"
        )
    budget_s = dict(acc.budget_s)
    note = dict(acc.budget_note)
    profile = acc.profile
    for function in acc.standard.functions:
        budget_s[function] = minutes * 60.0
        note[function] = (
            f"{minutes:g} 分钟 ({profile.label_zh} {profile.speed_kmh:g} km/h ≈ {profile.metres_in(minutes):.0f} m)"
        )
    return dataclasses.replace(acc, budget_s=budget_s, budget_note=note)


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
    for column, attr in (("level", "unit_levels"), ("area_type", "unit_types")):
        if column in polygons.columns:
            values = polygons[column].fillna("").astype(str)
            out.attrs[attr] = {c: v for c, v in zip(polygons[code].astype(str), values, strict=True) if v}
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
    unit without a share is an error.  Where the demand already counts its own elderly /
    children (a compound ledger's 60岁以上人口 / 0-6岁人口), those counts are kept and the
    share only fills the points without one.
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
        estimated = residents * values
        if column in out.columns:
            # A compound ledger's own age counts win over one share for the whole area.
            own = pd.to_numeric(out[column], errors="coerce").to_numpy(float)
            estimated = np.where(np.isfinite(own), own, estimated)
        out[column] = estimated
    return out
