"""Street-following service-area polygons from a precomputed cell coverage.

A walking service area is conventionally drawn as the union of the reached
street pieces, each buffered by a width ``w``.  Buffering and unioning
hundreds of pieces per facility is slow, so this module precomputes, once per
network, a partition of the buffered street network into small cells that
form an exact polygon *coverage* (neighbouring cells share boundaries with
bitwise identical vertices).  A service area is then the union of a few
hundred precomputed cells, computed without any geometric overlay.

This module holds the cells and their queries; the construction is in
:mod:`geo.network.cell_voronoi`, the merged cells in :mod:`geo.network.cell_merge`,
the ring tables and the coverage union in :mod:`geo.network.cell_rings`.

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
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely

from geo.network.cell_merge import build_hierarchy
from geo.network.cell_rings import (
    ARC_STEP_SLACK,
    BLOCK_SAMPLES,
    EDGE_KEY_GAP_M,
    FORMAT_VERSION,
    MAX_ARC_STEP_RAD,
    MERGE_TOLERANCE_M,
    POSITION_TOLERANCE_M,
    TILE_MARGIN_SLACK_M,
    CellHierarchy,
    RingTable,
    expand_ranges,
    is_member,
    run_lengths,
    sorted_unique,
    union_segments,
)
from geo.network.cell_voronoi import (
    area_tiles,
    interpolate,
    merge_coincident,
    morton_keys,
    renumber,
    sample_positions,
    sample_ring_table,
    spatial_tiles,
    tile_rings,
)

__all__ = [
    "BLOCK_SAMPLES",
    "MERGE_TOLERANCE_M",
    "CellHierarchy",
    "RingTable",
    "StreetCells",
    "build_from_coordinates",
    "build_street_cells",
    "edge_coordinates",
    "select_samples",
    "union_cells",
]


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
    area_edges : numpy.ndarray or None
        ``None`` when every cell is built; for the cells of an area
        (:func:`build_street_cells` with ``edges``), the sorted edge ids whose
        samples have their cells.  Other samples have empty cells, and the merged
        cells of other edges are incomplete: queries must stay within the area.
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
    area_edges: np.ndarray | None = None

    def covers(self, edges: np.ndarray) -> bool:
        """Whether the cells of every sample of ``edges`` are built."""
        if self.area_edges is None:
            return True
        edges = np.asarray(edges, dtype=np.int64).ravel()
        return bool(np.all(is_member(edges, self.area_edges)))

    @cached_property
    def scratch(self) -> dict:
        """Derived tables of these cells kept with them (e.g. an area's links across streets)."""
        return {}

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
        np.cumsum(self.edge_length_m + EDGE_KEY_GAP_M, out=offset[1:])
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
            "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
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
        if self.area_edges is not None:
            out["area_edges"] = self.area_edges
        # Derived, but a pass over every sample: stored, a server's first query reads it instead.
        out["edge_extra_ptr"], out["edge_extra"] = self._edge_extra
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
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported StreetCells format version {version}")
        vertex_xy = np.asarray(arrays["vertex_xy"], dtype=np.float64)
        sample_rings = RingTable.from_arrays(arrays, "sample_rings")
        edge_rings = RingTable.from_arrays(arrays, "edge_rings")
        cells = cls(
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
            area_edges=np.asarray(arrays["area_edges"], dtype=np.int64) if "area_edges" in arrays else None,
        )
        if "edge_extra_ptr" in arrays:  # (written since issue 17; older files derive it when first needed)
            cells.__dict__["_edge_extra"] = (arrays["edge_extra_ptr"], arrays["edge_extra"])
        return cells


def build_street_cells(
    edge_geometry: np.ndarray,
    *,
    width_m: float,
    spacing_m: float,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    edges: np.ndarray | None = None,
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
    workers : int, default 1
        Processes building the spatial tiles' cells (their results are identical
        whatever the number; more than one pays off from a few hundred thousand
        samples, where a network has several tiles).
    edges : numpy.ndarray, optional
        Build only the cells of these edges' samples (an *area*; see
        ``StreetCells.area_edges``).  They come out exactly as in a build of every
        cell; the time and memory go with the area, not the network.

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
    coords, vertex_edge = edge_coordinates(edge_geometry)
    return build_from_coordinates(
        coords,
        vertex_edge,
        width_m=width_m,
        spacing_m=spacing_m,
        progress=progress,
        workers=workers,
        edges=edges,
    )


