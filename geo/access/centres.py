"""Neighbourhood centres of one site, of several linked sites, or a hub with stations; their coverage.

The county documents plan centres of three kinds (“单体集约、多点串联、中心辐射”):

* ``single`` (单体集约) — one building bundles the centre's functions;
* ``linked`` (多点串联) — the functions spread over nearby buildings, reached as a set;
* ``hub`` (中心辐射) — a town centre (``role="hub"``) plus service stations (``role="station"``,
  e.g. the service posts in rural bank branches), each station with its own few functions.
  The town centre serves the whole town: given ``hub`` (:func:`geo.access.life_circle.town_reach`),
  it is reached in the town circle's mode and minutes (electric bicycle, TD/T 1062-2021 乡集镇层级,
  or the planner's speed), its stations and every other site on foot in the function's budget.

Whatever the kind, a resident is covered for a function where a site *hosting that function*
is reachable within the function's budget: a linked centre whose clinic is 400 m away and whose
day-care home is 1.5 km away covers for 病有所医 and not for 老有所养.  :class:`Centres` holds the
sites and which function each hosts (a boolean matrix); :func:`site_reach` routes every site
once (one batched Dijkstra, :mod:`geo.network.reach`); :func:`centre_coverage` answers, for any
number of stages (subsets of the sites: "open now", "after phase 1, 2, 3"), the residents
covered per function, the existing facilities being the baseline.  No loop over sites or
residents: per stage and function, numpy over the (site, resident) pairs.

:func:`centre_facilities` turns the centres into facility rows (one per site and hosted
function), so that :func:`geo.access.coverage.accessibility` and placement count a planned or
built multi-site centre function by function.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.access.coverage import Accessibility
from geo.access.life_circle import LevelReach
from geo.access.vocabulary import parse_functions
from geo.errors import InputDataError
from geo.network.graph import CostGraph
from geo.network.reach import reach_sets
from geo.network.routing import OriginTimes, demand_times_from_reach, reversed_graph
from geo.network.snapping import snap_points

logger = logging.getLogger(__name__)

__all__ = [
    "CENTRE_KINDS",
    "LINKED_MAX_M",
    "SITE_ROLES",
    "Centres",
    "SiteReach",
    "centre_coverage",
    "centre_facilities",
    "make_centres",
    "site_reach",
    "town_covered",
    "town_sites",
]

#: Kinds of centre, key -> Chinese name (the words of the county documents).
CENTRE_KINDS = {"single": "单体集约", "linked": "多点串联", "hub": "中心辐射"}
#: Words a ledger uses for the kinds.
KIND_WORDS = {
    "single": "single",
    "单体": "single",
    "单体集约": "single",
    "单点": "single",
    "linked": "linked",
    "多点": "linked",
    "多点串联": "linked",
    "串联": "linked",
    "hub": "hub",
    "中心辐射": "hub",
    "辐射": "hub",
    "中心+站点": "hub",
}
#: Roles of a site: the main building (of any kind) or a hub's satellite station.
SITE_ROLES = {"main": "中心", "station": "服务站点"}
ROLE_WORDS = {
    "main": "main",
    "hub": "main",
    "中心": "main",
    "主站": "main",
    "主体": "main",
    "station": "station",
    "站点": "station",
    "服务站": "station",
    "服务站点": "station",
    "分站": "station",
    "服务点": "station",
}
#: Sites of a linked (多点串联) centre farther apart than this (straight line, metres) are
#: reported: the documents describe nearby buildings reached as a set.
LINKED_MAX_M = 500.0


def kind_key(text: object) -> str | None:
    """The kind key of a word (``多点串联`` -> ``linked``); ``""`` for blank, ``None`` if unknown."""
    word = str(text or "").strip().lower().replace(" ", "")
    if not word:
        return ""
    return KIND_WORDS.get(word)


def role_key(text: object) -> str | None:
    """The role key of a word (``服务站`` -> ``station``); ``""`` for blank, ``None`` if unknown."""
    word = str(text or "").strip().lower().replace(" ", "")
    if not word:
        return ""
    return ROLE_WORDS.get(word)


@dataclass(frozen=True, eq=False)
class Centres:
    """Centres as sites, and the functions each site hosts.

    Attributes
    ----------
    sites
        One row per site, in a projected or geographic CRS: ``centre`` (name), ``site``
        (name), ``kind`` (:data:`CENTRE_KINDS` key), ``role`` (:data:`SITE_ROLES` key),
        ``functions_zh`` (the hosted functions in Chinese), point geometry.
    functions
        Function keys, the columns of ``hosts``.
    hosts
        bool (sites, functions): the site hosts the function.
    notes
        Things the planner should check (linked sites far apart), one sentence each.
    notes_en
        The same in English (the page in English), in the same order.
    """

    sites: gpd.GeoDataFrame
    functions: tuple[str, ...]
    hosts: np.ndarray
    notes: tuple[str, ...] = ()
    notes_en: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The centres' names, in order of first appearance."""
        return tuple(dict.fromkeys(self.sites["centre"].astype(str)))

    @property
    def centre_index(self) -> np.ndarray:
        """int per site: index of its centre in :attr:`names`."""
        order = {name: k for k, name in enumerate(self.names)}
        return self.sites["centre"].astype(str).map(order).to_numpy(np.int64)

    def centre_functions(self) -> np.ndarray:
        """bool (centres, functions): some site of the centre hosts the function."""
        out = np.zeros((len(self.names), len(self.functions)), dtype=bool)
        np.logical_or.at(out, self.centre_index, self.hosts)
        return out


