"""Reproducible synthetic "perturbed grid city" street networks for benchmarks.

The generator builds a walking street network that looks, to code that consumes
osmnx data, like ``osmnx.graph_to_gdfs(G)`` of a real city, at any size (50 000 and
300 000 nodes are the benchmark sizes), in a few seconds and without network access.

Model
-----
Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``, in a
fixed order, so the same ``(n_nodes, seed)`` always gives identical GeoDataFrames
(node ids, coordinates, edge order, attributes; bit-for-bit).  The default seed is
``0``.

1. **Grid.**  A grid of ``rows x cols`` intersections (aspect 4:3) whose row and
   column spacings are drawn uniformly from 60-100 m, so blocks are irregular
   rectangles.  Each intersection is jittered (normal, sd 4 m, clipped at 10 m) and
   the whole grid is warped by a gentle city-scale sine field (amplitude 25 m,
   wavelength ~2 km), so streets are not perfectly straight.  The south-west corner
   is at easting 660 000 m / northing 2 760 000 m in EPSG:32650 (UTM 50N), i.e.
   around Quanzhou.
2. **Arterials and motorways.**  Every 8th-14th grid line is a ``primary`` street;
   about one row and one column per 250 grid lines are a ``motorway``: two one-way
   carriageways (``oneway=True``, one row per direction with distinct ``osmid``),
   which a walking profile must not use.  Walkers cross them at grade along the
   cross streets.
3. **Compounds.**  About 8 % of the blocks are merged into gated compounds of 2-4 x
   2-4 blocks: the street segments inside a compound are removed (arterials and
   motorways excepted), which leaves large blocks; intersections left with no street
   are dropped.
4. **Random removal.**  12 % of the remaining local street segments are removed,
   which makes T-junctions, irregular blocks and dead ends but keeps the network
   mostly connected (far below the bond-percolation threshold of 50 %).
5. **Extra vertices.**  The node budget that the grid does not use (~13 %) is filled
   exactly, so the result has precisely ``n_nodes`` nodes:

   * *curved streets* (45 %): a grid segment gets a midpoint vertex offset 4-15 m
     sideways (both halves keep the parent's ``osmid``);
   * *diagonal paths* (15 %): a footway/residential diagonal across an ordinary
     block, bent at a midpoint vertex;
   * *short edges* (5 %): a segment is split 2-8 m from one end (the short piece is
     sometimes ``steps``);
   * *dead-end spurs* (35 %): a 15-40 m ``service``/``footway``/``residential``
     spur from an intersection into a block.

6. **Geometry and multi-edges.**  15 % of the edges longer than 20 m have a
   non-vertex bend in their LineString (so ``length`` is not the straight-line
   distance between the end nodes), and 0.3 % get a longer parallel edge between
   the same two nodes (``key=1``).  ``length`` is the planar length of the
   geometry in metres.

Every street is stored in both directions, as osmnx stores an undirected street in
its ``MultiDiGraph``: ``u -> v`` with ``reversed=False`` and ``v -> u`` with
``reversed=True`` and the reversed geometry (motorways excepted, see 2.).  Node ids
are large OSM-like int64 ids, assigned in random spatial order.

Examples
--------
>>> nodes, edges = make_city(2_000, seed=0)
>>> len(nodes)
2000
>>> G = to_networkx(nodes, edges)
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

__all__ = ["CRS", "HIGHWAY_CLASSES", "make_city", "to_networkx", "walk_edges"]

#: Projected CRS of the generated city (WGS 84 / UTM zone 50N, metres).
CRS = "EPSG:32650"
#: South-west corner of the grid (easting, northing), metres, around Quanzhou.
ORIGIN_EN = (660_000.0, 2_760_000.0)

#: ``highway`` values used; the index in this tuple is the internal class code.
HIGHWAY_CLASSES = ("residential", "footway", "service", "steps", "primary", "motorway")
_RES, _FOOT, _SERV, _STEPS, _PRIM, _MOTOR = range(len(HIGHWAY_CLASSES))

_BLOCK_M = (60.0, 100.0)  # row/column spacing range
_JITTER_SD_M, _JITTER_MAX_M = 4.0, 10.0
_WARP_AMP_M, _WARP_WAVELENGTH_M = 25.0, 2_000.0
_ARTERIAL_GAP = (8, 15)  # every 8th..14th grid line is primary
_MOTORWAY_EVERY = 250  # one motorway row / column per this many grid lines
_COMPOUND_BLOCK_SHARE = 0.08
_COMPOUND_SIDE = (2, 5)  # 2..4 blocks
_DROP_SHARE = 0.12
_GRID_SHARE = 0.87  # target share of grid intersections among all nodes
_EXTRA_MIX = {"curve": 0.45, "diag": 0.15, "short": 0.05}  # the rest are spurs
_BEND_SHARE, _PARALLEL_SHARE = 0.15, 0.003
_NODE_ID_BASE, _WAY_ID_BASE = 1_000_000_000, 100_000_000
_MIN_NODES = 100


def make_city(n_nodes: int, *, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Generate a perturbed-grid walking network with exactly ``n_nodes`` nodes.

    Parameters
    ----------
    n_nodes
        Number of nodes wanted (at least 100).  The result has exactly this many.
    seed
        Seed of the random generator; the same ``(n_nodes, seed)`` gives identical
        output.

    Returns
    -------
    nodes : geopandas.GeoDataFrame
        Indexed by int64 node id (index name ``osmid``), columns ``y``, ``x``,
        ``street_count``, ``geometry`` (Point), CRS EPSG:32650.
    edges : geopandas.GeoDataFrame
        MultiIndex ``(u, v, key)``, columns ``osmid`` (int64), ``highway`` (str),
        ``oneway`` (bool), ``reversed`` (bool), ``length`` (float, metres, the
        length of ``geometry``), ``geometry`` (LineString from ``u`` to ``v``),
        CRS EPSG:32650.  Both directions of each street are present.

    Raises
    ------
    ValueError
        If ``n_nodes`` is too small for the model.
    """
    if n_nodes < _MIN_NODES:
        raise ValueError(f"n_nodes must be at least {_MIN_NODES}, got {n_nodes}")
    rng = np.random.default_rng(seed)

    side = np.sqrt(_GRID_SHARE * n_nodes / 0.95)  # ~5 % of intersections end up in compounds
    for _ in range(8):  # deterministic given the seed: a pure function of rng state
        rows = max(4, round(side / np.sqrt(4 / 3)))
        cols = max(4, round(side * np.sqrt(4 / 3)))
        grid = _grid_stage(rng, rows, cols)
        share = grid["alive"].sum() / n_nodes
        if 0.82 <= share <= 0.92:
            break
        side *= np.sqrt(_GRID_SHARE / share)
    else:  # pragma: no cover - the model always converges for n_nodes >= 100
        raise RuntimeError("grid sizing did not converge")

    net = _fill_stage(rng, grid, n_nodes)
    return _to_gdfs(rng, net)


