"""A study area ("project"): boundary, network, facilities and residents in one CRS.

A project is a small TOML file under ``data/projects/`` (or anywhere) naming where
each part comes from::

    name = "惠安县"
    boundary = "county:350521"          # or a boundary file (GeoJSON, GeoPackage, zipped Shapefile), or "none"
    network = "huian.osm.pbf"           # "demo", a .osm.pbf/.osm/.graphml file, "online"
    facilities = "osm"                  # POIs of the network's OSM file (downloaded when network = "online"),
                                        # a facility ledger (台账) file, or "none"
    facilities_system = "gcj02"         # optional: coordinate system of the ledger's 经度/纬度
                                        # (default: detected against the network's streets)
    categories = "类别对照.csv"          # optional: the county's own category -> function table
    demand = "buildings"                # buildings of the network's OSM file (downloaded when "online"),
                                        # a compound ledger (小区台账) file, "grid:FILE", or "none"
    demand_system = "wgs84"             # optional: coordinate system of the compound ledger
    demand_crs = 4326                   # optional: CRS (EPSG) of an ESRI ASCII population grid (.asc)
    profile = "walk"
    epsg = 4549                         # optional; default the UTM zone
    functions = ["安有所护"]             # optional ("1+6+X"): functions beyond the six, analysed
                                        # like them; the county's category table (categories)
                                        # says which categories serve them
    area_type = "乡村"                   # optional: 城镇 (default) or 乡村: the life-circle standard
                                        # of units without their own type (城乡类型 column):
                                        # GB 50180-2018 for 城镇, TD/T 1062-2021 for 乡村

    [print]                             # optional: the print layouts' title block (issue 21)
    organisation = "惠安县自然资源局"      # 编制单位; also author (编制人), reviewer (审核人),
    approval_no = ""                    # 审图号 ("" prints a blank to fill in), date (日期)

    [units]                             # optional: area units coverage is counted by
    town = "towns.geojson"              # polygon files with a code (编码/XZQDM) and a name column;
    community = "communities.gpkg"      # any of town, community, grid

* Every planner's file goes through :func:`geo.io.uploads.read_upload` (docs/bad-inputs.md
  U1-U16): the boundary as polygons; the facility ledger through
  :func:`geo.access.facilities.read_facility_ledger` (its category column gives each row a
  service function); the compound ledger through
  :func:`geo.access.compounds.residents_from_compounds`.  ``*_system`` is one of ``wgs84``
  (default), ``cgcs2000``, ``gcj02`` (Amap/Tencent picks), ``bd09`` (Baidu), or an EPSG
  code for X/Y columns in metres.  With a boundary, every feature must lie near it
  (a wrong system is refused instead of silently misplacing points).
* ``demand = "grid:FILE"``: a population grid (persons per cell) through
  :func:`geo.access.population_grid.residents_from_grid`: an ESRI ASCII ``.asc`` grid (its CRS from
  ``demand_crs`` or a ``.prj`` beside it) or a polygon grid layer with a 人口 /
  population column.
* ``network = "online"`` (needs ``boundary``): the walk network, and with
  ``facilities = "osm"`` / ``demand = "buildings"`` the POIs and buildings inside the
  boundary, are downloaded with osmnx; offline this stops at once with
  :class:`~geo.errors.NetworkUnavailableError`.

Relative paths are relative to the project file.  Loading gives one
:class:`Project` whose parts are validated and in the network's metric CRS.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from geo import settings
from geo.access.compounds import residents_from_compounds
from geo.access.demand import residents_from_buildings, residents_from_buildings_online
from geo.access.facilities import osm_facilities_all, osm_facilities_online, read_facility_ledger
from geo.access.life_circle import area_type_of
from geo.access.population_grid import residents_from_grid
from geo.access.standards import Standard, load_standard
from geo.access.units import UNIT_LEVELS, read_units
from geo.errors import InputDataError
from geo.io.boundaries import county
from geo.io.crs import WGS84
from geo.io.ledger import LedgerReport
from geo.io.sources import DEMO, demo_pbf_path
from geo.io.uploads import read_upload
from geo.network.graph import WalkNetwork, load_network
from geo.settings import TravelProfile, get_profile

logger = logging.getLogger(__name__)

__all__ = ["PROJECTS_DIR", "Project", "clip_to_study_area", "load_project", "project_path"]

PROJECTS_DIR = settings.DATA_DIR / "projects"
REQUIRED_KEYS = ("name", "network", "facilities", "demand")
OPTIONAL_KEYS = (
    "boundary",
    "profile",
    "epsg",
    "description",
    "facilities_system",
    "demand_system",
    "demand_crs",
    "units",
    "units_system",
    "categories",
    "functions",
    "area_type",
    "print",
)
ALLOWED_KEYS = frozenset((*REQUIRED_KEYS, *OPTIONAL_KEYS))
#: Prefix of a population-grid demand source (``demand = "grid:pop.asc"``).
GRID_PREFIX = "grid:"
#: The value of ``network`` that downloads with osmnx.
ONLINE = "online"


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
    osm_file
        The OSM file the network was read from (the demo extract, a ``.osm.pbf`` /
        ``.osm``), or ``None`` (online, GraphML): its other layers (buildings, water)
        can be read from it.
    units
        Area-unit layers by level (``town``, ``community``, ``grid``): ``code``,
        ``name`` polygons in the network's CRS (see :mod:`geo.access.units`).
    reports
        The reading report of each ledger (``facilities``, ``demand``).
    standard
        The planning standard with the functions analysed: the six and the project's
        "1+6+X" extras (``functions =``).
    print_fields
        The ``[print]`` section: the title block of its print layouts (编制单位, 编制人,
        审核人, 审图号, 日期; :func:`geo.maps.layout.print_fields`), only the fields it sets.
    """

    name: str
    boundary: shapely.Geometry | None
    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    profile: TravelProfile
    source: Path
    units: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    osm_file: Path | None = None
    reports: dict[str, LedgerReport] = field(default_factory=dict)
    standard: Standard = field(default_factory=load_standard)
    #: ``urban`` (城镇) or ``rural`` (乡村): the life-circle standard of units without a type of their own.
    area_type: str = "urban"
    print_fields: dict[str, str] = field(default_factory=dict)

    @property
    def source_notes(self) -> list[str]:
        """Where the facilities and residents came from, for a map's source line and the assumptions."""
        notes = []
        for part, what in (("facilities", "设施"), ("demand", "居民")):
            report = self.reports.get(part)
            if report is not None:
                notes.append(
                    f"{what}：{report.file}（{report.system_note}）" if report.system_note else f"{what}：{report.file}"
                )
        return notes


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


