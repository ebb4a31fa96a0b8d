"""Which part of every street an origin reaches: node-to-edge times, exact intervals, sample times,
the cells of parallel streets drawn beside reached ones, and reached lengths.

The arithmetic behind :func:`geo.access.service_area.service_areas` and
:func:`geo.access.service_area.reached_streets`: metres and seconds, the network's CRS.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

from geo.network.cell_rings import expand_ranges
from geo.network.graph import CostGraph, WalkNetwork
from geo.network.street_cells import StreetCells, union_cells

logger = logging.getLogger(__name__)

#: Cells of a street within this share of the buffer width of a reached sample on
#: another (non-adjacent) street are drawn: for a parallel street at offset d, the
#: buffered reference covers the cell up to d short of its far side; drawing it whole
#: errs by d, leaving it out by w - d/2, equal at d = 2w/3.
CROSS_FACTOR = 2.0 / 3.0

__all__ = [
    "CROSS_FACTOR",
    "EdgeTimes",
    "cross_neighbours",
    "edge_cross_neighbours",
    "edge_times",
    "lengths_by_group",
    "pair_intervals",
    "pair_time_bounds",
    "polygons_by_label",
    "sample_support",
    "sample_times",
    "substrings",
    "with_cross_neighbours",
]

# ------------------------------------------------------------- node -> edge times


@dataclass(frozen=True)
class EdgeTimes:
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


def edge_times(
    graph: CostGraph,
    group: np.ndarray,
    node: np.ndarray,
    time_s: np.ndarray,
    owner: np.ndarray,
    extra_pairs: tuple[np.ndarray, np.ndarray],
) -> EdgeTimes:
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
    return EdgeTimes(all_keys // m, all_keys % m, t_u, t_v, o_u, o_v)


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


def _intervals(graph: CostGraph, et: EdgeTimes, budget_s: float, own) -> tuple[np.ndarray, np.ndarray]:
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


def substrings(geoms: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
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


def sample_times(graph: CostGraph, cells: StreetCells, et: EdgeTimes, own, pairs: np.ndarray) -> tuple:
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


@dataclass(frozen=True)
class LabelCells:
    """Each label's selection of street cells: whole edges and single samples (CSR by label)."""

    full_edges: np.ndarray
    f_ptr: np.ndarray
    samples: np.ndarray
    p_ptr: np.ndarray

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Label ``i``'s whole edges and samples."""
        return self.full_edges[self.f_ptr[i] : self.f_ptr[i + 1]], self.samples[self.p_ptr[i] : self.p_ptr[i + 1]]


def label_cells(
    cells: StreetCells,
    label: np.ndarray,
    edge: np.ndarray,
    sample: np.ndarray,
    n_labels: int,
    whole_label: np.ndarray,
    whole_edge: np.ndarray,
) -> LabelCells:
    """The cells per label of selected samples and of whole edges.

    Edges all of whose samples are selected are used whole too.  ``whole_label``
    and ``whole_edge`` (sorted by label, then edge) are edges decided whole.
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
    return LabelCells(
        full_edges=full_keys % m,
        f_ptr=np.searchsorted(full_label, np.arange(n_labels + 1)),
        samples=sample[partial_rows],
        p_ptr=np.searchsorted(part_label, np.arange(n_labels + 1)),
    )


def cells_beyond(
    cells: StreetCells, full_edges: np.ndarray, samples: np.ndarray, inner_full: np.ndarray, inner_samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The cells of a selection that are not in an inner selection it contains, as (whole edges, samples).

    A ring between two budgets drawn from its own cells: the cells form a coverage, so the
    ring meets the inner area along the cells' shared edges, with no overlay of polygons.
    Whole edges none of whose cells is inside stay whole; the others give their samples
    whose cells are outside (a cell is a sample's owner: node cells are shared).
    """
    owner = cells.sample_owner
    ptr = cells.edge_sample_ptr
    inside = np.zeros(owner.size, dtype=bool)
    inside[owner[expand_ranges(ptr[inner_full], ptr[inner_full + 1])]] = True
    inside[owner[inner_samples]] = True
    counts = ptr[full_edges + 1] - ptr[full_edges]
    edge_samples = expand_ranges(ptr[full_edges], ptr[full_edges + 1])
    hit = inside[owner[edge_samples]]
    edge_hit = np.bincount(np.repeat(np.arange(full_edges.size), counts), weights=hit, minlength=full_edges.size) > 0
    split = np.repeat(edge_hit, counts) & ~hit
    return full_edges[~edge_hit], np.concatenate([edge_samples[split], samples[~inside[owner[samples]]]])


