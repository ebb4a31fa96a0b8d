"""Building the street cells: samples along every edge, spatial tiles, Voronoi cells clipped to discs,
with shared geometry computed canonically so that neighbouring cells share bitwise identical vertices.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import re
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree

from geo.network.cell_rings import (
    ANGLE_TOLERANCE_RAD,
    COLLINEAR_TOLERANCE_M,
    MERGE_TOLERANCE_M,
    TILE_MARGIN_SLACK_M,
    TILE_TARGET_GENERATORS,
    VERTEX_MERGE_TOLERANCE_M,
    RingTable,
    expand_ranges,
)

__all__ = [
    "area_tiles",
    "complex_keys",
    "drop_free_collinear",
    "interpolate",
    "merge_coincident",
    "morton_keys",
    "renumber",
    "sample_positions",
    "sample_ring_table",
    "spatial_tiles",
    "tile_cells",
    "tile_rings",
    "tile_vertices",
]

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------
# sampling


def sample_positions(
    coords: np.ndarray, vertex_edge: np.ndarray, n_edges: int, spacing: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edge lengths and evenly spaced sample positions including both ends.

    Returns
    -------
    tuple of numpy.ndarray
        ``edge_length`` (m,), ``sample_edge`` int32 (k,), ``sample_pos``
        float64 (k,), ``ptr`` int64 (m + 1,).
    """
    seg = np.hypot(*np.diff(coords, axis=0).T)
    same = vertex_edge[1:] == vertex_edge[:-1]
    edge_length = np.bincount(vertex_edge[1:][same], weights=seg[same], minlength=n_edges)
    n_intervals = np.where(edge_length > 0, np.maximum(np.ceil(edge_length / spacing), 1), 0)
    counts = n_intervals.astype(np.int64) + 1
    ptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    sample_edge = np.repeat(np.arange(n_edges, dtype=np.int32), counts)
    j = np.arange(ptr[-1], dtype=np.int64) - ptr[sample_edge]
    step = np.divide(edge_length, n_intervals, out=np.zeros(n_edges), where=n_intervals > 0)
    sample_pos = j * step[sample_edge]
    sample_pos[ptr[1:] - 1] = edge_length  # exact end position
    return edge_length, sample_edge, sample_pos, ptr


def interpolate(
    coords: np.ndarray,
    vertex_edge: np.ndarray,
    n_edges: int,
    sample_edge: np.ndarray,
    sample_pos: np.ndarray,
    ptr: np.ndarray,
) -> np.ndarray:
    """Coordinates ``(k, 2)`` of the samples; end samples copy end vertices."""
    vptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(vertex_edge, minlength=n_edges), out=vptr[1:])
    seg = np.hypot(*np.diff(coords, axis=0).T)
    seg[vertex_edge[1:] != vertex_edge[:-1]] = 0.0
    arc = np.concatenate([[0.0], np.cumsum(seg)])  # global arc length at vertices
    target = arc[vptr[sample_edge]] + sample_pos
    v = np.searchsorted(arc, target, side="right") - 1
    v = np.clip(v, vptr[sample_edge], np.maximum(vptr[sample_edge + 1] - 2, vptr[sample_edge]))
    nxt = np.minimum(v + 1, vptr[sample_edge + 1] - 1)
    seg_len = arc[nxt] - arc[v]
    t = np.divide(target - arc[v], seg_len, out=np.zeros_like(target), where=seg_len > 0)
    t = np.clip(t, 0.0, 1.0)[:, None]
    xy = coords[v] * (1.0 - t) + coords[nxt] * t
    xy[ptr[:-1]] = coords[vptr[:-1]]
    xy[ptr[1:] - 1] = coords[vptr[1:] - 1]
    return xy