def _print_section(spec: dict, path: Path) -> dict[str, str]:
    """The ``[print]`` table, checked (only the fields it sets, English keys)."""
    from geo.maps.layout import print_fields

    section = spec.get("print", {})
    if not isinstance(section, dict):
        raise InputDataError(f"项目文件 {path.name} 的 print 应为表 [print] (the print key must be a table)")
    fields = print_fields(overrides=section)
    return {key: value for key, value in fields.items() if value is not None and (value or key == "approval_no")}


def _boundary(value: str, base: Path) -> shapely.Geometry | None:
    """The study-area polygon in WGS84 from ``county:<code|name>``, a file, or ``none``."""
    if value in ("", "none"):
        return None
    if value.startswith("county:"):
        return county(value.removeprefix("county:"))
    frame = read_upload(base / value, original_name=Path(value).name, expected="polygon")
    return shapely.union_all(frame.geometry.to_numpy())


def _osm_source(network: str, base: Path) -> Path | None:
    """The OSM file of a network source, or ``None`` when the network is not read from one."""
    if network == DEMO:
        return demo_pbf_path()
    path = base / network
    return path if path.name.lower().endswith((".osm.pbf", ".pbf", ".osm")) else None


def _osm_file(network: str, base: Path) -> Path:
    path = _osm_source(network, base)
    if path is None:
        raise InputDataError(
            f"facilities/demand = osm/buildings 需要 OSM 文件作为路网 (needs an .osm.pbf/.osm network), 当前: {network}"
        )
    return path