def walk_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the edges a pedestrian may use (all but ``highway == "motorway"``).

    Parameters
    ----------
    edges
        Edges as returned by :func:`make_city`.

    Returns
    -------
    geopandas.GeoDataFrame
        The walkable subset, same columns and index.
    """
    return edges[edges["highway"] != "motorway"]


def to_networkx(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> nx.MultiDiGraph:
    """Convert the GeoDataFrames to an osmnx-compatible ``MultiDiGraph``.

    Uses :func:`osmnx.convert.graph_from_gdfs`, so the graph has the ``crs`` graph
    attribute, node attributes ``x``, ``y``, ``street_count`` and every edge column
    as an edge attribute (including ``geometry``).

    Parameters
    ----------
    nodes, edges
        As returned by :func:`make_city` (``edges`` may be a subset, e.g.
        :func:`walk_edges`).

    Returns
    -------
    networkx.MultiDiGraph
        The graph.
    """
    import osmnx as ox  # slow import; only needed here

    return ox.graph_from_gdfs(nodes, edges)


# --------------------------------------------------------------------------- stages


def _grid_stage(rng: np.random.Generator, rows: int, cols: int) -> dict[str, np.ndarray]:
    """Draw the jittered grid, its street classes, compounds and removed segments."""
    e0, n0 = ORIGIN_EN
    xs = e0 + np.concatenate([[0.0], np.cumsum(rng.uniform(*_BLOCK_M, cols - 1))])
    ys = n0 + np.concatenate([[0.0], np.cumsum(rng.uniform(*_BLOCK_M, rows - 1))])
    gx = np.broadcast_to(xs[None, :], (rows, cols)).copy()
    gy = np.broadcast_to(ys[:, None], (rows, cols)).copy()
    jit = rng.normal(0.0, _JITTER_SD_M, (2, rows, cols)).clip(-_JITTER_MAX_M, _JITTER_MAX_M)
    phase = rng.uniform(0.0, 2 * np.pi, 2)
    k = 2 * np.pi / _WARP_WAVELENGTH_M
    wx = _WARP_AMP_M * np.sin(k * (gy - n0) + phase[0])
    wy = _WARP_AMP_M * np.sin(k * (gx - e0) + phase[1])
    gx += jit[0] + wx
    gy += jit[1] + wy

    # line classes: 0 local, _PRIM, _MOTOR
    row_cls = _line_classes(rng, rows)
    col_cls = _line_classes(rng, cols)

    idx = np.arange(rows * cols).reshape(rows, cols)
    r_h, c_h = np.divmod(np.arange(rows * (cols - 1)), cols - 1)  # horizontal (r,c)-(r,c+1)
    r_v, c_v = np.divmod(np.arange((rows - 1) * cols), cols)  # vertical (r,c)-(r+1,c)
    eu = np.concatenate([idx[r_h, c_h], idx[r_v, c_v]])
    ev = np.concatenate([idx[r_h, c_h + 1], idx[r_v + 1, c_v]])
    cls = np.concatenate([row_cls[r_h], col_cls[c_v]])

    # compounds: paint block labels, a segment is interior when both its blocks match
    labels = np.full((rows + 1, cols + 1), -1, dtype=np.int64)  # padded block grid
    n_blocks = (rows - 1) * (cols - 1)
    n_comp = round(_COMPOUND_BLOCK_SHARE * n_blocks / 9.0)
    hw = rng.integers(*_COMPOUND_SIDE, size=(n_comp, 2))
    r0 = (rng.random(n_comp) * np.maximum(rows - 1 - hw[:, 0], 1)).astype(np.int64)
    c0 = (rng.random(n_comp) * np.maximum(cols - 1 - hw[:, 1], 1)).astype(np.int64)
    for i in range(n_comp):  # a few thousand small slice assignments
        labels[1 + r0[i] : 1 + r0[i] + hw[i, 0], 1 + c0[i] : 1 + c0[i] + hw[i, 1]] = i
    a = np.concatenate([labels[r_h, c_h + 1], labels[r_v + 1, c_v]])
    b = np.concatenate([labels[r_h + 1, c_h + 1], labels[r_v + 1, c_v + 1]])
    interior = (a >= 0) & (a == b) & (cls == 0)

    dropped = (cls == 0) & (rng.random(len(cls)) < _DROP_SHARE)
    keep = ~interior & ~dropped
    eu, ev, cls = eu[keep], ev[keep], cls[keep]
    deg = np.bincount(eu, minlength=rows * cols) + np.bincount(ev, minlength=rows * cols)
    return {
        "x": gx.ravel(),
        "y": gy.ravel(),
        "alive": deg > 0,
        "eu": eu,
        "ev": ev,
        "cls": cls,
        "blocks": labels[1:rows, 1:cols],  # (rows-1, cols-1), -1 = ordinary block
        "shape": np.array([rows, cols]),
    }


def _line_classes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Class code of each of ``n`` grid lines: local (0), primary or motorway."""
    out = np.zeros(n, dtype=np.int64)
    gaps = rng.integers(*_ARTERIAL_GAP, size=n // _ARTERIAL_GAP[0] + 1)
    pos = np.cumsum(gaps) - gaps[0] // 2
    out[pos[(pos >= 0) & (pos < n)]] = _PRIM
    n_motor = max(1, round(n / _MOTORWAY_EVERY))
    lo, hi = n // 5, max(n // 5 + 1, (4 * n) // 5)
    out[rng.choice(np.arange(lo, hi), size=min(n_motor, hi - lo), replace=False)] = _MOTOR
    return out


def _fill_stage(rng: np.random.Generator, grid: dict[str, np.ndarray], n_nodes: int) -> dict:
    """Add curve, diagonal, short-edge and spur vertices up to exactly ``n_nodes``."""
    alive = grid["alive"]
    new_of_grid = np.cumsum(alive) - 1  # grid index -> node index
    px, py = [grid["x"][alive]], [grid["y"][alive]]
    n_grid = int(alive.sum())
    extra = n_nodes - n_grid
    k_curve = round(_EXTRA_MIX["curve"] * extra)
    k_diag = round(_EXTRA_MIX["diag"] * extra)
    k_short = round(_EXTRA_MIX["short"] * extra)
    k_spur = extra - k_curve - k_diag - k_short

    a = new_of_grid[grid["eu"]]
    b = new_of_grid[grid["ev"]]
    cls = grid["cls"].copy()
    local = cls == 0
    u_draw = rng.random(len(cls))
    cls[local] = np.select([u_draw[local] < 0.84, u_draw[local] < 0.93], [_RES, _FOOT], default=_SERV)
    way = _WAY_ID_BASE + np.arange(len(cls), dtype=np.int64)
    next_way = int(way[-1]) + 1 if len(way) else _WAY_ID_BASE
    x0, y0 = px[0], py[0]

    # split candidates: every non-motorway segment; disjoint sets for curves / shorts
    cand = rng.permutation(np.flatnonzero(cls != _MOTOR))
    curve_e, short_e = cand[:k_curve], cand[k_curve : k_curve + k_short]
    split = np.zeros(len(cls), dtype=bool)
    split[curve_e] = True
    split[short_e] = True

    seg_a, seg_b, seg_c, seg_w = [a[~split]], [b[~split]], [cls[~split]], [way[~split]]
    nid = n_grid

    # curved streets: midpoint offset sideways
    ca, cb = a[curve_e], b[curve_e]
    dx, dy = x0[cb] - x0[ca], y0[cb] - y0[ca]
    ln = np.hypot(dx, dy)
    off = rng.uniform(4.0, 15.0, k_curve) * rng.choice([-1.0, 1.0], k_curve)
    px.append((x0[ca] + x0[cb]) / 2 - dy / ln * off)
    py.append((y0[ca] + y0[cb]) / 2 + dx / ln * off)
    mid = nid + np.arange(k_curve)
    nid += k_curve
    seg_a += [ca, mid]
    seg_b += [mid, cb]
    seg_c += [cls[curve_e]] * 2
    seg_w += [way[curve_e]] * 2

    # short edges: split 2-8 m from a random end; the short piece is sometimes steps
    sa, sb = a[short_e], b[short_e]
    swap = rng.random(k_short) < 0.5
    sa, sb = np.where(swap, sb, sa), np.where(swap, sa, sb)
    dx, dy = x0[sb] - x0[sa], y0[sb] - y0[sa]
    t = rng.uniform(2.0, 8.0, k_short) / np.hypot(dx, dy)
    px.append(x0[sa] + t * dx)
    py.append(y0[sa] + t * dy)
    pt = nid + np.arange(k_short)
    nid += k_short
    steps = rng.random(k_short) < 0.4
    steps_way = next_way + np.arange(k_short)
    next_way += k_short
    seg_a += [sa, pt]
    seg_b += [pt, sb]
    seg_c += [np.where(steps, _STEPS, cls[short_e]), cls[short_e]]
    seg_w += [np.where(steps, steps_way, way[short_e]), way[short_e]]

    # diagonal paths across ordinary blocks whose corners exist
    cols = int(grid["shape"][1])
    br, bc = np.divmod(np.flatnonzero(grid["blocks"].ravel() < 0), cols - 1)
    anti = rng.random(len(br)) < 0.5
    g_from = br * cols + bc + anti  # (r,c) or (r,c+1)
    g_to = (br + 1) * cols + bc + ~anti  # (r+1,c+1) or (r+1,c)
    ok = alive[g_from] & alive[g_to]
    pick = rng.choice(np.flatnonzero(ok), size=k_diag, replace=False)
    da, db = new_of_grid[g_from[pick]], new_of_grid[g_to[pick]]
    dx, dy = x0[db] - x0[da], y0[db] - y0[da]
    ln = np.hypot(dx, dy)
    off = rng.normal(0.0, 6.0, k_diag)
    px.append((x0[da] + x0[db]) / 2 - dy / ln * off)
    py.append((y0[da] + y0[db]) / 2 + dx / ln * off)
    mid = nid + np.arange(k_diag)
    nid += k_diag
    dcls = np.where(rng.random(k_diag) < 0.6, _FOOT, _RES)
    dway = next_way + np.arange(k_diag)
    next_way += k_diag
    seg_a += [da, mid]
    seg_b += [mid, db]
    seg_c += [dcls] * 2
    seg_w += [dway] * 2

    # dead-end spurs into a block
    root = rng.choice(n_grid, size=k_spur, replace=False)
    ang = np.pi / 4 + np.pi / 2 * rng.integers(0, 4, k_spur) + rng.normal(0.0, 0.15, k_spur)
    ln = rng.uniform(15.0, 40.0, k_spur)
    px.append(x0[root] + ln * np.cos(ang))
    py.append(y0[root] + ln * np.sin(ang))
    tip = nid + np.arange(k_spur)
    nid += k_spur
    u_draw = rng.random(k_spur)
    seg_a.append(root)
    seg_b.append(tip)
    seg_c.append(np.select([u_draw < 0.55, u_draw < 0.90], [_SERV, _FOOT], default=_RES))
    seg_w.append(next_way + np.arange(k_spur))
    next_way += k_spur

    assert nid == n_nodes
    return {
        "x": np.concatenate(px),
        "y": np.concatenate(py),
        "a": np.concatenate(seg_a),
        "b": np.concatenate(seg_b),
        "cls": np.concatenate(seg_c),
        "way": np.concatenate(seg_w),
        "next_way": next_way,
    }


def _to_gdfs(rng: np.random.Generator, net: dict) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Add bends and parallel edges, expand both directions, build the GeoDataFrames."""
    x, y = net["x"], net["y"]
    a, b, cls, way = net["a"], net["b"], net["cls"], net["way"]
    n = len(x)
    dx, dy = x[b] - x[a], y[b] - y[a]
    ln = np.hypot(dx, dy)

    # non-vertex bends (geometry only)
    bend_off = np.where(
        (ln > 20.0) & (rng.random(len(a)) < _BEND_SHARE),
        rng.uniform(-6.0, 6.0, len(a)),
        0.0,
    )
    # parallel edges (key 1), always bent so they are longer
    par = np.flatnonzero((ln > 20.0) & (cls != _MOTOR) & (rng.random(len(a)) < _PARALLEL_SHARE))
    n_par = len(par)
    par_off = rng.uniform(8.0, 20.0, n_par) * rng.choice([-1.0, 1.0], n_par)
    par_cls = np.where(rng.random(n_par) < 0.5, _FOOT, _SERV)
    next_way = net["next_way"]
    a = np.concatenate([a, a[par]])
    b = np.concatenate([b, b[par]])
    cls = np.concatenate([cls, par_cls])
    way = np.concatenate([way, next_way + np.arange(n_par)])
    next_way += n_par
    key = np.concatenate([np.zeros(len(bend_off), np.int64), np.ones(n_par, np.int64)])
    off = np.concatenate([bend_off, par_off])
    dx, dy, ln = (
        np.concatenate([dx, dx[par]]),
        np.concatenate([dy, dy[par]]),
        np.concatenate([ln, ln[par]]),
    )
    m = len(a)
    bent = off != 0.0
    bx = (x[a] + x[b]) / 2 - dy / ln * off
    by = (y[a] + y[b]) / 2 + dx / ln * off

    # street count per node (undirected streets, parallel edges count separately)
    street_count = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)

    # both directions; motorways are two one-way carriageways with their own osmid
    motor = cls == _MOTOR
    motor_way = np.full(m, -1, dtype=np.int64)
    motor_way[motor] = next_way + np.arange(int(motor.sum()))
    u = np.concatenate([a, b])
    v = np.concatenate([b, a])
    rev = np.concatenate([np.zeros(m, bool), ~motor])
    osmid = np.concatenate([way, np.where(motor, motor_way, way)])
    oneway = np.concatenate([motor, motor])
    hw = np.asarray(HIGHWAY_CLASSES, dtype=object)[np.concatenate([cls, cls])]
    keys = np.concatenate([key, key])
    bent2 = np.concatenate([bent, bent])
    bx2, by2 = np.concatenate([bx, bx]), np.concatenate([by, by])

    npts = 2 + bent2
    start = np.concatenate([[0], np.cumsum(npts)[:-1]])
    coords = np.empty((int(npts.sum()), 2))
    coords[start] = np.column_stack([x[u], y[u]])
    coords[start + npts - 1] = np.column_stack([x[v], y[v]])
    coords[start[bent2] + 1] = np.column_stack([bx2[bent2], by2[bent2]])
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(u)), npts))
    length = shapely.length(geoms)

    # OSM-like node ids in random spatial order; rows sorted by id like osmnx output
    ids = _NODE_ID_BASE + np.cumsum(rng.integers(1, 40, n)).astype(np.int64)
    node_id = ids[rng.permutation(n)]
    order = np.argsort(node_id)
    nodes = gpd.GeoDataFrame(
        {"y": y[order], "x": x[order], "street_count": street_count[order]},
        index=pd.Index(node_id[order], name="osmid"),
        geometry=shapely.points(x[order], y[order]),
        crs=CRS,
    )

    eorder = np.lexsort((keys, node_id[v], node_id[u]))
    index = pd.MultiIndex.from_arrays([node_id[u][eorder], node_id[v][eorder], keys[eorder]], names=["u", "v", "key"])
    edges = gpd.GeoDataFrame(
        {
            "osmid": osmid[eorder],
            "highway": hw[eorder],
            "oneway": oneway[eorder],
            "reversed": rev[eorder],
            "length": length[eorder],
        },
        index=index,
        geometry=geoms[eorder],
        crs=CRS,
    )
    return nodes, edges
