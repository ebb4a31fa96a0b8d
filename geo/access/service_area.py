"""Service areas that follow the streets: reached networks and their polygons.

For many origins and several budgets (default 5, 10, 15 minutes) one batched
Dijkstra at the largest budget gives every reached node's time; from those times:

* the *reached street pieces* of each origin and budget are cut at the exact point
  where the budget runs out (partial edges from either end, and the origin's own
  edge in both directions from its snapped position);
* the *polygon* is the union of precomputed street cells (``geo.network.street_cells``) of
  the reached sample points: the reached streets buffered by ``STREET_BUFFER_M``
  on each side, with holes where nothing is reached, built with a coverage union
  instead of buffering at query time.  The cut of a partial street in the polygon
  lies within half of ``CELL_SPACING_M`` of the exact cut.

Three ways to combine many origins: ``"overlap"`` (one polygon per origin and
budget), ``"dissolve"`` (one per budget) and ``"catchment"`` (every reached place
belongs to its nearest origin; catchments do not overlap and their union is the
dissolved area).  ``rings=True`` returns bands 0-5, 5-10, 10-15 minutes instead of
nested areas.

Times are seconds inside, minutes at the API; lengths metres; areas m²; geometries
in the network's CRS (convert to WGS84 only when writing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo import settings
from geo.errors import InputDataError
from geo.network.graph import CostGraph, WalkNetwork
from geo.network.reach import nearest_origins, reach_sets
from geo.network.snapping import Snapped
from geo.network.street_cells import StreetCells, build_street_cells, union_cells
from geo.settings import TravelProfile, get_profile

logger = logging.getLogger(__name__)

__all__ = ["MODES", "check_budgets", "profile_note", "reached_streets", "service_areas", "street_cells"]

MODES = ("overlap", "dissolve", "catchment")
#: Cap length as a share of the buffer width: pi/4 gives a flat end of the same
#: area as the round cap of a buffered line end.
CAP_FACTOR = np.pi / 4.0
#: Cells of a street within this share of the buffer width of a reached sample on
#: another (non-adjacent) street are drawn: for a parallel street at offset d, the
#: buffered reference covers the cell up to d short of its far side; drawing it whole
#: errs by d, leaving it out by w - d/2, equal at d = 2w/3.
CROSS_FACTOR = 2.0 / 3.0
#: Threads building the polygons (each a numpy union, GIL mostly free) while the
#: next block of origins is prepared; 0 builds them in line, one after another.
UNION_THREADS = 2
#: Origins handled per vectorised block (bounds the memory of the sample tables).
ORIGIN_BLOCK = 64

Progress = Callable[[int, int], None]


# ------------------------------------------------------------------- cells cache


def street_cells(
    net: WalkNetwork,
    *,
    width_m: float = settings.STREET_BUFFER_M,
    spacing_m: float = settings.CELL_SPACING_M,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
) -> StreetCells:
    """The precomputed street cells of ``net`` (built once, cached in memory and on disk)."""
    key = ("cells", float(width_m), float(spacing_m))
    cells = net._graphs.get(key)
    if cells is not None:
        return cells
    path = None
    if cache_dir is not None and net.source_key:
        path = Path(cache_dir) / f"cells-{net.source_key}-{width_m:g}-{spacing_m:g}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    cells = StreetCells.from_arrays(dict(data))
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("ignoring damaged cells cache %s: %s", path.name, exc)
    if cells is None:
        cells = build_street_cells(net.edge_geometry, width_m=width_m, spacing_m=spacing_m)
        if path is not None:
            try:
                tmp = path.with_suffix(".tmp.npz")
                # numpy's stub does not know arrays passed by name.
                np.savez(tmp, **cells.to_arrays())  # type: ignore[arg-type]
                tmp.replace(path)
            except OSError as exc:
                logger.warning("could not write cells cache %s: %s", path, exc)
    net._graphs[key] = cells
    return cells


# ---------------------------------------------------------------------- checking


def check_budgets(minutes: Sequence[float]) -> tuple[float, ...]:
    """Validate and sort budgets in minutes (docs/bad-inputs.md C1).

    Raises
    ------
    InputDataError
        Empty, non-finite, non-positive, or above ``MAX_BUDGET_MIN``.
    """
    try:
        values = [float(m) for m in minutes]
    except (TypeError, ValueError):
        raise InputDataError(f"时间预算必须是数字 (budgets must be numbers): {minutes!r}") from None
    if not values:
        raise InputDataError("至少需要一个时间预算 (give at least one budget in minutes)")
    for m in values:
        if not (np.isfinite(m) and 0 < m <= settings.MAX_BUDGET_MIN):
            raise InputDataError(
                f"时间预算 {m} 分钟无效，应在 (0, {settings.MAX_BUDGET_MIN:g}] 分钟之间 "
                f"(budget must be in (0, {settings.MAX_BUDGET_MIN:g}] minutes)"
            )
    return tuple(sorted(set(values)))


# ------------------------------------------------------------- node -> edge times


@dataclass(frozen=True)
class _EdgeTimes:
    """Per (group, edge) pair: the times at the edge's two ends and their owners.

    A group is an origin (overlap) or the single group 0 (dissolve, catchment).
    """

    group: np.ndarray  # int64 (p,)
    edge: np.ndarray  # int64 (p,)
    t_u: np.ndarray  # float64 (p,) seconds at node u, inf if not reached
    t_v: np.ndarray
    owner_u: np.ndarray  # int64 (p,) origin whose time t_u is
    owner_v: np.ndarray


def _incidence(net: WalkNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of node -> (edge, side): side 0 where the node is the edge's u, 1 where v."""
    key = ("incidence",)
    cached = net._graphs.get(key)
    if cached is None:
        m = net.n_edges
        node = np.concatenate([net.edge_u, net.edge_v])
        edge = np.concatenate([np.arange(m), np.arange(m)])
        side = np.concatenate([np.zeros(m, np.int8), np.ones(m, np.int8)])
        order = np.argsort(node, kind="stable")
        ptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=net.n_nodes), out=ptr[1:])
        cached = (ptr, edge[order], side[order])
        net._graphs[key] = cached
    return cached


