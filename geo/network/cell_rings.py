"""Street cells as rings of vertex ids: the ring table, the merged-cell hierarchy, and linking boundary
segments into rings and polygons (the exact coverage union of :func:`geo.network.street_cells.union_cells`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

__all__ = [
    "ANGLE_TOLERANCE_RAD",
    "ARC_STEP_SLACK",
    "BLOCK_SAMPLES",
    "COLLINEAR_TOLERANCE_M",
    "EDGE_KEY_GAP_M",
    "FORMAT_VERSION",
    "MAX_ARC_STEP_RAD",
    "MERGE_BATCH_SEGMENTS",
    "MERGE_TOLERANCE_M",
    "POSITION_TOLERANCE_M",
    "TILE_MARGIN_SLACK_M",
    "TILE_TARGET_GENERATORS",
    "VERTEX_MERGE_TOLERANCE_M",
    "CellHierarchy",
    "RingTable",
    "is_member",
    "link_rings",
    "ring_areas",
    "run_lengths",
    "sorted_unique",
    "union_segments",
]

#: Samples closer than this (metres) are merged into one generator.  Much
#: smaller than any sensible spacing; keeps Voronoi cells from degenerating
#: into slivers for duplicated or reversed edges and shared end nodes.
MERGE_TOLERANCE_M = 0.01

#: Number of consecutive generators merged into one block cell.  A partially
#: reached edge is drawn from complete blocks plus at most this many minus one
#: single cells at each cut end.
BLOCK_SAMPLES = 4

# Voronoi vertices (circumcentres) closer than this are treated as one vertex.
# They only arise from (nearly) cocircular generators, where the
# triangulation is ambiguous; float noise of the circumcentres is ~1e-10 m
# for coordinates within ~100 km of the origin used.
VERTEX_MERGE_TOLERANCE_M = 1e-6

# Positions within this distance of an interval bound count as inside it,
# so that interval ends computed slightly differently (e.g. an edge length
# summed in another order) still select the end-node sample.
POSITION_TOLERANCE_M = 1e-3

# Arcs are polygonised with at most this angle per chord (GEOS' default
# buffer resolution, quad_segs=8, i.e. 32 chords per full circle) ...
MAX_ARC_STEP_RAD = 2.0 * math.pi / 32.0
# ... except that the arc of a cell on a straight street is never split, so a
# straight street is covered by an exact strip; the relative slack absorbs
# rounding in the computed arc angle.
ARC_STEP_SLACK = 1e-6

# Angular gaps this close to a full turn between two consecutive boundary
# pieces of a cell can only be rounding artefacts of a zero gap.
ANGLE_TOLERANCE_RAD = 1e-9

# Vertices of a merged cell within this distance (metres) of the line through
# their neighbours count as collinear (removable if not shared); far below
# any visible detail, far above float noise.
COLLINEAR_TOLERANCE_M = 1e-6

# Target number of generators per Delaunay tile (bounds memory: Qhull and the
# per-tile arrays need roughly 2 kB per point).
TILE_TARGET_GENERATORS = 250_000

# Extra slack (metres) added to the 2 r tile margin so that no generator that
# can influence an owned cell is lost to rounding at the margin boundary.
TILE_MARGIN_SLACK_M = 1.0

# Maximum number of boundary segments merged per batch when building merged
# cells (bounds the memory of the temporary arrays, ~100 bytes per segment).
MERGE_BATCH_SEGMENTS = 1_000_000

# Gap (metres) between consecutive edges on the global position axis used to
# look up samples by edge and position; any positive value works.
EDGE_KEY_GAP_M = 1.0

FORMAT_VERSION = 1


@dataclass(frozen=True)
class RingTable:
    """Polygons stored as rings of integer vertex ids.

    The layout is that of a ragged MultiPolygon array: the polygons of part
    ``p`` are ``part_ptr[p]:part_ptr[p + 1]``, the rings of polygon ``q`` are
    ``poly_ptr[q]:poly_ptr[q + 1]`` (exterior first), and the vertices of ring
    ``r`` are ``vertex[ring_ptr[r]:ring_ptr[r + 1]]``.  Rings are open (the
    first vertex is not repeated) and oriented with the interior on the left
    (exteriors counter-clockwise, holes clockwise).

    Attributes
    ----------
    part_ptr : numpy.ndarray
        ``int64 (n_parts + 1,)``.
    poly_ptr : numpy.ndarray
        ``int64 (n_polygons + 1,)``.
    ring_ptr : numpy.ndarray
        ``int64 (n_rings + 1,)``.
    vertex : numpy.ndarray
        ``int32`` vertex ids into :attr:`StreetCells.vertex_xy`.
    """

    part_ptr: np.ndarray
    poly_ptr: np.ndarray
    ring_ptr: np.ndarray
    vertex: np.ndarray

    @property
    def n_parts(self) -> int:
        """Number of parts."""
        return int(self.part_ptr.shape[0] - 1)

    def ring_links(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vertices of the rings of the given parts and each one's successor.

        Parameters
        ----------
        parts : numpy.ndarray
            Part indices (any order).

        Returns
        -------
        tuple of numpy.ndarray
            ``from_vertex`` as in :meth:`segments` and, for each segment, the
            index of the next segment of its ring (``to_vertex`` is
            ``from_vertex[next]``).
        """
        parts = np.asarray(parts, dtype=np.int64)
        poly_ptr = self.poly_ptr.take(self.part_ptr.take(np.stack([parts, parts + 1])))
        rings = expand_ranges(poly_ptr[0], poly_ptr[1])
        ring_ptr = self.ring_ptr.take(np.stack([rings, rings + 1]))
        first = ring_ptr[0]
        length = ring_ptr[1] - first
        pos = expand_ranges(first, first + length)
        nxt = np.arange(1, pos.shape[0] + 1)
        ends = np.cumsum(length)
        nxt[ends - 1] = ends - length
        return self.vertex.take(pos), nxt

    def segments(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed boundary segments of the given parts.

        Parameters
        ----------
        parts : numpy.ndarray
            Part indices (any order; repeated parts give repeated segments).

        Returns
        -------
        tuple of numpy.ndarray
            ``from_vertex`` and ``to_vertex`` ids (interior on the left) and
            the position in ``parts`` of the part each segment belongs to.
        """
        parts = np.asarray(parts, dtype=np.int64)
        ring_lo = self.poly_ptr[self.part_ptr[parts]]
        ring_hi = self.poly_ptr[self.part_ptr[parts + 1]]
        rings = expand_ranges(ring_lo, ring_hi)
        first = self.ring_ptr[rings]
        length = self.ring_ptr[rings + 1] - first
        pos = expand_ranges(first, first + length)
        nxt = pos + 1
        nxt[np.cumsum(length) - 1] = first
        which = np.repeat(np.repeat(np.arange(parts.shape[0]), ring_hi - ring_lo), length)
        return self.vertex[pos], self.vertex[nxt], which

    def to_geometry(self, vertex_xy: np.ndarray, parts: np.ndarray | None = None) -> np.ndarray:
        """Shapely geometries, one Polygon/MultiPolygon per part.

        Parameters
        ----------
        vertex_xy : numpy.ndarray
            ``(n_vertices, 2)`` coordinates of the vertex ids.
        parts : numpy.ndarray, optional
            Part indices to convert (default: all).

        Returns
        -------
        numpy.ndarray
            Object array of geometries (an empty Polygon for a part without
            polygons).
        """
        parts = np.arange(self.n_parts) if parts is None else np.asarray(parts, dtype=np.int64)
        out = np.empty(parts.shape[0], dtype=object)
        out[:] = shapely.Polygon()
        n_poly = self.part_ptr[parts + 1] - self.part_ptr[parts]
        keep = np.flatnonzero(n_poly > 0)
        if keep.shape[0] == 0:
            return out
        polys = expand_ranges(self.part_ptr[parts[keep]], self.part_ptr[parts[keep] + 1])
        ring_count = self.poly_ptr[polys + 1] - self.poly_ptr[polys]
        rings = expand_ranges(self.poly_ptr[polys], self.poly_ptr[polys + 1])
        length = self.ring_ptr[rings + 1] - self.ring_ptr[rings]
        pos = expand_ranges(self.ring_ptr[rings], self.ring_ptr[rings + 1])
        ends = np.cumsum(length)
        closed = np.insert(self.vertex[pos], ends, self.vertex[pos[ends - length]])
        ring_off = np.concatenate([[0], np.cumsum(length + 1)])
        poly_off = np.concatenate([[0], np.cumsum(ring_count)])
        coords = vertex_xy[closed]
        if np.all(n_poly[keep] == 1):
            geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_off, poly_off))
        else:
            part_off = np.concatenate([[0], np.cumsum(n_poly[keep])])
            geoms = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords, (ring_off, poly_off, part_off))
            single = shapely.get_num_geometries(geoms) == 1
            geoms[single] = shapely.get_geometry(geoms[single], 0)
        out[keep] = geoms
        return out

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays for serialisation, keys prefixed with ``prefix``."""
        return {
            f"{prefix}_part_ptr": self.part_ptr,
            f"{prefix}_poly_ptr": self.poly_ptr,
            f"{prefix}_ring_ptr": self.ring_ptr,
            f"{prefix}_vertex": self.vertex,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> RingTable:
        """Inverse of :meth:`to_arrays`."""
        return cls(
            part_ptr=np.asarray(arrays[f"{prefix}_part_ptr"], dtype=np.int64),
            poly_ptr=np.asarray(arrays[f"{prefix}_poly_ptr"], dtype=np.int64),
            ring_ptr=np.asarray(arrays[f"{prefix}_ring_ptr"], dtype=np.int64),
            vertex=np.asarray(arrays[f"{prefix}_vertex"], dtype=np.int32),
        )


@dataclass(frozen=True)
class CellHierarchy:
    """Precomputed unions of cells that keep union queries small.

    Nodes are the generators at edge ends (shared by all edges meeting there).
    The other generators of an edge are split into two *halves* (the samples
    with index ``j <= n / 2`` belong to the half at the first vertex, side 0)
    and each half into *blocks* of up to :data:`BLOCK_SAMPLES` consecutive
    generators.

    Attributes
    ----------
    sample_node : numpy.ndarray
        ``int32 (k,)`` node index of node generators, -1 for other samples.
    node_sample : numpy.ndarray
        ``int64 (n_nodes,)`` generator sample id of each node.
    edge_node : numpy.ndarray
        ``int32 (m, 2)`` node at the first and at the last vertex of each edge.
    node_degree : numpy.ndarray
        ``int32 (n_nodes,)`` number of edge ends at each node.
    sample_block : numpy.ndarray
        ``int32 (k,)`` block of each non-node generator, -1 for other samples.
    block_size : numpy.ndarray
        ``int32 (n_blocks,)`` number of generators in each block.
    blocks : RingTable
        One part per block.
    halves : RingTable
        One part per half, index ``2 * edge + side``.
    stars : RingTable
        One part per node.
    """

    sample_node: np.ndarray
    node_sample: np.ndarray
    edge_node: np.ndarray
    node_degree: np.ndarray
    sample_block: np.ndarray
    block_size: np.ndarray
    blocks: RingTable
    halves: RingTable
    stars: RingTable

    _ARRAYS = ("sample_node", "node_sample", "edge_node", "node_degree", "sample_block", "block_size")
    _TABLES = ("blocks", "halves", "stars")

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays for serialisation, keys prefixed with ``prefix``."""
        out = {f"{prefix}_{name}": getattr(self, name) for name in self._ARRAYS}
        for name in self._TABLES:
            out.update(getattr(self, name).to_arrays(f"{prefix}_{name}"))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> CellHierarchy:
        """Inverse of :meth:`to_arrays`."""
        kwargs: dict[str, Any] = {name: np.asarray(arrays[f"{prefix}_{name}"]) for name in cls._ARRAYS}
        kwargs.update({name: RingTable.from_arrays(arrays, f"{prefix}_{name}") for name in cls._TABLES})
        return cls(**kwargs)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (faster than :func:`numpy.unique` for small arrays)."""
    values = np.sort(values)
    if values.shape[0] > 1:
        values = values.compress(np.concatenate([[True], values[1:] != values[:-1]]))
    return values


def run_lengths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and lengths of the runs of equal consecutive values."""
    if values.shape[0] == 0:
        return values, np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return values.take(first), np.diff(np.append(first, values.shape[0]))


def is_member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Elementwise membership in a sorted array (like :func:`numpy.isin`)."""
    if sorted_set.shape[0] == 0:
        return np.zeros(values.shape, dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_set, values), sorted_set.shape[0] - 1)
    return sorted_set.take(idx) == values


# ----------------------------------------------------------------------------
# rings from boundary segments


def link_rings(
    frm: np.ndarray, to: np.ndarray, group: np.ndarray, n_vertices: int | np.integer
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cancel shared segments and link the remaining ones into rings, per group.

    Within each group, a segment that occurs once in each direction is an
    interior boundary and disappears; every other segment continues with the
    segment of the same group that starts where it ends.

    Parameters
    ----------
    frm, to : numpy.ndarray
        Directed segments (vertex ids), interior on the left.
    group : numpy.ndarray
        Group of each segment (rings never cross groups).
    n_vertices : int
        Number of vertex ids.

    Returns
    -------
    tuple of numpy.ndarray
        ``vertex`` (ring vertices, rings consecutive, in boundary order),
        ``ring_ptr``, ``ring_group`` and the sorted ``bad`` groups whose
        segments do not form simple rings (a vertex where rings touch, or an
        invalid coverage); bad groups are left out of the rings.
    """
    n_vertices = np.int64(n_vertices)
    frm = frm.astype(np.int64)
    to = to.astype(np.int64)
    group = group.astype(np.int64)
    bad = [np.zeros(0, dtype=np.int64)]

    key = np.minimum(frm, to) * n_vertices + np.maximum(frm, to)
    order = np.argsort(key)
    same = key[order[1:]] == key[order[:-1]]
    if np.any(same[1:] & same[:-1]):  # a segment in three cells
        triple = np.flatnonzero(same[1:] & same[:-1])
        bad.append(group[order[triple]])
    twin = same & (group[order[1:]] == group[order[:-1]])
    a, b = order[:-1][twin], order[1:][twin]
    bad.append(group[a[frm[a] == frm[b]]])  # same direction twice: overlap
    keep = np.ones(frm.shape[0], dtype=bool)
    keep[a] = False
    keep[b] = False
    frm, to, group = frm[keep], to[keep], group[keep]

    start_key = group * n_vertices + frm
    end_key = group * n_vertices + to
    by_start = np.argsort(start_key)
    sorted_start = start_key[by_start]
    dup = sorted_start[1:] == sorted_start[:-1]
    bad.append(group[by_start[1:][dup]])  # rings touching at a vertex
    idx = np.minimum(np.searchsorted(sorted_start, end_key), max(sorted_start.shape[0] - 1, 0))
    if sorted_start.shape[0]:
        bad.append(group[sorted_start[idx] != end_key])  # open chain
    bad_groups = sorted_unique(np.concatenate(bad))
    if bad_groups.shape[0]:
        ok = ~is_member(group, bad_groups)
        frm, to, group = frm[ok], to[ok], group[ok]
        start_key = group * n_vertices + frm
        by_start = np.argsort(start_key)
        sorted_start = start_key[by_start]
        idx = np.searchsorted(sorted_start, group * n_vertices + to)
    m = frm.shape[0]
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(1, dtype=np.int64), empty, bad_groups
    vertex, ring_ptr, is_rep = _rank_rings(frm, by_start[idx])
    return vertex, ring_ptr, group[is_rep], bad_groups


def _rank_rings(frm: np.ndarray, succ: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ring vertices in boundary order from each segment's successor.

    Rings are numbered by their lowest segment index and start there.

    Returns
    -------
    tuple of numpy.ndarray
        ``vertex``, ``ring_ptr`` and whether each segment starts its ring.
    """
    m = frm.shape[0]
    # Chains: maximal runs of consecutive indices linked by ``succ``.  A
    # chain's tail links to the head of another (or the same) chain.
    head = np.ones(m, dtype=bool)
    head[1:] = succ[:-1] != np.arange(1, m)
    heads = np.flatnonzero(head)
    n = heads.shape[0]
    chain_len = np.diff(np.append(heads, m))
    chain_of_head = np.cumsum(head) - 1
    nxt = chain_of_head.take(succ.take(heads + chain_len - 1))
    # Ring label = lowest chain index on the cycle (pointer jumping until
    # stable), then each chain's distance to it in segments (list ranking).
    index = np.arange(n)
    label = index
    jump = nxt
    while True:
        new_label = np.minimum(label, label.take(jump))
        jump = jump.take(jump)
        if np.array_equal(new_label, label):
            break
        label = new_label
    rep = label == index
    dist = np.where(rep, 0, chain_len)
    jump = np.where(rep, index, nxt)
    while not np.array_equal(jump, label):
        dist = dist + dist.take(jump)
        jump = jump.take(jump)
    ring_of_rep = np.cumsum(rep) - 1
    ring = ring_of_rep.take(label)
    ring_len = np.bincount(ring, weights=chain_len).astype(np.int64)
    ring_ptr = np.concatenate([[0], np.cumsum(ring_len)])
    length = ring_len.take(ring)
    out_start = ring_ptr.take(ring) + (length - dist) % length
    vertex = np.empty(m, dtype=np.int64)
    vertex[expand_ranges(out_start, out_start + chain_len)] = frm
    is_rep = np.zeros(m, dtype=bool)
    is_rep[heads[rep]] = True
    return vertex, ring_ptr, is_rep


_SCRATCH = threading.local()


def _vertex_scratch(n_vertices: int) -> np.ndarray:
    """Per-thread ``uint16`` array of at least ``n_vertices`` entries.

    Its content is arbitrary: users write the entries before reading them.
    """
    scratch = getattr(_SCRATCH, "array", None)
    if scratch is None or scratch.shape[0] < n_vertices:
        scratch = np.zeros(n_vertices, dtype=np.uint16)
        _SCRATCH.array = scratch
    return scratch


def _link_single(frm: np.ndarray, nxt: np.ndarray, n_vertices: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`link_rings` for a single group, without comparison sorts.

    Segments are ``frm -> frm[nxt]`` (``nxt``: next segment of the same cell
    ring).  Returns the same ``vertex`` and ``ring_ptr`` as :func:`link_rings`
    when the segments form simple, vertex-disjoint rings, and None in every
    other case (the caller then uses :func:`link_rings`).
    """
    m = frm.shape[0]
    if m == 0 or m >= 1 << 16:
        return None
    # Compact vertex ids: the (last) segment starting at each vertex; every
    # segment ends where the next one of its ring starts.
    scratch = _vertex_scratch(n_vertices)
    scratch[frm] = np.arange(m, dtype=np.uint16)
    cf = scratch.take(frm)
    ct = cf.take(nxt)
    # Twins share the unordered compact pair: two stable 16-bit radix passes.
    lo = np.minimum(cf, ct)
    hi = np.maximum(cf, ct)
    order = np.argsort(hi, kind="stable")
    order = order.take(np.argsort(lo.take(order), kind="stable"))
    key = (lo.astype(np.int32) << 16) | hi
    key = key.take(order)
    same = key[1:] == key[:-1]
    if np.any(same[1:] & same[:-1]):  # a segment in three cells
        return None
    pair = np.flatnonzero(same)
    a, b = order.take(pair), order.take(pair + 1)
    if np.any(frm.take(a) == frm.take(b)):  # same direction twice: overlap
        return None
    keep = np.ones(m, dtype=bool)
    keep[a] = False
    keep[b] = False
    kept = np.flatnonzero(keep)
    n = kept.shape[0]
    if n == 0:
        return None
    frm, cf, ct = frm.take(kept), cf.take(kept), ct.take(kept)
    # Successor: the remaining segment starting at the end (by compact id).
    index = np.arange(n)
    start = np.full(m, -1, dtype=np.int64)
    start[cf] = index
    succ = start.take(ct)
    if np.any(start.take(cf) != index) or succ.min() < 0:  # rings touching, or an open chain
        return None
    vertex, ring_ptr, _ = _rank_rings(frm, succ)
    return vertex, ring_ptr


def ring_areas(xy: np.ndarray, ring_ptr: np.ndarray) -> np.ndarray:
    """Signed areas of rings given by consecutive coordinates (positive if ccw)."""
    ring_len = np.diff(ring_ptr)
    ring = np.repeat(np.arange(ring_len.shape[0]), ring_len)
    xy = xy - xy.take(ring_ptr[:-1][ring], axis=0)  # local coordinates for precision
    nxt = np.arange(1, xy.shape[0] + 1)
    nxt[ring_ptr[1:] - 1] = ring_ptr[:-1]
    x, y = xy[:, 0], xy[:, 1]
    cross = x * y.take(nxt) - x.take(nxt) * y
    return 0.5 * np.bincount(ring, weights=cross, minlength=ring_len.shape[0])


def union_segments(vertex_xy: np.ndarray, frm: np.ndarray, nxt: np.ndarray) -> shapely.Geometry | None:
    """Union of coverage cells given by their directed boundary segments.

    Parameters
    ----------
    vertex_xy : numpy.ndarray
        Vertex coordinates.
    frm, nxt : numpy.ndarray
        Directed segments ``frm -> frm[nxt]`` (vertex ids), interior on the
        left: ``nxt`` is the index of the next segment of the same cell ring.

    Returns
    -------
    shapely.Geometry or None
        The union, or None if the boundary does not consist of simple,
        vertex-disjoint rings; the caller then falls back to GEOS.
    """
    if frm.shape[0] == 0:
        return shapely.Polygon()
    linked = _link_single(frm, nxt, vertex_xy.shape[0])
    if linked is None:
        to = frm[nxt]
        vertex, ring_ptr, _, bad = link_rings(frm, to, np.zeros(frm.shape[0], dtype=np.int64), vertex_xy.shape[0])
        if bad.shape[0] or vertex.shape[0] == 0:
            return None
    else:
        vertex, ring_ptr = linked
    xy = vertex_xy.take(vertex, axis=0)  # faster than fancy indexing rows
    area = ring_areas(xy, ring_ptr)
    shells = np.flatnonzero(area > 0.0)
    holes = np.flatnonzero(area <= 0.0)
    if shells.shape[0] == 0:
        return None
    ring_len = np.diff(ring_ptr)
    hole_shell = np.zeros(holes.shape[0], dtype=np.int64)
    if shells.shape[0] > 1 and holes.shape[0] > 0:
        # Each hole belongs to the smallest shell containing one of its vertices.
        shell_polys = _ring_polygons(xy, ring_ptr, shells)
        points = shapely.points(xy.take(ring_ptr[holes], axis=0))
        pt_idx, shell_idx = shapely.STRtree(shell_polys).query(points, predicate="within")
        if np.unique(pt_idx).shape[0] != holes.shape[0]:
            return None
        best = np.lexsort((area[shells][shell_idx], pt_idx))
        first = np.ones(best.shape[0], dtype=bool)
        first[1:] = pt_idx[best][1:] != pt_idx[best][:-1]
        hole_shell[pt_idx[best][first]] = shell_idx[best][first]
    poly_of_ring = np.empty(ring_len.shape[0], dtype=np.int64)
    poly_of_ring[shells] = np.arange(shells.shape[0])
    poly_of_ring[holes] = hole_shell
    ring_order = np.lexsort((area <= 0.0, poly_of_ring))
    rings_per_poly = np.bincount(poly_of_ring, minlength=shells.shape[0])
    polygons = _ring_polygons(xy, ring_ptr, ring_order, rings_per_poly)
    if polygons.shape[0] == 1:
        return polygons[0]
    return shapely.MultiPolygon(list(polygons))


def _ring_polygons(
    xy: np.ndarray, ring_ptr: np.ndarray, rings: np.ndarray, rings_per_poly: np.ndarray | None = None
) -> np.ndarray:
    """Polygons from open rings of consecutive coordinates (default: one ring each)."""
    start = ring_ptr[rings]
    length = ring_ptr[rings + 1] - start
    pos = expand_ranges(start, start + length)
    ends = np.cumsum(length)
    closed = np.insert(pos, ends, pos[ends - length])
    ring_off = np.concatenate([[0], np.cumsum(length + 1)])
    if rings_per_poly is None:
        rings_per_poly = np.ones(rings.shape[0], dtype=np.int64)
    poly_off = np.concatenate([[0], np.cumsum(rings_per_poly)])
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy.take(closed, axis=0), (ring_off, poly_off))


def expand_ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start[q], stop[q])`` over q (int64)."""
    start = np.asarray(start, dtype=np.int64)
    length = np.maximum(np.asarray(stop, dtype=np.int64) - start, 0)
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(length) - length
    return np.repeat(start - offsets, length) + np.arange(total, dtype=np.int64)