def polygons_by_label(
    cells: StreetCells,
    label: np.ndarray,
    edge: np.ndarray,
    sample: np.ndarray,
    n_labels: int,
    whole_label: np.ndarray,
    whole_edge: np.ndarray,
    pool: ThreadPoolExecutor | None = None,
    *,
    beyond: LabelCells | None = None,
) -> tuple[list, LabelCells]:
    """Union per label of selected samples' cells and of whole edges (:func:`label_cells`),
    and the selection itself.

    With ``beyond`` (an inner selection, per label, that this one contains) each union
    leaves the inner cells out: a ring.  With a ``pool`` the unions are submitted and
    futures returned.
    """
    sel = label_cells(cells, label, edge, sample, n_labels, whole_label, whole_edge)

    def one(i: int) -> shapely.Geometry:
        full_edges, samples = sel.of(i)
        if beyond is not None:
            full_edges, samples = cells_beyond(cells, full_edges, samples, *beyond.of(i))
        return union_cells(cells, full_edges=full_edges, samples=samples)

    if pool is None:
        return [one(i) for i in range(n_labels)], sel
    return [pool.submit(one, i) for i in range(n_labels)], sel


def cross_neighbours(net: WalkNetwork, cells: StreetCells) -> tuple[np.ndarray, np.ndarray]:
    """Samples of other, non-adjacent streets within ``CROSS_FACTOR * w``, as a CSR.

    Parallel ways a few metres apart (a sidewalk beside its road) are separate edges
    whose cells split the street space between them.  When one is reached and the
    other not, the reached one's buffer covers much of the other's cells; a cell is
    drawn when a reached sample of another street lies within ``2w/3`` of its own
    sample: beyond that distance leaving the cell out is the smaller error, within
    it drawing it whole (see ``CROSS_FACTOR``).  Edges sharing a node are left out:
    at junctions the equal-area caps already carry reach across.
    """
    store = _links_store(net, cells)
    key = ("cross", cells.width_m, cells.spacing_m)
    cached = store.get(key)
    if cached is not None:
        return cached
    from scipy.spatial import cKDTree

    k = cells.sample_edge.size
    owner = cells.sample_owner.astype(np.int64)
    # Coincident samples (at a node) share one cell, kept by its owner sample: pairs
    # are found between owners, and a candidate time goes to every member of the
    # target cell so that one cell keeps one time.
    # Only samples of streets that pass within reach of a non-adjacent street can pair:
    # find those streets first (a few per cent of a county's), then their samples' pairs.
    reach_m = CROSS_FACTOR * cells.width_m
    among = None
    if cells.area_edges is not None:  # the area's streets, and those holding cells of its samples
        area = cells.area_edges
        held = cells.sample_edge[owner[expand_ranges(cells.edge_sample_ptr[area], cells.edge_sample_ptr[area + 1])]]
        among = np.union1d(area, held)
    near = _streets_near_other_streets(net, reach_m, among)
    own_ids = np.flatnonzero(
        (cells.sample_owner == np.arange(k, dtype=cells.sample_owner.dtype)) & near[cells.sample_edge]
    )
    points = shapely.line_interpolate_point(net.edge_geometry[cells.sample_edge[own_ids]], cells.sample_pos_m[own_ids])
    pairs = cKDTree(shapely.get_coordinates(points)).query_pairs(reach_m, output_type="ndarray")
    a, b = own_ids[pairs[:, 0]], own_ids[pairs[:, 1]]
    ea, eb = cells.sample_edge[a], cells.sample_edge[b]
    u, v = net.edge_u, net.edge_v

    def node_of(sample: np.ndarray, edge: np.ndarray) -> np.ndarray:  # the node a sample sits on, else -1
        pos = cells.sample_pos_m[sample]
        return np.where(pos >= net.edge_length_m[edge] - 1e-9, v[edge], np.where(pos <= 0.0, u[edge], -1))

    na, nb = node_of(a, ea), node_of(b, eb)
    adjacent = (ea == eb) | _share_a_node(net, ea, eb)
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
    cached = (ptr, dst[order].astype(np.int32))
    store[key] = cached
    logger.info("cross-street sample links within %.1f m: %d", CROSS_FACTOR * cells.width_m, src.size)
    return cached


