"""The walk network as sparse arrays, snapping onto edges, batched shortest paths.

One routing engine serves every analysis: the network is held as flat numpy arrays
(nodes, edges with their geometry in a metric CRS) and, per travel profile, as a
compressed sparse row matrix of travel times in seconds.  Shortest paths are
``scipy.sparse.csgraph.dijkstra`` calls over many sources at once, with a time
limit, in chunks so that memory stays bounded.

Origins (facilities, homes, drawn points) are snapped onto the nearest *edge*, not
the nearest node: each becomes a virtual source node with two out-arcs, to the
edge's ends, costing the access leg (point to street, at the profile's access
speed) plus the partial edge in each allowed direction.  Virtual nodes have no
in-arcs, so they never carry another origin's path.

Costs are seconds; lengths and coordinates metres in ``WalkNetwork.crs``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from geo import settings
from geo.errors import CRSError, EmptyNetworkError, InputDataError
from geo.io import sources
from geo.io.crs import WGS84, check_lonlat, metric_crs, to_crs
from geo.io.sources import LoadReport, StreetTable
from geo.settings import TravelProfile, get_profile

logger = logging.getLogger(__name__)

__all__ = [
    "CostGraph",
    "NearestOrigin",
    "ReachSets",
    "Snapped",
    "WalkNetwork",
    "build_network",
    "load_network",
    "nearest_origins",
    "network_from_gdfs",
    "reach_sets",
    "read_cached_network",
    "save_network",
    "snap_points",
]

#: Version of the cache layout and of the build rules: bump when either changes.
CACHE_VERSION = 1


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A walkable street network in a projected metric CRS.

    Attributes
    ----------
    crs
        Projected CRS of every coordinate and geometry (metres).
    node_id
        int64 (n,): source ids of the nodes (OSM node ids).
    node_xy
        float64 (n, 2): node coordinates in ``crs``.
    edge_u, edge_v
        int32 (m,): node indices of each edge's ends; the geometry runs from u to v.
    edge_length_m
        float64 (m,): length of each edge's geometry.
    edge_geometry
        shapely LineString array (m,) in ``crs``.
    edge_highway, edge_name
        object (m,): ``highway=*`` class and street name.
    edge_oneway
        int8 (m,): 0 two-way, 1 one-way along the geometry, -1 against it (binds
        only profiles with ``respects_oneway``).
    edge_bicycle_contraflow
        bool (m,): ``oneway:bicycle=no``.
    report
        What loading dropped and why.
    source_key
        Fingerprint of the source and settings (cache key).
    """

    crs: CRS
    node_id: np.ndarray
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_geometry: np.ndarray
    edge_highway: np.ndarray
    edge_name: np.ndarray
    edge_oneway: np.ndarray
    edge_bicycle_contraflow: np.ndarray
    report: LoadReport
    source_key: str = ""
    _graphs: dict = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return int(self.edge_u.shape[0])

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the nodes in ``crs`` (metres)."""
        lo = self.node_xy.min(axis=0)
        hi = self.node_xy.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def cost_graph(self, profile: str | TravelProfile = settings.DEFAULT_PROFILE) -> CostGraph:
        """The routing graph of ``profile`` (built once, then reused)."""
        prof = get_profile(profile)
        graph = self._graphs.get(repr(prof))
        if graph is None:
            graph = _build_cost_graph(self, prof)
            self._graphs[repr(prof)] = graph
        return graph

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """The edges as a GeoDataFrame in ``crs`` (for display and export)."""
        return gpd.GeoDataFrame(
            {
                "u": self.node_id[self.edge_u],
                "v": self.node_id[self.edge_v],
                "highway": self.edge_highway,
                "name": self.edge_name,
                "length_m": self.edge_length_m,
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )


@dataclass(frozen=True, eq=False)
class CostGraph:
    """The routing graph of one travel profile on a :class:`WalkNetwork`.

    Attributes
    ----------
    network
        The network it was built from.
    profile
        The travel profile.
    csr
        (n, n) sparse matrix of arc travel times in seconds (the fastest of parallel arcs).
    fwd_s_per_m, bwd_s_per_m
        float64 (m,): seconds per metre along each edge from u to v and from v to u;
        ``inf`` where the profile may not travel that way.
    node_ok
        bool (n,): nodes of the profile's largest strongly connected component;
        origins are snapped only onto edges between two such nodes.
    """

    network: WalkNetwork
    profile: TravelProfile
    csr: sparse.csr_array
    fwd_s_per_m: np.ndarray
    bwd_s_per_m: np.ndarray
    node_ok: np.ndarray

    @cached_property
    def snappable_edges(self) -> np.ndarray:
        """Indices of the edges origins may be snapped onto."""
        net = self.network
        usable = np.isfinite(self.fwd_s_per_m) | np.isfinite(self.bwd_s_per_m)
        return np.flatnonzero(usable & self.node_ok[net.edge_u] & self.node_ok[net.edge_v])

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index of :attr:`snappable_edges` geometries."""
        return shapely.STRtree(self.network.edge_geometry[self.snappable_edges])

    @property
    def access_s_per_m(self) -> float:
        """Seconds per metre of the leg between a point and the street."""
        return 3.6 / self.profile.access_speed_kmh


