"""Generating and coding management grids (网格) from units with households.

Per parent and per connected piece of it:

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
the north, west to east).
"""

from __future__ import annotations

import heapq
import logging
import math
import numbers

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geo import settings
from geo.errors import CRSError, InputDataError
from geo.grids.blocks import is_coverage, point_units, reading_order, union_units, unit_adjacency
from geo.grids.plan import GridPlan, Issue

logger = logging.getLogger(__name__)

__all__ = ["generate_grids"]

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


class Graph:
    """Unit adjacency as CSR neighbour lists plus per-unit numbers for the partition."""

    def __init__(self, n: int, pairs: np.ndarray, x: np.ndarray, y: np.ndarray, hh: np.ndarray, jitter: np.ndarray):
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        self.matrix = sparse.csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
        self.indptr, self.indices = self.matrix.indptr, self.matrix.indices
        self.x, self.y, self.hh, self.jitter = x, y, hh, jitter

    def neighbours(self, i: int) -> np.ndarray:
        """The units next to unit ``i``."""
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


def _grow(graph: Graph, nodes: np.ndarray, target: float) -> np.ndarray:
    """A connected subset of ``nodes`` from one end of the principal axis holding about ``target`` households."""
    pos = graph.axis(nodes)
    # The subgraph of ``nodes`` in local positions, as Python lists: the loop below
    # visits one unit at a time, and list indexing is what keeps that loop cheap.
    sub = graph.matrix[nodes][:, nodes]
    indptr, indices = sub.indptr.tolist(), sub.indices.tolist()
    hh, key = graph.hh[nodes].tolist(), pos.tolist()
    start = int(np.argmin(pos))
    taken = np.zeros(nodes.size, dtype=bool)
    queued = [False] * nodes.size
    heap = [(key[start], start)]
    queued[start] = True
    total = 0.0
    while heap:
        _, k = heapq.heappop(heap)
        h = hh[k]
        if total + h > target and total > 0 and (total + h - target) > (target - total):
            break
        taken[k] = True
        total += h
        if total >= target:
            break
        for j in indices[indptr[k] : indptr[k + 1]]:
            if not queued[j]:
                queued[j] = True
                heapq.heappush(heap, (key[j], j))
    return taken


def partition(graph: Graph, nodes: np.ndarray, k: int) -> list[np.ndarray]:
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
    return partition(graph, a, k1) + partition(graph, b, k - k1)


def _count_grids(total: float, lo_hh: float, hi_hh: float) -> tuple[int, bool]:
    """Number of grids for ``total`` households and whether the bounds can all be met."""
    lo = max(1, math.ceil(total / hi_hh - 1e-9))
    hi = math.floor(total / lo_hh + 1e-9)
    if lo <= hi:
        return min(max(round(total / ((lo_hh + hi_hh) / 2)), lo), hi), True

    def excess(k: int) -> float:
        return k * (max(0.0, lo_hh - total / k) + max(0.0, total / k - hi_hh))

    return min((k for k in (max(hi, 1), lo)), key=lambda k: (excess(k), k)), False


def _connected_without(graph: Graph, members: np.ndarray, drop: int) -> bool:
    rest = members[members != drop]
    if rest.size <= 1:
        return rest.size == 1
    return graph.components(rest).max() == 0


def _violation(hh: float, lo_hh: float, hi_hh: float) -> float:
    return max(0.0, lo_hh - hh) + max(0.0, hh - hi_hh)


def _repair(graph: Graph, labels: np.ndarray, nodes: np.ndarray, lo_hh: float, hi_hh: float, passes: int) -> None:
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
    coverage = is_coverage(geoms)  # street blocks: no overlaps to look for, fast unions
    if parents is None:
        hull = union_units(geoms, coverage=coverage)
        parents = gpd.GeoDataFrame(
            {"code": [str(parent_code)], "name": [parent_name or str(parent_code)]}, geometry=[hull], crs=units.crs
        )
    else:
        if "code" not in parents.columns:
            raise InputDataError("上级区划图层缺少 code（编码）列 (parents need a code column)")
        parents = parents.to_crs(units.crs).reset_index(drop=True)
        codes = parents["code"].fillna("").astype(str).str.strip()
        if codes.duplicated().any() or (codes == "").any():
            raise InputDataError("上级区划编码为空或重复 (parent codes must be unique and non-empty)")
        parents = gpd.GeoDataFrame(
            {"code": codes, "name": parents["name"].fillna("").astype(str) if "name" in parents else codes},
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
        outside = _area_outside(geoms, parent_geoms, owner)
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
        adjacency = unit_adjacency(geoms, coverage=coverage)
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
    graph = Graph(n, adjacency, x, y, hh, rng.uniform(0.0, 1e-3, n))
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
            for part in partition(graph, piece, k):
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
    fields = {c: empty_fields() for c in sorted(set(grid.tolist()))}
    overlaps = np.zeros((0, 2), dtype=np.int64) if coverage else _unit_overlaps(geoms)
    gaps = {str(parents["code"].iloc[0]): 0.0} if own_parent else _parent_gaps(parents, units, coverage=coverage)
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
        coverage=coverage,
    )
    logger.info("grids: %d units -> %d grids in %d parents", n, len(fields), len(parents))
    return plan


def _attach_target(graph: Graph, piece: np.ndarray, labels: np.ndarray, parent_of: np.ndarray, code) -> int:
    """Label of an already made grid in the same parent next to ``piece`` (an oversized unit's), else -1."""
    nbs = np.unique(np.concatenate([graph.neighbours(int(u)) for u in piece]))
    nbs = nbs[(labels[nbs] >= 0) & (parent_of[nbs] == code)]
    return int(labels[nbs].min()) if nbs.size else -1


def empty_fields() -> dict[str, object]:
    """The editable fields of a new grid, empty."""
    return {"name": "", "grid_member": "", "branch": "", "central_households": []}


def number_width(count: int) -> int:
    """Digits of a grid's sequence number when a parent has ``count`` grids."""
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


def reading_rank(labels: np.ndarray, geoms: np.ndarray, parent_area_m2: float) -> dict[int, int]:
    """Rank of each label in reading order, rows about one grid high."""
    uniq, cx, cy = _grid_centres(labels, geoms)
    band = max(math.sqrt(parent_area_m2 / max(uniq.size, 1)), 1.0)
    order = reading_order(cx, cy, band_m=band)
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
        rank = reading_rank(labels[nodes], geoms[nodes], shapely.area(pgeom))
        width = number_width(len(rank))
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


def _area_outside(geoms: np.ndarray, parent_geoms: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Area (m²) of each unit outside its parent ``parent_geoms[owner]``; no overlay for units it covers."""
    shapely.prepare(parent_geoms)
    out = np.zeros(geoms.size)
    rest = np.flatnonzero(~shapely.covers(parent_geoms[owner], geoms))
    if rest.size:
        out[rest] = shapely.area(shapely.difference(geoms[rest], parent_geoms[owner[rest]]))
    return out


def _parent_gaps(parents: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, coverage: bool) -> dict[str, float]:
    out = {}
    geoms = units.geometry.to_numpy()
    parent_of = units["parent"].to_numpy(object)
    for code, pgeom in zip(parents["code"], parents.geometry, strict=True):
        sel = parent_of == code
        if not sel.any():
            continue
        covered = union_units(geoms[sel], coverage=coverage)
        out[str(code)] = float(shapely.area(shapely.difference(pgeom, covered)))
    return out