def _standard(spec: dict, path: Path) -> Standard:
    """The default standard with the project's extra functions (``functions = ["安有所护"]``)."""
    extra = spec.get("functions", [])
    if not isinstance(extra, list) or not all(isinstance(name, str) for name in extra):
        raise InputDataError(
            f'项目文件 {path.name} 的 functions 应为名称列表，例如 functions = ["安有所护"] '
            "(functions must be a list of names)"
        )
    return load_standard().with_extra_functions(extra)


def _units(spec: dict, base: Path, boundary_wgs84, crs) -> dict[str, gpd.GeoDataFrame]:
    table = spec.get("units", {})
    if not isinstance(table, dict):
        raise InputDataError('项目文件的 units 应为表，例如 [units] town = "towns.geojson" (units must be a table)')
    unknown = sorted(set(table) - set(UNIT_LEVELS))
    if unknown:
        raise InputDataError(
            f"units 中的 {', '.join(unknown)} 无效，可选: {', '.join(UNIT_LEVELS)} (unknown unit levels)"
        )
    return {
        level: read_units(
            base / str(table[level]),
            original_name=Path(str(table[level])).name,
            system=spec.get("units_system", "wgs84"),
            study_area=boundary_wgs84,
        ).to_crs(crs)
        for level in UNIT_LEVELS
        if level in table
    }


