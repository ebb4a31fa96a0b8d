"""Merged street cells: blocks, halves, stars and edges built once per network as unions of cells
(collinear vertices dropped only where no outside cell uses them, so merged cells still match exactly).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import shapely

from geo.network.cell_rings import (
    BLOCK_SAMPLES,
    MERGE_BATCH_SEGMENTS,
    CellHierarchy,
    RingTable,
    expand_ranges,
    link_rings,
    ring_areas,
)
from geo.network.cell_voronoi import complex_keys, drop_free_collinear

__all__ = ["build_hierarchy"]

# ----------------------------------------------------------------------------
# merged cells


def build_hierarchy(
    sample_rings: RingTable,
    vertex_xy: np.ndarray,
    owner: np.ndarray,
    sample_edge: np.ndarray,
    ptr: np.ndarray,
    tick: Callable[[int], None],
    built: np.ndarray | None = None,
) -> tuple[CellHierarchy, RingTable]:
    """Blocks, halves, stars and edge cells (see :class:`CellHierarchy`).

    ``built``: the generators whose cells were built, for an area (default: all); the
    others belong to no block.

    Returns
    -------
    tuple
        The hierarchy and the edge cells as a :class:`RingTable`.
    """
    k = owner.shape[0]
    n_edges = ptr.shape[0] - 1
    sample_edge = sample_edge.astype(np.int64)
    generators = np.flatnonzero(owner == np.arange(k)) if built is None else np.asarray(built, dtype=np.int64)

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
        out = np.full(k, -1, dtype=np.int32)  # group ids are below 2 * edges + nodes
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
        cut = max(int(np.searchsorted(cum, done + MERGE_BATCH_SEGMENTS, side="right")), cuts[-1] + 1)
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
        vertex, ring_ptr, rgroup, bad = link_rings(frm, to, grp, vertex_xy.shape[0])
        area = ring_areas(vertex_xy[vertex], ring_ptr)
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
            vertex[expand_ranges(ring_ptr[rings], ring_ptr[rings + 1])],
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
        batch[0], batch[1] = drop_free_collinear(batch[0], batch[1], vertex_xy, pinned)
        batch[0] = batch[0].astype(np.int32)
        for column, values in zip(collected, batch, strict=True):
            column.append(values)
    vertex, ring_len, ring_group, ring_poly, ring_hole = (np.concatenate(column) for column in collected)
    return _assemble_table(vertex, ring_len, ring_group, ring_poly, ring_hole, n_groups)


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
    table = complex_keys(vertex_xy)
    keys = complex_keys(coords)
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
    vertex = vertex[expand_ranges(start[order], start[order] + ring_len[order])]
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