def edge_coordinates(edge_geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The streets' vertices and the edge of each, checked (the input of :func:`build_from_coordinates`).

    Raises
    ------
    ValueError
        If an edge geometry is missing, empty or not a LineString.
    """
    geoms = np.asarray(edge_geometry, dtype=object).ravel()
    if geoms.shape[0] == 0:
        raise ValueError("edge_geometry is empty")
    types = shapely.get_type_id(geoms)
    if np.any(types != shapely.GeometryType.LINESTRING) or np.any(shapely.is_empty(geoms)):
        raise ValueError("edge_geometry must hold non-empty LineStrings only")
    return shapely.get_coordinates(geoms, return_index=True)


def build_from_coordinates(
    coords: np.ndarray,
    vertex_edge: np.ndarray,
    *,
    width_m: float,
    spacing_m: float,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    edges: np.ndarray | None = None,
) -> StreetCells:
    """:func:`build_street_cells` from :func:`edge_coordinates` (no geometry objects needed)."""
    if not width_m > 0 or not spacing_m > 0:
        raise ValueError("width_m and spacing_m must be positive")
    if spacing_m >= 2.0 * width_m:
        raise ValueError("spacing_m must be smaller than 2 * width_m")
    n_edges = int(vertex_edge[-1]) + 1
    edge_length, sample_edge, sample_pos, ptr = sample_positions(coords, vertex_edge, n_edges, spacing_m)
    xy = interpolate(coords, vertex_edge, n_edges, sample_edge, sample_pos, ptr)
    del coords, vertex_edge
    owner = merge_coincident(xy)
    generators = np.flatnonzero(owner == np.arange(owner.shape[0]))

    radius = math.hypot(width_m, spacing_m / 2.0)
    # Never split the arc of a straight-street cell (full angle 2 atan(s/2w)).
    arc_step = max(MAX_ARC_STEP_RAD, 2.0 * math.atan2(spacing_m / 2.0, width_m))
    arc_step *= 1.0 + ARC_STEP_SLACK
    origin = 0.5 * (xy.min(axis=0) + xy.max(axis=0))
    gen_xy = xy[generators] - origin
    del xy

    area = None
    if edges is None:
        tiles = spatial_tiles(gen_xy, radius)
    else:
        area = sorted_unique(np.asarray(edges, dtype=np.int64).ravel())
        if area.shape[0] and (area[0] < 0 or area[-1] >= n_edges):
            raise ValueError("edges must be edge indices of edge_geometry")
        needed = np.zeros(owner.shape[0], dtype=bool)
        needed[owner[expand_ranges(ptr[area], ptr[area + 1])]] = True
        needed = needed[generators]
        # Tiles over the area and its surroundings only: time and memory go with the area.
        near = np.flatnonzero(_near(gen_xy, needed, 2.0 * radius + TILE_MARGIN_SLACK_M))
        tiles = [(near[owned], near[members]) for owned, members in spatial_tiles(gen_xy[near], radius)]
        tiles = area_tiles(tiles, needed)
    n_tiles, n_merge_steps = len(tiles), 4  # blocks, halves, stars, edges
    total = n_tiles + n_merge_steps
    ring_parts = tile_rings(
        gen_xy,
        tiles,
        radius,
        arc_step,
        origin,
        workers=workers,
        progress=None if progress is None else lambda done: progress(done, total),
    )
    del gen_xy, tiles

    vertex_xy, sample_rings = sample_ring_table(ring_parts, generators, owner.shape[0])
    del ring_parts

    def tick(step: int) -> None:
        if progress is not None:
            progress(n_tiles + step, total)

    built = None if area is None else generators[needed]
    hierarchy, edge_rings = build_hierarchy(sample_rings, vertex_xy, owner, sample_edge, ptr, tick, built)

    # Renumber vertices along a Morton curve so that the vertices of nearby
    # cells are close in memory (fewer cache misses per query).
    order = np.argsort(morton_keys(vertex_xy), kind="stable")
    rank = np.empty(order.shape[0], dtype=np.int32)
    rank[order] = np.arange(order.shape[0], dtype=np.int32)
    vertex_xy = vertex_xy[order]
    sample_rings, edge_rings = renumber(sample_rings, rank), renumber(edge_rings, rank)
    hierarchy = dataclasses.replace(
        hierarchy,
        blocks=renumber(hierarchy.blocks, rank),
        halves=renumber(hierarchy.halves, rank),
        stars=renumber(hierarchy.stars, rank),
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
        area_edges=area,
    )


def _near(xy: np.ndarray, mask: np.ndarray, dist_m: float) -> np.ndarray:
    """Mask of the points within ``dist_m`` of a masked point (and some a little farther)."""
    cell = np.floor(xy / dist_m).astype(np.int64)
    cell -= cell.min(axis=0)
    width = int(cell[:, 0].max()) + 3
    key = (cell[:, 1] + 1) * width + cell[:, 0] + 1
    marked = np.unique(key[mask])
    around = (marked[:, None] + (np.array([-1, 0, 1])[:, None] * width + np.array([-1, 0, 1])).ravel()).ravel()
    return is_member(key, sorted_unique(around))


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
    first = np.searchsorted(cells._sample_key, offset + start - POSITION_TOLERANCE_M, side="left")
    stop = np.searchsorted(cells._sample_key, offset + end + POSITION_TOLERANCE_M, side="right")
    first = np.maximum(first, cells.edge_sample_ptr[edges])
    stop = np.minimum(stop, cells.edge_sample_ptr[edges + 1])
    return expand_ranges(first, stop)


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
    result = union_segments(cells.vertex_xy, frm, nxt)
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
        full = sorted_unique(full)
    owners = cells.sample_owner.take(np.asarray(samples, dtype=np.int64).ravel()).astype(np.int64)
    extra_ptr, extra = cells._edge_extra
    extra = extra.take(expand_ranges(extra_ptr.take(full), extra_ptr.take(full + 1)))
    generators = sorted_unique(np.concatenate([owners, extra]))
    node_of = h.sample_node.take(generators)
    is_node = node_of >= 0
    nodes = node_of.compress(is_node)
    loose = generators.compress(~is_node)
    loose = loose.compress(~is_member(cells.sample_edge.take(loose), full))  # else covered by halves or stars

    # A node is complete if all its edge ends belong to fully reached edges.
    end_nodes = h.edge_node.take(full, axis=0)
    touched, count = run_lengths(np.sort(end_nodes.ravel()))
    complete = touched.compress(count == h.node_degree.take(touched))
    side_done = is_member(end_nodes, complete)
    halves = (2 * full[:, None] + np.arange(2)[None, :]).ravel().compress(~side_done.ravel())
    node_cells = h.node_sample.take(nodes.compress(~is_member(nodes, complete)))

    # Block ids increase with the sample id, so ``loose`` lists blocks in runs.
    block, count = run_lengths(h.sample_block.take(loose))
    whole = count == h.block_size.take(block)
    singles = loose.compress(~np.repeat(whole, count))
    return complete, halves, block.compress(whole), np.concatenate([node_cells, singles])