def clip_to_study_area(
    facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, boundary: shapely.Geometry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Residents inside the boundary; facilities inside it or within ``CLIP_BUFFER_M`` of it.

    An OSM extract (or a county ledger) reaches beyond the study area: its residents
    outside are not the area's to count, while a clinic just across the line still
    serves the area's residents.
    """
    reach = shapely.buffer(boundary, settings.CLIP_BUFFER_M)
    shapely.prepare(reach)
    shapely.prepare(boundary)
    dem_pts = shapely.point_on_surface(demand.geometry.to_numpy())
    fac_pts = shapely.point_on_surface(facilities.geometry.to_numpy())
    keep_demand = shapely.contains_xy(boundary, *shapely.get_coordinates(dem_pts).T) if len(demand) else []
    keep_fac = shapely.contains_xy(reach, *shapely.get_coordinates(fac_pts).T) if len(facilities) else []
    dropped = (len(demand) - int(sum(keep_demand)), len(facilities) - int(sum(keep_fac)))
    if any(dropped):
        logger.info(
            "study area: %d demand points outside the boundary and %d facilities beyond %.0f m of it left out",
            dropped[0],
            dropped[1],
            settings.CLIP_BUFFER_M,
        )
    return facilities[list(keep_fac)].reset_index(drop=True), demand[list(keep_demand)].reset_index(drop=True)


def load_project(
    name_or_path: str | Path,
    *,
    cache_dir: Path | None = settings.DEFAULT_CACHE_DIR,
    progress: Callable[[str, float], None] | None = None,
) -> Project:
    """Load a study area: boundary, network, facilities and demand, validated.

    Parameters
    ----------
    name_or_path
        A bundled project name (``"demo"``) or a ``.toml`` file.
    cache_dir
        Network cache (see :func:`geo.network.graph.load_network`).
    progress
        Told each stage as it starts: ``progress(stage_zh, share_done)`` (for a page's progress bar).

    Returns
    -------
    Project

    Raises
    ------
    InputDataError
        Missing or malformed project file, unknown keys, or a bad part.
    NetworkUnavailableError
        For an online network (and its facilities and buildings) without internet.
    CRSError
        A planner's file whose coordinates do not fit its system or lie far from the boundary.
    """
    path = project_path(name_or_path)
    spec = _read_spec(path)
    print_spec = _print_section(spec, path)
    base = path.parent
    standard = _standard(spec, path)
    area_type = area_type_of(spec.get("area_type", "城镇"), where=f"项目文件 {path.name} 的 area_type: ")
    step = progress or (lambda _stage, _fraction: None)
    step("读取研究区边界", 0.0)
    boundary_wgs84 = _boundary(str(spec.get("boundary", "none")), base)
    network_spec = str(spec["network"])
    step("读取路网（大文件需数分钟）", 0.05)
    if network_spec == ONLINE:
        if boundary_wgs84 is None:
            raise InputDataError("在线下载路网需要边界 boundary (an online network needs a boundary)")
        network = load_network("online:", boundary=boundary_wgs84, epsg=spec.get("epsg"), cache_dir=cache_dir)
    else:
        source = network_spec if network_spec == DEMO else base / network_spec
        network = load_network(source, boundary=boundary_wgs84, epsg=spec.get("epsg"), cache_dir=cache_dir)
    crs = network.crs
    online = network_spec == ONLINE
    facilities_spec = str(spec["facilities"])
    step("读取设施", 0.6)
    if facilities_spec == "none":
        facilities = gpd.GeoDataFrame({"function": [], "type": []}, geometry=[], crs=WGS84)
    elif facilities_spec == "osm":
        if online:
            facilities = osm_facilities_online(boundary_wgs84)
        else:
            facilities = osm_facilities_all(_osm_file(network_spec, base))
    else:
        facilities = read_facility_ledger(
            base / facilities_spec,
            original_name=Path(facilities_spec).name,
            system=spec.get("facilities_system", "auto"),
            network=network,
            standard=standard,
            study_area=boundary_wgs84,
            category_map=base / spec["categories"] if "categories" in spec else None,
        )
    demand_spec = str(spec["demand"])
    step("读取居民（小区台账或建筑）", 0.75)
    if demand_spec == "none":
        demand = gpd.GeoDataFrame({"residents": [], "households": []}, geometry=[], crs=WGS84)
    elif demand_spec == "buildings":
        if online:
            demand = residents_from_buildings_online(boundary_wgs84)
        else:
            demand = residents_from_buildings(_osm_file(network_spec, base))
    elif demand_spec.startswith(GRID_PREFIX):
        grid_file = demand_spec.removeprefix(GRID_PREFIX)
        demand = residents_from_grid(
            base / grid_file,
            original_name=Path(grid_file).name,
            crs=spec.get("demand_crs"),
            study_area=boundary_wgs84,
        )
    else:
        demand = residents_from_compounds(
            base / demand_spec,
            original_name=Path(demand_spec).name,
            system=spec.get("demand_system", "auto"),
            network=network,
            study_area=boundary_wgs84,
        )
    boundary = gpd.GeoSeries([boundary_wgs84], crs=WGS84).to_crs(crs).iloc[0] if boundary_wgs84 else None
    step("读取分区", 0.95)
    units = _units(spec, base, boundary_wgs84, crs)
    reports = {
        part: frame.attrs["report"]
        for part, frame in (("facilities", facilities), ("demand", demand))
        if "report" in frame.attrs
    }
    facilities, demand = facilities.to_crs(crs), demand.to_crs(crs)
    if boundary is not None:
        facilities, demand = clip_to_study_area(facilities, demand, boundary)
    project = Project(
        name=str(spec["name"]),
        boundary=boundary,
        network=network,
        facilities=facilities,
        demand=demand,
        profile=get_profile(spec.get("profile", settings.DEFAULT_PROFILE)),
        source=path,
        units=units,
        osm_file=_osm_source(network_spec, base),
        reports=reports,
        standard=standard,
        area_type=area_type,
        print_fields=print_spec,
    )
    for report in reports.values():
        logger.info("ledger: %s", report.summary())
        for warning in report.warnings:
            logger.warning("ledger: %s", warning)
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
