"""Street-following service-area polygons from a precomputed cell coverage.

A walking service area is conventionally drawn as the union of the reached
street pieces, each buffered by a width ``w``.  Buffering and unioning
hundreds of pieces per facility is slow, so this module precomputes, once per
network, a partition of the buffered street network into small cells that
form an exact polygon *coverage* (neighbouring cells share boundaries with
bitwise identical vertices).  A service area is then the union of a few
hundred precomputed cells, computed without any geometric overlay.

Construction
------------
* Every edge of length ``L`` is sampled at ``n + 1`` evenly spaced positions
  ``j * L / n`` (``n = ceil(L / spacing)``), so both end nodes are samples and
  every point of the edge lies within ``spacing / 2`` of a sample.  Samples
  closer than :data:`MERGE_TOLERANCE_M` (shared end nodes, duplicated edges)
  are merged into one *generator*; the generator's cell is stored at the
  lowest sample id of the group (its *owner*), the others get empty cells.
* The cell of a generator ``g`` is its Voronoi cell (among all generators)
  intersected with the disc of radius ``r = hypot(w, spacing / 2)`` around
  ``g``; the union of all cells is the union of those discs.  With this
  radius the circles of two consecutive samples on a straight street cross
  exactly at distance ``w`` from the street, and the short arc between the
  crossings is replaced by a chord, so a straight street is covered by an
  exact ``2 w`` wide strip (no scalloping); round caps and joins are
  polygonised arcs of radius ``r``.
* The Voronoi diagram is derived from a Delaunay triangulation (Qhull), per
  spatial tile with a margin of ``2 r`` so that memory stays bounded.  Shared
  geometry is computed *canonically*, i.e. only from the global ids of the
  generators involved, never from tile-dependent data: Voronoi vertices are
  circumcentres of the id-sorted generator triple (near-coincident vertices
  of cocircular generators are merged and recomputed from the three lowest
  ids of the cluster), the "vertex lies inside the disc" test is made once
  per vertex, and the crossings of a bisector with the circle are computed
  once per generator pair.  Hence two cells that share a boundary, possibly
  built in different tiles, contain bitwise identical vertices along it.

Merged cells
------------
Every cell is also stored as a ring of integer vertex ids
(:class:`RingTable`, interior on the left), and unions of cells are
precomputed at several levels (:class:`CellHierarchy`):

* *blocks*: up to :data:`BLOCK_SAMPLES` consecutive generators of one edge,
* *halves*: the generators of one edge on the side of one end node,
* *stars*: a node's own cell plus all halves ending at the node,
* *edges*: all cells owned by an edge (``StreetCells.edge_cells``).

Node cells (generators at edge ends) belong to no block or half.  Merged
cells drop collinear vertices that no cell outside the merged cell uses, so
they still match every other cell exactly.  A query picks the coarsest
pieces: the star of every node whose incident edges are all fully reached,
halves and node cells for the other fully reached edges, complete blocks and
single cells for partially reached edges.

Queries
-------
:func:`union_cells` collects the directed boundary segments of the selected
pieces, cancels segments that occur in both directions (shared boundaries),
links the rest into rings and assembles polygons, all in vectorised numpy.
This is an exact coverage union; configurations the fast path does not
handle (several boundary rings touching at one vertex) fall back to
:func:`shapely.coverage_union_all`.

End caps
--------
A reached piece that stops in the middle of an edge ends with a flat cut at
the Voronoi boundary after its last sample, whereas the buffered reference
ends with a half disc of area ``pi w^2 / 2``.  :func:`select_samples` can
extend such interior interval ends by ``pi w / 4`` (the length of a ``2 w``
wide strip with the same area) so that areas match the reference on average;
see its ``extend_cut_ends`` argument.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree

__all__ = [
    "BLOCK_SAMPLES",
    "MERGE_TOLERANCE_M",
    "CellHierarchy",
    "RingTable",
    "StreetCells",
    "build_street_cells",
    "select_samples",
    "union_cells",
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
_VERTEX_MERGE_TOLERANCE_M = 1e-6

# Positions within this distance of an interval bound count as inside it,
# so that interval ends computed slightly differently (e.g. an edge length
# summed in another order) still select the end-node sample.
_POSITION_TOLERANCE_M = 1e-3

# Arcs are polygonised with at most this angle per chord (GEOS' default
# buffer resolution, quad_segs=8, i.e. 32 chords per full circle) ...
_MAX_ARC_STEP_RAD = 2.0 * math.pi / 32.0
# ... except that the arc of a cell on a straight street is never split, so a
# straight street is covered by an exact strip; the relative slack absorbs
# rounding in the computed arc angle.
_ARC_STEP_SLACK = 1e-6

# Angular gaps this close to a full turn between two consecutive boundary
# pieces of a cell can only be rounding artefacts of a zero gap.
_ANGLE_TOLERANCE_RAD = 1e-9

# Vertices of a merged cell within this distance (metres) of the line through
# their neighbours count as collinear (removable if not shared); far below
# any visible detail, far above float noise.
_COLLINEAR_TOLERANCE_M = 1e-6

# Target number of generators per Delaunay tile (bounds memory: Qhull and the
# per-tile arrays need roughly 2 kB per point).
_TILE_TARGET_GENERATORS = 250_000

# Extra slack (metres) added to the 2 r tile margin so that no generator that
# can influence an owned cell is lost to rounding at the margin boundary.
_TILE_MARGIN_SLACK_M = 1.0

# Maximum number of boundary segments merged per batch when building merged
# cells (bounds the memory of the temporary arrays, ~100 bytes per segment).
_MERGE_BATCH_SEGMENTS = 1_000_000

# Gap (metres) between consecutive edges on the global position axis used to
# look up samples by edge and position; any positive value works.
_EDGE_KEY_GAP_M = 1.0

_FORMAT_VERSION = 1


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
        rings = _expand_ranges(poly_ptr[0], poly_ptr[1])
        ring_ptr = self.ring_ptr.take(np.stack([rings, rings + 1]))
        first = ring_ptr[0]
        length = ring_ptr[1] - first
        pos = _expand_ranges(first, first + length)
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
        rings = _expand_ranges(ring_lo, ring_hi)
        first = self.ring_ptr[rings]
        length = self.ring_ptr[rings + 1] - first
        pos = _expand_ranges(first, first + length)
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
        polys = _expand_ranges(self.part_ptr[parts[keep]], self.part_ptr[parts[keep] + 1])
        ring_count = self.poly_ptr[polys + 1] - self.poly_ptr[polys]
        rings = _expand_ranges(self.poly_ptr[polys], self.poly_ptr[polys + 1])
        length = self.ring_ptr[rings + 1] - self.ring_ptr[rings]
        pos = _expand_ranges(self.ring_ptr[rings], self.ring_ptr[rings + 1])
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
        kwargs = {name: np.asarray(arrays[f"{prefix}_{name}"]) for name in cls._ARRAYS}
        kwargs.update({name: RingTable.from_arrays(arrays, f"{prefix}_{name}") for name in cls._TABLES})
        return cls(**kwargs)


@dataclass(frozen=True)
class StreetCells:
    """Precomputed coverage of the buffered street network.

    Attributes
    ----------
    width_m : float
        Buffer width ``w`` (metres).
    spacing_m : float
        Maximum distance between consecutive samples along an edge (metres).
    sample_edge : numpy.ndarray
        ``int32 (k,)`` edge index of each sample.
    sample_pos_m : numpy.ndarray
        ``float64 (k,)`` position of each sample along its edge, measured from
        the edge's first vertex (metres).
    edge_sample_ptr : numpy.ndarray
        ``int64 (m + 1,)`` CSR pointer: the samples of edge ``e`` are the ids
        ``edge_sample_ptr[e]:edge_sample_ptr[e + 1]``, sorted by position.
    sample_cells : numpy.ndarray
        Shapely Polygon array ``(k,)``; the non-empty cells form a valid
        coverage.  The cell of a group of merged samples is stored at the
        group's owner, the other members hold empty polygons.  Built from
        ``sample_rings`` on first access and then cached (shapely objects
        take ~4x the memory of the ring tables, and queries do not need them).
    edge_cells : numpy.ndarray
        Shapely Polygon/MultiPolygon array ``(m,)``: union of the cells owned
        by each edge (empty if the edge owns none).  Built lazily like
        ``sample_cells``.
    sample_owner : numpy.ndarray
        ``int32 (k,)`` id of the sample holding the cell that covers each
        sample (itself unless it was merged with a lower id).
    edge_length_m : numpy.ndarray
        ``float64 (m,)`` planar length of each edge (metres), the position of
        its last sample.
    vertex_xy : numpy.ndarray
        ``float64 (n_vertices, 2)`` coordinates of all cell vertices.
    sample_rings : RingTable
        ``sample_cells`` as vertex-id rings (one part per sample).
    edge_rings : RingTable
        ``edge_cells`` as vertex-id rings (one part per edge).
    hierarchy : CellHierarchy
        Blocks, halves and stars used by :func:`union_cells`.
    """

    width_m: float
    spacing_m: float
    sample_edge: np.ndarray
    sample_pos_m: np.ndarray
    edge_sample_ptr: np.ndarray
    sample_owner: np.ndarray
    edge_length_m: np.ndarray
    vertex_xy: np.ndarray
    sample_rings: RingTable
    edge_rings: RingTable
    hierarchy: CellHierarchy

    @cached_property
    def sample_cells(self) -> np.ndarray:
        """Shapely Polygon array ``(k,)`` of the sample cells (see class docs)."""
        return self.sample_rings.to_geometry(self.vertex_xy)

    @cached_property
    def edge_cells(self) -> np.ndarray:
        """Shapely Polygon/MultiPolygon array ``(m,)`` of the edge cells (see class docs)."""
        return self.edge_rings.to_geometry(self.vertex_xy)

    @property
    def n_edges(self) -> int:
        """Number of edges ``m``."""
        return int(self.edge_sample_ptr.shape[0] - 1)

    @property
    def n_samples(self) -> int:
        """Number of samples ``k``."""
        return int(self.sample_edge.shape[0])

    @cached_property
    def _edge_key_offset(self) -> np.ndarray:
        """Start of each edge on a global, strictly increasing position axis."""
        offset = np.zeros(self.n_edges + 1)
        np.cumsum(self.edge_length_m + _EDGE_KEY_GAP_M, out=offset[1:])
        return offset

    @cached_property
    def _sample_key(self) -> np.ndarray:
        """Position of each sample on the global axis (sorted)."""
        return self._edge_key_offset[self.sample_edge] + self.sample_pos_m

    @cached_property
    def _edge_extra(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR of the generators of each edge's samples not in its own halves.

        These are the node generators at its ends (and any other node it
        passes through) and generators owned by another edge (duplicated
        geometry): a fully reached edge needs them besides its halves.

        Returns
        -------
        tuple of numpy.ndarray
            ``ptr`` (int64, ``(m + 1,)``) and generator sample ids (int64).
        """
        owner = self.sample_owner.astype(np.int64)
        extra = (self.hierarchy.sample_node[owner] >= 0) | (self.sample_edge[owner] != self.sample_edge)
        ptr = np.zeros(self.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.sample_edge[extra], minlength=self.n_edges), out=ptr[1:])
        return ptr, owner[extra]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Serialise to a dict of plain numpy arrays (no pickle needed).

        Geometries are stored once, as exact float64 vertex coordinates plus
        integer rings, so the coverage property survives a round trip; the
        shapely arrays are rebuilt by :meth:`from_arrays`.  Suitable for
        :func:`numpy.savez` / :func:`numpy.load` with ``allow_pickle=False``.

        Returns
        -------
        dict of str to numpy.ndarray
            Arrays accepted by :meth:`from_arrays`.
        """
        out: dict[str, np.ndarray] = {
            "format_version": np.array(_FORMAT_VERSION, dtype=np.int64),
            "width_m": np.array(self.width_m, dtype=np.float64),
            "spacing_m": np.array(self.spacing_m, dtype=np.float64),
            "sample_edge": self.sample_edge,
            "sample_pos_m": self.sample_pos_m,
            "edge_sample_ptr": self.edge_sample_ptr,
            "sample_owner": self.sample_owner,
            "edge_length_m": self.edge_length_m,
            "vertex_xy": self.vertex_xy,
        }
        out.update(self.sample_rings.to_arrays("sample_rings"))
        out.update(self.edge_rings.to_arrays("edge_rings"))
        out.update(self.hierarchy.to_arrays("hierarchy"))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StreetCells:
        """Rebuild from the output of :meth:`to_arrays` (e.g. a loaded npz).

        Parameters
        ----------
        arrays : mapping of str to numpy.ndarray
            As produced by :meth:`to_arrays`.

        Returns
        -------
        StreetCells
            The restored structure.

        Raises
        ------
        ValueError
            If the format version is not supported.
        """
        version = int(arrays["format_version"])
        if version != _FORMAT_VERSION:
            raise ValueError(f"unsupported StreetCells format version {version}")
        vertex_xy = np.asarray(arrays["vertex_xy"], dtype=np.float64)
        sample_rings = RingTable.from_arrays(arrays, "sample_rings")
        edge_rings = RingTable.from_arrays(arrays, "edge_rings")
        return cls(
            width_m=float(arrays["width_m"]),
            spacing_m=float(arrays["spacing_m"]),
            sample_edge=np.asarray(arrays["sample_edge"], dtype=np.int32),
            sample_pos_m=np.asarray(arrays["sample_pos_m"], dtype=np.float64),
            edge_sample_ptr=np.asarray(arrays["edge_sample_ptr"], dtype=np.int64),
            sample_owner=np.asarray(arrays["sample_owner"], dtype=np.int32),
            edge_length_m=np.asarray(arrays["edge_length_m"], dtype=np.float64),
            vertex_xy=vertex_xy,
            sample_rings=sample_rings,
            edge_rings=edge_rings,
            hierarchy=CellHierarchy.from_arrays(arrays, "hierarchy"),
        )


def build_street_cells(
    edge_geometry: np.ndarray,
    *,
    width_m: float,
    spacing_m: float,
    progress: Callable[[int, int], None] | None = None,
) -> StreetCells:
    """Precompute the cell coverage of a street network.

    Parameters
    ----------
    edge_geometry : numpy.ndarray
        Shapely LineString array ``(m,)`` in a projected metric CRS, one per
        undirected edge.  Curved (multi-vertex), very short, duplicated and
        closed edges are allowed; Z coordinates are ignored.
    width_m : float
        Buffer width ``w`` (metres), e.g. 25.
    spacing_m : float
        Maximum sample spacing along an edge (metres), e.g. 5.  Must be
        smaller than ``2 * width_m``.  Smaller values give rounder caps and a
        finer cut position at partially reached edges but more cells.
    progress : callable, optional
        Called as ``progress(done, total)`` after each unit of work.

    Returns
    -------
    StreetCells
        The precomputed structure.

    Raises
    ------
    ValueError
        If the widths are not positive, ``spacing_m >= 2 * width_m``, or an
        edge geometry is missing, empty or not a LineString.
    """
    if not width_m > 0 or not spacing_m > 0:
        raise ValueError("width_m and spacing_m must be positive")
    if spacing_m >= 2.0 * width_m:
        raise ValueError("spacing_m must be smaller than 2 * width_m")
    geoms = np.asarray(edge_geometry, dtype=object).ravel()
    n_edges = geoms.shape[0]
    if n_edges == 0:
        raise ValueError("edge_geometry is empty")
    types = shapely.get_type_id(geoms)
    if np.any(types != shapely.GeometryType.LINESTRING) or np.any(shapely.is_empty(geoms)):
        raise ValueError("edge_geometry must hold non-empty LineStrings only")

    coords, vertex_edge = shapely.get_coordinates(geoms, return_index=True)
    edge_length, sample_edge, sample_pos, ptr = _sample_positions(coords, vertex_edge, n_edges, spacing_m)
    xy = _interpolate(coords, vertex_edge, n_edges, sample_edge, sample_pos, ptr)
    del coords, vertex_edge
    owner = _merge_coincident(xy)
    generators = np.flatnonzero(owner == np.arange(owner.shape[0]))

    radius = math.hypot(width_m, spacing_m / 2.0)
    # Never split the arc of a straight-street cell (full angle 2 atan(s/2w)).
    arc_step = max(_MAX_ARC_STEP_RAD, 2.0 * math.atan2(spacing_m / 2.0, width_m))
    arc_step *= 1.0 + _ARC_STEP_SLACK
    origin = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
    gen_xy = xy[generators] - origin
    del xy

    tiles = _tiles(gen_xy, radius)
    n_merge_steps = 4  # blocks, halves, stars, edges
    total = len(tiles) + n_merge_steps
    ring_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for done, (owned, members) in enumerate(tiles, start=1):
        ring_parts.append(_tile_vertices(_tile_cells(gen_xy, owned, members, radius, arc_step), origin))
        if progress is not None:
            progress(done, total)
    del gen_xy

    vertex_xy, sample_rings = _sample_ring_table(ring_parts, generators, owner.shape[0])
    del ring_parts

    def tick(step: int) -> None:
        if progress is not None:
            progress(len(tiles) + step, total)

    hierarchy, edge_rings = _build_hierarchy(sample_rings, vertex_xy, owner, sample_edge, ptr, tick)

    # Renumber vertices along a Morton curve so that the vertices of nearby
    # cells are close in memory (fewer cache misses per query).
    order = np.argsort(_morton_keys(vertex_xy), kind="stable")
    rank = np.empty(order.shape[0], dtype=np.int32)
    rank[order] = np.arange(order.shape[0], dtype=np.int32)
    vertex_xy = vertex_xy[order]
    sample_rings, edge_rings = _renumber(sample_rings, rank), _renumber(edge_rings, rank)
    hierarchy = dataclasses.replace(
        hierarchy,
        blocks=_renumber(hierarchy.blocks, rank),
        halves=_renumber(hierarchy.halves, rank),
        stars=_renumber(hierarchy.stars, rank),
    )
    return StreetCells(
        width_m=float(width_m),
        spacing_m=float(spacing_m),
        sample_edge=sample_edge,
        sample_pos_m=sample_pos,
        edge_sample_ptr=ptr,
        sample_owner=owner.astype(np.int32),
        edge_length_m=edge_length,
        vertex_xy=vertex_xy,
        sample_rings=sample_rings,
        edge_rings=edge_rings,
        hierarchy=hierarchy,
    )


def select_samples(
    cells: StreetCells,
    edge_ids: np.ndarray,
    start_m: np.ndarray,
    end_m: np.ndarray,
    *,
    extend_cut_ends: bool = False,
) -> np.ndarray:
    """Sample ids lying within the given intervals of edges.

    Parameters
    ----------
    cells : StreetCells
        The precomputed structure.
    edge_ids : numpy.ndarray
        Edge index of each interval ``(q,)``; edges may repeat.
    start_m, end_m : numpy.ndarray
        Interval bounds ``(q,)`` in metres along the edge from its first
        vertex (``start_m <= end_m``; bounds are clipped to the edge).
    extend_cut_ends : bool, default False
        If True, every bound strictly inside the edge is pushed outwards by
        ``pi * width_m / 4``, the length of a ``2 w`` wide strip with the
        area of the half-disc cap that the buffered reference piece has
        there.  This makes service-area areas unbiased with respect to the
        buffered reference (the cut itself stays flat).

    Returns
    -------
    numpy.ndarray
        ``int64`` ids of the samples whose position lies within an interval
        (within a tolerance of 1 mm), grouped by interval; a sample covered
        by several intervals is repeated.
    """
    edges = np.asarray(edge_ids, dtype=np.int64).ravel()
    lengths = cells.edge_length_m[edges]
    start = np.clip(np.asarray(start_m, dtype=np.float64).ravel(), 0.0, lengths)
    end = np.clip(np.asarray(end_m, dtype=np.float64).ravel(), 0.0, lengths)
    if extend_cut_ends:
        extension = math.pi * cells.width_m / 4.0
        start = np.where(start > 0.0, np.maximum(start - extension, 0.0), start)
        end = np.where(end < lengths, np.minimum(end + extension, lengths), end)
    offset = cells._edge_key_offset[edges]
    first = np.searchsorted(cells._sample_key, offset + start - _POSITION_TOLERANCE_M, side="left")
    stop = np.searchsorted(cells._sample_key, offset + end + _POSITION_TOLERANCE_M, side="right")
    first = np.maximum(first, cells.edge_sample_ptr[edges])
    stop = np.minimum(stop, cells.edge_sample_ptr[edges + 1])
    return _expand_ranges(first, stop)


def union_cells(cells: StreetCells, *, full_edges: np.ndarray, samples: np.ndarray) -> shapely.Geometry:
    """Coverage union of whole-edge cells and sample cells.

    Parameters
    ----------
    cells : StreetCells
        The precomputed structure.
    full_edges : numpy.ndarray
        Indices of fully reached edges (duplicates allowed).
    samples : numpy.ndarray
        Ids of reached samples, typically from :func:`select_samples`
        (duplicates and samples of full edges allowed).

    Returns
    -------
    shapely.Geometry
        A valid Polygon or MultiPolygon (an empty Polygon if nothing is
        selected); holes remain where nothing is reached.  It is the exact
        union of the cells of all samples of the full edges (including their
        end nodes, whose cells may be owned by a neighbouring edge) and of the
        given samples, i.e. of ``edge_cells[full_edges]``, the node cells at
        their ends and ``sample_cells[sample_owner[samples]]``.

    Notes
    -----
    Each point belongs to the cell of its nearest sample, so where an
    unreached street runs within ``2 w`` of a reached one, the area closer to
    the unreached street is not covered (the buffered reference would cover
    it).  For interval ends inside an edge see ``extend_cut_ends`` of
    :func:`select_samples`.
    """
    pieces = _select_pieces(cells, full_edges, samples)
    h = cells.hierarchy
    tables = (h.stars, h.halves, h.blocks, cells.sample_rings)
    links = [table.ring_links(parts) for table, parts in zip(tables, pieces, strict=True)]
    offset = np.cumsum([0] + [f.shape[0] for f, _ in links])
    frm = np.concatenate([f for f, _ in links])
    nxt = np.concatenate([n + o for (_, n), o in zip(links, offset[:-1], strict=True)])
    result = _union_segments(cells.vertex_xy, frm, nxt)
    if result is None:  # configuration not handled by the fast path
        parts = np.concatenate(
            [table.to_geometry(cells.vertex_xy, parts) for table, parts in zip(tables, pieces, strict=True)]
        )
        result = shapely.coverage_union_all(parts)
        if result.is_empty or result.geom_type not in ("Polygon", "MultiPolygon"):
            result = shapely.Polygon()
    return result


def _select_pieces(
    cells: StreetCells, full_edges: np.ndarray, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint pieces covering the selection, coarsest first.

    Returns
    -------
    tuple of numpy.ndarray
        Indices of stars, halves, blocks and sample cells.
    """
    h = cells.hierarchy
    full = np.asarray(full_edges, dtype=np.int64).ravel()
    if full.shape[0] > 1 and not np.all(full[1:] > full[:-1]):  # callers usually pass sorted unique edges
        full = _sorted_unique(full)
    owners = cells.sample_owner.take(np.asarray(samples, dtype=np.int64).ravel()).astype(np.int64)
    extra_ptr, extra = cells._edge_extra
    extra = extra.take(_expand_ranges(extra_ptr.take(full), extra_ptr.take(full + 1)))
    generators = _sorted_unique(np.concatenate([owners, extra]))
    node_of = h.sample_node.take(generators)
    is_node = node_of >= 0
    nodes = node_of.compress(is_node)
    loose = generators.compress(~is_node)
    loose = loose.compress(~_is_member(cells.sample_edge.take(loose), full))  # else covered by halves or stars

    # A node is complete if all its edge ends belong to fully reached edges.
    end_nodes = h.edge_node.take(full, axis=0)
    touched, count = _run_lengths(np.sort(end_nodes.ravel()))
    complete = touched.compress(count == h.node_degree.take(touched))
    side_done = _is_member(end_nodes, complete)
    halves = (2 * full[:, None] + np.arange(2)[None, :]).ravel().compress(~side_done.ravel())
    node_cells = h.node_sample.take(nodes.compress(~_is_member(nodes, complete)))

    # Block ids increase with the sample id, so ``loose`` lists blocks in runs.
    block, count = _run_lengths(h.sample_block.take(loose))
    whole = count == h.block_size.take(block)
    singles = loose.compress(~np.repeat(whole, count))
    return complete, halves, block.compress(whole), np.concatenate([node_cells, singles])


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (faster than :func:`numpy.unique` for small arrays)."""
    values = np.sort(values)
    if values.shape[0] > 1:
        values = values.compress(np.concatenate([[True], values[1:] != values[:-1]]))
    return values


def _run_lengths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and lengths of the runs of equal consecutive values."""
    if values.shape[0] == 0:
        return values, np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return values.take(first), np.diff(np.append(first, values.shape[0]))


