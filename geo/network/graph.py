"""The walk network as sparse arrays: building it from OSM or GeoDataFrames, caching it, its cost graphs.

One routing engine serves every analysis: the network is held as flat numpy arrays
(nodes, edges with their geometry in a metric CRS) and, per travel profile, as a
compressed sparse row matrix of travel times in seconds (:class:`CostGraph`).
Snapping is in :mod:`geo.network.snapping`, shortest paths in :mod:`geo.network.reach`.

Costs are seconds; lengths and coordinates metres in ``WalkNetwork.crs``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
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
from geo.io.crs import WGS84, check_lonlat, metric_crs
from geo.io.sources import LoadReport, StreetTable
from geo.network.cell_voronoi import morton_keys
from geo.settings import TravelProfile, get_profile

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_VERSION",
    "CostGraph",
    "WalkNetwork",
    "build_network",
    "load_network",
    "network_from_gdfs",
    "read_cached_network",
    "save_network",
]

#: Version of the cache layout and of the build rules: bump when either changes.
CACHE_VERSION = 2  # 2: edges in Morton order of their midpoints


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
    #: The folder this network was cached in (``load_network``'s ``cache_dir``): its street
    #: cells are kept beside it unless a caller names another folder.
    cache_dir: Path | None = field(default=None, repr=False, compare=False)
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
    # Edges in space-filling-curve order of their midpoints: a walk from one place
    # reads neighbouring rows of every per-edge (and per-sample) array, so a county's
    # memory-mapped street cells are read in a few places, not page by page all over.
    kept = np.flatnonzero(keep_edge)
    middle = shapely.get_coordinates(shapely.line_interpolate_point(geom[kept], 0.5, normalized=True))
    kept = kept[np.argsort(morton_keys(middle), kind="stable")]
    net = WalkNetwork(
        crs=crs,
        node_id=ids[keep_node].astype(np.int64),
        node_xy=node_xy[keep_node],
        edge_u=new_index[u[kept]].astype(np.int32),
        edge_v=new_index[v[kept]].astype(np.int32),
        edge_length_m=length[kept],
        edge_geometry=geom[kept],
        edge_highway=projected["highway"].to_numpy(object)[kept],
        edge_name=projected["name"].to_numpy(object)[kept],
        edge_oneway=projected["oneway"].to_numpy(np.int8)[kept],
        edge_bicycle_contraflow=projected["bicycle_contraflow"].to_numpy(bool)[kept],
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
            object.__setattr__(net, "cache_dir", cached.parent)  # frozen: recorded once, on load
            return net
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # a damaged cache is rebuilt
            logger.warning("damaged network cache %s discarded, rebuilding: %s", cached.name, exc)
            cached.unlink(missing_ok=True)
    bbox = None
    if boundary is not None:
        # Degrees per metre at the equator bound the clip margin from above.
        pad = buffer_m / 111_000.0 * 2.0
        w, s, e, n = shapely.bounds(boundary)
        bbox = (w - pad, s - pad, e + pad, n + pad)
    table = sources.read_graphml(path) if name.endswith(".graphml") else sources.read_osm_file(path, bbox=bbox)
    net = build_network(table, boundary=boundary, buffer_m=buffer_m, epsg=epsg, source_key=key)
    if cached is not None:
        object.__setattr__(net, "cache_dir", cached.parent)
        try:
            save_network(net, cached)
        except OSError as exc:  # a read-only cache must not stop the analysis
            logger.warning("could not write network cache %s: %s", cached, exc)
    return net
