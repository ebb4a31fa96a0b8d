"""A study area ("project"): boundary, network, facilities and residents in one CRS.

A project is a small TOML file under ``data/projects/`` (or anywhere) naming where
each part comes from::

    name = "惠安县"
    boundary = "county:350521"          # or a WGS84 GeoJSON file, or "none"
    network = "huian.osm.pbf"           # "demo", a .osm.pbf/.osm/.graphml file, "online"
    facilities = "osm"                  # POIs of the network's OSM file, a file, or "none"
    demand = "buildings"                # buildings of the network's OSM file, a ledger CSV, or "none"
    profile = "walk"
    epsg = 4549                         # optional; default the UTM zone

Relative paths are relative to the project file.  Loading gives one
:class:`Project` whose parts are validated and in the network's metric CRS.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from geo import settings
from geo.boundaries import county
from geo.crs import WGS84
from geo.demand import residents_from_buildings, residents_from_compounds
from geo.errors import InputDataError
from geo.facilities import osm_facilities_all, read_facilities
from geo.network import WalkNetwork, load_network
from geo.settings import TravelProfile, get_profile
from geo.sources import DEMO, demo_pbf_path

logger = logging.getLogger(__name__)

__all__ = ["PROJECTS_DIR", "Project", "load_project", "project_path"]

PROJECTS_DIR = Path(__file__).resolve().parent.parent / "data" / "projects"
REQUIRED_KEYS = ("name", "network", "facilities", "demand")
ALLOWED_KEYS = frozenset((*REQUIRED_KEYS, "boundary", "profile", "epsg", "description"))


@dataclass(frozen=True, eq=False)
class Project:
    """One study area, every part in ``network.crs`` (metres).

    Attributes
    ----------
    name
        Name shown to planners.
    boundary
        Study-area polygon in the network's CRS, or ``None`` (the network's extent).
    network
        The walk network.
    facilities
        Facilities with ``function`` / ``type`` columns, points in the network's CRS.
    demand
        Demand points with ``residents`` (and ``households``), in the network's CRS.
    profile
        Default travel profile.
    source
        The project file.
    """

    name: str
    boundary: shapely.Geometry | None
    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    profile: TravelProfile
    source: Path


def project_path(name_or_path: str | Path) -> Path:
    """The TOML file of a bundled project name (``"demo"``) or a path.

    Raises
    ------
    InputDataError
        If no such project file exists.
    """
    path = Path(name_or_path)
    if path.suffix.lower() != ".toml":
        path = PROJECTS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        bundled = ", ".join(sorted(p.stem for p in PROJECTS_DIR.glob("*.toml")))
        raise InputDataError(
            f"找不到项目 {Path(name_or_path).name}；内置项目: {bundled}，或给出 .toml 文件 "
            f"(project not found; bundled: {bundled})"
        )
    return path


def _read_spec(path: Path) -> dict:
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputDataError(f"项目文件 {path.name} 格式错误: {exc} (invalid TOML)") from exc
    missing = [k for k in REQUIRED_KEYS if k not in spec]
    if missing:
        raise InputDataError(f"项目文件 {path.name} 缺少字段 {missing} (missing keys)")
    unknown = sorted(set(spec) - ALLOWED_KEYS)
    if unknown:
        raise InputDataError(
            f"项目文件 {path.name} 有未知字段 {unknown}；可用字段: {sorted(ALLOWED_KEYS)} (unknown keys)"
        )
    return spec


def _boundary(value: str, base: Path) -> shapely.Geometry | None:
    """The study-area polygon in WGS84 from ``county:<code|name>``, a file, or ``none``."""
    if value in ("", "none"):
        return None
    if value.startswith("county:"):
        return county(value.removeprefix("county:"))
    frame = gpd.read_file(base / value)
    if frame.empty or not frame.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputDataError(f"边界文件 {value} 应为面要素 (boundary must be polygons)")
    return shapely.union_all(frame.to_crs(WGS84).geometry.to_numpy())


def _osm_file(network: str, base: Path) -> Path:
    if network == DEMO:
        return demo_pbf_path()
    path = base / network
    if not path.name.lower().endswith((".osm.pbf", ".pbf", ".osm")):
        raise InputDataError(
            f"facilities/demand = osm/buildings 需要 OSM 文件作为路网 (needs an .osm.pbf/.osm network), 当前: {network}"
        )
    return path


def load_project(name_or_path: str | Path, *, cache_dir: Path | None = settings.DEFAULT_CACHE_DIR) -> Project:
    """Load a study area: boundary, network, facilities and demand, validated.

    Parameters
    ----------
    name_or_path
        A bundled project name (``"demo"``) or a ``.toml`` file.
    cache_dir
        Network cache (see :func:`geo.network.load_network`).

    Returns
    -------
    Project

    Raises
    ------
    InputDataError
        Missing or malformed project file, unknown keys, or a bad part.
    NetworkUnavailableError
        For an online network without internet.
    """
    path = project_path(name_or_path)
    spec = _read_spec(path)
    base = path.parent
    boundary_wgs84 = _boundary(str(spec.get("boundary", "none")), base)
    network_spec = str(spec["network"])
    if network_spec == "online":
        if boundary_wgs84 is None:
            raise InputDataError("在线下载路网需要边界 boundary (an online network needs a boundary)")
        network = load_network("online:", boundary=boundary_wgs84, epsg=spec.get("epsg"), cache_dir=cache_dir)
    else:
        source = network_spec if network_spec == DEMO else base / network_spec
        network = load_network(source, boundary=boundary_wgs84, epsg=spec.get("epsg"), cache_dir=cache_dir)
    crs = network.crs
    facilities_spec = str(spec["facilities"])
    if facilities_spec == "none":
        facilities = gpd.GeoDataFrame({"function": [], "type": []}, geometry=[], crs=WGS84)
    elif facilities_spec == "osm":
        facilities = osm_facilities_all(_osm_file(network_spec, base))
    else:
        facilities = read_facilities(base / facilities_spec)
    demand_spec = str(spec["demand"])
    if demand_spec == "none":
        demand = gpd.GeoDataFrame({"residents": [], "households": []}, geometry=[], crs=WGS84)
    elif demand_spec == "buildings":
        demand = residents_from_buildings(_osm_file(network_spec, base))
    else:
        demand = residents_from_compounds(base / demand_spec)
    boundary = gpd.GeoSeries([boundary_wgs84], crs=WGS84).to_crs(crs).iloc[0] if boundary_wgs84 else None
    project = Project(
        name=str(spec["name"]),
        boundary=boundary,
        network=network,
        facilities=facilities.to_crs(crs),
        demand=demand.to_crs(crs),
        profile=get_profile(spec.get("profile", settings.DEFAULT_PROFILE)),
        source=path,
    )
    logger.info(
        "project %s: %d edges, %d facilities, %d demand points (%.0f residents), %s",
        project.name,
        network.n_edges,
        len(project.facilities),
        len(project.demand),
        float(project.demand["residents"].sum()),
        crs.to_string(),
    )
    return project