# --------------------------------------------------------------------------- build


def _edge_speeds_mps(highway: np.ndarray, profile: TravelProfile) -> np.ndarray:
    speed_kmh = np.full(highway.shape[0], profile.speed_kmh, dtype=float)
    for cls, kmh in profile.class_speed_kmh.items():
        speed_kmh[highway == cls] = kmh
    return np.maximum(speed_kmh, profile.min_speed_kmh) / 3.6


def _build_cost_graph(net: WalkNetwork, profile: TravelProfile) -> CostGraph:
    s_per_m = 1.0 / _edge_speeds_mps(net.edge_highway, profile)
    forbidden = np.isin(net.edge_highway, list(profile.forbidden_highways))
    fwd = np.where(forbidden, np.inf, s_per_m)
    bwd = fwd.copy()
    if profile.respects_oneway:
        contra = net.edge_bicycle_contraflow
        bwd[(net.edge_oneway == 1) & ~contra] = np.inf
        fwd[(net.edge_oneway == -1) & ~contra] = np.inf
    length = net.edge_length_m
    tail = np.concatenate([net.edge_u, net.edge_v])
    head = np.concatenate([net.edge_v, net.edge_u])
    cost = np.concatenate([length * fwd, length * bwd])
    keep = np.isfinite(cost) & (tail != head)
    csr = _min_csr(tail[keep], head[keep], cost[keep], net.n_nodes)
    n_comp, labels = csgraph.connected_components(csr, directed=True, connection="strong")
    node_ok = labels == np.bincount(labels).argmax() if n_comp > 1 else np.ones(net.n_nodes, dtype=bool)
    logger.info(
        "cost graph %s: %d arcs, %d nodes in the largest strongly connected component",
        profile.name,
        csr.nnz,
        int(node_ok.sum()),
    )
    return CostGraph(network=net, profile=profile, csr=csr, fwd_s_per_m=fwd, bwd_s_per_m=bwd, node_ok=node_ok)