def make_centres(
    sites: gpd.GeoDataFrame,
    functions: Mapping[str, str],
    *,
    linked_max_m: float = LINKED_MAX_M,
) -> Centres:
    """Check a table of sites and make :class:`Centres` of them.

    Parameters
    ----------
    sites
        Points (any CRS with one) with ``centre`` (the centre each site belongs to; sites
        sharing the name form one centre); optional ``site`` (name), ``kind`` (single /
        linked / hub or 单体集约 / 多点串联 / 中心辐射, blank: single for one site, linked
        for several), ``role`` (main / station or 中心 / 服务站点; blank: main), ``functions``
        (``老有所养、病有所医``, keys, ``全部``; blank: every function, except for a station,
        which must list its own).
    functions
        The functions analysed, key -> Chinese name (``Standard.functions``).
    linked_max_m
        Linked sites farther apart than this (straight line, metres) give a note.

    Raises
    ------
    InputDataError
        No site, no ``centre`` column, a blank centre name, not points, an unknown kind,
        role or function, a single centre of several sites, a linked or hub centre of one,
        a hub without exactly one main site, a centre whose rows name different kinds, or a
        station without its functions.  Messages name the centre.
    """
    if len(sites) == 0:
        raise InputDataError("没有邻里中心站点 (no centre sites)")
    if "centre" not in sites.columns:
        raise InputDataError("站点缺少 centre（中心名称）列 (sites need a centre column)")
    if sites.crs is None:
        raise InputDataError("站点没有坐标系 (sites have no CRS)")
    geoms = sites.geometry.to_numpy()
    if (shapely.get_type_id(geoms) != 0).any() or shapely.is_empty(geoms).any():
        raise InputDataError("站点应为点 (sites must be points)")
    table = sites.reset_index(drop=True).copy()
    names = table["centre"].fillna("").astype(str).str.strip()
    if (names == "").any():
        raise InputDataError(f"第 {int(np.flatnonzero(names == '')[0]) + 1} 个站点没有中心名称 (a site without centre)")
    table["centre"] = names
    n = len(table)
    site_names = table["site"].fillna("").astype(str).str.strip() if "site" in table else pd.Series([""] * n)
    raw_kind = table["kind"] if "kind" in table else pd.Series([""] * n)
    raw_role = table["role"] if "role" in table else pd.Series([""] * n)
    raw_fn = table["functions"] if "functions" in table else pd.Series([""] * n)
    keys = tuple(functions)
    hosts = np.zeros((n, len(keys)), dtype=bool)
    kinds = np.empty(n, dtype=object)
    roles = np.empty(n, dtype=object)
    for i in range(n):  # parsing words of a table: one pass over its rows, no routing here
        where = f"中心「{names[i]}」第 {i + 1} 个站点"
        kind = kind_key(raw_kind.iloc[i])
        if kind is None:
            raise InputDataError(
                f"{where}的类型「{raw_kind.iloc[i]}」无效，可选: 单体集约、多点串联、中心辐射 "
                "(unknown kind: single, linked or hub)"
            )
        role = role_key(raw_role.iloc[i])
        if role is None:
            raise InputDataError(f"{where}的角色「{raw_role.iloc[i]}」无效，可选: 中心、服务站点 (unknown role)")
        kinds[i], roles[i] = kind, role or "main"
        listed = parse_functions(raw_fn.iloc[i], where=where, functions=functions)
        if not listed and roles[i] == "station":
            raise InputDataError(f"{where}是服务站点，须写明其服务功能 (a station must list its functions)")
        hosts[i] = np.isin(keys, listed) if listed else True
    _check_kinds(names.to_numpy(object), kinds, roles)
    table["site"] = np.where(site_names == "", names, site_names)
    table["kind"], table["role"] = kinds, roles
    labels = np.array([functions[k] for k in keys], dtype=object)
    table["functions_zh"] = ["、".join(labels[row]) for row in hosts]
    keep = ["centre", "site", "kind", "role", "functions_zh"]
    extra = [c for c in table.columns if c not in keep and c not in ("functions", "geometry")]
    out = gpd.GeoDataFrame(table[[*keep, *extra]], geometry=geoms, crs=sites.crs)
    centres = Centres(out, keys, hosts)
    notes = _linked_notes(centres, linked_max_m)
    return Centres(out, keys, hosts, notes=tuple(zh for zh, _ in notes), notes_en=tuple(en for _, en in notes))