def _ragged(ptr: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand CSR rows ``idx``: returns (row position in idx, element index)."""
    counts = ptr[idx + 1] - ptr[idx]
    rows = np.repeat(np.arange(idx.size), counts)
    starts = np.repeat(ptr[idx] - np.cumsum(counts) + counts, counts)
    return rows, starts + np.arange(rows.size)


def _edge_times(
    graph: CostGraph,
    group: np.ndarray,
    node: np.ndarray,
    time_s: np.ndarray,
    owner: np.ndarray,
    extra_pairs: tuple[np.ndarray, np.ndarray],
) -> _EdgeTimes:
    """Spread node times onto incident edges; ``extra_pairs`` (group, edge) are added."""
    net = graph.network
    ptr, inc_edge, inc_side = _incidence(net)
    rows, k = _ragged(ptr, node)
    e = inc_edge[k]
    side = inc_side[k]
    g = group[rows]
    m = np.int64(net.n_edges)
    key = g.astype(np.int64) * m + e
    all_keys = np.unique(np.concatenate([key, extra_pairs[0].astype(np.int64) * m + extra_pairs[1]]))
    pos = np.searchsorted(all_keys, key)
    t_u = np.full(all_keys.size, np.inf)
    t_v = np.full(all_keys.size, np.inf)
    o_u = np.full(all_keys.size, -1, dtype=np.int64)
    o_v = np.full(all_keys.size, -1, dtype=np.int64)
    at_u = side == 0
    # A self-loop edge has its node at both ends; each (group, node) occurs once,
    # so plain assignment is exact.
    t_u[pos[at_u]] = time_s[rows[at_u]]
    o_u[pos[at_u]] = owner[rows[at_u]]
    t_v[pos[~at_u]] = time_s[rows[~at_u]]
    o_v[pos[~at_u]] = owner[rows[~at_u]]
    return _EdgeTimes(all_keys // m, all_keys % m, t_u, t_v, o_u, o_v)


# --------------------------------------------------------------- exact intervals


def _merge3(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge up to three intervals per row ((p, 3) arrays; empty: start > end).

    Returns (p, 3) arrays of disjoint merged intervals, unused slots empty.
    """
    empty = starts > ends
    s = np.where(empty, np.inf, starts)
    e = np.where(empty, -np.inf, ends)
    order = np.argsort(s, axis=1)
    s = np.take_along_axis(s, order, axis=1)
    e = np.take_along_axis(e, order, axis=1)
    out_s = np.full_like(s, np.inf)
    out_e = np.full_like(e, -np.inf)
    cur_s, cur_e = s[:, 0].copy(), e[:, 0].copy()
    slot = np.zeros(s.shape[0], dtype=np.int64)
    rows = np.arange(s.shape[0])
    for j in (1, 2):
        overlaps = s[:, j] <= cur_e
        emit = ~overlaps & np.isfinite(s[:, j])
        out_s[rows[emit], slot[emit]] = cur_s[emit]
        out_e[rows[emit], slot[emit]] = cur_e[emit]
        slot[emit] += 1
        cur_e = np.where(overlaps, np.maximum(cur_e, e[:, j]), np.where(emit, e[:, j], cur_e))
        cur_s = np.where(emit, s[:, j], cur_s)
    out_s[rows, slot] = cur_s
    out_e[rows, slot] = cur_e
    return out_s, out_e


def _intervals(graph: CostGraph, et: _EdgeTimes, budget_s: float, own) -> tuple[np.ndarray, np.ndarray]:
    """Exact reached intervals of every (group, edge) pair at ``budget_s``: (p, 3) arrays."""
    net = graph.network
    length = net.edge_length_m[et.edge]
    fwd = graph.fwd_s_per_m[et.edge]
    bwd = graph.bwd_s_per_m[et.edge]
    with np.errstate(invalid="ignore", divide="ignore"):
        reach_u = np.where(et.t_u <= budget_s, (budget_s - et.t_u) / fwd, -np.inf)
        reach_v = np.where(et.t_v <= budget_s, (budget_s - et.t_v) / bwd, -np.inf)
    starts = np.empty((et.edge.size, 3))
    ends = np.empty((et.edge.size, 3))
    starts[:, 0], ends[:, 0] = 0.0, np.minimum(reach_u, length)
    ends[reach_u < 0, 0] = -np.inf
    starts[:, 1], ends[:, 1] = np.maximum(length - reach_v, 0.0), length
    starts[reach_v < 0, 1] = np.inf
    starts[:, 2], ends[:, 2] = np.inf, -np.inf
    own_row, own_s, own_e = own
    starts[own_row, 2] = own_s
    ends[own_row, 2] = own_e
    return _merge3(starts, ends)


def _substrings(geoms: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Vectorised ``shapely.ops.substring``: the pieces [start, end] (metres) of lines."""
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(which, minlength=geoms.size)
    first = np.cumsum(counts) - counts
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    along = cum - np.repeat(cum[first], counts)
    inner = (along > np.repeat(start, counts)) & (along < np.repeat(end, counts))
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms, start))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms, end))
    n_inner = np.bincount(which[inner], minlength=geoms.size)
    n_out = n_inner + 2
    out_index = np.repeat(np.arange(geoms.size), n_out)
    out = np.empty((out_index.size, 2))
    base = np.cumsum(n_out) - n_out
    out[base] = a
    out[base + n_out - 1] = b
    inner_pos = np.repeat(base + 1, n_inner) + (
        np.arange(n_inner.sum()) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
    )
    out[inner_pos] = coords[inner]
    return shapely.linestrings(out, indices=out_index)


# ----------------------------------------------------------------- sample times


def _sample_times(graph: CostGraph, cells: StreetCells, et: _EdgeTimes, own, pairs: np.ndarray) -> tuple:
    """Time and owner at every street-cell sample of the (group, edge) pairs ``pairs``.

    Returns (pair index, sample id, time_s, owner) arrays, one row per sample, in
    (group, sample) order.
    """
    net = graph.network
    which, sample = _ragged(cells.edge_sample_ptr, et.edge[pairs])
    pair = pairs[which]
    e = et.edge[pair]
    x = cells.sample_pos_m[sample]
    length = net.edge_length_m[e]
    with np.errstate(invalid="ignore"):
        from_u = et.t_u[pair] + np.where(x > 0, x * graph.fwd_s_per_m[e], 0.0)
        from_v = et.t_v[pair] + np.where(x < length, (length - x) * graph.bwd_s_per_m[e], 0.0)
    from_u = np.nan_to_num(from_u, nan=np.inf)
    from_v = np.nan_to_num(from_v, nan=np.inf)
    use_v = from_v < from_u
    time_s = np.where(use_v, from_v, from_u)
    owner = np.where(use_v, et.owner_v[pair], et.owner_u[pair])
    own_pair, own_pos, own_access_s, own_origin = own
    if own_pair.size:
        # Samples of an origin's own edge may be reached directly from it.
        rows = np.flatnonzero(np.isin(pair, own_pair))
        # Several origins may share one edge: handle each (sorted) duplicate in turn.
        order = np.argsort(own_pair, kind="stable")
        own_pair_s = own_pair[order]
        first = np.searchsorted(own_pair_s, pair[rows], side="left")
        last = np.searchsorted(own_pair_s, pair[rows], side="right")
        for offset in range(int((last - first).max(initial=0))):
            has = first + offset < last
            r = rows[has]
            j = order[first[has] + offset]
            ee = e[r]
            dx = x[r] - own_pos[j]
            with np.errstate(invalid="ignore"):
                t = own_access_s[j] + np.where(dx >= 0, dx * graph.fwd_s_per_m[ee], -dx * graph.bwd_s_per_m[ee])
            t = np.nan_to_num(t, nan=np.inf)
            better = t < time_s[r]
            time_s[r[better]] = t[better]
            owner[r[better]] = own_origin[j][better]
    return pair, sample, time_s, owner


def _polygons_by_label(
    cells: StreetCells,
    label: np.ndarray,
    edge: np.ndarray,
    sample: np.ndarray,
    n_labels: int,
    whole_label: np.ndarray,
    whole_edge: np.ndarray,
    pool: ThreadPoolExecutor | None = None,
) -> list:
    """Union per label of selected samples' cells and of whole edges.

    Edges all of whose samples are selected are used whole too.  ``whole_label``
    and ``whole_edge`` (sorted by label, then edge) are edges decided whole.
    With a ``pool`` the unions are submitted and futures returned.
    """
    per_edge = np.diff(cells.edge_sample_ptr)
    m = np.int64(per_edge.size)
    key = label.astype(np.int64) * m + edge
    if key.size and (np.diff(key) < 0).any():  # overlap mode yields rows already sorted
        order = np.argsort(key, kind="stable")
        key, sample = key[order], sample[order]
    # Runs of equal keys in sorted order (np.unique would sort again).
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, dtype=np.int64)
    ukey = key[starts]
    count = np.diff(np.r_[starts, key.size])
    full = count == per_edge[ukey % m]
    partial_rows = ~np.repeat(full, count)
    full_keys = np.sort(np.concatenate([ukey[full], whole_label.astype(np.int64) * m + whole_edge]), kind="stable")
    full_label = full_keys // m
    part_label = key[partial_rows] // m
    part_sample = sample[partial_rows]
    f_ptr = np.searchsorted(full_label, np.arange(n_labels + 1))
    p_ptr = np.searchsorted(part_label, np.arange(n_labels + 1))
    full_edges = full_keys % m

    def one(i: int) -> shapely.Geometry:
        return union_cells(
            cells, full_edges=full_edges[f_ptr[i] : f_ptr[i + 1]], samples=part_sample[p_ptr[i] : p_ptr[i + 1]]
        )

    if pool is None:
        return [one(i) for i in range(n_labels)]
    return [pool.submit(one, i) for i in range(n_labels)]


# ------------------------------------------------------------------------ public


def _own_table(graph: CostGraph, snapped: Snapped, origins: np.ndarray, et: _EdgeTimes, group: np.ndarray):
    """(pair index, pos_m, access_s, origin) of each origin's own edge, sorted by pair."""
    m = np.int64(graph.network.n_edges)
    keys = et.group * m + et.edge
    own_key = group.astype(np.int64) * m + snapped.edge[origins]
    pair = np.searchsorted(keys, own_key)
    order = np.argsort(pair, kind="stable")
    return (
        pair[order],
        snapped.pos_m[origins][order],
        (snapped.access_m[origins] * graph.access_s_per_m)[order],
        origins[order].astype(np.int64),
    )


def _budget_rows(budgets_s: Sequence[float], rings: bool) -> list[tuple[float, float]]:
    """(lower, upper) time bounds in seconds of each output band."""
    if rings:
        return list(zip([-np.inf, *budgets_s[:-1]], budgets_s, strict=True))
    return [(-np.inf, b) for b in budgets_s]


def service_areas(
    graph: CostGraph,
    snapped: Snapped,
    *,
    minutes: Sequence[float] = settings.DEFAULT_BUDGETS_MIN,
    mode: str = "overlap",
    rings: bool = False,
    width_m: float = settings.STREET_BUFFER_M,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Street-following service-area polygons of snapped origins.

    Parameters
    ----------
    graph
        Routing graph of the travel profile.
    snapped
        Origins from :func:`geo.network.snapping.snap_points`; those not snapped get no polygon.
    minutes
        Budgets in minutes (default 5, 10, 15).
    mode
        ``"overlap"`` (per origin), ``"dissolve"`` (per budget) or ``"catchment"``
        (per origin, each place to its nearest origin).
    rings
        Bands between consecutive budgets (0-5, 5-10, 10-15) instead of nested areas.
    width_m
        Buffer of the reached streets on each side (metres).
    cache_dir
        Where the street cells are cached.
    progress
        Called with (done, total) origins.

    Returns
    -------
    geopandas.GeoDataFrame
        In the network's CRS, one row per (origin, band) — or per band for
        ``"dissolve"`` — with ``origin`` (index into the snapped points, -1 for
        dissolve), ``min_from``, ``minutes`` (band bounds), ``budget_m`` (distance
        at the profile's street speed), ``profile``, ``speed_kmh``, ``area_m2``,
        ``street_length_m`` (reached street within the band) and ``geometry``.

    Raises
    ------
    InputDataError
        Bad budgets or mode.
    """
    if mode not in MODES:
        raise InputDataError(f"合并方式 mode={mode!r} 无效，可选: {', '.join(MODES)} (unknown mode)")
    budgets_min = check_budgets(minutes)
    budgets_s = [b * 60.0 for b in budgets_min]
    bands = _budget_rows(budgets_s, rings)
    cells = street_cells(graph.network, width_m=width_m, cache_dir=cache_dir)
    profile = graph.profile
    origins = np.flatnonzero(snapped.ok)
    records: list[dict] = []
    # The unions are numpy work on ~10^4 segments each that releases the GIL for
    # most of its time: they run on a small pool while the next block of origins is
    # prepared, which keeps both cores of a planner's desktop busy.
    # A single origin (a candidate dragged in the web app) is not worth starting threads for.
    threaded = UNION_THREADS > 0 and origins.size > 1
    with ThreadPoolExecutor(UNION_THREADS) if threaded else nullcontext() as pool:
        if mode == "overlap":
            reach = reach_sets(graph, snapped, max_time_s=budgets_s[-1])
            order = np.argsort(reach.origin, kind="stable")
            r_origin, r_node, r_time = reach.origin[order], reach.node[order], reach.time_s[order]
            bounds = np.searchsorted(r_origin, origins)
            bounds_end = np.searchsorted(r_origin, origins, side="right")
            for start in range(0, origins.size, ORIGIN_BLOCK):
                block = origins[start : start + ORIGIN_BLOCK]
                sl = slice(bounds[start], bounds_end[start + block.size - 1]) if block.size else slice(0, 0)
                records += _block_records(
                    graph,
                    cells,
                    snapped,
                    block,
                    block,
                    r_origin[sl],
                    r_node[sl],
                    r_time[sl],
                    r_origin[sl],
                    bands,
                    pool=pool,
                )
                if progress is not None:
                    progress(start + block.size, origins.size)
        else:
            near = nearest_origins(graph, snapped, max_time_s=budgets_s[-1])
            nodes = np.flatnonzero(np.isfinite(near.time_s))
            group_of_origin = np.zeros(origins.size, dtype=np.int64)
            records += _block_records(
                graph,
                cells,
                snapped,
                origins,
                group_of_origin,
                np.zeros(nodes.size, dtype=np.int64),
                nodes,
                near.time_s[nodes],
                near.origin[nodes],
                bands,
                by_owner=origins if mode == "catchment" else None,
                pool=pool,
            )
            if progress is not None:
                progress(origins.size, origins.size)
        if pool is not None:
            for record in records:
                record["geometry"] = record["geometry"].result()
    frame = (
        gpd.GeoDataFrame(records, geometry="geometry", crs=graph.network.crs)
        if records
        else gpd.GeoDataFrame(
            {"origin": [], "min_from": [], "minutes": [], "street_length_m": []},
            geometry=[],
            crs=graph.network.crs,
        )
    )
    if mode == "overlap" and len(frame):
        frame["geometry"] = _with_access_legs(graph, snapped, frame, width_m)
    frame["area_m2"] = shapely.area(frame.geometry.to_numpy())
    frame["budget_m"] = [profile.metres_in(m) for m in frame["minutes"]]
    frame["profile"] = profile.name
    frame["speed_kmh"] = profile.speed_kmh
    frame["width_m"] = width_m
    return frame


def _with_access_legs(graph: CostGraph, snapped: Snapped, frame: gpd.GeoDataFrame, width_m: float) -> np.ndarray:
    """Add the buffered leg from each origin to its street where the origin lies outside.

    A facility set back from the street (a clinic inside a compound) is joined to
    its service area by its access path; only the first band holds the origin.
    """
    geoms = frame.geometry.to_numpy().copy()
    origin = frame["origin"].to_numpy()
    first_band = frame["min_from"].to_numpy() == 0
    x, y = snapped.xy[origin, 0], snapped.xy[origin, 1]
    outside = first_band & ~shapely.contains_xy(geoms, x, y)
    if outside.any():
        o = origin[outside]
        on_street = shapely.line_interpolate_point(graph.network.edge_geometry[snapped.edge[o]], snapped.pos_m[o])
        legs = shapely.linestrings(
            np.stack([snapped.xy[o], shapely.get_coordinates(on_street)], axis=1).reshape(-1, 2),
            indices=np.repeat(np.arange(o.size), 2),
        )
        geoms[outside] = shapely.union(geoms[outside], shapely.buffer(legs, width_m))
    return geoms


def _block_records(
    graph: CostGraph,
    cells: StreetCells,
    snapped: Snapped,
    origins: np.ndarray,
    group_of_origin: np.ndarray,
    group: np.ndarray,
    node: np.ndarray,
    time_s: np.ndarray,
    owner: np.ndarray,
    bands: list[tuple[float, float]],
    *,
    by_owner: np.ndarray | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> list[dict]:
    """Polygons and street lengths of one block of groups for every band.

    With a ``pool``, ``geometry`` holds a future of the polygon.
    """
    et = _edge_times(graph, group, node, time_s, owner, (group_of_origin, snapped.edge[origins]))
    own = _own_table(graph, snapped, origins, et, group_of_origin)
    groups = np.unique(group_of_origin) if by_owner is None else np.arange(by_owner.size)
    fmin_s_per_m = np.fmin(graph.fwd_s_per_m, graph.bwd_s_per_m)
    # Equal-area caps: a cut street ends in a half disc of radius w in the buffered
    # reference; the cells end flat, so each cut is carried on by pi*w/4 metres,
    # the length of flat strip (2w wide) with the half disc's area.
    cap_pair = CAP_FACTOR * cells.width_m * fmin_s_per_m[et.edge]
    # A pair whose samples all fall inside or all outside every band is decided as a
    # whole edge; only the others (cut streets, and origins' own edges) get per-sample
    # times.  In overlap mode every pair belongs to one group; in catchment mode the
    # owner may change along a street, so every pair is expanded.
    t_first, t_last = _pair_time_bounds(graph, et)
    t_first, t_last = t_first - cap_pair, t_last - cap_pair
    whole = np.zeros((len(bands), et.edge.size), dtype=bool)
    decided = np.ones(et.edge.size, dtype=bool)
    for k, (lo, hi) in enumerate(bands):
        whole[k] = (t_first > lo) & (t_last <= hi)
        decided &= whole[k] | (t_first > hi) | (t_last <= lo)
    decided[own[0]] = False
    if by_owner is not None:
        decided[:] = False
    expand = np.flatnonzero(~decided)
    pair, sample, t_sample, o_sample = _sample_times(graph, cells, et, own, expand)
    cap_s = CAP_FACTOR * cells.width_m * fmin_s_per_m[cells.sample_edge[sample]]
    whole_pairs = np.flatnonzero(whole.any(axis=0))
    rows = _with_cross_neighbours(
        graph.network,
        cells,
        et,
        whole_pairs,
        t_last[whole_pairs],
        et.group[pair],
        sample,
        t_sample - cap_s,
        t_sample,
        o_sample,
        bands[-1][1],
    )
    row_group, row_sample, row_t, row_owner, row_own_t = rows
    row_edge = cells.sample_edge[row_sample]
    support = None if by_owner is None else _sample_support(cells)
    records = []
    # Street length within each budget, once per budget: a ring's lower bound is the
    # previous ring's upper bound.
    group_lengths = {}
    if by_owner is None:
        for budget in {b for band in bands for b in band}:
            group_lengths[budget] = _group_lengths(graph, et, own, budget, groups)
    for k, (lo, hi) in enumerate(bands):
        sel = (row_t > lo) & (row_t <= hi)
        full = np.flatnonzero(whole[k])
        if by_owner is None:
            label = np.searchsorted(groups, row_group[sel])
            full_label = np.searchsorted(groups, et.group[full])
            n_labels = groups.size
            label_origin = origins if groups.size == origins.size else np.array([-1])
            length = group_lengths[hi] - group_lengths[lo]
        else:
            assert support is not None  # computed whenever by_owner is given
            label = np.searchsorted(by_owner, row_owner[sel])
            full_label = np.zeros(0, dtype=np.int64)
            full = full[:0]
            n_labels = by_owner.size
            label_origin = by_owner
            # Street length: only samples on reached streets, not those drawn across.
            own_in_band = (row_own_t[sel] > lo) & (row_own_t[sel] <= hi)
            weight = np.where(own_in_band, support[row_sample[sel]], 0.0)
            length = np.bincount(label, weights=weight, minlength=n_labels)
        polys = _polygons_by_label(
            cells, label, row_edge[sel], row_sample[sel], n_labels, full_label, et.edge[full], pool
        )
        lo_min = 0.0 if not np.isfinite(lo) else lo / 60.0
        for i, poly in enumerate(polys):
            records.append(
                {
                    "origin": int(label_origin[i]),
                    "min_from": lo_min,
                    "minutes": hi / 60.0,
                    "street_length_m": float(length[i]),
                    "geometry": poly,
                }
            )
    return records


def _cross_neighbours(net: WalkNetwork, cells: StreetCells) -> tuple[np.ndarray, np.ndarray]:
    """Samples of other, non-adjacent streets within ``CROSS_FACTOR * w``, as a CSR.

    Parallel ways a few metres apart (a sidewalk beside its road) are separate edges
    whose cells split the street space between them.  When one is reached and the
    other not, the reached one's buffer covers much of the other's cells; a cell is
    drawn when a reached sample of another street lies within ``2w/3`` of its own
    sample: beyond that distance leaving the cell out is the smaller error, within
    it drawing it whole (see ``CROSS_FACTOR``).  Edges sharing a node are left out:
    at junctions the equal-area caps already carry reach across.
    """
    key = ("cross", cells.width_m, cells.spacing_m)
    cached = net._graphs.get(key)
    if cached is not None:
        return cached
    from scipy.spatial import cKDTree

    k = cells.sample_edge.size
    owner = cells.sample_owner.astype(np.int64)
    # Coincident samples (at a node) share one cell, kept by its owner sample: pairs
    # are found between owners, and a candidate time goes to every member of the
    # target cell so that one cell keeps one time.
    own_ids = np.flatnonzero(owner == np.arange(k))
    points = shapely.line_interpolate_point(net.edge_geometry[cells.sample_edge[own_ids]], cells.sample_pos_m[own_ids])
    pairs = cKDTree(shapely.get_coordinates(points)).query_pairs(CROSS_FACTOR * cells.width_m, output_type="ndarray")
    a, b = own_ids[pairs[:, 0]], own_ids[pairs[:, 1]]
    ea, eb = cells.sample_edge[a], cells.sample_edge[b]
    u, v = net.edge_u, net.edge_v
    length = net.edge_length_m[cells.sample_edge]
    node_of = np.where(cells.sample_pos_m <= 0.0, u[cells.sample_edge], -1)
    node_of = np.where(cells.sample_pos_m >= length - 1e-9, v[cells.sample_edge], node_of)
    na, nb = node_of[a], node_of[b]
    adjacent = (ea == eb) | (u[ea] == u[eb]) | (u[ea] == v[eb]) | (v[ea] == u[eb]) | (v[ea] == v[eb])
    adjacent |= (na >= 0) & ((u[eb] == na) | (v[eb] == na))
    adjacent |= (nb >= 0) & ((u[ea] == nb) | (v[ea] == nb))
    src = np.concatenate([a[~adjacent], b[~adjacent]])
    dst_owner = np.concatenate([b[~adjacent], a[~adjacent]])
    members = np.argsort(owner, kind="stable")
    m_ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=k), out=m_ptr[1:])
    which, j = _ragged(m_ptr, dst_owner)
    src, dst = src[which], members[j]
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=k), out=ptr[1:])
    cached = (ptr, dst[order].astype(np.int64))
    net._graphs[key] = cached
    logger.info("cross-street sample links within %.1f m: %d", CROSS_FACTOR * cells.width_m, src.size)
    return cached


def _edge_cross_neighbours(net: WalkNetwork, cells: StreetCells) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_cross_neighbours` gathered per source edge: edge -> target samples (CSR)."""
    key = ("cross-edge", cells.width_m, cells.spacing_m)
    cached = net._graphs.get(key)
    if cached is None:
        ptr, nbr = _cross_neighbours(net, cells)
        src_edge = np.repeat(cells.sample_edge, np.diff(ptr)).astype(np.int64)
        pairs = np.unique(src_edge * np.int64(cells.sample_edge.size) + nbr)
        edge = pairs // cells.sample_edge.size
        e_ptr = np.zeros(net.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(edge, minlength=net.n_edges), out=e_ptr[1:])
        cached = (e_ptr, pairs % cells.sample_edge.size)
        net._graphs[key] = cached
    return cached


def _with_cross_neighbours(
    net: WalkNetwork,
    cells: StreetCells,
    et: _EdgeTimes,
    whole_pairs: np.ndarray,
    whole_time_s: np.ndarray,
    group: np.ndarray,
    sample: np.ndarray,
    time_s: np.ndarray,
    own_time_s: np.ndarray,
    owner: np.ndarray,
    max_time_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add to the (group, sample) rows the samples reached across from another street.

    Sources are the sample rows and the whole pairs (streets decided as a whole, at
    their latest time ``whole_time_s``).  Targets on a street that is itself decided
    whole for that group are left alone.  Rows come sorted by (group, sample) and
    stay so.  Returns group, sample, time (the earlier of ``time_s`` and the time
    across), owner, and ``own_time_s`` (``inf`` for rows only reached across).
    """
    ptr, nbr = _cross_neighbours(net, cells)
    e_ptr, e_nbr = _edge_cross_neighbours(net, cells)
    # Reach across counts the equal-area caps too: the round cap of the buffered
    # reference covers a neighbouring street's cells just as the street's sides do.
    src = np.flatnonzero((time_s <= max_time_s) & (ptr[sample + 1] > ptr[sample]))
    which, k = _ragged(ptr, sample[src])
    w_src = whole_pairs[(whole_time_s <= max_time_s) & (e_ptr[et.edge[whole_pairs] + 1] > e_ptr[et.edge[whole_pairs]])]
    w_which, w_k = _ragged(e_ptr, et.edge[w_src])
    if which.size + w_which.size == 0:
        return group, sample, time_s, owner, own_time_s
    time_of_pair = np.full(et.edge.size, np.inf)
    time_of_pair[whole_pairs] = whole_time_s
    c_group = np.concatenate([group[src[which]], et.group[w_src[w_which]]])
    c_sample = np.concatenate([nbr[k], e_nbr[w_k]])
    c_time = np.concatenate([time_s[src[which]], time_of_pair[w_src[w_which]]])
    c_owner = np.concatenate(
        [
            owner[src[which]],
            np.where(
                et.t_u[w_src[w_which]] <= et.t_v[w_src[w_which]], et.owner_u[w_src[w_which]], et.owner_v[w_src[w_which]]
            ),
        ]
    )
    n = np.int64(cells.sample_edge.size)
    m = np.int64(net.n_edges)
    # Not onto streets decided whole for the same group.
    whole_keys = et.group[whole_pairs].astype(np.int64) * m + et.edge[whole_pairs]
    c_pair_key = c_group.astype(np.int64) * m + cells.sample_edge[c_sample]
    at = np.searchsorted(whole_keys, c_pair_key)
    on_whole = at < whole_keys.size
    on_whole[on_whole] = whole_keys[at[on_whole]] == c_pair_key[on_whole]
    # Nor onto a node cell at the end of such a street: it is drawn with that street.
    ends = np.concatenate(
        [cells.edge_sample_ptr[et.edge[whole_pairs]], cells.edge_sample_ptr[et.edge[whole_pairs] + 1] - 1]
    )
    owner_of = cells.sample_owner
    end_keys = np.unique(np.tile(et.group[whole_pairs].astype(np.int64), 2) * n + owner_of[ends])
    c_node_key = c_group.astype(np.int64) * n + owner_of[c_sample]
    at = np.searchsorted(end_keys, c_node_key)
    on_end = at < end_keys.size
    on_end[on_end] = end_keys[at[on_end]] == c_node_key[on_end]
    keep = ~(on_whole | on_end)
    c_key = c_group[keep].astype(np.int64) * n + c_sample[keep]
    c_time, c_owner = c_time[keep], c_owner[keep]
    if c_key.size == 0:
        return group, sample, time_s, owner, own_time_s
    # Keep the earliest candidate per key.
    order = np.lexsort((c_time, c_key))
    c_key, c_time, c_owner = c_key[order], c_time[order], c_owner[order]
    first = np.r_[True, c_key[1:] != c_key[:-1]]
    c_key, c_time, c_owner = c_key[first], c_time[first], c_owner[first]
    key = group.astype(np.int64) * n + sample
    pos = np.searchsorted(key, c_key)
    found = pos < key.size
    found[found] = key[pos[found]] == c_key[found]
    time_s = time_s.copy()
    owner = owner.copy()
    better = found.copy()
    better[found] = c_time[found] < time_s[pos[found]]
    time_s[pos[better]] = c_time[better]
    owner[pos[better]] = c_owner[better]
    new = ~found
    at = pos[new]
    return (
        np.insert(group, at, c_key[new] // n),
        np.insert(sample, at, c_key[new] % n),
        np.insert(time_s, at, c_time[new]),
        np.insert(owner, at, c_owner[new]),
        np.insert(own_time_s, at, np.inf),
    )


def _pair_time_bounds(graph: CostGraph, et: _EdgeTimes) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest arrival over each (group, edge) pair's street (seconds).

    Reached from u (``t_u``, then ``fwd`` s/m) and from v (``t_v``, ``bwd``), the time
    along the street is the lower of two lines; its maximum is where they cross
    (clamped to the street), and its minimum at one of the ends.  Own-edge origins
    are not included (those pairs are expanded sample by sample).
    """
    length = graph.network.edge_length_m[et.edge]
    fwd = graph.fwd_s_per_m[et.edge]
    bwd = graph.bwd_s_per_m[et.edge]
    first = np.minimum(et.t_u, et.t_v)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross_m = (et.t_v + length * bwd - et.t_u) / (fwd + bwd)
        at_u_end = et.t_v + length * bwd  # the line from v, at u
        at_v_end = et.t_u + length * fwd
        last = np.where(cross_m <= 0, at_u_end, np.where(cross_m >= length, at_v_end, et.t_u + cross_m * fwd))
    last = np.where(np.isnan(last), np.inf, last)
    return first, last


def _sample_support(cells: StreetCells) -> np.ndarray:
    """Street length each sample stands for (metres): halfway to its neighbours."""
    edge_length_m = cells.edge_length_m
    pos = cells.sample_pos_m
    edge = cells.sample_edge
    left = np.empty_like(pos)
    right = np.empty_like(pos)
    same_prev = np.zeros(pos.size, dtype=bool)
    same_prev[1:] = edge[1:] == edge[:-1]
    left[1:] = (pos[1:] + pos[:-1]) / 2.0
    left[~same_prev] = 0.0
    same_next = np.zeros(pos.size, dtype=bool)
    same_next[:-1] = same_prev[1:]
    right[:-1] = left[1:]
    right[~same_next] = edge_length_m[edge[~same_next]]
    return right - left


def _group_lengths(graph: CostGraph, et: _EdgeTimes, own, budget_s: float, groups: np.ndarray) -> np.ndarray:
    """Exact reached street length per group within ``budget_s`` (metres; 0 for -inf)."""
    if not np.isfinite(budget_s):
        return np.zeros(groups.size)
    per_pair = _reached_length(graph, et, own, budget_s)
    return np.bincount(np.searchsorted(groups, et.group), weights=per_pair, minlength=groups.size)


def _reached_length(graph: CostGraph, et: _EdgeTimes, own, budget_s: float) -> np.ndarray:
    """Exact reached length of each (group, edge) pair at ``budget_s`` (metres)."""
    s, e = _pair_intervals(graph, et, own, budget_s)
    return np.where(e > s, e - s, 0.0).sum(axis=1)


def _pair_intervals(graph: CostGraph, et: _EdgeTimes, own, budget_s: float):
    own_pair, own_pos, own_access_s, _ = own
    e = et.edge[own_pair]
    left_s = budget_s - own_access_s
    with np.errstate(invalid="ignore", divide="ignore"):
        ahead = np.where(left_s > 0, left_s / graph.fwd_s_per_m[e], -np.inf)
        behind = np.where(left_s > 0, left_s / graph.bwd_s_per_m[e], -np.inf)
    length = graph.network.edge_length_m[e]
    start = np.where(left_s > 0, np.clip(own_pos - np.nan_to_num(behind, nan=0.0), 0.0, length), np.inf)
    end = np.where(left_s > 0, np.clip(own_pos + np.nan_to_num(ahead, nan=0.0), 0.0, length), -np.inf)
    if own_pair.size and np.unique(own_pair).size < own_pair.size:
        # Several origins on one edge (dissolve/catchment): merge their own intervals.
        order = np.lexsort((start, own_pair))
        own_pair, start, end = own_pair[order], start[order], end[order]
        first = np.r_[True, own_pair[1:] != own_pair[:-1]]
        idx = np.flatnonzero(first)
        start = np.minimum.reduceat(start, idx)
        end = np.maximum.reduceat(end, idx)
        own_pair = own_pair[idx]
    return _intervals(graph, et, budget_s, (own_pair, start, end))


def reached_streets(
    graph: CostGraph,
    snapped: Snapped,
    *,
    minutes: float = settings.DEFAULT_BUDGETS_MIN[-1],
) -> gpd.GeoDataFrame:
    """The street pieces each origin reaches within ``minutes``, cut exactly.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per reached piece with ``origin``, ``edge``, ``start_m``, ``end_m``
        (positions along the edge from its u end), ``length_m``, ``minutes`` and the
        LineString ``geometry`` in the network's CRS.
    """
    (budget_min,) = check_budgets([minutes])
    budget_s = budget_min * 60.0
    origins = np.flatnonzero(snapped.ok)
    reach = reach_sets(graph, snapped, max_time_s=budget_s)
    et = _edge_times(
        graph,
        reach.origin.astype(np.int64),
        reach.node,
        reach.time_s,
        reach.origin.astype(np.int64),
        (origins, snapped.edge[origins]),
    )
    own = _own_table(graph, snapped, origins, et, origins)
    s, e = _pair_intervals(graph, et, own, budget_s)
    row, col = np.nonzero(e > s)
    start, end = s[row, col], e[row, col]
    edge = et.edge[row]
    geoms = _substrings(graph.network.edge_geometry[edge], start, end)
    return gpd.GeoDataFrame(
        {
            "origin": et.group[row],
            "edge": edge,
            "start_m": start,
            "end_m": end,
            "length_m": end - start,
            "minutes": budget_min,
        },
        geometry=geoms,
        crs=graph.network.crs,
    )


def profile_note(profile: str | TravelProfile) -> str:
    """The assumption behind a result, for display: speed and its source."""
    prof = get_profile(profile)
    return f"{prof.label_zh} {prof.speed_kmh:g} km/h ({prof.source})"