def _is_member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Elementwise membership in a sorted array (like :func:`numpy.isin`)."""
    if sorted_set.shape[0] == 0:
        return np.zeros(values.shape, dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_set, values), sorted_set.shape[0] - 1)
    return sorted_set.take(idx) == values


# ----------------------------------------------------------------------------
# rings from boundary segments


def _link_rings(
    frm: np.ndarray, to: np.ndarray, group: np.ndarray, n_vertices: int
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
    bad_groups = _sorted_unique(np.concatenate(bad))
    if bad_groups.shape[0]:
        ok = ~_is_member(group, bad_groups)
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
    vertex[_expand_ranges(out_start, out_start + chain_len)] = frm
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
    """:func:`_link_rings` for a single group, without comparison sorts.

    Segments are ``frm -> frm[nxt]`` (``nxt``: next segment of the same cell
    ring).  Returns the same ``vertex`` and ``ring_ptr`` as :func:`_link_rings`
    when the segments form simple, vertex-disjoint rings, and None in every
    other case (the caller then uses :func:`_link_rings`).
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


def _ring_areas(xy: np.ndarray, ring_ptr: np.ndarray) -> np.ndarray:
    """Signed areas of rings given by consecutive coordinates (positive if ccw)."""
    ring_len = np.diff(ring_ptr)
    ring = np.repeat(np.arange(ring_len.shape[0]), ring_len)
    xy = xy - xy.take(ring_ptr[:-1][ring], axis=0)  # local coordinates for precision
    nxt = np.arange(1, xy.shape[0] + 1)
    nxt[ring_ptr[1:] - 1] = ring_ptr[:-1]
    x, y = xy[:, 0], xy[:, 1]
    cross = x * y.take(nxt) - x.take(nxt) * y
    return 0.5 * np.bincount(ring, weights=cross, minlength=ring_len.shape[0])