def _check_kinds(names: np.ndarray, kinds: np.ndarray, roles: np.ndarray) -> None:
    """Fill blank kinds per centre and check each centre's sites against its kind."""
    for name in dict.fromkeys(names):
        rows = np.flatnonzero(names == name)
        given = {k for k in kinds[rows] if k}
        if len(given) > 1:
            words = "、".join(CENTRE_KINDS[k] for k in sorted(given))
            raise InputDataError(
                f"中心「{name}」的站点写了不同的类型（{words}） (a centre's rows name different kinds)"
            )
        kind = given.pop() if given else ("single" if rows.size == 1 and roles[rows[0]] == "main" else "")
        if not kind:
            kind = "hub" if (roles[rows] == "station").any() else "linked"
        kinds[rows] = kind
        if kind == "single" and rows.size != 1:
            raise InputDataError(
                f"中心「{name}」为单体集约，却有 {rows.size} 个站点；多处站点请写「多点串联」或「中心辐射」 "
                "(a single-site centre has one site)"
            )
        if kind in ("linked", "hub") and rows.size < 2:
            raise InputDataError(
                f"中心「{name}」为{CENTRE_KINDS[kind]}，应有 2 个以上站点，只有 1 个 "
                f"(a {kind} centre has several sites)"
            )
        if kind == "linked" and (roles[rows] == "station").any():
            raise InputDataError(
                f"中心「{name}」为多点串联，站点不分中心与服务站点；有服务站点的请写「中心辐射」 "
                "(linked sites have no stations: use hub)"
            )
        if kind == "hub" and int((roles[rows] == "main").sum()) != 1:
            raise InputDataError(
                f"中心「{name}」为中心辐射，应有且只有 1 个「中心」站点，其余为「服务站点」；现有 "
                f"{int((roles[rows] == 'main').sum())} 个 (a hub has exactly one main site)"
            )
        if kind == "hub":
            roles[rows] = np.where(roles[rows] == "main", "main", "station")