def _streets_near_other_streets(net: WalkNetwork, dist_m: float, among: np.ndarray | None = None) -> np.ndarray:
    """Mask of the edges within ``dist_m`` of an edge they share no node with (of ``among`` only, if given)."""
    geoms = net.edge_geometry
    ids = np.arange(geoms.shape[0]) if among is None else np.asarray(among, dtype=np.int64)
    # A micrometre more than asked: sample points lie on their lines only up to rounding.
    i, j = shapely.STRtree(geoms[ids]).query(geoms[ids], predicate="dwithin", distance=dist_m + 1e-6)
    i, j = ids[i], ids[j]
    apart = ~_share_a_node(net, i, j)
    near = np.zeros(geoms.shape[0], dtype=bool)
    near[i[apart]] = True
    return near


def _links_store(net: WalkNetwork, cells: StreetCells) -> dict:
    """Where the links across streets of ``cells`` are kept: the network's cache for its whole
    set of cells, the cells' own for an area's (they go when the job's cells go)."""
    return net._graphs if cells.area_edges is None else cells.scratch


def _share_a_node(net: WalkNetwork, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether edges ``a`` and ``b`` (pairwise) have an end node in common."""
    u, v = net.edge_u, net.edge_v
    return (u[a] == u[b]) | (u[a] == v[b]) | (v[a] == u[b]) | (v[a] == v[b])


def edge_cross_neighbours(net: WalkNetwork, cells: StreetCells) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cross_neighbours` gathered per source edge: edge -> target samples (CSR)."""
    store = _links_store(net, cells)
    key = ("cross-edge", cells.width_m, cells.spacing_m)
    cached = store.get(key)
    if cached is None:
        ptr, nbr = cross_neighbours(net, cells)
        src_edge = np.repeat(cells.sample_edge, np.diff(ptr)).astype(np.int64)
        pairs = np.unique(src_edge * np.int64(cells.sample_edge.size) + nbr)
        edge = pairs // cells.sample_edge.size
        e_ptr = np.zeros(net.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(edge, minlength=net.n_edges), out=e_ptr[1:])
        cached = (e_ptr, (pairs % cells.sample_edge.size).astype(np.int32))
        store[key] = cached
    return cached


#: Dense lookup tables (one entry per group and sample) are used while they hold at most
#: this many entries per candidate row, plus :data:`DENSE_FLOOR`: linear work instead of sorts.
DENSE_FACTOR = 8
DENSE_FLOOR = 1 << 16


def _member(keys: np.ndarray, queries: np.ndarray, size: int, dense: bool) -> np.ndarray:
    """Whether each query is among ``keys`` (both in ``[0, size)``): a dense table or a sorted search."""
    if dense:
        table = np.zeros(size, dtype=bool)
        table[keys] = True
        return table[queries]
    keys = np.unique(keys)
    at = np.minimum(np.searchsorted(keys, queries), max(keys.size - 1, 0))
    return keys[at] == queries if keys.size else np.zeros(queries.size, dtype=bool)


def with_cross_neighbours(
    net: WalkNetwork,
    cells: StreetCells,
    et: EdgeTimes,
    whole_pairs: np.ndarray,
    whole_time_s: np.ndarray,
    group: np.ndarray,
    sample: np.ndarray,
    time_s: np.ndarray,
    own_time_s: np.ndarray,
    owner: np.ndarray,
    max_time_s: float,
    drawn_whole: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add to the (group, sample) rows the samples reached across from another street.

    Sources are the sample rows and the whole pairs (streets decided as a whole, at
    their latest time ``whole_time_s``).  Targets on a street in ``drawn_whole``
    (pairs drawn whole in every band a target on them could fall in; default
    ``whole_pairs``) are left alone: their cells are drawn anyway.  A pair drawn whole
    only in a later band must keep its targets, or an earlier band would lose the
    cells reached across, and a polygon would depend on which other budgets were
    asked for.  Rows come sorted by (group, sample) and
    stay so.  Returns group, sample, time (the earlier of ``time_s`` and the time
    across), owner, and ``own_time_s`` (``inf`` for rows only reached across).
    """
    ptr, nbr = cross_neighbours(net, cells)
    e_ptr, e_nbr = edge_cross_neighbours(net, cells)
    # Reach across counts the equal-area caps too: the round cap of the buffered
    # reference covers a neighbouring street's cells just as the street's sides do.
    src = np.flatnonzero((time_s <= max_time_s) & (ptr[sample + 1] > ptr[sample]))
    which, k = _ragged(ptr, sample[src])
    w_src = whole_pairs[(whole_time_s <= max_time_s) & (e_ptr[et.edge[whole_pairs] + 1] > e_ptr[et.edge[whole_pairs]])]
    w_which, w_k = _ragged(e_ptr, et.edge[w_src])
    if which.size + w_which.size == 0:
        return group, sample, time_s, owner, own_time_s
    skip = whole_pairs if drawn_whole is None else drawn_whole
    # Keys are (group, sample) and (group, edge) pairs numbered from the lowest group; they
    # are looked up in dense tables where those are no larger than a few times the
    # candidates (one or a few sites: always), else sorted and searched.  With one group
    # (one site) the group part of every key is 0.
    n = np.int64(cells.sample_edge.size)
    m = np.int64(net.n_edges)
    present = [a for a in (group, et.group) if a.size]
    g0 = int(min(a.min() for a in present))
    span = int(max(a.max() for a in present)) - g0 + 1
    s_rows = src[which]
    c_sample = np.concatenate([nbr[k], e_nbr[w_k]])
    dense = span * int(n) <= DENSE_FACTOR * c_sample.size + DENSE_FLOOR
    if span > 1:
        c_group = np.concatenate([group[s_rows], et.group[w_src][w_which]]).astype(np.int64) - g0
    else:
        c_group = np.zeros(1, dtype=np.int64)  # broadcast: every row's group is g0
    skip_group = et.group[skip].astype(np.int64) - g0
    # Not onto streets drawn whole for the same group, nor onto a node cell at the end of
    # such a street: it is drawn with that street.
    ends = np.concatenate([cells.edge_sample_ptr[et.edge[skip]], cells.edge_sample_ptr[et.edge[skip] + 1] - 1])
    owner_of = cells.sample_owner
    on_whole = _member(skip_group * m + et.edge[skip], c_group * m + cells.sample_edge[c_sample], int(span * m), dense)
    on_end = _member(
        np.tile(skip_group, 2) * n + owner_of[ends], c_group * n + owner_of[c_sample], int(span * n), dense
    )
    keep = ~(on_whole | on_end)
    if not keep.any():
        return group, sample, time_s, owner, own_time_s
    c_key = (c_group[keep] if span > 1 else 0) * n + c_sample[keep]
    keep_s, keep_w = keep[: s_rows.size], keep[s_rows.size :]
    # A whole pair lends its latest time and the owner of its earlier end.
    time_of_pair = np.full(et.edge.size, np.inf)
    time_of_pair[whole_pairs] = whole_time_s
    w_time = time_of_pair[w_src]
    w_owner = np.where(et.t_u[w_src] <= et.t_v[w_src], et.owner_u[w_src], et.owner_v[w_src])
    s_rows, w_which = s_rows[keep_s], w_which[keep_w]
    c_time = np.concatenate([time_s[s_rows], w_time[w_which]])
    c_owner = np.concatenate([owner[s_rows], w_owner[w_which]])
    # Keep the earliest candidate per key (the first of equals).
    if dense:
        best = np.full(span * int(n), np.inf)
        np.minimum.at(best, c_key, c_time)
        winner = np.flatnonzero(c_time == best[c_key])
        first = np.full(span * int(n), np.iinfo(np.int64).max)
        np.minimum.at(first, c_key[winner], winner)
        c_key = np.flatnonzero(first != np.iinfo(np.int64).max)
        pick = first[c_key]
        c_time, c_owner = c_time[pick], c_owner[pick]
    else:
        order = np.lexsort((c_time, c_key))
        c_key, c_time, c_owner = c_key[order], c_time[order], c_owner[order]
        head = np.r_[True, c_key[1:] != c_key[:-1]]
        c_key, c_time, c_owner = c_key[head], c_time[head], c_owner[head]
    c_key += g0 * n
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


def pair_time_bounds(graph: CostGraph, et: EdgeTimes) -> tuple[np.ndarray, np.ndarray]:
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


def sample_support(cells: StreetCells) -> np.ndarray:
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


def lengths_by_group(graph: CostGraph, et: EdgeTimes, own, budget_s: float, groups: np.ndarray) -> np.ndarray:
    """Exact reached street length per group within ``budget_s`` (metres; 0 for -inf)."""
    if not np.isfinite(budget_s):
        return np.zeros(groups.size)
    per_pair = _reached_length(graph, et, own, budget_s)
    return np.bincount(np.searchsorted(groups, et.group), weights=per_pair, minlength=groups.size)


def _reached_length(graph: CostGraph, et: EdgeTimes, own, budget_s: float) -> np.ndarray:
    """Exact reached length of each (group, edge) pair at ``budget_s`` (metres)."""
    s, e = pair_intervals(graph, et, own, budget_s)
    return np.where(e > s, e - s, 0.0).sum(axis=1)


def pair_intervals(graph: CostGraph, et: EdgeTimes, own, budget_s: float):
    """Reached intervals of every (origin, edge) pair within ``budget_s`` seconds."""
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