def _min_csr(tail: np.ndarray, head: np.ndarray, cost: np.ndarray, n: int) -> sparse.csr_array:
    """CSR matrix keeping the smallest cost of parallel arcs (scipy would sum them)."""
    order = np.lexsort((cost, head, tail))
    tail, head, cost = tail[order], head[order], cost[order]
    first = np.ones(tail.size, dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    return sparse.csr_array((cost[first], (tail[first], head[first])), shape=(n, n))


def build_network(
    table: StreetTable,
    *,
    boundary: shapely.Geometry | None = None,
    buffer_m: float = settings.CLIP_BUFFER_M,
    epsg: object | None = None,
    source_key: str = "",
) -> WalkNetwork:
    """Project, clip, validate and reduce a street table to its largest component.

    Parameters
    ----------
    table
        Walkable street segments in WGS84 (from :mod:`geo.io.sources`).
    boundary
        Study area polygon in WGS84; edges not within ``buffer_m`` of it are dropped.
    buffer_m
        Clip margin around ``boundary`` (metres).
    epsg
        Projected CRS to use (EPSG code or anything pyproj reads); ``None`` picks the
        UTM zone of the data.  CGCS2000 Gauss-Kruger zones work.
    source_key
        Fingerprint stored with the network (cache key).

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputDataError
        Empty or broken geometries, lengths that are not finite.
    CRSError
        If ``epsg`` is not a projected metric CRS covering the data.
    EmptyNetworkError
        If nothing walkable is left after clipping.
    """
    report = table.report
    edges = table.edges
    if edges.crs is None or not CRS(edges.crs).equals(WGS84):
        raise CRSError("道路表必须是 WGS84 经纬度 (street table must be in EPSG:4326)")
    geoms = edges.geometry.to_numpy()
    broken = shapely.is_empty(geoms) | (shapely.get_num_coordinates(geoms) < 2) | shapely.is_missing(geoms)
    if broken.any():
        i = int(np.flatnonzero(broken)[0])
        raise InputDataError(
            f"路段 ({edges['u'].iloc[i]} -> {edges['v'].iloc[i]}) 几何为空或少于两个点 "
            f"(edge geometry empty or with fewer than 2 points)"
        )
    coords = shapely.get_coordinates(geoms)
    check_lonlat(coords[:, 0], coords[:, 1], what="路段坐标 (edge coordinates)")
    crs = metric_crs(coords[:, 0], coords[:, 1], epsg=epsg)
    projected = edges.to_crs(crs)
    if boundary is not None:
        area = gpd.GeoSeries([boundary], crs=WGS84).to_crs(crs).iloc[0].buffer(buffer_m)
        shapely.prepare(area)
        inside = shapely.intersects(projected.geometry.to_numpy(), area)
        report.edges_outside_area = int((~inside).sum())
        projected = projected.loc[inside]
    if projected.empty:
        raise EmptyNetworkError("研究区范围内没有可步行的道路 (no walkable street inside the study area)")
    geom = projected.geometry.to_numpy()
    length = shapely.length(geom)
    if not np.isfinite(length).all():
        raise InputDataError("路段长度不是有限数，坐标可能有误 (edge lengths are not finite)")
    short = length < settings.MIN_EDGE_LENGTH_M
    report.edges_zero_length = int(short.sum())
    length = np.maximum(length, settings.MIN_EDGE_LENGTH_M)

    ids, inverse = np.unique(
        np.concatenate([projected["u"].to_numpy(), projected["v"].to_numpy()]), return_inverse=True
    )
    m = len(projected)
    u, v = inverse[:m].astype(np.int32), inverse[m:].astype(np.int32)
    ends = np.concatenate(
        [shapely.get_coordinates(shapely.get_point(geom, 0)), shapely.get_coordinates(shapely.get_point(geom, -1))]
    )
    node_xy = np.empty((ids.size, 2))
    node_xy[inverse[::-1]] = ends[::-1]  # first occurrence wins

    # Largest connected component of the pedestrian graph (two-way everywhere, so
    # weakly and strongly connected coincide); profiles bound by oneway restrict
    # themselves further in their cost graph.
    adjacency = sparse.coo_array((np.ones(m), (u, v)), shape=(ids.size, ids.size))
    n_comp, labels = csgraph.connected_components(adjacency, directed=False)
    main = np.bincount(labels).argmax()
    keep_node = labels == main
    keep_edge = keep_node[u]
    report.nodes_not_in_main_component = int((~keep_node).sum())
    report.edges_not_in_main_component = int((~keep_edge).sum())
    new_index = np.cumsum(keep_node) - 1
    net = WalkNetwork(
        crs=crs,
        node_id=ids[keep_node].astype(np.int64),
        node_xy=node_xy[keep_node],
        edge_u=new_index[u[keep_edge]].astype(np.int32),
        edge_v=new_index[v[keep_edge]].astype(np.int32),
        edge_length_m=length[keep_edge],
        edge_geometry=geom[keep_edge],
        edge_highway=projected["highway"].to_numpy(object)[keep_edge],
        edge_name=projected["name"].to_numpy(object)[keep_edge],
        edge_oneway=projected["oneway"].to_numpy(np.int8)[keep_edge],
        edge_bicycle_contraflow=projected["bicycle_contraflow"].to_numpy(bool)[keep_edge],
        report=report,
        source_key=source_key,
    )
    logger.info(
        "walk graph: %s nodes, %s edges, %.1f km, %s (%d components, kept the largest)",
        f"{net.n_nodes:,}",
        f"{net.n_edges:,}",
        net.edge_length_m.sum() / 1000.0,
        crs.to_string(),
        n_comp,
    )
    return net


def network_from_gdfs(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, *, epsg: object | None = None) -> WalkNetwork:
    """Build a network from osmnx-style ``(nodes, edges)`` GeoDataFrames (any CRS).

    ``epsg`` defaults to the edges' own CRS when it is projected.
    """
    table = sources.gdfs_to_table(nodes, edges, "gdfs")
    if epsg is None and edges.crs is not None and CRS(edges.crs).is_projected:
        epsg = edges.crs
    return build_network(table, epsg=epsg)


# --------------------------------------------------------------------------- cache


def _cache_key(source: str, fingerprint: str, boundary, buffer_m: float, epsg) -> str:
    blob = json.dumps(
        {
            "v": CACHE_VERSION,
            "source": source,
            "fingerprint": fingerprint,
            "boundary": shapely.to_wkb(boundary, hex=True) if boundary is not None else None,
            "buffer_m": buffer_m,
            "epsg": str(epsg),
            "walkable": sorted(settings.WALKABLE_HIGHWAYS),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def save_network(net: WalkNetwork, path: Path) -> None:
    """Write ``net`` to an ``.npz`` file (no pickle), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        crs=np.array(net.crs.to_wkt()),
        node_id=net.node_id,
        node_xy=net.node_xy,
        edge_u=net.edge_u,
        edge_v=net.edge_v,
        edge_length_m=net.edge_length_m,
        edge_wkb=np.array(shapely.to_wkb(net.edge_geometry), dtype=object).astype("S"),
        edge_highway=net.edge_highway.astype(str),
        edge_name=net.edge_name.astype(str),
        edge_oneway=net.edge_oneway,
        edge_bicycle_contraflow=net.edge_bicycle_contraflow,
        report=np.array(json.dumps(net.report.__dict__, ensure_ascii=False)),
        source_key=np.array(net.source_key),
    )
    tmp.replace(path)


def read_cached_network(path: Path) -> WalkNetwork:
    """Read a network written by :func:`save_network`."""
    with np.load(path, allow_pickle=False) as data:
        return WalkNetwork(
            crs=CRS.from_wkt(str(data["crs"])),
            node_id=data["node_id"],
            node_xy=data["node_xy"],
            edge_u=data["edge_u"],
            edge_v=data["edge_v"],
            edge_length_m=data["edge_length_m"],
            edge_geometry=shapely.from_wkb(data["edge_wkb"]),
            edge_highway=data["edge_highway"].astype(object),
            edge_name=data["edge_name"].astype(object),
            edge_oneway=data["edge_oneway"],
            edge_bicycle_contraflow=data["edge_bicycle_contraflow"],
            report=LoadReport(**json.loads(str(data["report"]))),
            source_key=str(data["source_key"]),
        )


def load_network(
    source: str | Path,
    *,
    boundary: shapely.Geometry | None = None,
    buffer_m: float = settings.CLIP_BUFFER_M,
    epsg: object | None = None,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
) -> WalkNetwork:
    """Load a walkable network from ``"demo"``, a file, or ``"online:PLACE"``.

    Parameters
    ----------
    source
        ``"demo"`` (the bundled Helsinki extract), a path to ``.osm.pbf``, ``.osm`` or
        ``.graphml``, or ``"online:<place name>"`` for an osmnx download (needs the
        internet; with ``boundary`` and ``"online:"`` the polygon is downloaded).
    boundary
        Study area polygon in WGS84 degrees; the network is clipped to it plus ``buffer_m``.
    buffer_m
        Clip margin in metres.
    epsg
        Projected CRS to work in; ``None`` picks the UTM zone.
    cache_dir
        Where built networks are cached by source content and settings; ``None``
        disables the cache.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputDataError
        Unknown file kind, missing file, bad content (see :mod:`geo.io.sources`).
    NetworkUnavailableError
        For ``online:`` without internet.
    CRSError, EmptyNetworkError
        See :func:`build_network`.
    """
    if isinstance(source, str) and source.startswith("online:"):
        place = source.removeprefix("online:").strip() or None
        table = sources.read_online(place if boundary is None else None, polygon=boundary)
        return build_network(table, boundary=boundary, buffer_m=buffer_m, epsg=epsg, source_key=source)
    path = sources.demo_pbf_path() if source == sources.DEMO else Path(source)
    if not path.is_file():
        raise InputDataError(
            f"路网文件不存在或不是普通文件: {Path(source).name} (network file not found; "
            f"give 'demo', an .osm.pbf/.osm/.graphml file or 'online:PLACE')"
        )
    name = path.name.lower()
    if not (name.endswith(sources.OSM_SUFFIXES) or name.endswith(".graphml")):
        raise InputDataError(
            f"不支持的路网文件类型 {path.name}；支持 .osm.pbf、.osm、.graphml (unsupported network file)"
        )
    key = _cache_key(
        str(source) if source == sources.DEMO else name, sources.source_fingerprint(path), boundary, buffer_m, epsg
    )
    cached = Path(cache_dir) / f"network-{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        try:
            net = read_cached_network(cached)
            logger.info("walk graph from cache %s", cached.name)
            return net
        except (OSError, ValueError, KeyError) as exc:  # a damaged cache is rebuilt
            logger.warning("ignoring damaged network cache %s: %s", cached.name, exc)
    bbox = None
    if boundary is not None:
        # Degrees per metre at the equator bound the clip margin from above.
        pad = buffer_m / 111_000.0 * 2.0
        w, s, e, n = shapely.bounds(boundary)
        bbox = (w - pad, s - pad, e + pad, n + pad)
    table = sources.read_graphml(path) if name.endswith(".graphml") else sources.read_osm_file(path, bbox=bbox)
    net = build_network(table, boundary=boundary, buffer_m=buffer_m, epsg=epsg, source_key=key)
    if cached is not None:
        try:
            save_network(net, cached)
        except OSError as exc:  # a read-only cache must not stop the analysis
            logger.warning("could not write network cache %s: %s", cached, exc)
    return net


# -------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class Snapped:
    """Points placed on the network's edges.

    Attributes
    ----------
    xy
        float64 (k, 2): the points in the network's CRS.
    edge
        int64 (k,): edge each point is snapped onto, -1 if not snapped.
    pos_m
        float64 (k,): position of the snapped point along the edge, metres from u.
    access_m
        float64 (k,): straight distance from the point to the edge (metres).
    ok
        bool (k,): snapped within the tolerance onto the profile's main component.
    """

    xy: np.ndarray
    edge: np.ndarray
    pos_m: np.ndarray
    access_m: np.ndarray
    ok: np.ndarray

    def __len__(self) -> int:
        return int(self.xy.shape[0])

    def status_zh(self) -> np.ndarray:
        """Per point: ``"已连通"`` or ``"距道路过远/设施不连通"`` (too far from the walk network)."""
        return np.where(self.ok, "已连通 (snapped)", "距道路过远/设施不连通 (not on the walk network)")


def snap_points(
    graph: CostGraph,
    points: gpd.GeoSeries | np.ndarray,
    *,
    crs: object | None = None,
    max_snap_m: float = settings.MAX_SNAP_DIST_M,
) -> Snapped:
    """Snap points onto the nearest usable edge of ``graph``'s main component.

    Parameters
    ----------
    graph
        Routing graph of a profile.
    points
        A GeoSeries with a CRS, or an (k, 2) array of x/y in ``crs``.
    crs
        CRS of an array of points (required for arrays: the CRS is asserted on every
        query, BAD_INPUTS N8).
    max_snap_m
        Points farther than this from every usable edge are not snapped and are
        reported in ``Snapped.ok`` (N5).

    Returns
    -------
    Snapped

    Raises
    ------
    CRSError
        Points without a CRS, or in a CRS that puts them nowhere near the network.
    """
    net = graph.network
    if isinstance(points, gpd.GeoSeries | gpd.GeoDataFrame):
        series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if series.crs is None:
            raise CRSError("点数据没有坐标系 (points have no CRS); 请说明坐标系，例如 EPSG:4326")
        geoms = series.to_crs(net.crs).to_numpy()
        if not shapely.is_empty(geoms).any() and (shapely.get_type_id(geoms) != 0).any():
            geoms = shapely.centroid(geoms)
        xy = shapely.get_coordinates(geoms)
        if xy.shape[0] != len(series):
            raise InputDataError("点数据含有空几何 (points contain empty geometries)")
    else:
        if crs is None:
            raise CRSError(
                "坐标数组必须给出坐标系 crs (an array of coordinates needs crs=...; the network is in "
                f"{net.crs.to_string()})"
            )
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        src = to_crs(crs)
        if not src.equals(net.crs):
            if src.is_geographic:
                check_lonlat(xy[:, 0], xy[:, 1], what="点坐标 (point coordinates)")
            xy = shapely.get_coordinates(gpd.GeoSeries(shapely.points(xy), crs=src).to_crs(net.crs).to_numpy())
    if not np.isfinite(xy).all():
        raise InputDataError("点坐标含有 NaN/无穷大 (point coordinates are not finite)")
    k = xy.shape[0]
    edge = np.full(k, -1, dtype=np.int64)
    pos = np.zeros(k)
    access = np.full(k, np.inf)
    if k:
        pts = shapely.points(xy)
        (pi, ti), dist = graph.edge_tree.query_nearest(
            pts, max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        edge[pi] = graph.snappable_edges[ti]
        access[pi] = dist
        pos[pi] = shapely.line_locate_point(net.edge_geometry[edge[pi]], pts[pi])
        ok = edge >= 0
        if not ok.any():
            _check_points_near_network(net, xy)
    else:
        ok = np.zeros(0, dtype=bool)
    if (~ok).any():
        logger.info("snapping: %d of %d points farther than %.0f m from the network", int((~ok).sum()), k, max_snap_m)
    return Snapped(xy=xy, edge=edge, pos_m=pos, access_m=access, ok=ok)


def _check_points_near_network(net: WalkNetwork, xy: np.ndarray) -> None:
    """Raise when no point lies anywhere near the network: a CRS mix-up (N8)."""
    minx, miny, maxx, maxy = net.bounds
    margin = max(maxx - minx, maxy - miny)
    inside = (
        (xy[:, 0] > minx - margin)
        & (xy[:, 0] < maxx + margin)
        & (xy[:, 1] > miny - margin)
        & (xy[:, 1] < maxy + margin)
    )
    if not inside.any():
        raise CRSError(
            "所有点都远离路网，坐标系可能不符或经纬度颠倒 (all points are far from the network: "
            f"wrong CRS or swapped axes? network in {net.crs.to_string()})"
        )


# ------------------------------------------------------------------ shortest paths


def _augmented(graph: CostGraph, snapped: Snapped, origins: np.ndarray) -> tuple[sparse.csr_array, np.ndarray]:
    """The routing matrix with one virtual source node per origin in ``origins``.

    Returns the (n + k, n + k) matrix and the virtual node index of each origin.
    """
    net = graph.network
    n = net.n_nodes
    k = origins.size
    e = snapped.edge[origins]
    pos = snapped.pos_m[origins]
    access_s = snapped.access_m[origins] * graph.access_s_per_m
    virtual = n + np.arange(k)
    to_v = access_s + (net.edge_length_m[e] - pos) * graph.fwd_s_per_m[e]
    to_u = access_s + pos * graph.bwd_s_per_m[e]
    # Virtual nodes only get rows (out-arcs), appended after the network's rows, so
    # the augmented matrix is the network's CSR arrays with k rows added: no re-sort.
    head = np.stack([net.edge_v[e], net.edge_u[e]], axis=1)
    cost = np.stack([to_v, to_u], axis=1)
    ok = np.isfinite(cost)
    # On a loop edge (u == v) both arcs lead to one node: keep the cheaper, since
    # duplicate entries of a sparse row would be summed.
    loop = head[:, 0] == head[:, 1]
    ok[loop, 0] &= cost[loop, 0] <= cost[loop, 1]
    ok[loop, 1] &= ~ok[loop, 0]
    # Arc costs of exactly zero would vanish from a sparse matrix: an origin lying on
    # a node is given a cost of a microsecond instead.
    cost = np.maximum(cost, 1e-6)
    # Column indices ascending within each row, as in the network's rows, so that
    # the matrix is canonical and Dijkstra need not sort it on every call.
    swap = head[:, 0] > head[:, 1]
    head[swap] = head[swap][:, ::-1]
    cost[swap] = cost[swap][:, ::-1]
    ok[swap] = ok[swap][:, ::-1]
    base = graph.csr
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(ok.sum(axis=1))])
    indices = np.concatenate([base.indices, head[ok].astype(base.indices.dtype)])
    data = np.concatenate([base.data, cost[ok]])
    matrix = sparse.csr_array((data, indices, indptr.astype(base.indptr.dtype)), shape=(n + k, n + k))
    matrix.has_sorted_indices = bool(base.has_sorted_indices)
    return matrix, virtual


def _check_budget(max_time_s: float) -> None:
    limit = settings.MAX_BUDGET_MIN * 60.0
    if not (np.isfinite(max_time_s) and 0 < max_time_s <= limit):
        raise InputDataError(
            f"时间预算 max_time_s={max_time_s} 无效，应在 (0, {limit:.0f}] 秒之间 "
            f"(time budget must be in (0, {limit:.0f}] s)"
        )


@dataclass(frozen=True)
class ReachSets:
    """Every node each origin reaches within the budget, with its travel time.

    Attributes
    ----------
    origin
        int32 (r,): index of the origin (into the snapped points).
    node
        int32 (r,): node index.
    time_s
        float64 (r,): travel time from the origin to the node (seconds).
    n_origins, n_nodes
        Shape of the dense equivalent.
    max_time_s
        The budget.
    """

    origin: np.ndarray
    node: np.ndarray
    time_s: np.ndarray
    n_origins: int
    n_nodes: int
    max_time_s: float

    def to_csr(self) -> sparse.csr_array:
        """(n_origins, n_nodes) sparse matrix of times; a time of 0 is stored as 1e-9."""
        return sparse.csr_array(
            (np.maximum(self.time_s, 1e-9), (self.origin, self.node)), shape=(self.n_origins, self.n_nodes)
        )


def reach_sets(
    graph: CostGraph,
    snapped: Snapped,
    *,
    max_time_s: float,
    chunk_bytes: int = settings.DIJKSTRA_CHUNK_BYTES,
) -> ReachSets:
    """Nodes reached from every snapped origin within ``max_time_s`` seconds.

    One batched C-level Dijkstra per chunk of origins (sized so the dense distance
    block stays under ``chunk_bytes``); origins that did not snap reach nothing.

    Parameters
    ----------
    graph
        Routing graph.
    snapped
        Origins from :func:`snap_points`.
    max_time_s
        Budget in seconds (0 < budget <= ``MAX_BUDGET_MIN`` minutes).
    chunk_bytes
        Memory bound of one Dijkstra block.

    Returns
    -------
    ReachSets

    Raises
    ------
    InputDataError
        Budget not finite or out of range.
    """
    _check_budget(max_time_s)
    n = graph.network.n_nodes
    origins = np.flatnonzero(snapped.ok)
    matrix, virtual = _augmented(graph, snapped, origins)
    width = n + origins.size
    chunk = max(settings.DIJKSTRA_MIN_CHUNK if chunk_bytes >= 8 * width else 1, int(chunk_bytes // (8 * width)))
    parts_o, parts_n, parts_t = [], [], []
    for start in range(0, origins.size, chunk):
        block = csgraph.dijkstra(matrix, directed=True, indices=virtual[start : start + chunk], limit=max_time_s)
        # One pass over the dense block: flat indices of the reached entries.
        flat = np.flatnonzero(block < np.inf)
        rows, cols = np.divmod(flat, width)
        real = cols < n  # drop the virtual nodes' own columns
        parts_o.append(origins[start + rows[real]].astype(np.int32))
        parts_n.append(cols[real].astype(np.int32))
        parts_t.append(block.ravel()[flat[real]])
    if parts_o:
        return ReachSets(
            origin=np.concatenate(parts_o),
            node=np.concatenate(parts_n),
            time_s=np.concatenate(parts_t),
            n_origins=len(snapped),
            n_nodes=n,
            max_time_s=max_time_s,
        )
    empty = np.zeros(0, dtype=np.int32)
    return ReachSets(empty, empty, np.zeros(0), len(snapped), n, max_time_s)


@dataclass(frozen=True)
class NearestOrigin:
    """For every node, the nearest origin and the time to it.

    Attributes
    ----------
    time_s
        float64 (n,): time from the nearest origin (``inf`` beyond the budget).
    origin
        int64 (n,): index of that origin (into the snapped points), -1 if none.
    """

    time_s: np.ndarray
    origin: np.ndarray


def nearest_origins(graph: CostGraph, snapped: Snapped, *, max_time_s: float) -> NearestOrigin:
    """One multi-source Dijkstra: every node's nearest origin within ``max_time_s``.

    Raises
    ------
    InputDataError
        Budget not finite or out of range.
    """
    _check_budget(max_time_s)
    n = graph.network.n_nodes
    origins = np.flatnonzero(snapped.ok)
    if origins.size == 0:
        return NearestOrigin(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
    matrix, virtual = _augmented(graph, snapped, origins)
    dist, _, src = csgraph.dijkstra(
        matrix, directed=True, indices=virtual, limit=max_time_s, min_only=True, return_predecessors=True
    )
    src = src[:n]
    origin = np.where(src >= 0, origins[np.clip(src - n, 0, None)], -1)
    return NearestOrigin(time_s=dist[:n], origin=origin)