def _linked_notes(centres: Centres, linked_max_m: float) -> tuple[tuple[str, str], ...]:
    """A note (Chinese, English) per linked centre whose sites lie farther apart than ``linked_max_m``."""
    sites = centres.sites
    if sites.crs.is_geographic:
        c = shapely.centroid(shapely.multipoints(sites.geometry.to_numpy()))
        sites = sites.to_crs(sites.estimate_utm_crs() if np.isfinite(c.x) else sites.crs)
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    idx = centres.centre_index
    linked = (sites["kind"] == "linked").to_numpy()
    # Spread of each linked centre: the diagonal of its sites' bounding box (no loop over sites).
    frame = pd.DataFrame({"c": idx[linked], "x": xy[linked, 0], "y": xy[linked, 1]})
    box = frame.groupby("c").agg(x0=("x", "min"), x1=("x", "max"), y0=("y", "min"), y1=("y", "max"))
    spread = np.hypot(box["x1"] - box["x0"], box["y1"] - box["y0"])
    names = centres.names
    return tuple(
        (
            f"多点串联中心「{names[int(c)]}」的站点相距约 {d:,.0f} m，超过 {linked_max_m:g} m，请核对是否为同一中心",
            f"The sites of the linked centre 「{names[int(c)]}」 lie about {d:,.0f} m apart, more than "
            f"{linked_max_m:g} m: check that they are one centre",
        )
        for c, d in spread[spread > linked_max_m].items()
    )


# ------------------------------------------------------------------------ coverage


@dataclass(frozen=True, eq=False)
class SiteReach:
    """Every (site, resident) pair within the largest budget, from one routing of the sites.

    Attributes
    ----------
    pairs
        :class:`geo.network.routing.OriginTimes`: ``origin`` (site index), ``demand``
        (index into the accessibility's demand points), ``time_s``.
    snapped
        bool per site: it lies on the walk network (within the snapping tolerance).
    town
        bool per site: a hub's town centre, routed and judged in ``hub``'s mode and minutes.
    hub
        The town circle's reach those sites are judged by (``None``: every site on foot).
    """

    pairs: OriginTimes
    snapped: np.ndarray
    town: np.ndarray | None = None
    hub: LevelReach | None = None

    def limit_s(self, budget_s: float) -> np.ndarray:
        """Seconds each pair is judged by: ``budget_s``, or the town reach for a hub's town centre."""
        if self.town is None or self.hub is None:
            return np.full(self.pairs.time_s.shape, budget_s)
        return np.where(self.town[self.pairs.origin], self.hub.budget_s, budget_s)


def town_sites(centres: Centres) -> np.ndarray:
    """bool per site: the town centre (main site) of a hub (中心辐射) centre."""
    sites = centres.sites
    return ((sites["kind"] == "hub") & (sites["role"] == "main")).to_numpy(bool)