def _union_segments(vertex_xy: np.ndarray, frm: np.ndarray, nxt: np.ndarray) -> shapely.Geometry | None:
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
        vertex, ring_ptr, _, bad = _link_rings(frm, to, np.zeros(frm.shape[0], dtype=np.int64), vertex_xy.shape[0])
        if bad.shape[0] or vertex.shape[0] == 0:
            return None
    else:
        vertex, ring_ptr = linked
    xy = vertex_xy.take(vertex, axis=0)  # faster than fancy indexing rows
    area = _ring_areas(xy, ring_ptr)
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
    pos = _expand_ranges(start, start + length)
    ends = np.cumsum(length)
    closed = np.insert(pos, ends, pos[ends - length])
    ring_off = np.concatenate([[0], np.cumsum(length + 1)])
    if rings_per_poly is None:
        rings_per_poly = np.ones(rings.shape[0], dtype=np.int64)
    poly_off = np.concatenate([[0], np.cumsum(rings_per_poly)])
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy.take(closed, axis=0), (ring_off, poly_off))


# ----------------------------------------------------------------------------
# merged cells


def _build_hierarchy(
    sample_rings: RingTable,
    vertex_xy: np.ndarray,
    owner: np.ndarray,
    sample_edge: np.ndarray,
    ptr: np.ndarray,
    tick: Callable[[int], None],
) -> tuple[CellHierarchy, RingTable]:
    """Blocks, halves, stars and edge cells (see :class:`CellHierarchy`).

    Returns
    -------
    tuple
        The hierarchy and the edge cells as a :class:`RingTable`.
    """
    k = owner.shape[0]
    n_edges = ptr.shape[0] - 1
    sample_edge = sample_edge.astype(np.int64)
    generators = np.flatnonzero(owner == np.arange(k))

    node_sample = np.unique(np.concatenate([owner[ptr[:-1]], owner[ptr[1:] - 1]])).astype(np.int64)
    n_nodes = node_sample.shape[0]
    sample_node = np.full(k, -1, dtype=np.int32)
    sample_node[node_sample] = np.arange(n_nodes, dtype=np.int32)
    edge_node = np.column_stack([sample_node[owner[ptr[:-1]]], sample_node[owner[ptr[1:] - 1]]])
    node_degree = np.bincount(edge_node.ravel(), minlength=n_nodes).astype(np.int32)

    # Non-node generators (sorted by sample id, hence by edge and position).
    loose = generators[sample_node[generators] < 0]
    edge = sample_edge[loose]
    j = loose - ptr[edge]
    n_intervals = ptr[edge + 1] - ptr[edge] - 1
    half = 2 * edge + (2 * j > n_intervals)
    index = np.arange(loose.shape[0])
    new_half = np.ones(loose.shape[0], dtype=bool)
    new_half[1:] = half[1:] != half[:-1]
    rank = index - np.maximum.accumulate(np.where(new_half, index, 0))
    new_block = new_half | (rank % BLOCK_SAMPLES == 0)
    block = np.cumsum(new_block) - 1
    n_blocks = int(block[-1]) + 1 if block.shape[0] else 0
    sample_block = np.full(k, -1, dtype=np.int32)
    sample_block[loose] = block
    block_half = half[new_block]
    half_node = edge_node.ravel()

    sharing = _VertexSharing(sample_rings)

    def grouping(loose_group: np.ndarray, node_group: np.ndarray) -> np.ndarray:
        out = np.full(k, -1, dtype=np.int64)
        out[loose] = loose_group
        out[node_sample] = node_group
        return out

    node_index = np.arange(n_nodes)
    cells = np.flatnonzero(np.diff(sample_rings.part_ptr) > 0)
    loose_cells = cells[sample_node[cells] < 0]
    node_cells = node_sample[np.diff(sample_rings.part_ptr)[node_sample] > 0]

    blocks = _merge(
        [(sample_rings, loose_cells, sample_block[loose_cells].astype(np.int64))],
        n_blocks,
        vertex_xy,
        sharing.pinned(grouping(block, n_blocks + node_index)),
    )
    tick(1)
    halves = _merge(
        [(blocks, np.arange(n_blocks), block_half)],
        2 * n_edges,
        vertex_xy,
        sharing.pinned(grouping(half, 2 * n_edges + node_index)),
    )
    tick(2)
    all_halves = np.arange(2 * n_edges)
    stars = _merge(
        [(halves, all_halves, half_node.astype(np.int64)), (sample_rings, node_cells, sample_node[node_cells])],
        n_nodes,
        vertex_xy,
        sharing.pinned(grouping(half_node[half], node_index)),
    )
    tick(3)
    edges = _merge(
        [(halves, all_halves, all_halves // 2), (sample_rings, node_cells, sample_edge[node_cells])],
        n_edges,
        vertex_xy,
        sharing.pinned(grouping(edge, sample_edge[node_sample])),
    )
    tick(4)
    hierarchy = CellHierarchy(
        sample_node=sample_node,
        node_sample=node_sample,
        edge_node=edge_node.astype(np.int32),
        node_degree=node_degree,
        sample_block=sample_block,
        block_size=np.bincount(block, minlength=n_blocks).astype(np.int32),
        blocks=blocks,
        halves=halves,
        stars=stars,
    )
    return hierarchy, edges


class _VertexSharing:
    """Which cells use each vertex, for finding vertices shared across groups."""

    def __init__(self, rings: RingTable) -> None:
        n_parts = rings.n_parts
        poly_part = np.repeat(np.arange(n_parts, dtype=np.int32), np.diff(rings.part_ptr))
        ring_part = np.repeat(poly_part, np.diff(rings.poly_ptr))
        del poly_part
        order = np.argsort(rings.vertex, kind="stable")
        self._vertex = rings.vertex[order]
        self._part = np.repeat(ring_part, np.diff(rings.ring_ptr))[order]
        del ring_part, order
        self._same_vertex = self._vertex[1:] == self._vertex[:-1]
        self._n_vertices = int(rings.vertex.max()) + 1 if rings.vertex.shape[0] else 0

    def pinned(self, part_group: np.ndarray) -> np.ndarray:
        """Mask of vertices used by parts of at least two different groups."""
        group = part_group[self._part]
        differs = self._same_vertex & (group[1:] != group[:-1])
        mask = np.zeros(self._n_vertices, dtype=bool)
        mask[self._vertex[1:][differs]] = True
        return mask


def _merge(
    inputs: list[tuple[RingTable, np.ndarray, np.ndarray]],
    n_groups: int,
    vertex_xy: np.ndarray,
    pinned: np.ndarray,
) -> RingTable:
    """Union of parts per group, as a ring table with one part per group.

    Parameters
    ----------
    inputs : list of tuple
        ``(table, parts, group)``: parts of a ring table and their groups.
    n_groups : int
        Number of groups (output parts).
    vertex_xy : numpy.ndarray
        Vertex coordinates.
    pinned : numpy.ndarray
        Vertices to keep even where collinear (shared with other groups).

    Returns
    -------
    RingTable
        Merged cells; free collinear vertices removed.
    """
    # Order all input parts by group and cut into batches at group borders.
    source = np.concatenate([np.full(p.shape[0], i) for i, (_, p, _) in enumerate(inputs)])
    parts = np.concatenate([p for _, p, _ in inputs]).astype(np.int64)
    groups = np.concatenate([g for _, _, g in inputs]).astype(np.int64)
    sizes = np.concatenate([_part_sizes(t, p) for t, p, _ in inputs])
    order = np.argsort(groups, kind="stable")
    source, parts, groups, sizes = source[order], parts[order], groups[order], sizes[order]
    cum = np.cumsum(sizes)
    cuts = [0]
    while cuts[-1] < parts.shape[0]:
        done = int(cum[cuts[-1] - 1]) if cuts[-1] else 0
        cut = max(int(np.searchsorted(cum, done + _MERGE_BATCH_SEGMENTS, side="right")), cuts[-1] + 1)
        # Never split a group between batches.
        cuts.append(int(np.searchsorted(groups, groups[min(cut, parts.shape[0]) - 1], side="right")))

    # Per ring: vertices, length, group, polygon number, hole flag.
    collected: list[list[np.ndarray]] = [[], [], [], [], []]
    poly_base = 0
    for lo, hi in itertools.pairwise(cuts):
        frm_parts, to_parts, grp_parts = [], [], []
        for i, (table, _, _) in enumerate(inputs):
            sel = np.flatnonzero(source[lo:hi] == i) + lo
            if sel.shape[0] == 0:
                continue
            f, t, which = table.segments(parts[sel])
            frm_parts.append(f)
            to_parts.append(t)
            grp_parts.append(groups[sel][which])
        frm = np.concatenate(frm_parts)
        to = np.concatenate(to_parts)
        grp = np.concatenate(grp_parts)
        vertex, ring_ptr, rgroup, bad = _link_rings(frm, to, grp, vertex_xy.shape[0])
        area = _ring_areas(vertex_xy[vertex], ring_ptr)
        shell = area > 0.0
        n_shell = np.bincount(rgroup[shell], minlength=n_groups)
        n_hole = np.bincount(rgroup[~shell], minlength=n_groups)
        ambiguous = np.flatnonzero(((n_shell > 1) & (n_hole > 0)) | ((n_shell == 0) & (n_hole > 0)))
        keep_ring = ~np.isin(rgroup, ambiguous)
        # Polygons: each shell its own; holes join the only shell of their group.
        shell_rank = np.cumsum(shell) - 1
        first_shell = np.full(n_groups, -1, dtype=np.int64)
        first_shell[rgroup[shell][::-1]] = shell_rank[shell][::-1]
        poly = np.where(shell, shell_rank, first_shell[rgroup]) + poly_base
        rings = np.flatnonzero(keep_ring)
        batch = [
            vertex[_expand_ranges(ring_ptr[rings], ring_ptr[rings + 1])],
            np.diff(ring_ptr)[rings],
            rgroup[rings],
            poly[rings],
            ~shell[rings],
        ]
        poly_base += int(shell.sum())
        # GEOS for groups the fast path cannot assemble.
        hard = np.union1d(bad, ambiguous)
        if hard.shape[0]:
            hv, hl, hg, hp, hh = _merge_with_geos(inputs, source[lo:hi], parts[lo:hi], groups[lo:hi], hard, vertex_xy)
            batch = [np.concatenate([a, b]) for a, b in zip(batch, (hv, hl, hg, hp + poly_base, hh), strict=True)]
            poly_base += int(hp.max()) + 1 if hp.shape[0] else 0
        batch[0], batch[1] = _drop_free_collinear(batch[0], batch[1], vertex_xy, pinned)
        batch[0] = batch[0].astype(np.int32)
        for column, values in zip(collected, batch, strict=True):
            column.append(values)
    return _assemble_table(*(np.concatenate(column) for column in collected), n_groups)


def _part_sizes(table: RingTable, parts: np.ndarray) -> np.ndarray:
    """Number of vertices (= boundary segments) of each part."""
    parts = np.asarray(parts, dtype=np.int64)
    return (
        table.ring_ptr[table.poly_ptr[table.part_ptr[parts + 1]]]
        - table.ring_ptr[table.poly_ptr[table.part_ptr[parts]]]
    )


def _merge_with_geos(
    inputs: list[tuple[RingTable, np.ndarray, np.ndarray]],
    source: np.ndarray,
    parts: np.ndarray,
    groups: np.ndarray,
    hard: np.ndarray,
    vertex_xy: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge the given groups with :func:`shapely.coverage_union_all`.

    Used for the rare groups whose boundary rings touch at a vertex or whose
    holes need assigning to one of several shells.

    Returns
    -------
    tuple of numpy.ndarray
        Ring vertices (open rings, consecutive), ring lengths, ring groups,
        ring polygon numbers (0-based, increasing) and hole flags.
    """
    sel = np.flatnonzero(np.isin(groups, hard))
    geoms = np.empty(sel.shape[0], dtype=object)
    for i, (table, _, _) in enumerate(inputs):
        mine = np.flatnonzero(source[sel] == i)
        if mine.shape[0]:
            geoms[mine] = table.to_geometry(vertex_xy, parts[sel[mine]])
    sel_groups = groups[sel]
    merged = [shapely.coverage_union_all(geoms[sel_groups == g]) for g in hard]
    polys = shapely.get_parts(shapely.orient_polygons(np.array(merged, dtype=object), exterior_cw=False))
    poly_group = np.repeat(hard, shapely.get_num_geometries(np.array(merged, dtype=object)))
    keep = shapely.get_type_id(polys) == shapely.GeometryType.POLYGON
    polys, poly_group = polys[keep], poly_group[keep]
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    closing = np.zeros(coords.shape[0], dtype=bool)
    closing[np.cumsum(shapely.get_num_coordinates(rings)) - 1] = True
    vertex = _lookup_vertices(vertex_xy, coords[~closing])
    ring_len = np.bincount(ring_of_coord[~closing], minlength=rings.shape[0])
    first_ring = np.ones(rings.shape[0], dtype=bool)
    first_ring[1:] = ring_poly[1:] != ring_poly[:-1]
    return vertex, ring_len, poly_group[ring_poly], ring_poly.astype(np.int64), ~first_ring


def _lookup_vertices(vertex_xy: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Ids of coordinates in the lexicographically sorted vertex table.

    Raises
    ------
    RuntimeError
        If a coordinate is not a known vertex (the cells are not a coverage).
    """
    table = _complex_keys(vertex_xy)
    keys = _complex_keys(coords)
    idx = np.minimum(np.searchsorted(table, keys), table.shape[0] - 1)
    if np.any(table[idx] != keys):
        raise RuntimeError("merged cell has a vertex that is not a cell vertex; the cells are not a coverage")
    return idx.astype(np.int64)


def _assemble_table(
    vertex: np.ndarray,
    ring_len: np.ndarray,
    ring_group: np.ndarray,
    ring_poly: np.ndarray,
    ring_hole: np.ndarray,
    n_groups: int,
) -> RingTable:
    """Ring table from rings tagged with group, polygon number and hole flag."""
    order = np.lexsort((ring_hole, ring_poly, ring_group))
    start = np.cumsum(ring_len) - ring_len
    vertex = vertex[_expand_ranges(start[order], start[order] + ring_len[order])]
    ring_len, ring_group, ring_poly = ring_len[order], ring_group[order], ring_poly[order]
    new_poly = np.ones(ring_len.shape[0], dtype=bool)
    new_poly[1:] = (ring_poly[1:] != ring_poly[:-1]) | (ring_group[1:] != ring_group[:-1])
    poly_first = np.flatnonzero(new_poly)
    return RingTable(
        part_ptr=np.concatenate([[0], np.cumsum(np.bincount(ring_group[poly_first], minlength=n_groups))]),
        poly_ptr=np.concatenate([poly_first, [ring_len.shape[0]]]).astype(np.int64),
        ring_ptr=np.concatenate([[0], np.cumsum(ring_len)]).astype(np.int64),
        vertex=vertex.astype(np.int32),
    )


# ----------------------------------------------------------------------------
# sampling


def _sample_positions(
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


def _interpolate(
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


def _merge_coincident(xy: np.ndarray) -> np.ndarray:
    """Owner (lowest id of its group of coincident samples) of each sample."""
    k = xy.shape[0]
    owner = np.arange(k, dtype=np.int64)
    pairs = cKDTree(xy).query_pairs(MERGE_TOLERANCE_M, output_type="ndarray")
    if pairs.shape[0] == 0:
        return owner
    graph = coo_matrix((np.ones(pairs.shape[0], dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    lowest = np.full(labels.max() + 1, k, dtype=np.int64)
    np.minimum.at(lowest, labels, owner)
    return lowest[labels]


# ----------------------------------------------------------------------------
# tiling and cells


def _tiles(gen_xy: np.ndarray, radius: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split generators into square tiles.

    Returns
    -------
    list of tuple of numpy.ndarray
        Per tile: ``owned`` generator ids (cells built by this tile) and
        ``members`` generator ids (owned plus all within the margin).
    """
    margin = 2.0 * radius + _TILE_MARGIN_SLACK_M
    lo = gen_xy.min(axis=0)
    extent = np.maximum(gen_xy.max(axis=0) - lo, margin)
    n_target = max(1, math.ceil(gen_xy.shape[0] / _TILE_TARGET_GENERATORS))
    # Tiles much larger than the margin keep the duplicated margin work small
    # (and a tile's margin then only reaches into its 8 neighbours).
    min_side_margins = 4.0
    side = max(math.sqrt(float(extent[0] * extent[1]) / n_target), min_side_margins * margin)
    cell = np.floor((gen_xy - lo) / side).astype(np.int64)
    nx = int(cell[:, 0].max()) + 1
    key = cell[:, 1] * nx + cell[:, 0]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    tiles = []
    for tile_key in np.unique(sorted_key):
        ty, tx = divmod(int(tile_key), nx)
        owned = order[np.searchsorted(sorted_key, tile_key) : np.searchsorted(sorted_key, tile_key, "right")]
        near = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if not 0 <= tx + dx < nx:
                    continue
                k = (ty + dy) * nx + tx + dx
                near.append(order[np.searchsorted(sorted_key, k) : np.searchsorted(sorted_key, k, "right")])
        cand = np.concatenate(near)
        box_lo = lo + np.array([tx, ty]) * side - margin
        box_hi = lo + np.array([tx + 1, ty + 1]) * side + margin
        p = gen_xy[cand]
        inside = np.all((p >= box_lo) & (p <= box_hi), axis=1)
        tiles.append((owned, np.sort(cand[inside])))
    return tiles


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


def _tile_cells(
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
    close = gap <= _VERTEX_MERGE_TOLERANCE_M
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
    gap[(group_len[gidx] >= 2) & (gap > 2.0 * math.pi - _ANGLE_TOLERANCE_RAD)] = 0.0
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


# ----------------------------------------------------------------------------
# vertex table and small helpers


def _tile_vertices(
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
    keys, index = np.unique(_complex_keys(coords + origin), return_inverse=True)
    return gen, ring_len, index.astype(np.int32), keys


def _sample_ring_table(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    generators: np.ndarray,
    n_samples: int,
) -> tuple[np.ndarray, RingTable]:
    """Global vertex table and the ring table of the sample cells.

    Parameters
    ----------
    parts : list of tuple of numpy.ndarray
        Per tile, the output of :func:`_tile_vertices`.
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
    vertex = vertex[_expand_ranges(start[order], start[order] + ring_len[order])]
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


def _morton_keys(xy: np.ndarray) -> np.ndarray:
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


def _renumber(table: RingTable, rank: np.ndarray) -> RingTable:
    """The same rings with vertex ids mapped through ``rank``."""
    return dataclasses.replace(table, vertex=rank[table.vertex])


def _complex_keys(coords: np.ndarray) -> np.ndarray:
    """Exact complex keys ``x + iy`` (numpy sorts complex lexicographically)."""
    keys = np.empty(coords.shape[0], dtype=np.complex128)
    keys.real = coords[:, 0]
    keys.imag = coords[:, 1]
    return keys


def _drop_free_collinear(
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
    n_rings = ring_len.shape[0]
    if n_rings == 0:
        return vertex, ring_len
    ring = np.repeat(np.arange(n_rings), ring_len)
    start = (np.cumsum(ring_len) - ring_len)[ring]
    pos = np.arange(ring.shape[0]) - start
    prev = start + (pos - 1) % ring_len[ring]
    nxt = start + (pos + 1) % ring_len[ring]
    p = vertex_xy[vertex]
    a, b = p[prev], p[nxt]
    ab = b - a
    ap = p - a
    cross = ab[:, 0] * ap[:, 1] - ab[:, 1] * ap[:, 0]
    along = np.einsum("ij,ij->i", ab, ap)
    ab2 = np.einsum("ij,ij->i", ab, ab)
    collinear = (along > 0.0) & (along < ab2) & (np.abs(cross) <= _COLLINEAR_TOLERANCE_M * np.sqrt(ab2))
    drop = collinear & ~pinned[vertex]
    left = ring_len - np.bincount(ring[drop], minlength=n_rings)
    drop &= (left >= 3)[ring]  # never degenerate a ring
    return vertex[~drop], np.bincount(ring[~drop], minlength=n_rings)


def _expand_ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(start[q], stop[q])`` over q (int64)."""
    start = np.asarray(start, dtype=np.int64)
    length = np.maximum(np.asarray(stop, dtype=np.int64) - start, 0)
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(length) - length
    return np.repeat(start - offsets, length) + np.arange(total, dtype=np.int64)
