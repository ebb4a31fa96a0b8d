"""Management grids (网格): generate, code, check and edit them.

A grid is a contiguous group of whole *units* (street blocks from
:func:`geo.grids.blocks.street_blocks`, or a planner's compounds) inside one parent
polygon (a community, 社区/村), with a number of households between a floor and a
ceiling (300-500 in towns, ``geo.settings.GRID_*``).

Generation, per parent and per connected piece of it:

* a unit with more households than the ceiling becomes its own grid, flagged;
* the number of grids ``k`` of a piece with ``H`` households is the one nearest
  ``H / ((floor + ceiling) / 2)`` inside ``[ceil(H / ceiling), floor(H / floor)]``;
  when that range is empty the bounds cannot all be met and the plan says why;
* the piece is cut recursively in two (household shares ``k1 : k - k1``): one part
  grows from the end of the piece's long (principal) axis through neighbouring units
  in the order of their position along the axis, so it is connected and compact; the
  rest's stray pieces join it.  A repair pass then moves boundary units between
  neighbouring grids to meet the bounds where they can be met, keeping every grid
  connected.  Ties are broken by a seeded jitter: same input and seed, same grids.

Codes are the parent's code followed by a 2-digit number in reading order (rows from
the north, west to east).  Edits never renumber other grids: a split gives the new
part the next free number, a merge keeps the first code.

The plan is plain data (:class:`GridPlan`): :func:`apply_edit` takes a plan and a
JSON edit operation and returns a new plan; :func:`undo` steps back;
:func:`check_plan` lists every violation; :func:`plan_to_dict` /
:func:`plan_from_dict` round-trip it through JSON for the web app.

Edit operations (JSON objects; ids are the unit ids and grid codes of the plan)::

    {"op": "move",  "unit": "B00012", "to": "00000000000002"}
    {"op": "split", "grid": "00000000000001"}                   # two balanced halves
    {"op": "split", "grid": "00000000000001", "units": ["B00003", "B00004"]}
    {"op": "merge", "grids": ["00000000000001", "00000000000002"]}
    {"op": "set",   "grid": "00000000000001", "field": "grid_member", "value": "张三"}
    {"op": "renumber"}                                           # all codes in reading order
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.grids.blocks import _reading_order, point_units, unit_adjacency

logger = logging.getLogger(__name__)

__all__ = [
    "EDIT_FIELDS",
    "EditResult",
    "GridEditError",
    "GridPlan",
    "Issue",
    "apply_edit",
    "check_plan",
    "edit",
    "generate_grids",
    "grid_coverage",
    "grids_gdf",
    "plan_from_dict",
    "plan_to_dict",
    "undo",
]

#: Editable attributes of a grid: name, grid member (网格员), responsible branch
#: (责任支部), party-member central households (党员中心户, a list of names).
EDIT_FIELDS = ("name", "grid_member", "branch", "central_households")
FIELDS_ZH = {"name": "网格名称", "grid_member": "网格员", "branch": "责任支部", "central_households": "党员中心户"}
MAX_FIELD_CHARS = 200
MAX_LIST_ITEMS = 500
#: Most unit ids in one split operation (BAD_INPUTS G8: a cap on what a browser may post).
MAX_UNITS_PER_OP = 20_000
OPS = ("move", "split", "merge", "set", "renumber")
OP_KEYS = {
    "move": {"op", "unit", "to"},
    "split": {"op", "grid", "units"},
    "merge": {"op", "grids"},
    "set": {"op", "grid", "field", "value"},
    "renumber": {"op"},
}


class GridEditError(InputDataError):
    """An edit operation is malformed, names an unknown unit or grid, or cannot be applied."""


@dataclass(frozen=True)
class Issue:
    """One violation or note: ``kind``, ``severity`` (error / warning / info), where, and a message.

    Kinds: ``unassigned_unit``, ``crosses_parent``, ``outside_parent``, ``overlap``,
    ``gap``, ``not_contiguous``, ``below_floor``, ``above_ceiling``,
    ``oversized_unit``, ``infeasible_bounds``, ``too_many_grids``, ``left_out``.
    """

    kind: str
    severity: str
    message: str
    grid: str = ""
    parent: str = ""
    units: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {**dataclasses.asdict(self), "units": list(self.units)}


@dataclass(frozen=True, eq=False)
class GridPlan:
    """Units, their grid codes and the grids' editable fields; treat as immutable.

    Attributes
    ----------
    units
        ``unit_id``, ``parent`` (code), ``households``, ``residents``, optional
        ``fac_<function>`` counts, polygons in a projected CRS; positional index.
    parents
        ``code``, ``name``, polygons (same CRS).
    adjacency
        ``(m, 2)`` positions of neighbouring units, ``i < j``.
    grid
        Grid code of every unit (object array, aligned with ``units``).
    fields
        Editable fields per grid code (:data:`EDIT_FIELDS`).
    min_households, max_households
        The household bounds the plan is checked against.
    notes
        Generation notes (infeasibility explained, units left out); kept through edits.
    history
        Earlier states for :func:`undo`: ``(op, grid, fields)``, newest last.
    overlaps
        ``(m, 2)`` positions of overlapping units (planner units only).
    gaps_m2
        Area of each parent not covered by its units (m²).
    seed
        Seed of the tie-breaking jitter.
    version
        Counts the edits and undos; an edit may name the version it was made on
        (``"version"``) and is refused when the plan has moved on (BAD_INPUTS G10).
    """

    units: gpd.GeoDataFrame
    parents: gpd.GeoDataFrame
    adjacency: np.ndarray
    grid: np.ndarray
    fields: Mapping[str, Mapping[str, object]]
    min_households: float
    max_households: float
    notes: tuple[Issue, ...] = ()
    history: tuple[tuple[dict, np.ndarray, Mapping], ...] = ()
    overlaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    gaps_m2: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    version: int = 0

    @property
    def codes(self) -> list[str]:
        """Grid codes, sorted."""
        return sorted(set(self.grid.tolist()) - {""})

    def issues(self) -> list[Issue]:
        """Generation notes followed by the current check results."""
        return [*self.notes, *check_plan(self)]


# ----------------------------------------------------------------------- validation


def _check_bounds(min_households: float, max_households: float) -> None:
    for name, value in (("min_households", min_households), ("max_households", max_households)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise InputDataError(f"{name} 应为正数，收到 {value!r} ({name} must be a positive number)")
    if min_households > max_households:
        raise InputDataError(
            f"户数下限 {min_households:g} 大于上限 {max_households:g} (min_households must not exceed max_households)"
        )


def _check_units(units: gpd.GeoDataFrame) -> None:
    if units.crs is None or not units.crs.is_projected:
        raise CRSError(f"单元需要米制投影坐标系，收到 {units.crs} (units must be in a projected CRS in metres)")
    for column in ("unit_id", "households"):
        if column not in units.columns:
            raise InputDataError(
                f"单元缺少 {column} 列；请先用 units_with_households 统计户数 (units need a {column!r} column)"
            )
    if len(units) == 0:
        raise InputDataError("没有单元 (no units to group into grids)")
    if units["unit_id"].astype(str).duplicated().any():
        dup = units["unit_id"].astype(str)[units["unit_id"].astype(str).duplicated()].iloc[0]
        raise InputDataError(f"单元编号 {dup} 重复 (duplicate unit id)")
    hh = units["households"].to_numpy(float)
    if not np.isfinite(hh).all() or (hh < 0).any():
        raise InputDataError("单元户数有负数或空值 (households must be non-negative numbers)")


# ----------------------------------------------------------------------- generation


class _Graph:
    """Unit adjacency as CSR neighbour lists plus per-unit numbers for the partition."""

    def __init__(self, n: int, pairs: np.ndarray, x: np.ndarray, y: np.ndarray, hh: np.ndarray, jitter: np.ndarray):
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        self.matrix = sparse.csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
        self.indptr, self.indices = self.matrix.indptr, self.matrix.indices
        self.x, self.y, self.hh, self.jitter = x, y, hh, jitter

    def neighbours(self, i: int) -> np.ndarray:
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    def components(self, nodes: np.ndarray) -> np.ndarray:
        """Component label of each of ``nodes`` within the subgraph they induce."""
        if nodes.size == 0:
            return np.zeros(0, dtype=np.int64)
        sub = self.matrix[nodes][:, nodes]
        return csgraph.connected_components(sub, directed=False)[1]

    def axis(self, nodes: np.ndarray) -> np.ndarray:
        """Position of ``nodes`` along the principal axis of their centroids (metres)."""
        x, y = self.x[nodes], self.y[nodes]
        dx, dy = x - x.mean(), y - y.mean()
        cov = np.cov(np.vstack([dx, dy])) if nodes.size > 1 else np.eye(2)
        _, vectors = np.linalg.eigh(np.atleast_2d(cov))
        ax = vectors[:, -1]
        if ax[0] < 0 or (ax[0] == 0 and ax[1] > 0):  # from the west (or the north) end: deterministic
            ax = -ax
        return dx * ax[0] + dy * ax[1] + self.jitter[nodes]


def _grow(graph: _Graph, nodes: np.ndarray, target: float) -> np.ndarray:
    """A connected subset of ``nodes`` from one end of the principal axis holding about ``target`` households."""
    pos = graph.axis(nodes)
    local = {int(n): k for k, n in enumerate(nodes)}
    start = int(np.argmin(pos))
    taken = np.zeros(nodes.size, dtype=bool)
    queued = np.zeros(nodes.size, dtype=bool)
    heap = [(pos[start], start)]
    queued[start] = True
    total = 0.0
    while heap:
        _, k = heapq.heappop(heap)
        h = graph.hh[nodes[k]]
        if total + h > target and total > 0 and (total + h - target) > (target - total):
            break
        taken[k] = True
        total += h
        if total >= target:
            break
        for nb in graph.neighbours(int(nodes[k])):
            j = local.get(int(nb))
            if j is not None and not queued[j]:
                queued[j] = True
                heapq.heappush(heap, (pos[j], j))
    return taken


def _partition(graph: _Graph, nodes: np.ndarray, k: int) -> list[np.ndarray]:
    """Split connected ``nodes`` into ``k`` connected parts of about equal households."""
    if k <= 1 or nodes.size <= 1:
        return [nodes]
    k1 = k // 2
    total = graph.hh[nodes].sum()
    taken = _grow(graph, nodes, total * k1 / k)
    for _ in range(4):  # stray pieces of either side join the other side
        changed = False
        for side in (False, True):
            members = np.flatnonzero(taken == side)
            if members.size == 0:
                continue
            labels = graph.components(nodes[members])
            if labels.max() == 0:
                continue
            weight = np.bincount(labels, weights=graph.hh[nodes[members]])
            count = np.bincount(labels)
            main = int(np.lexsort((-count, -weight))[0])
            taken[members[labels != main]] = not side
            changed = True
        if not changed:
            break
    a, b = nodes[taken], nodes[~taken]
    if a.size == 0 or b.size == 0:
        return [nodes]
    return _partition(graph, a, k1) + _partition(graph, b, k - k1)


def _count_grids(total: float, lo_hh: float, hi_hh: float) -> tuple[int, bool]:
    """Number of grids for ``total`` households and whether the bounds can all be met."""
    lo = max(1, math.ceil(total / hi_hh - 1e-9))
    hi = math.floor(total / lo_hh + 1e-9)
    if lo <= hi:
        return min(max(round(total / ((lo_hh + hi_hh) / 2)), lo), hi), True

    def excess(k: int) -> float:
        return k * (max(0.0, lo_hh - total / k) + max(0.0, total / k - hi_hh))

    return min((k for k in (max(hi, 1), lo)), key=lambda k: (excess(k), k)), False


def _connected_without(graph: _Graph, members: np.ndarray, drop: int) -> bool:
    rest = members[members != drop]
    if rest.size <= 1:
        return rest.size == 1
    return graph.components(rest).max() == 0


def _violation(hh: float, lo_hh: float, hi_hh: float) -> float:
    return max(0.0, lo_hh - hh) + max(0.0, hh - hi_hh)


def _repair(graph: _Graph, labels: np.ndarray, nodes: np.ndarray, lo_hh: float, hi_hh: float, passes: int) -> None:
    """Move boundary units between neighbouring grids of ``nodes`` towards the bounds (in place).

    Each pass makes the one move (a unit with households, from one grid to a
    neighbouring grid) that most reduces the total distance of the two grids from
    ``[lo_hh, hi_hh]``, among moves that keep the source grid connected (the target
    stays connected: the unit touches it).  Stops when no move helps.
    """
    mid = (lo_hh + hi_hh) / 2
    pairs = graph.matrix[nodes][:, nodes].tocoo()
    a, b = nodes[pairs.row], nodes[pairs.col]  # both directions
    for _ in range(passes):
        groups, inv = np.unique(labels[nodes], return_inverse=True)
        sums = np.bincount(inv, weights=graph.hh[nodes])
        hh = dict(zip(groups.tolist(), sums.tolist(), strict=True))
        bad = {g for g, v in hh.items() if _violation(v, lo_hh, hi_hh) > 1e-9}
        if not bad:
            return
        cross = (labels[a] != labels[b]) & (graph.hh[a] > 0)
        cross &= np.isin(labels[a], list(bad)) | np.isin(labels[b], list(bad))
        candidates = []
        for u, v in {(int(x), int(y)) for x, y in zip(a[cross], labels[b[cross]], strict=True)}:
            src, h = int(labels[u]), graph.hh[u]
            before = _violation(hh[src], lo_hh, hi_hh) + _violation(hh[v], lo_hh, hi_hh)
            after = _violation(hh[src] - h, lo_hh, hi_hh) + _violation(hh[v] + h, lo_hh, hi_hh)
            if after < before - 1e-9:
                balance = abs(hh[src] - h - mid) + abs(hh[v] + h - mid)
                candidates.append((after - before, balance, u, v))
        moved = False
        for _, _, u, v in sorted(candidates):
            src = int(labels[u])
            if _connected_without(graph, nodes[labels[nodes] == src], u):
                labels[u] = v
                moved = True
                break
        if not moved:
            return


def generate_grids(
    units: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame | None = None,
    *,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    seed: int = 0,
    facilities: gpd.GeoDataFrame | None = None,
    adjacency: np.ndarray | None = None,
    parent_code: str = settings.GRID_DEFAULT_PARENT_CODE,
    parent_name: str = "",
) -> GridPlan:
    """Propose grids: contiguous groups of whole units inside one parent, households within bounds.

    Parameters
    ----------
    units
        ``unit_id``, ``households`` (and ``residents``) polygons in a projected CRS
        (see :mod:`geo.grids.blocks`).
    parents
        ``code``, ``name`` polygons (communities) in any CRS; each unit goes to the
        parent holding its representative point; units in no parent are left out (a
        note says how many).  Default: one parent ``parent_code`` covering all units.
    min_households, max_households
        Household floor and ceiling of a grid.
    seed
        Seed of the tie-breaking jitter (same input and seed, same grids).
    facilities
        Optional facility points with a ``function`` column; counted per unit
        (``fac_<function>``) and so per grid.
    adjacency
        Precomputed :func:`geo.grids.blocks.unit_adjacency` (computed if omitted).
    parent_code, parent_name
        Code and name of the single parent when ``parents`` is omitted.

    Returns
    -------
    GridPlan
        The plan; ``plan.issues()`` lists what could not be met and why.

    Raises
    ------
    InputDataError
        Bad bounds, units without households or ids, parents without codes.
    CRSError
        Units not in a projected CRS.
    """
    _check_bounds(min_households, max_households)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputDataError(f"seed 应为非负整数，收到 {seed!r} (seed must be a non-negative integer)")
    _check_units(units)
    units = units.reset_index(drop=True).copy()
    units["unit_id"] = units["unit_id"].astype(str)
    if "residents" not in units.columns:
        units["residents"] = units["households"].to_numpy(float) * settings.PERSONS_PER_HOUSEHOLD
    geoms = units.geometry.to_numpy()
    notes: list[Issue] = []
    own_parent = parents is None
    if adjacency is not None:
        adjacency = np.asarray(adjacency)
        if (
            adjacency.ndim != 2
            or adjacency.shape[1] != 2
            or (
                adjacency.size
                and not (
                    np.issubdtype(adjacency.dtype, np.integer) and adjacency.min() >= 0 and adjacency.max() < len(units)
                )
            )
        ):
            raise InputDataError(
                "adjacency 应为 (m, 2) 的单元序号数组 (adjacency must be an (m, 2) array of unit positions)"
            )
    if facilities is not None and len(facilities) and "function" not in facilities.columns:
        raise InputDataError("设施缺少 function（功能）列 (facilities need a function column)")
    if parents is None:
        hull = shapely.union_all(geoms)
        parents = gpd.GeoDataFrame(
            {"code": [str(parent_code)], "name": [parent_name or str(parent_code)]}, geometry=[hull], crs=units.crs
        )
    else:
        if "code" not in parents.columns:
            raise InputDataError("上级区划图层缺少 code（编码）列 (parents need a code column)")
        parents = parents.to_crs(units.crs).reset_index(drop=True)
        codes = parents["code"].astype(str).str.strip()
        if codes.duplicated().any() or (codes == "").any():
            raise InputDataError("上级区划编码为空或重复 (parent codes must be unique and non-empty)")
        parents = gpd.GeoDataFrame(
            {"code": codes, "name": parents["name"].astype(str) if "name" in parents else codes},
            geometry=shapely.make_valid(parents.geometry.to_numpy()),
            crs=units.crs,
        )
    parent_geoms = parents.geometry.to_numpy()
    owner = point_units(parent_geoms, shapely.point_on_surface(geoms), snap_m=0.0)
    if (owner < 0).any():
        out_ids = units["unit_id"].to_numpy()[owner < 0]
        notes.append(
            Issue(
                "left_out",
                "info",
                f"{out_ids.size} 个单元不在任何上级区划内，未划入网格 ({out_ids.size} units lie in no parent and were "
                f"left out)",
                units=tuple(out_ids[:20].tolist()),
            )
        )
        keep = owner >= 0
        if adjacency is not None:
            remap = np.cumsum(keep) - 1
            both = keep[adjacency[:, 0]] & keep[adjacency[:, 1]]
            adjacency = remap[adjacency[both]]
        units, owner, geoms = units[keep].reset_index(drop=True), owner[keep], geoms[keep]
        if len(units) == 0:
            raise InputDataError("没有单元落在上级区划内 (no unit lies inside the parent polygons)")
    units["parent"] = parents["code"].to_numpy(object)[owner]
    if not own_parent:
        outside = shapely.area(shapely.difference(geoms, parent_geoms[owner]))
        sticking = outside > settings.GRID_AREA_TOLERANCE_M2
        if sticking.any():
            notes.append(
                Issue(
                    "outside_parent",
                    "warning",
                    f"{int(sticking.sum())} 个单元部分伸出所属上级区划（共 {outside[sticking].sum():,.0f} m²），"
                    f"其网格也会伸出 ({int(sticking.sum())} units reach outside their parent, so do their grids)",
                    units=tuple(units["unit_id"].to_numpy()[sticking][:20].tolist()),
                )
            )
    if adjacency is None:
        adjacency = unit_adjacency(geoms)
    if facilities is not None and len(facilities):
        fac = facilities.to_crs(units.crs)
        where = point_units(geoms, fac.geometry.to_numpy(), snap_m=settings.GRID_DEMAND_SNAP_M)
        for function in sorted(fac["function"].astype(str).unique()):
            sel = (fac["function"].astype(str).to_numpy() == function) & (where >= 0)
            units[f"fac_{function}"] = np.bincount(where[sel], minlength=len(units))

    n = len(units)
    centre = shapely.centroid(geoms)
    x, y = shapely.get_x(centre), shapely.get_y(centre)
    hh = units["households"].to_numpy(float)
    rng = np.random.default_rng(seed)
    graph = _Graph(n, adjacency, x, y, hh, rng.uniform(0.0, 1e-3, n))
    labels = np.full(n, -1, dtype=np.int64)
    next_label = 0
    parent_of = units["parent"].to_numpy(object)
    for code in parents["code"]:
        nodes = np.flatnonzero(parent_of == code)
        if nodes.size == 0:
            continue
        big = nodes[hh[nodes] > max_households]
        for u in big:
            labels[u] = next_label
            next_label += 1
        rest = nodes[hh[nodes] <= max_households]
        comp = graph.components(rest)
        comp_ids = np.unique(comp) if rest.size else np.zeros(0, dtype=np.int64)
        for c in comp_ids:
            piece = rest[comp == c]
            total = hh[piece].sum()
            if total < min_households:
                target = _attach_target(graph, piece, labels, parent_of, code)
                if target >= 0:
                    labels[piece] = target
                    continue
            k, feasible = _count_grids(total, min_households, max_households) if total > 0 else (1, False)
            for part in _partition(graph, piece, k):
                labels[part] = next_label
                next_label += 1
            if k > 1:
                _repair(graph, labels, piece, min_households, max_households, settings.GRID_REPAIR_PASSES)
            if total <= 0:
                notes.append(
                    Issue(
                        "infeasible_bounds",
                        "info",
                        f"{code} 有一片无住户且与其他单元不相邻的地块（{piece.size} 个单元，如公园、孤岛），单独成格；"
                        f"请检查路网或单元 (a part of {code} without households that touches no other unit is its "
                        f"own grid; check the streets or the units)",
                        parent=str(code),
                        units=tuple(units["unit_id"].to_numpy()[piece][:20].tolist()),
                    )
                )
            elif not feasible:
                if total < min_households:
                    msg = (
                        f"{code} 的一片相连街区只有 {total:.0f} 户，少于下限 {min_households:g} 户，"
                        f"只能单独成一个网格 (a connected part of {code} has {total:.0f} households, "
                        f"fewer than the floor {min_households:g})"
                    )
                else:
                    msg = (
                        f"{code} 的一片相连街区有 {total:.0f} 户，无法分成每格 {min_households:g}-{max_households:g} 户"
                        f"，分为 {k} 格 (a connected part of {code} has {total:.0f} households, which cannot be "
                        f"divided into grids of {min_households:g}-{max_households:g}; made {k} grids)"
                    )
                notes.append(Issue("infeasible_bounds", "warning", msg, parent=str(code)))
            elif k > 1:
                sums = np.bincount(np.unique(labels[piece], return_inverse=True)[1], weights=hh[piece])
                off = int(((sums < min_households - 1e-9) | (sums > max_households + 1e-9)).sum())
                if off:
                    notes.append(
                        Issue(
                            "infeasible_bounds",
                            "warning",
                            f"{code} 的一片相连街区 ({total:.0f} 户) 分为 {k} 格后，有 {off} 格户数不在 "
                            f"{min_households:g}-{max_households:g} 之间：单元户数太粗或位置不允许，请手工调整 "
                            f"({off} of {k} grids miss the bounds: the units are too coarse or badly placed; "
                            f"adjust by hand)",
                            parent=str(code),
                        )
                    )
        if hh[nodes].sum() < min_households:
            notes.append(
                Issue(
                    "infeasible_bounds",
                    "warning",
                    f"上级区划 {code} 共 {hh[nodes].sum():.0f} 户，少于网格下限 {min_households:g} 户 "
                    f"(parent {code} has fewer households than the floor)",
                    parent=str(code),
                )
            )
    grid = _code_grids(labels, units, parents, geoms)
    fields = {c: _empty_fields() for c in sorted(set(grid.tolist()))}
    overlaps = _unit_overlaps(geoms)
    gaps = {str(parents["code"].iloc[0]): 0.0} if own_parent else _parent_gaps(parents, units)
    plan = GridPlan(
        units=units,
        parents=parents,
        adjacency=adjacency,
        grid=grid,
        fields=fields,
        min_households=float(min_households),
        max_households=float(max_households),
        notes=tuple(notes),
        overlaps=overlaps,
        gaps_m2=gaps,
        seed=seed,
    )
    logger.info("grids: %d units -> %d grids in %d parents", n, len(fields), len(parents))
    return plan


def _attach_target(graph: _Graph, piece: np.ndarray, labels: np.ndarray, parent_of: np.ndarray, code) -> int:
    """Label of an already made grid in the same parent next to ``piece`` (an oversized unit's), else -1."""
    nbs = np.unique(np.concatenate([graph.neighbours(int(u)) for u in piece]))
    nbs = nbs[(labels[nbs] >= 0) & (parent_of[nbs] == code)]
    return int(labels[nbs].min()) if nbs.size else -1


def _empty_fields() -> dict[str, object]:
    return {"name": "", "grid_member": "", "branch": "", "central_households": []}


def _number_width(count: int) -> int:
    return max(settings.GRID_NUMBER_DIGITS, len(str(count)))


def _grid_centres(labels: np.ndarray, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area-weighted centre of each label's units: (labels, x, y)."""
    area = np.maximum(shapely.area(geoms), 1e-9)
    c = shapely.centroid(geoms)
    uniq, inv = np.unique(labels, return_inverse=True)
    w = np.bincount(inv, weights=area)
    return (
        uniq,
        np.bincount(inv, weights=area * shapely.get_x(c)) / w,
        np.bincount(inv, weights=area * shapely.get_y(c)) / w,
    )


def _reading_rank(labels: np.ndarray, geoms: np.ndarray, parent_area_m2: float) -> dict[int, int]:
    """Rank of each label in reading order, rows about one grid high."""
    uniq, cx, cy = _grid_centres(labels, geoms)
    band = max(math.sqrt(parent_area_m2 / max(uniq.size, 1)), 1.0)
    order = _reading_order(cx, cy, band_m=band)
    return {int(uniq[k]): rank for rank, k in enumerate(order)}


def _code_grids(
    labels: np.ndarray, units: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, geoms: np.ndarray
) -> np.ndarray:
    grid = np.full(labels.size, "", dtype=object)
    parent_of = units["parent"].to_numpy(object)
    for code, pgeom in zip(parents["code"], parents.geometry, strict=True):
        nodes = np.flatnonzero(parent_of == code)
        if nodes.size == 0:
            continue
        rank = _reading_rank(labels[nodes], geoms[nodes], shapely.area(pgeom))
        width = _number_width(len(rank))
        grid[nodes] = [f"{code}{rank[int(lab)] + 1:0{width}d}" for lab in labels[nodes]]
    return grid


def _unit_overlaps(geoms: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="overlaps")
    keep = i < j
    i, j = i[keep], j[keep]
    if i.size:
        area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        i, j = i[area > settings.GRID_AREA_TOLERANCE_M2], j[area > settings.GRID_AREA_TOLERANCE_M2]
    return np.column_stack([i, j]).astype(np.int64)


def _parent_gaps(parents: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> dict[str, float]:
    out = {}
    geoms = units.geometry.to_numpy()
    parent_of = units["parent"].to_numpy(object)
    for code, pgeom in zip(parents["code"], parents.geometry, strict=True):
        sel = parent_of == code
        if not sel.any():
            continue
        covered = shapely.union_all(geoms[sel])
        out[str(code)] = float(shapely.area(shapely.difference(pgeom, covered)))
    return out


# --------------------------------------------------------------------------- checks


def _grid_sums(plan: GridPlan, column: str) -> dict[str, float]:
    values = plan.units[column].to_numpy(float)
    codes, inv = np.unique(plan.grid, return_inverse=True)
    sums = np.bincount(inv, weights=values)
    return {str(c): float(s) for c, s in zip(codes, sums, strict=True) if c != ""}


def check_plan(plan: GridPlan) -> list[Issue]:
    """Every rule a plan must meet, as a list of violations (empty when all hold).

    Every unit in exactly one grid; each grid inside one parent; no overlaps between
    grids; gaps in a parent not covered by units; every grid connected; households
    between the plan's floor and ceiling (a single oversized unit is flagged as such).
    """
    issues: list[Issue] = []
    ids = plan.units["unit_id"].to_numpy(object)
    grid = plan.grid
    free = grid == ""
    if free.any():
        issues.append(
            Issue(
                "unassigned_unit",
                "error",
                f"{int(free.sum())} 个单元未划入网格 ({int(free.sum())} units belong to no grid)",
                units=tuple(ids[free][:50].tolist()),
            )
        )
    parent_of = plan.units["parent"].to_numpy(object)
    frame = pd.DataFrame({"grid": grid, "parent": parent_of})
    multi = frame[~free].groupby("grid")["parent"].nunique()
    for code in multi.index[multi > 1]:
        issues.append(
            Issue(
                "crosses_parent",
                "error",
                f"网格 {code} 跨越多个上级区划 (grid {code} spans several parents)",
                grid=code,
            )
        )
    ov = plan.overlaps
    if ov.size:
        diff = (grid[ov[:, 0]] != grid[ov[:, 1]]) & ~free[ov[:, 0]] & ~free[ov[:, 1]]
        for a, b in ov[diff][:50]:
            issues.append(
                Issue(
                    "overlap",
                    "error",
                    f"网格 {grid[a]} 与 {grid[b]} 重叠 (grids {grid[a]} and {grid[b]} overlap)",
                    grid=str(grid[a]),
                    units=(str(ids[a]), str(ids[b])),
                )
            )
    for code, area in plan.gaps_m2.items():
        if area > settings.GRID_AREA_TOLERANCE_M2:
            issues.append(
                Issue(
                    "gap",
                    "warning",
                    f"上级区划 {code} 有 {area:,.0f} m² 不属于任何单元 "
                    f"(parent {code} has {area:,.0f} m² outside every unit)",
                    parent=code,
                )
            )
    # contiguity: components of the graph keeping only edges inside one grid
    adj = plan.adjacency
    n = len(ids)
    same = grid[adj[:, 0]] == grid[adj[:, 1]] if adj.size else np.zeros(0, dtype=bool)
    m = sparse.csr_array(
        (np.ones(int(same.sum()), dtype=np.int8), (adj[same, 0], adj[same, 1])) if adj.size else ([], ([], [])),
        shape=(n, n),
    )
    _, comp = csgraph.connected_components(m, directed=False)
    frame["comp"] = comp
    pieces = frame[~free].groupby("grid")["comp"].nunique()
    for code in pieces.index[pieces > 1]:
        members = frame.index[(frame["grid"] == code)].to_numpy()
        sizes = pd.Series(comp[members]).value_counts()
        stray = members[comp[members] != sizes.index[0]]
        issues.append(
            Issue(
                "not_contiguous",
                "error",
                f"网格 {code} 不连片，分成 {int(pieces[code])} 块 (grid {code} is in {int(pieces[code])} pieces)",
                grid=code,
                units=tuple(ids[stray][:50].tolist()),
            )
        )
    hh = _grid_sums(plan, "households")
    count = frame[~free].groupby("grid").size()
    big_unit = plan.units["households"].to_numpy(float) > plan.max_households
    for code in sorted(hh):
        value = hh[code]
        if value > plan.max_households + 1e-6:
            members = np.flatnonzero(grid == code)
            if count[code] == 1 and big_unit[members[0]]:
                issues.append(
                    Issue(
                        "oversized_unit",
                        "warning",
                        f"网格 {code} 只有一个单元 {ids[members[0]]}，已有 {value:.0f} 户，超过上限 "
                        f"{plan.max_households:g} (a single unit above the ceiling is its own grid)",
                        grid=code,
                        units=(str(ids[members[0]]),),
                    )
                )
            else:
                issues.append(
                    Issue(
                        "above_ceiling",
                        "warning",
                        f"网格 {code} 有 {value:.0f} 户，超过上限 {plan.max_households:g} "
                        f"(grid {code} has more households than the ceiling)",
                        grid=code,
                    )
                )
        elif value < plan.min_households - 1e-6:
            issues.append(
                Issue(
                    "below_floor",
                    "warning",
                    f"网格 {code} 只有 {value:.0f} 户，少于下限 {plan.min_households:g} "
                    f"(grid {code} has fewer households than the floor)",
                    grid=code,
                )
            )
    per_parent = frame[~free].groupby("parent")["grid"].nunique()
    limit = 10**settings.GRID_NUMBER_DIGITS - 1
    for code in per_parent.index[per_parent > limit]:
        issues.append(
            Issue(
                "too_many_grids",
                "warning",
                f"上级区划 {code} 有 {int(per_parent[code])} 个网格，超过两位编号 ({limit}) "
                f"(more grids than a 2-digit number allows)",
                parent=str(code),
            )
        )
    return issues


# ---------------------------------------------------------------------------- output


def grids_gdf(plan: GridPlan, *, coverage: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """One row per grid: polygon, households, residents, facilities, shape index, fields, flags.

    Parameters
    ----------
    plan
        The plan.
    coverage
        Optional :func:`grid_coverage` table (``code`` x ``pct_<function>``) joined on.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``parent``, ``number``, ``name``, ``units``, ``households``,
        ``residents``, ``area_m2``, ``polsby_popper`` (4πA/P², 1 for a disc),
        ``hull_ratio`` (area / convex hull area), ``fac_<function>``, the editable
        fields (``central_households`` joined with "、"), ``flags`` (issue kinds), in
        the plan's CRS, sorted by code.
    """
    units = plan.units
    sel = plan.grid != ""
    codes, inv = np.unique(plan.grid[sel], return_inverse=True)
    geoms = units.geometry.to_numpy()[sel]
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(codes.size + 1))
    polys = np.array(
        [shapely.union_all(geoms[order[bounds[k] : bounds[k + 1]]]) for k in range(codes.size)], dtype=object
    )
    area = shapely.area(polys)
    perimeter = shapely.length(shapely.boundary(polys)) if polys.size else np.zeros(0)
    hull = shapely.area(shapely.convex_hull(polys)) if polys.size else np.zeros(0)
    frame = pd.DataFrame({"code": codes.astype(str)})
    frame["parent"] = pd.Series(units["parent"].to_numpy(object)[sel]).groupby(inv).first().to_numpy()
    frame["number"] = [c[len(p) :] for c, p in zip(frame["code"], frame["parent"], strict=True)]
    frame["name"] = [str(plan.fields.get(c, {}).get("name", "")) for c in frame["code"]]
    frame["units"] = np.bincount(inv, minlength=codes.size)
    for column in ("households", "residents"):
        frame[column] = np.bincount(inv, weights=units[column].to_numpy(float)[sel], minlength=codes.size).round(1)
    frame["area_m2"] = area.round(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["polsby_popper"] = np.where(perimeter > 0, 4 * np.pi * area / perimeter**2, np.nan).round(3)
        frame["hull_ratio"] = np.where(hull > 0, area / hull, np.nan).round(3)
    for column in sorted(c for c in units.columns if str(c).startswith("fac_")):
        frame[column] = np.bincount(inv, weights=units[column].to_numpy(float)[sel], minlength=codes.size).astype(int)
    for key in ("grid_member", "branch"):
        frame[key] = [str(plan.fields.get(c, {}).get(key, "")) for c in frame["code"]]
    frame["central_households"] = [
        "、".join(plan.fields.get(c, {}).get("central_households", [])) for c in frame["code"]
    ]
    flags: dict[str, list[str]] = {}
    for issue in check_plan(plan):
        if issue.grid:
            flags.setdefault(issue.grid, []).append(issue.kind)
    frame["flags"] = [",".join(sorted(set(flags.get(c, [])))) for c in frame["code"]]
    if coverage is not None and len(coverage):
        frame = frame.merge(coverage, on="code", how="left")
    return gpd.GeoDataFrame(frame, geometry=polys, crs=units.crs)


def grid_coverage(plan: GridPlan, acc) -> pd.DataFrame:
    """Coverage of each grid per function (percent of residents within the budget).

    Parameters
    ----------
    plan
        The plan (in the CRS of ``acc.demand`` or reprojectable to it).
    acc
        :class:`geo.access.coverage.Accessibility` of the same area.

    Returns
    -------
    pandas.DataFrame
        ``code`` and ``pct_<function>`` per function (NaN where a grid has no residents).
    """
    from geo.access.coverage import assign_units, coverage_table

    polys = grids_gdf(plan)[["code", "name", "geometry"]]
    demand = assign_units(acc.demand, polys.to_crs(acc.demand.crs))
    table = coverage_table(dataclasses.replace(acc, demand=demand))
    table = table[(table["kind"] == "function") & (table["unit"].isin(polys["code"]))]
    wide = table.pivot_table(index="unit", columns="group", values="covered_pct", dropna=False)
    wide.columns = [f"pct_{c}" for c in wide.columns]
    wide = wide.round(1).reset_index().rename(columns={"unit": "code"})
    return wide


# --------------------------------------------------------------------------- editing


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise GridEditError(f"{what} 应为文字，收到 {type(value).__name__} ({what} must be a string)")
    if len(value) > MAX_FIELD_CHARS:
        raise GridEditError(f"{what} 超过 {MAX_FIELD_CHARS} 字 ({what} is too long)")
    return value


def _text_list(value: object, what: str, *, limit: int = MAX_LIST_ITEMS) -> list[str]:
    if not isinstance(value, list) or len(value) > limit:
        raise GridEditError(f"{what} 应为文字列表，最多 {limit} 项 ({what} must be a list of at most {limit} strings)")
    return [_text(v, what) for v in value]


def _validate_op(op: object) -> dict:
    if not isinstance(op, Mapping):
        raise GridEditError(f"编辑操作应为 JSON 对象，收到 {type(op).__name__} (an edit is a JSON object)")
    kind = op.get("op")
    if kind not in OPS:
        raise GridEditError(f"未知的编辑操作 {kind!r}；可选: {', '.join(OPS)} (unknown edit op)")
    extra = set(op) - OP_KEYS[kind] - {"version"}
    if extra:
        raise GridEditError(
            f"编辑操作 {kind} 不认识的字段: {', '.join(sorted(map(str, extra)))} (unknown keys for {kind})"
        )
    return dict(op)


def _unit_indices(plan: GridPlan, units: list[str]) -> np.ndarray:
    found = pd.Index(plan.units["unit_id"].astype(str)).get_indexer(units)
    if (found < 0).any():
        unit = units[int(np.flatnonzero(found < 0)[0])]
        raise GridEditError(f"没有编号为 {unit} 的单元 (unknown unit id {unit!r})")
    return found.astype(np.int64)


def _unit_index(plan: GridPlan, unit: object) -> int:
    return int(_unit_indices(plan, [_text(unit, "unit")])[0])


def _grid_code(plan: GridPlan, code: object) -> str:
    code = _text(code, "grid")
    if code not in plan.fields or not (plan.grid == code).any():
        raise GridEditError(f"没有编码为 {code} 的网格 (unknown grid code {code!r})")
    return code


def _neighbour_grids(plan: GridPlan, members: np.ndarray) -> set[str]:
    adj = plan.adjacency
    inside = np.zeros(len(plan.grid), dtype=bool)
    inside[members] = True
    touch = np.concatenate([adj[inside[adj[:, 0]], 1], adj[inside[adj[:, 1]], 0]])
    return set(plan.grid[touch].tolist()) - set(plan.grid[members].tolist()) - {""}


def _next_code(plan: GridPlan, parent: str, grid: np.ndarray, fields: Mapping) -> str:
    used = [int(c[len(parent) :]) for c in set(grid.tolist()) | set(fields) if c.startswith(parent) and c != parent]
    number = max(used, default=0) + 1
    return f"{parent}{number:0{_number_width(number)}d}"


def apply_edit(plan: GridPlan, op: Mapping) -> GridPlan:
    """Apply one edit operation (see the module docstring) and return the new plan.

    Rules (bounds, contiguity) may be broken by an edit: :func:`check_plan` lists the
    violations.  An edit that cannot be carried out at all is refused.

    Raises
    ------
    GridEditError
        Malformed operation, unknown unit or grid id (the web app maps this to 404 /
        422), a stale ``version`` (409/412), a move to a grid that is not a neighbour or in another parent, a split
        naming units outside the grid or all of it, a merge of grids that do not touch.
    """
    op = _validate_op(op)
    if "version" in op:
        version = op.pop("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise GridEditError(f"version 应为整数，收到 {version!r} (version must be an integer)")
        if version != plan.version:
            raise GridEditError(
                f"方案已被修改（当前第 {plan.version} 版，编辑基于第 {version} 版），请刷新后重做 "
                f"(stale edit: the plan is at version {plan.version}, the edit was made on {version})"
            )
    kind = op["op"]
    grid = plan.grid.copy()
    fields = {c: {**f, "central_households": list(f.get("central_households", []))} for c, f in plan.fields.items()}
    parent_of = plan.units["parent"].to_numpy(object)
    if kind == "move":
        u = _unit_index(plan, op.get("unit"))
        to = _grid_code(plan, op.get("to"))
        src = str(grid[u])
        if src == to:
            raise GridEditError(f"单元已在网格 {to} 中 (the unit is already in grid {to})")
        if parent_of[u] != parent_of[np.flatnonzero(grid == to)[0]]:
            raise GridEditError(f"网格 {to} 属于另一个上级区划 (grid {to} is in another parent)")
        if to not in _neighbour_grids(plan, np.array([u])):
            raise GridEditError(f"单元 {op['unit']} 与网格 {to} 不相邻 (the unit does not touch grid {to})")
        grid[u] = to
        if not (grid == src).any():
            fields.pop(src, None)
    elif kind == "split":
        code = _grid_code(plan, op.get("grid"))
        members = np.flatnonzero(grid == code)
        parent = str(parent_of[members[0]])
        new = _next_code(plan, parent, grid, fields)
        if "units" in op:
            chosen = np.unique(_unit_indices(plan, _text_list(op["units"], "units", limit=MAX_UNITS_PER_OP)))
            if chosen.size == 0 or not np.isin(chosen, members).all() or chosen.size == members.size:
                raise GridEditError(
                    f"拆分的单元须是网格 {code} 的一部分且不能是全部 "
                    f"(split units must be some, not all, of grid {code})"
                )
            grid[chosen] = new
        else:
            if members.size < 2:
                raise GridEditError(f"网格 {code} 只有一个单元，不能拆分 (grid {code} has one unit)")
            geoms = plan.units.geometry.to_numpy()
            c = shapely.centroid(geoms)
            rng = np.random.default_rng(plan.seed)
            g = _Graph(
                len(grid),
                plan.adjacency,
                shapely.get_x(c),
                shapely.get_y(c),
                plan.units["households"].to_numpy(float),
                rng.uniform(0.0, 1e-3, len(grid)),
            )
            parts = _partition(g, members, 2)
            if len(parts) < 2:
                raise GridEditError(f"网格 {code} 无法分成两个相连部分 (grid {code} cannot be split in two)")
            labels = np.zeros(members.size, dtype=np.int64)
            labels[np.isin(members, parts[1])] = 1
            rank = _reading_rank(labels, geoms[members], float(shapely.area(shapely.union_all(geoms[members]))))
            second = 1 if rank[1] > rank[0] else 0
            grid[members[labels == second]] = new
        fields[new] = _empty_fields()
    elif kind == "merge":
        codes = op.get("grids")
        if not isinstance(codes, list) or len(codes) != 2:
            raise GridEditError("merge 需要两个网格编码 (merge needs a list of two grid codes)")
        a, b = (_grid_code(plan, c) for c in codes)
        if a == b:
            raise GridEditError("不能把网格与自身合并 (cannot merge a grid with itself)")
        keep, drop = sorted((a, b))
        if parent_of[np.flatnonzero(grid == a)[0]] != parent_of[np.flatnonzero(grid == b)[0]]:
            raise GridEditError(f"网格 {a} 与 {b} 属于不同上级区划 (grids in different parents)")
        if drop not in _neighbour_grids(plan, np.flatnonzero(grid == keep)):
            raise GridEditError(f"网格 {a} 与 {b} 不相邻 (grids {a} and {b} do not touch)")
        grid[grid == drop] = keep
        extra = [h for h in fields[drop]["central_households"] if h not in fields[keep]["central_households"]]
        fields[keep]["central_households"].extend(extra)
        fields.pop(drop)
    elif kind == "set":
        code = _grid_code(plan, op.get("grid"))
        name = op.get("field")
        if name not in EDIT_FIELDS:
            raise GridEditError(f"未知字段 {name!r}；可选: {', '.join(EDIT_FIELDS)} (unknown field)")
        value = op.get("value")
        fields[code][name] = (
            _text_list(value, FIELDS_ZH[name]) if name == "central_households" else _text(value, FIELDS_ZH[name])
        )
    else:  # renumber
        geoms = plan.units.geometry.to_numpy()
        new_grid = grid.copy()
        new_fields = {}
        for code, pgeom in zip(plan.parents["code"], plan.parents.geometry, strict=True):
            nodes = np.flatnonzero((parent_of == code) & (grid != ""))
            if nodes.size == 0:
                continue
            _, labels = np.unique(grid[nodes], return_inverse=True)
            rank = _reading_rank(labels, geoms[nodes], shapely.area(pgeom))
            width = _number_width(len(rank))
            renamed = {}
            for lab, old in zip(labels, grid[nodes], strict=True):
                renamed.setdefault(old, f"{code}{rank[int(lab)] + 1:0{width}d}")
            new_grid[nodes] = [renamed[g] for g in grid[nodes]]
            new_fields.update({renamed[old]: fields[old] for old in renamed})
        grid, fields = new_grid, new_fields
    history = (*plan.history, (op, plan.grid, plan.fields))[-settings.GRID_UNDO_DEPTH :]
    return dataclasses.replace(plan, grid=grid, fields=fields, history=history, version=plan.version + 1)


@dataclass(frozen=True, eq=False)
class EditResult:
    """A plan after an edit with the violations found by the checks that ran after it."""

    plan: GridPlan
    issues: tuple[Issue, ...]

    def to_dict(self) -> dict:
        """JSON for the web app: the version, the grids' households and every issue."""
        hh = _grid_sums(self.plan, "households")
        return {
            "version": self.plan.version,
            "grids": [{"code": c, "households": round(hh.get(c, 0.0), 1)} for c in self.plan.codes],
            "issues": [i.to_dict() for i in self.issues],
            "can_undo": len(self.plan.history),
        }


def edit(plan: GridPlan, op: Mapping) -> EditResult:
    """:func:`apply_edit` followed by the checks: the new plan and its notes and violations.

    Raises
    ------
    GridEditError
        As :func:`apply_edit`.
    """
    new = apply_edit(plan, op)
    return EditResult(new, tuple(new.issues()))


def undo(plan: GridPlan, steps: int = 1) -> GridPlan:
    """The plan as it was ``steps`` edits ago.

    Raises
    ------
    GridEditError
        If there are fewer than ``steps`` edits to undo or ``steps`` is not positive.
    """
    if not isinstance(steps, int) or steps < 1:
        raise GridEditError(f"撤销步数应为正整数，收到 {steps!r} (steps must be a positive integer)")
    if steps > len(plan.history):
        raise GridEditError(f"只能撤销 {len(plan.history)} 步 (only {len(plan.history)} edits can be undone)")
    _, grid, fields = plan.history[-steps]
    return dataclasses.replace(plan, grid=grid, fields=fields, history=plan.history[:-steps], version=plan.version + 1)


# ------------------------------------------------------------------------------ JSON


def plan_to_dict(plan: GridPlan) -> dict:
    """A JSON-serialisable dict of the plan (geometries as WKB hex, so exact)."""
    units = plan.units
    extra = [c for c in units.columns if c not in ("unit_id", "parent", "geometry")]
    return {
        "version": 1,
        "crs": units.crs.to_wkt(),
        "units": {
            "unit_id": units["unit_id"].astype(str).tolist(),
            "parent": units["parent"].astype(str).tolist(),
            "columns": {c: units[c].tolist() for c in extra},
            "wkb": shapely.to_wkb(units.geometry.to_numpy(), hex=True).tolist(),
        },
        "parents": {
            "code": plan.parents["code"].astype(str).tolist(),
            "name": plan.parents["name"].astype(str).tolist(),
            "wkb": shapely.to_wkb(plan.parents.geometry.to_numpy(), hex=True).tolist(),
        },
        "adjacency": plan.adjacency.tolist(),
        "overlaps": plan.overlaps.tolist(),
        "gaps_m2": dict(plan.gaps_m2),
        "grid": plan.grid.tolist(),
        "fields": {c: dict(f) for c, f in plan.fields.items()},
        "min_households": plan.min_households,
        "max_households": plan.max_households,
        "notes": [i.to_dict() for i in plan.notes],
        "history": [
            {"op": op, "grid": g.tolist(), "fields": {c: dict(f) for c, f in fl.items()}} for op, g, fl in plan.history
        ],
        "seed": plan.seed,
        "plan_version": plan.version,
    }


def plan_from_dict(data: Mapping) -> GridPlan:
    """The plan of :func:`plan_to_dict`.

    Raises
    ------
    InputDataError
        If the dict is not a plan of a known version.
    """
    try:
        if data.get("version") != 1:
            raise InputDataError(f"网格方案版本 {data.get('version')!r} 不支持 (unsupported plan version)")
        u = data["units"]
        units = gpd.GeoDataFrame(
            {"unit_id": u["unit_id"], "parent": u["parent"], **u["columns"]},
            geometry=shapely.from_wkb(u["wkb"]),
            crs=data["crs"],
        )
        p = data["parents"]
        parents = gpd.GeoDataFrame(
            {"code": p["code"], "name": p["name"]}, geometry=shapely.from_wkb(p["wkb"]), crs=data["crs"]
        )
        pairs = np.asarray(data["adjacency"], dtype=np.int64).reshape(-1, 2)
        overlaps = np.asarray(data["overlaps"], dtype=np.int64).reshape(-1, 2)
        return GridPlan(
            units=units,
            parents=parents,
            adjacency=pairs,
            grid=np.asarray(data["grid"], dtype=object),
            fields={c: dict(f) for c, f in data["fields"].items()},
            min_households=float(data["min_households"]),
            max_households=float(data["max_households"]),
            notes=tuple(Issue(**{**i, "units": tuple(i["units"])}) for i in data["notes"]),
            history=tuple(
                (h["op"], np.asarray(h["grid"], dtype=object), {c: dict(f) for c, f in h["fields"].items()})
                for h in data["history"]
            ),
            overlaps=overlaps,
            gaps_m2=dict(data["gaps_m2"]),
            seed=int(data["seed"]),
            version=int(data.get("plan_version", 0)),
        )
    except (KeyError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InputDataError(f"网格方案数据不完整 (malformed plan: {type(exc).__name__})") from None


def grid_members(plan: GridPlan) -> dict[str, list[str]]:
    """Unit ids of every grid."""
    out: dict[str, list[str]] = {}
    for uid, code in zip(plan.units["unit_id"], plan.grid, strict=True):
        out.setdefault(str(code), []).append(str(uid))
    return out


def edits_of(plan: GridPlan) -> list[dict]:
    """The edit operations applied so far (oldest first), as JSON objects."""
    return [dict(op) for op, _, _ in plan.history]