def site_reach(acc: Accessibility, graph: CostGraph, centres: Centres, *, hub: LevelReach | None = None) -> SiteReach:
    """Route every site of ``centres`` once, up to the largest budget of the functions they host.

    With ``hub`` (the town circle's reach, :func:`geo.access.life_circle.town_reach`) the town
    centres of hub centres (:func:`town_sites`) are routed in its mode (``graph``'s network,
    ``hub.profile``) up to its minutes; every other site in ``graph``'s mode.

    Raises
    ------
    InputDataError
        A hosted function the accessibility did not analyse.
    """
    missing = [f for f in centres.functions if f not in acc.functions.groups]
    if missing:
        raise InputDataError(f"功能 {', '.join(missing)} 未计算可达时间 (functions not analysed)")
    geoms = centres.sites.geometry.to_crs(graph.network.crs)
    snapped = snap_points(graph, geoms.reset_index(drop=True))
    dem = acc.demand_snapped if graph is acc.graph and acc.demand_snapped is not None else None
    if dem is None:
        dem = snap_points(graph, acc.demand.geometry)
    used = np.asarray(centres.hosts.any(axis=0), dtype=bool).tolist()
    hosted = [f for f, u in zip(centres.functions, used, strict=True) if u]
    budget = max((acc.budget_s[f] for f in hosted), default=max(acc.budget_s[f] for f in centres.functions))
    reach = reach_sets(reversed_graph(graph), snapped, max_time_s=budget)
    pairs = demand_times_from_reach(graph, reach, dem, snapped)
    ok = np.asarray(snapped.ok, dtype=bool)
    town = town_sites(centres)
    logger.info("centre sites: %d sites, %d centres, %d pairs", len(geoms), len(centres.names), pairs.time_s.size)
    if hub is None or not town.any():
        return SiteReach(pairs, ok)
    # The town centres again, in the town circle's mode: their walking pairs are replaced.
    ride = graph.network.cost_graph(hub.profile)
    which = np.flatnonzero(town)
    at = snap_points(ride, geoms.iloc[which].reset_index(drop=True))
    rode = demand_times_from_reach(
        ride,
        reach_sets(reversed_graph(ride), at, max_time_s=hub.budget_s),
        snap_points(ride, acc.demand.geometry),
        at,
    )
    keep = ~town[pairs.origin]
    pairs = OriginTimes(
        np.concatenate([pairs.origin[keep], which[rode.origin]]),
        np.concatenate([pairs.demand[keep], rode.demand]),
        np.concatenate([pairs.time_s[keep], rode.time_s]),
    )
    ok[which] = np.asarray(at.ok, dtype=bool)
    logger.info("centre sites: %d town centres by %s, %d pairs", which.size, hub.profile.name, rode.time_s.size)
    return SiteReach(pairs, ok, town, hub)