def merge_coincident(xy: np.ndarray) -> np.ndarray:
    """Owner (lowest id of its group of coincident samples) of each sample."""
    k = xy.shape[0]
    owner = np.arange(k, dtype=np.int64)
    # An unbalanced, uncompacted tree builds in half the time and finds the same pairs.
    tree = cKDTree(xy, balanced_tree=False, compact_nodes=False)
    pairs = tree.query_pairs(MERGE_TOLERANCE_M, output_type="ndarray")
    if pairs.shape[0] == 0:
        return owner
    graph = coo_matrix((np.ones(pairs.shape[0], dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    lowest = np.full(labels.max() + 1, k, dtype=np.int64)
    np.minimum.at(lowest, labels, owner)
    return lowest[labels]


# ----------------------------------------------------------------------------
# tiling and cells


def spatial_tiles(gen_xy: np.ndarray, radius: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split generators into square tiles.

    Returns
    -------
    list of tuple of numpy.ndarray
        Per tile: ``owned`` generator ids (cells built by this tile) and
        ``members`` generator ids (owned plus all within the margin).
    """
    margin = 2.0 * radius + TILE_MARGIN_SLACK_M
    lo = gen_xy.min(axis=0)
    extent = np.maximum(gen_xy.max(axis=0) - lo, margin)
    n_target = max(1, math.ceil(gen_xy.shape[0] / TILE_TARGET_GENERATORS))
    # Tiles much larger than the margin keep the duplicated margin work small
    # (and a tile's margin then only reaches into its 8 neighbours).
    min_side_margins = 4.0
    side = max(math.sqrt(float(extent[0] * extent[1]) / n_target), min_side_margins * margin)
    cell = np.floor((gen_xy - lo) / side).astype(np.int64)
    n_cells = cell.max(axis=0) + 1
    nx = int(n_cells[0])
    # (tile, generator) memberships: each generator's own tile, and every neighbouring
    # tile whose box, grown by the margin, holds it (tiles are wider than two margins,
    # so only the 8 neighbours can, and only generators near their own tile's border).
    n_gen = gen_xy.shape[0]
    own_key = cell[:, 1] * nx + cell[:, 0]
    within = (gen_xy - lo) - cell * side  # position inside the own tile
    slack = 1e-6 * side  # (the exact box test below decides)
    near = (within <= margin + slack, within >= side - margin - slack)
    key_parts = [own_key * n_gen + np.arange(n_gen)]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == dy == 0:
                continue
            cand = np.ones(n_gen, dtype=bool)
            for axis, d in ((0, dx), (1, dy)):
                if d:
                    cand &= near[(d + 1) // 2][:, axis]
            cand = np.flatnonzero(cand)
            tile_xy = cell[cand] + np.array([dx, dy])
            box_lo = lo + tile_xy * side - margin
            box_hi = lo + (tile_xy + 1) * side + margin
            p = gen_xy[cand]
            inside = np.all((p >= box_lo) & (p <= box_hi) & (tile_xy >= 0) & (tile_xy < n_cells), axis=1)
            key_parts.append((tile_xy[inside, 1] * nx + tile_xy[inside, 0]) * n_gen + cand[inside])
    pair_key = np.sort(np.concatenate(key_parts))
    tile_of, member = np.divmod(pair_key, n_gen)
    by_own = np.argsort(own_key, kind="stable")
    sorted_own = own_key[by_own]
    keys, starts = np.unique(tile_of, return_index=True)
    stops = np.append(starts[1:], tile_of.shape[0])
    tiles = []
    for key, start, stop in zip(keys, starts, stops, strict=True):
        owned = by_own[np.searchsorted(sorted_own, key) : np.searchsorted(sorted_own, key, "right")]
        if owned.shape[0]:
            tiles.append((owned, member[start:stop]))
    return tiles


def area_tiles(tiles: list[tuple[np.ndarray, np.ndarray]], needed: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tiles of :func:`spatial_tiles` cut down to the cells of the ``needed`` generators.

    Each tile keeps the needed generators it owns and all its members; tiles without
    a needed generator are left out.  A cell depends on no generator farther than
    ``2 r`` (its vertices lie within ``r`` of it, and so does every generator whose
    circle passes through one), so the members of a tile need only include those
    within the margin of a needed generator for the needed cells to come out exactly
    as in a build of every cell.

    Parameters
    ----------
    tiles : list of tuple of numpy.ndarray
        From :func:`spatial_tiles`.
    needed : numpy.ndarray
        ``bool (g,)`` generators whose cells are wanted.

    Returns
    -------
    list of tuple of numpy.ndarray
        ``owned`` and ``members`` per remaining tile, as :func:`spatial_tiles`.
    """
    out = []
    for owned, members in tiles:
        owned = owned[needed[owned]]
        if owned.shape[0]:
            out.append((owned, members))
    return out


def _circumcentres(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Circumcentres of triangles given by id-sorted vertex triples.

    The arithmetic depends only on the three points in id order, so a
    triangle found in different tiles yields bitwise identical results.
    """
    a = p[tri[:, 0]]
    b = p[tri[:, 1]] - a
    c = p[tri[:, 2]] - a
    b2 = np.einsum("ij,ij->i", b, b)
    c2 = np.einsum("ij,ij->i", c, c)
    d = 2.0 * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        ux = (c[:, 1] * b2 - b[:, 1] * c2) / d
        uy = (b[:, 0] * c2 - c[:, 0] * b2) / d
    centre = a + np.column_stack([ux, uy])
    centre[~np.isfinite(centre).all(axis=1)] = np.inf
    return centre


def tile_cells(
    gen_xy: np.ndarray,
    owned: np.ndarray,
    members: np.ndarray,
    radius: float,
    arc_step: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disc-clipped Voronoi cells of the owned generators of one tile.

    Returns
    -------
    tuple of numpy.ndarray
        ``gen`` (owned generator id per ring), ``ring_len`` (number of
        coordinates per open ring), ``coords`` (local coordinates).
    """
    n_real = members.shape[0]
    big = np.iinfo(np.int64).max // 4
    # Four far frame points make every real generator interior, so its
    # Voronoi cell is bounded; they are > 2 r from any owned generator and
    # therefore never shape an owned cell.
    box_lo = gen_xy[members].min(axis=0) - 4.0 * radius
    box_hi = gen_xy[members].max(axis=0) + 4.0 * radius
    frame = np.array([[box_lo[0], box_lo[1]], [box_hi[0], box_lo[1]], [box_hi[0], box_hi[1]], [box_lo[0], box_hi[1]]])
    pts = np.vstack([gen_xy[members], frame])
    gid = np.concatenate([members, big + np.arange(4)])  # global ids, frame last
    centre_tile = 0.5 * (box_lo + box_hi)
    dela = Delaunay(pts - centre_tile)
    simplices = dela.simplices.astype(np.int64)
    neighbours = dela.neighbors.astype(np.int64)

    # Canonical circumcentres from id-sorted triples.
    order = np.argsort(gid[simplices], axis=1)
    tri_sorted = np.take_along_axis(simplices, order, axis=1)
    centres = _circumcentres(pts, tri_sorted)
    min_vertex = tri_sorted[:, 0]
    centres, min_vertex = _merge_vertices(centres, min_vertex, simplices, neighbours, pts, gid)
    diff = centres - pts[min_vertex]
    inside = np.einsum("ij,ij->i", diff, diff) <= radius * radius

    # Delaunay edges (each once) incident to an owned generator.
    is_owned = np.zeros(pts.shape[0], dtype=bool)
    is_owned[np.searchsorted(members, owned)] = True
    t_idx = np.repeat(np.arange(simplices.shape[0]), 3)
    k_idx = np.tile(np.arange(3), simplices.shape[0])
    nb = neighbours.ravel()
    u = simplices[t_idx, (k_idx + 1) % 3]
    v = simplices[t_idx, (k_idx + 2) % 3]
    keep = (nb > t_idx) & (is_owned[u] | is_owned[v])
    t1, t2, u, v = t_idx[keep], nb[keep], u[keep], v[keep]
    swap = gid[u] > gid[v]
    i = np.where(swap, v, u)
    j = np.where(swap, u, v)

    seg = _clip_bisectors(pts, i, j, centres[t1], centres[t2], inside[t1], inside[t2], radius)
    present, lo_pt, hi_pt = seg

    # Directed entries (cell, neighbour angle, start, end) ccw around the cell.
    cell_parts, ang_parts, start_parts, end_parts = [], [], [], []
    for own, other, first, second in ((i, j, lo_pt, hi_pt), (j, i, hi_pt, lo_pt)):
        sel = present & is_owned[own]
        d = pts[other[sel]] - pts[own[sel]]
        cell_parts.append(own[sel])
        ang_parts.append(np.arctan2(d[:, 1], d[:, 0]))
        start_parts.append(first[sel])
        end_parts.append(second[sel])
    cell = np.concatenate(cell_parts)
    ang = np.concatenate(ang_parts)
    start = np.concatenate(start_parts)
    end = np.concatenate(end_parts)
    order = np.lexsort((ang, cell))
    cell, start, end = cell[order], start[order], end[order]

    ring_cell, ring_len, coords = _rings(pts, cell, start, end, radius, arc_step)

    # Owned generators without any clipped Voronoi edge: full discs.  Points
    # Qhull dropped as (numerically) coincident with another one keep no cell.
    lonely = np.flatnonzero(is_owned[:n_real])
    lonely = lonely[~np.isin(lonely, cell) & ~np.isin(lonely, dela.coplanar[:, 0])]
    if lonely.shape[0]:
        n_full = math.ceil(2.0 * math.pi / arc_step)
        theta = np.linspace(0.0, 2.0 * math.pi, n_full, endpoint=False)
        circle = radius * np.column_stack([np.cos(theta), np.sin(theta)])
        disc = (pts[lonely][:, None, :] + circle[None, :, :]).reshape(-1, 2)
        ring_cell = np.concatenate([ring_cell, lonely])
        ring_len = np.concatenate([ring_len, np.full(lonely.shape[0], n_full)])
        coords = np.vstack([coords, disc])
    return members[ring_cell], ring_len, coords


def _merge_vertices(
    centres: np.ndarray,
    min_vertex: np.ndarray,
    simplices: np.ndarray,
    neighbours: np.ndarray,
    pts: np.ndarray,
    gid: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Give near-coincident circumcentres of adjacent triangles one position.

    Cocircular generators can be triangulated in several ways; the merged
    vertex is recomputed from the three lowest global ids of the cluster, so
    the result does not depend on the triangulation chosen in a tile.
    """
    nt = simplices.shape[0]
    t = np.repeat(np.arange(nt), 3)
    nb = neighbours.ravel()
    ok = nb > t
    t, nb = t[ok], nb[ok]
    gap = np.hypot(*(centres[t] - centres[nb]).T)
    close = gap <= VERTEX_MERGE_TOLERANCE_M
    if not np.any(close):
        return centres, min_vertex
    t, nb = t[close], nb[close]
    graph = coo_matrix((np.ones(t.shape[0], dtype=np.int8), (t, nb)), shape=(nt, nt))
    _, label = connected_components(graph, directed=False)
    members_tri = np.unique(np.concatenate([t, nb]))
    comp = label[members_tri]
    # (component, vertex) pairs, unique, sorted by component then global id.
    pair_comp = np.repeat(comp, 3)
    pair_vertex = simplices[members_tri].ravel()
    order = np.lexsort((gid[pair_vertex], pair_comp))
    pair_comp, pair_vertex = pair_comp[order], pair_vertex[order]
    first = np.ones(pair_comp.shape[0], dtype=bool)
    first[1:] = (pair_comp[1:] != pair_comp[:-1]) | (pair_vertex[1:] != pair_vertex[:-1])
    pair_comp, pair_vertex = pair_comp[first], pair_vertex[first]
    comps, comp_start = np.unique(pair_comp, return_index=True)
    triple = pair_vertex[comp_start[:, None] + np.arange(3)[None, :]]
    merged = _circumcentres(pts, triple)
    lookup = np.searchsorted(comps, comp)
    centres = centres.copy()
    min_vertex = min_vertex.copy()
    centres[members_tri] = merged[lookup]
    min_vertex[members_tri] = triple[lookup, 0]
    return centres, min_vertex


def _clip_bisectors(
    pts: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    in1: np.ndarray,
    in2: np.ndarray,
    radius: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip Voronoi edges (c1-c2, bisector of i < j) to the disc of radius r.

    The disc of ``i`` and the disc of ``j`` cut the bisector in the same
    chord, so the clipped segment is computed once and shared by both cells.

    Returns
    -------
    tuple of numpy.ndarray
        ``present`` (bool), ``lo`` and ``hi`` end points ``(n, 2)``; the
        segment runs from ``lo`` to ``hi`` in direction ``rot90(p_j - p_i)``,
        i.e. counter-clockwise around ``p_i``.
    """
    pi, pj = pts[i], pts[j]
    mid = (pi + pj) * 0.5
    dvec = pj - pi
    d2 = np.einsum("ij,ij->i", dvec, dvec)
    unit = np.column_stack([-dvec[:, 1], dvec[:, 0]]) / np.sqrt(d2)[:, None]
    half = np.sqrt(np.maximum(radius * radius - 0.25 * d2, 0.0))
    chord = 0.25 * d2 < radius * radius
    with np.errstate(invalid="ignore"):
        a1 = np.einsum("ij,ij->i", c1 - mid, unit)
        a2 = np.einsum("ij,ij->i", c2 - mid, unit)
    # A circumcentre at infinity (flat triangle; not expected with the frame
    # points) has no usable position: drop that Voronoi edge.
    undefined = np.isnan(a1) | np.isnan(a2)
    a1 = np.nan_to_num(a1, nan=0.0, posinf=np.inf, neginf=-np.inf)
    a2 = np.nan_to_num(a2, nan=0.0, posinf=np.inf, neginf=-np.inf)
    swap = a1 > a2
    a_lo, a_hi = np.where(swap, a2, a1), np.where(swap, a1, a2)
    v_lo = np.where(swap[:, None], c2, c1)
    v_hi = np.where(swap[:, None], c1, c2)
    in_lo, in_hi = np.where(swap, in2, in1), np.where(swap, in1, in2)
    same = np.all(c1 == c2, axis=1)
    present = ~same & ~undefined & (in_lo | in_hi | (chord & (a_lo < 0.0) & (a_hi > 0.0)))

    cross_lo = mid - half[:, None] * unit
    cross_hi = mid + half[:, None] * unit
    # A vertex flagged outside but numerically within the chord is used as is
    # (never extend a segment past its Voronoi vertex).
    use_v_lo = in_lo | (a_lo >= -half)
    use_v_hi = in_hi | (a_hi <= half)
    lo = np.where(use_v_lo[:, None], v_lo, cross_lo)
    hi = np.where(use_v_hi[:, None], v_hi, cross_hi)
    # If a crossing lies beyond the opposite vertex (rounding), collapse onto it.
    lo = np.where((~use_v_lo & (-half >= a_hi))[:, None], v_hi, lo)
    hi = np.where((~use_v_hi & (half <= a_lo))[:, None], v_lo, hi)
    return present, lo, hi


def _rings(
    pts: np.ndarray,
    cell: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    radius: float,
    arc_step: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed rings from ccw-sorted boundary segments joined by arcs.

    Parameters
    ----------
    pts : numpy.ndarray
        Generator coordinates of the tile.
    cell, start, end : numpy.ndarray
        Per boundary segment: its cell, start and end point, sorted by cell
        and counter-clockwise.

    Returns
    -------
    tuple of numpy.ndarray
        ``ring_cell`` (n_rings,), ``ring_len`` (n_rings,) and ``coords`` of
        the open rings (counter-clockwise).
    """
    n = cell.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = cell[1:] != cell[:-1]
    group_start = np.flatnonzero(new_group)
    group_len = np.diff(np.append(group_start, n))
    gidx = np.cumsum(new_group) - 1
    pos = np.arange(n) - group_start[gidx]
    nxt = group_start[gidx] + (pos + 1) % group_len[gidx]

    centre = pts[cell]
    nstart = start[nxt]
    equal = np.all(end == nstart, axis=1)
    theta_a = np.arctan2(end[:, 1] - centre[:, 1], end[:, 0] - centre[:, 0])
    theta_b = np.arctan2(nstart[:, 1] - centre[:, 1], nstart[:, 0] - centre[:, 0])
    gap = np.mod(theta_b - theta_a, 2.0 * math.pi)
    gap[equal] = 0.0
    gap[(group_len[gidx] >= 2) & (gap > 2.0 * math.pi - ANGLE_TOLERANCE_RAD)] = 0.0
    n_arc = np.where(gap > 0.0, np.maximum(np.ceil(gap / arc_step) - 1, 0), 0).astype(np.int64)

    per = 2 + n_arc
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per, out=off[1:])
    xy = np.empty((off[-1], 2))
    xy[off[:-1]] = start
    xy[off[:-1] + 1] = end
    arc_owner = np.repeat(np.arange(n), n_arc)
    if arc_owner.shape[0]:
        q = np.arange(arc_owner.shape[0]) - (np.cumsum(n_arc) - n_arc)[arc_owner] + 1
        theta = theta_a[arc_owner] + gap[arc_owner] * q / (n_arc[arc_owner] + 1)
        xy[off[:-1][arc_owner] + 1 + q] = centre[arc_owner] + radius * np.column_stack([np.cos(theta), np.sin(theta)])

    # Drop points equal to their (cyclic) predecessor within the ring.
    point_group = np.repeat(gidx, per)
    ring_first = off[group_start]
    ring_last = np.append(ring_first[1:], off[-1]) - 1
    prev = np.arange(xy.shape[0]) - 1
    prev[ring_first] = ring_last
    keep = ~np.all(xy == xy[prev], axis=1)
    xy = xy[keep]
    point_group = point_group[keep]
    counts = np.bincount(point_group, minlength=group_start.shape[0])
    valid = counts >= 3  # degenerate slivers are left empty (zero area)
    keep_pt = valid[point_group]
    xy = xy[keep_pt]
    counts = counts[valid]
    ring_cell = cell[group_start][valid]
    return ring_cell, counts, xy


def tile_rings(
    gen_xy: np.ndarray,
    tiles: list[tuple[np.ndarray, np.ndarray]],
    radius: float,
    arc_step: float,
    origin: np.ndarray,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The cells of every tile with their vertices deduplicated per tile, in tile order.

    Tiles are independent and their geometry canonical, so they may be built in any
    order by several processes with bitwise identical results.  With ``workers > 1``
    and more than one tile they are built by a pool of that many spawned processes
    (Qhull holds the GIL, so threads would not help), which read the generators from a
    memory-mapped temporary file; if the pool cannot start or breaks, the remaining
    tiles are built here.

    Parameters
    ----------
    gen_xy : numpy.ndarray
        ``float64 (g, 2)`` generator coordinates relative to ``origin``.
    tiles : list of tuple of numpy.ndarray
        From :func:`spatial_tiles`.
    radius, arc_step : float
        As for :func:`tile_cells`.
    origin : numpy.ndarray
        Offset of the local coordinates.
    workers : int, default 1
        Processes to use (1: build here).
    progress : callable, optional
        Called with the number of tiles done after each tile.

    Returns
    -------
    list of tuple of numpy.ndarray
        :func:`tile_vertices` of each tile.
    """
    done: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def finished(index: int, part: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        done[index] = part
        if progress is not None:
            progress(len(done))

    workers = min(workers, len(tiles))
    if workers > 1 and not _main_module_guarded():
        # A spawned worker imports the main script first; an unguarded one would run again.
        logger.info('街道单元 (street cells): the main script has no `if __name__ == "__main__":`; one process')
        workers = 1
    if workers > 1:
        try:
            _pooled_tiles(gen_xy, tiles, radius, arc_step, origin, workers, finished)
        except (OSError, BrokenProcessPool) as exc:
            logger.warning("街道单元 (street cells): worker processes failed (%s); building in one process", exc)
    for index, (owned, members) in enumerate(tiles):
        if index not in done:
            finished(index, tile_vertices(tile_cells(gen_xy, owned, members, radius, arc_step), origin))
    return [done[index] for index in range(len(tiles))]


def _main_module_guarded() -> bool:
    """Whether a spawned process may import this program's main module without running it.

    True for an interactive session (no main file), a package's ``__main__`` (never
    re-imported) and a main file that tests ``__name__ == "__main__"``.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None) or ""
    if name == "__main__" or name.endswith(".__main__"):
        return True
    path = getattr(spec, "origin", None) or getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"""__name__\s*==\s*['"]__main__['"]""", text) is not None


def _pooled_tiles(
    gen_xy: np.ndarray,
    tiles: list[tuple[np.ndarray, np.ndarray]],
    radius: float,
    arc_step: float,
    origin: np.ndarray,
    workers: int,
    finished: Callable[[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], None],
) -> None:
    with tempfile.TemporaryDirectory(prefix="linli-cells-") as folder:
        path = Path(folder) / "generators.npy"
        np.save(path, gen_xy)
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, context, _open_generators, (str(path),))
        with pool:
            futures = {
                pool.submit(_worker_tile, owned, members, radius, arc_step, origin): index
                for index, (owned, members) in enumerate(tiles)
            }
            for future in as_completed(futures):
                finished(futures[future], future.result())


#: The generators of a worker process, memory-mapped (set by :func:`_open_generators`).
_WORKER_GENERATORS: np.ndarray | None = None


def _open_generators(path: str) -> None:
    global _WORKER_GENERATORS  # one array per worker process, read by every task
    _WORKER_GENERATORS = np.load(path, mmap_mode="r")


def _worker_tile(
    owned: np.ndarray, members: np.ndarray, radius: float, arc_step: float, origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    assert _WORKER_GENERATORS is not None
    return tile_vertices(tile_cells(_WORKER_GENERATORS, owned, members, radius, arc_step), origin)


# ----------------------------------------------------------------------------
# vertex table and small helpers


def tile_vertices(
    part: tuple[np.ndarray, np.ndarray, np.ndarray], origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deduplicate the vertices of one tile's cells.

    Parameters
    ----------
    part : tuple of numpy.ndarray
        Generator index per ring, open ring lengths and local coordinates.
    origin : numpy.ndarray
        Offset added to the local coordinates.

    Returns
    -------
    tuple of numpy.ndarray
        Generator per ring, ring lengths, per-coordinate index into the tile's
        unique vertices (int32) and those vertices as complex keys.
    """
    gen, ring_len, coords = part
    keys, index = np.unique(complex_keys(coords + origin), return_inverse=True)
    return gen, ring_len, index.astype(np.int32), keys


def sample_ring_table(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    generators: np.ndarray,
    n_samples: int,
) -> tuple[np.ndarray, RingTable]:
    """Global vertex table and the ring table of the sample cells.

    Parameters
    ----------
    parts : list of tuple of numpy.ndarray
        Per tile, the output of :func:`tile_vertices`.
    generators : numpy.ndarray
        Sample id of each generator.
    n_samples : int
        Number of samples ``k``.

    Returns
    -------
    tuple
        ``vertex_xy`` (sorted lexicographically) and the :class:`RingTable`.
    """
    unique_keys, tile_to_global = np.unique(np.concatenate([p[3] for p in parts]), return_inverse=True)
    vertex_xy = np.column_stack([unique_keys.real, unique_keys.imag])
    del unique_keys
    offsets = np.cumsum([0] + [p[3].shape[0] for p in parts])
    vertex = np.concatenate([tile_to_global[off + p[2]] for off, p in zip(offsets, parts, strict=False)])
    vertex = vertex.astype(np.int32)
    gen = np.concatenate([p[0] for p in parts])
    ring_len = np.concatenate([p[1] for p in parts])
    order = np.argsort(gen, kind="stable")
    start = np.cumsum(ring_len) - ring_len
    vertex = vertex[expand_ranges(start[order], start[order] + ring_len[order])]
    gen, ring_len = gen[order], ring_len[order]
    counts = np.zeros(n_samples, dtype=np.int64)
    counts[generators[gen]] = 1
    table = RingTable(
        part_ptr=np.concatenate([[0], np.cumsum(counts)]),
        poly_ptr=np.arange(gen.shape[0] + 1, dtype=np.int64),
        ring_ptr=np.concatenate([[0], np.cumsum(ring_len)]),
        vertex=vertex,
    )
    return vertex_xy, table


def morton_keys(xy: np.ndarray) -> np.ndarray:
    """Z-order (Morton) keys of points, from coordinates quantised to 2**21 steps."""
    bits = 21  # per axis; 42-bit keys
    lo = xy.min(axis=0)
    span = np.maximum(xy.max(axis=0) - lo, np.finfo(np.float64).tiny)
    q = ((xy - lo) / span * ((1 << bits) - 1)).astype(np.uint64)
    spread = []
    for axis in range(2):
        v = q[:, axis]
        # Insert a zero bit between consecutive bits (standard bit tricks).
        v = (v | (v << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x3333333333333333)
        v = (v | (v << np.uint64(1))) & np.uint64(0x5555555555555555)
        spread.append(v)
    return spread[0] | (spread[1] << np.uint64(1))


def renumber(table: RingTable, rank: np.ndarray) -> RingTable:
    """The same rings with vertex ids mapped through ``rank``."""
    return dataclasses.replace(table, vertex=rank[table.vertex])


def complex_keys(coords: np.ndarray) -> np.ndarray:
    """Exact complex keys ``x + iy`` (numpy sorts complex lexicographically)."""
    keys = np.empty(coords.shape[0], dtype=np.complex128)
    keys.real = coords[:, 0]
    keys.imag = coords[:, 1]
    return keys


def drop_free_collinear(
    vertex: np.ndarray, ring_len: np.ndarray, vertex_xy: np.ndarray, pinned: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Remove collinear vertices that no cell of another group uses.

    Along a straight street the union of the sample cells keeps a vertex at
    every bisector; these vertices carry no shape and would only slow down
    every later union.  Pinned vertices (shared with cells of other groups)
    are kept so that merged cells still match all other cells exactly.

    Parameters
    ----------
    vertex, ring_len : numpy.ndarray
        Open rings stored consecutively, and their lengths.
    vertex_xy : numpy.ndarray
        Vertex coordinates.
    pinned : numpy.ndarray
        Mask of vertices that must be kept.

    Returns
    -------
    tuple of numpy.ndarray
        The filtered ``vertex`` and ``ring_len``.
    """
    if ring_len.shape[0] == 0:
        return vertex, ring_len
    keep = np.ones(vertex.shape[0], dtype=np.bool_)
    new_len = ring_len.astype(np.int64)
    _mark_free_collinear(vertex.astype(np.int64), new_len, vertex_xy, pinned, COLLINEAR_TOLERANCE_M, keep)
    return vertex[keep], new_len


@numba.njit(cache=True, nogil=True)
def _mark_free_collinear(vertex, ring_len, vertex_xy, pinned, tolerance, keep):  # pragma: no cover -- compiled
    """Clear ``keep`` at the droppable vertices of each ring and shorten ``ring_len`` in place.

    A vertex is dropped if it lies strictly between its two neighbours (of the
    ring as given) within ``tolerance`` of their line and is not pinned, unless
    fewer than three vertices of its ring would remain.
    """
    start = 0
    for r in range(ring_len.shape[0]):
        n = ring_len[r]
        dropped = 0
        for k in range(n):
            here = vertex[start + k]
            if pinned[here]:
                continue
            a = vertex[start + (k - 1) % n]
            b = vertex[start + (k + 1) % n]
            ab_x = vertex_xy[b, 0] - vertex_xy[a, 0]
            ab_y = vertex_xy[b, 1] - vertex_xy[a, 1]
            ap_x = vertex_xy[here, 0] - vertex_xy[a, 0]
            ap_y = vertex_xy[here, 1] - vertex_xy[a, 1]
            cross = ab_x * ap_y - ab_y * ap_x
            along = ab_x * ap_x + ab_y * ap_y
            ab2 = ab_x * ab_x + ab_y * ab_y
            if along > 0.0 and along < ab2 and abs(cross) <= tolerance * np.sqrt(ab2):
                keep[start + k] = False
                dropped += 1
        if dropped and n - dropped < 3:
            keep[start : start + n] = True
        else:
            ring_len[r] = n - dropped
        start += n