def town_covered(
    acc: Accessibility,
    graph: CostGraph,
    centres: Centres,
    hub: LevelReach,
    mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Function -> bool per demand point: within ``hub``'s reach of a town centre hosting it.

    Only the town centres (:func:`town_sites`) among ``mask`` (bool per site; ``None``: all) are
    routed, once, in ``hub``'s mode (``graph``'s network, ``hub.profile``) up to its minutes;
    every other site is left to the walking times.  Used by placement to count a hub's town
    centre as the programme coverage does (:func:`site_reach` with ``hub``).
    """
    n = len(acc.demand)
    out = {f: np.zeros(n, dtype=bool) for f in centres.functions}
    keep = np.ones(len(centres.sites), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    which = np.flatnonzero(town_sites(centres) & keep)
    if which.size == 0:
        return out
    ride = graph.network.cost_graph(hub.profile)
    geoms = centres.sites.geometry.to_crs(ride.network.crs).iloc[which].reset_index(drop=True)
    at = snap_points(ride, geoms)
    rode = demand_times_from_reach(
        ride,
        reach_sets(reversed_graph(ride), at, max_time_s=hub.budget_s),
        snap_points(ride, acc.demand.geometry),
        at,
    )
    within = rode.time_s <= hub.budget_s
    hosts = centres.hosts[which[rode.origin]]  # (pairs, functions)
    for j, f in enumerate(centres.functions):  # six functions at most: numpy over the pairs of each
        out[f][rode.demand[within & hosts[:, j]]] = True
    logger.info(
        "town centres: %d by %s, %d pairs within %g min", which.size, hub.profile.name, int(within.sum()), hub.minutes
    )
    return out


def centre_coverage(
    acc: Accessibility,
    centres: Centres,
    reach: SiteReach,
    stages: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """Residents covered per function after each stage, existing facilities the baseline.

    Parameters
    ----------
    acc
        Walking times to the existing facilities (the baseline).
    centres
        The centres (:func:`make_centres`).
    reach
        :func:`site_reach` of the same centres.
    stages
        Stage name -> bool per site: the sites built by then (e.g. ``{"第1期": phase <= 1,
        ...}``, cumulative by the caller).  A site counts for a function only where it
        hosts it.

    Returns
    -------
    pandas.DataFrame
        One row per (stage, function), stages in the order given: ``stage``, ``function``,
        ``function_zh``, ``basis``, ``budget_min``, ``population``, ``covered_before``,
        ``newly_covered``, ``covered_after``, ``uncovered_after``, ``covered_pct_before``,
        ``covered_pct_after``, ``sites`` (sites hosting the function in the stage),
        ``unsnapped_sites`` (of those, off the walk network), ``town_sites`` (of those, hubs'
        town centres judged in the town circle's mode) and ``town_reach`` (that mode, speed,
        minutes and clause where there are any, else empty).
    """
    n_sites = len(centres.sites)
    origin, demand, time_s = reach.pairs.origin, reach.pairs.demand, reach.pairs.time_s
    rows = []
    for stage, mask in stages.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (n_sites,):
            raise InputDataError(f"阶段「{stage}」应为每个站点一个真假值 (one flag per site)")
        for j, f in enumerate(centres.functions):
            basis = acc.basis(f)
            population = acc.demand[basis].to_numpy(float)
            before = acc.covered(f)
            serving = mask & centres.hosts[:, j]
            hit = serving[origin] & (time_s <= reach.limit_s(acc.budget_s[f]))
            towns = int((serving & reach.town).sum()) if reach.town is not None and reach.hub is not None else 0
            reached = np.zeros(population.shape[0], dtype=bool)
            reached[demand[hit]] = True
            after = before | reached
            covered_before = float(population[before].sum())
            covered_after = float(population[after].sum())
            total = float(population.sum())
            rows.append(
                {
                    "stage": stage,
                    "function": f,
                    "function_zh": acc.standard.function_label(f),
                    "basis": basis,
                    "budget_min": acc.budget_s[f] / 60.0,
                    "population": total,
                    "covered_before": covered_before,
                    "newly_covered": covered_after - covered_before,
                    "covered_after": covered_after,
                    "uncovered_after": total - covered_after,
                    "sites": int(serving.sum()),
                    "unsnapped_sites": int((serving & ~reach.snapped).sum()),
                    "town_sites": towns,
                    "town_reach": reach.hub.note_zh if towns and reach.hub is not None else "",
                }
            )
    table = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = table["population"].where(table["population"] > 0)
        table["covered_pct_before"] = 100.0 * table["covered_before"] / pop
        table["covered_pct_after"] = 100.0 * table["covered_after"] / pop
    return table


def centre_facilities(centres: Centres, mask: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The centres' sites as facility rows, one per (site, hosted function), for coverage and placement.

    ``mask`` (bool per site) keeps some sites (e.g. the centres open today).  The rows have
    ``function``, ``type`` (empty: a centre is judged by the function's budget), ``name``
    (centre · site), ``centre``, ``source`` (``邻里中心``), in the sites' CRS.
    """
    keep = np.ones(len(centres.sites), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    site_idx, fn_idx = np.nonzero(centres.hosts & keep[:, None])
    sites = centres.sites
    names = (sites["centre"].astype(str) + " · " + sites["site"].astype(str)).to_numpy(object)
    return gpd.GeoDataFrame(
        {
            "function": np.asarray(centres.functions, dtype=object)[fn_idx],
            "type": "",
            "name": names[site_idx],
            "centre": sites["centre"].to_numpy(object)[site_idx],
            "source": "邻里中心",
        },
        geometry=sites.geometry.to_numpy()[site_idx],
        crs=sites.crs,
    )
