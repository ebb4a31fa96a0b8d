"""Where residents live: demand points from residential buildings or a compound ledger.

No registry package ships fine-grained population for China offline, so demand comes
from what a planner has:

* ``residents_from_buildings``: residential buildings of an OpenStreetMap file,
  residents = footprint (m²) x levels / floor area per resident (m²), with the figures
  written beside every point (``assumption``) so that a map can show them.
* ``residents_from_compounds``: the community ledger of residential compounds (小区),
  one row per compound with its household count and a picked point (or polygon).
* ``residents_from_grid``: a population grid (persons per cell, WorldPop-style): an
  ESRI ASCII grid ``.asc`` with a stated CRS, or a polygon grid layer (GeoPackage,
  GeoJSON, zipped Shapefile) with a population column; one point per populated cell.

All return demand points in EPSG:4326 with ``residents``, ``households``, ``source``
and ``assumption``; the defaults live in :mod:`geo.settings` with their sources.
Buildings are read here; the compound ledger in :mod:`geo.access.compounds`, population
grids in :mod:`geo.access.population_grid`.
Planners' files go through :func:`geo.io.uploads.read_upload` (docs/bad-inputs.md U1-U16).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo import settings
from geo.access.facilities import feature_tags, fetch_osm_features
from geo.errors import InputDataError
from geo.io.crs import WGS84, check_lonlat, metric_crs
from geo.io.sources import demo_pbf_path

logger = logging.getLogger(__name__)

__all__ = [
    "BUILDING_COLUMNS",
    "BUILDING_FEATURE_TAGS",
    "building_assumption_zh",
    "is_residential_building",
    "parse_levels",
    "residents_from_buildings",
    "residents_from_buildings_online",
    "residents_from_features",
]

#: Columns of ``residents_from_buildings`` (besides ``geometry``).
BUILDING_COLUMNS = (
    "building_id",
    "building",
    "name",
    "footprint_m2",
    "levels",
    "levels_source",
    "residents",
    "households",
    "source",
    "assumption",
)
#: The osmnx tag query of buildings and residential landuse (online downloads).
BUILDING_FEATURE_TAGS: dict[str, object] = {"building": True, "landuse": ["residential"]}


# --------------------------------------------------------------------- buildings


def is_residential_building(tags: dict[str, str], *, in_residential_landuse: bool) -> bool:
    """Whether a building with ``tags`` houses people.

    The rule: ``building=*`` in :data:`geo.settings.RESIDENTIAL_BUILDINGS` (residential,
    apartments, house, detached, terrace, dormitory, semidetached_house, bungalow)
    always counts; ``building=yes`` counts only inside a ``landuse=residential`` area
    (``in_residential_landuse``); every other value (commercial, school, garage ...)
    does not.
    """
    value = tags.get("building", "").strip().lower()
    if value in settings.RESIDENTIAL_BUILDINGS:
        return True
    return value == "yes" and in_residential_landuse


def parse_levels(value: str | None, *, default_levels: float) -> tuple[float, str]:
    """Levels above ground from a ``building:levels`` tag.

    Parameters
    ----------
    value
        The tag's text (``"5"``, ``"2.5"``), or ``None`` when the tag is missing.
    default_levels
        Levels used when the tag is missing, not a number, below 1 or above
        :data:`geo.settings.MAX_BUILDING_LEVELS`.

    Returns
    -------
    tuple of (float, str)
        The levels and where they came from: ``"tag"`` or ``"default"``.
    """
    if value is None:
        return default_levels, "default"
    try:
        levels = float(value.strip().replace(",", "."))
    except ValueError:
        return default_levels, "default"
    if not math.isfinite(levels) or levels < 1.0 or levels > settings.MAX_BUILDING_LEVELS:
        return default_levels, "default"
    return levels, "tag"


def check_positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0.0:
        raise InputDataError(f"参数 {name}={value!r} 无效，应为正数 (expected a positive number)")
    return number


def _read_areas(path: Path) -> tuple[list[tuple[str, dict[str, str], bytes]], list[bytes]]:
    """Building areas (id, tags, WKB) and residential landuse areas (WKB) of an OSM file.

    Closed ways and multipolygon relations are assembled into areas by libosmium.
    """
    import osmium

    wkb = osmium.geom.WKBFactory()
    buildings: list[tuple[str, dict[str, str], bytes]] = []
    landuse: list[bytes] = []
    processor = osmium.FileProcessor(str(path)).with_areas().with_filter(osmium.filter.KeyFilter("building", "landuse"))
    broken = 0
    try:
        for obj in processor:
            if not obj.is_area():
                continue
            tags = {t.k: t.v for t in obj.tags}
            is_building = "building" in tags and tags["building"] != "no"
            is_residential_area = tags.get("landuse") == "residential"
            if not (is_building or is_residential_area):
                continue
            try:
                # obj is an area here (is_area() checked above; the stub wants an Area).
                geom = bytes.fromhex(wkb.create_multipolygon(obj))  # type: ignore[arg-type]
            except RuntimeError:  # libosmium could not build a valid ring
                broken += 1
                continue
            if is_building:
                buildings.append((f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}", tags, geom))
            if is_residential_area:
                landuse.append(geom)
    except osmium.InvalidLocationError as exc:
        raise InputDataError(
            f"OSM 文件 {path.name} 中有超出范围的坐标 ({exc}) (node coordinates out of range)"
        ) from exc
    except RuntimeError as exc:
        raise InputDataError(
            f"无法读取 OSM 文件 {path.name}: 文件损坏或被截断 (corrupt or truncated OSM file: {exc})"
        ) from exc
    if broken:
        logger.info("%s: %d areas with broken geometry skipped", path.name, broken)
    return buildings, landuse


def format_number(number: float) -> str:
    return f"{number:g}"


def building_assumption_zh(
    *, floor_area_per_resident_m2: float, default_levels: float, persons_per_household: float
) -> str:
    """The assumption of :func:`residents_from_buildings`, in Chinese, naming its figures."""
    return (
        f"居民数 = 建筑基底面积(m²) × 层数 ÷ 人均建筑面积 {format_number(floor_area_per_resident_m2)} m²/人"
        f"（七普城市家庭户人均住房建筑面积 36.52 m²）；缺少或无效的 building:levels 按 "
        f"{format_number(default_levels)} 层计；"
        f"户数 = 居民数 ÷ {format_number(persons_per_household)} 人/户（七普平均家庭户规模）；"
        f"计入 building=residential/apartments/house/detached/terrace/dormitory/semidetached_house/bungalow，"
        f"building=yes 仅计入居住用地 (landuse=residential) 内的建筑"
    )


def residents_from_buildings(
    path: Path | None = None,
    *,
    floor_area_per_resident_m2: float = settings.FLOOR_AREA_PER_RESIDENT_M2,
    default_levels: float = settings.DEFAULT_BUILDING_LEVELS,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    crs: object | None = None,
) -> gpd.GeoDataFrame:
    """Residents of the residential buildings of an OpenStreetMap file.

    Which buildings count is decided by :func:`is_residential_building`: the
    residential ``building=*`` values always, ``building=yes`` only when the centroid of
    its footprint lies in a ``landuse=residential`` area.  For each, residents =
    footprint_m2 x levels / ``floor_area_per_resident_m2`` and households = residents /
    ``persons_per_household``; the figures are repeated in the ``assumption`` column.

    Parameters
    ----------
    path
        ``.osm.pbf`` or ``.osm`` file; ``None`` reads the bundled demo extract.
    floor_area_per_resident_m2
        Gross floor area per resident (m²); default 35 m² (2020 census, urban
        households: 36.52 m² per person, rounded down).
    default_levels
        Levels of a building whose ``building:levels`` tag is missing or invalid;
        default 3 (a Chinese county town).
    persons_per_household
        Persons per household; default 2.62 (2020 census).
    crs
        Projected CRS (metres) in which footprints are measured, an EPSG code or CRS;
        ``None`` uses the UTM zone of the data.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per residential building (the centroid of its footprint), EPSG:4326,
        with the columns of :data:`BUILDING_COLUMNS`: ``footprint_m2`` (m²), ``levels``,
        ``levels_source`` (``"tag"`` or ``"default"``), ``residents`` and
        ``households`` (floats, not rounded), ``source`` = ``"buildings"``.

    Raises
    ------
    InputDataError
        Missing or unreadable file, a non-positive parameter, or no residential
        building in the file.
    CRSError
        ``crs`` is not a projected metric CRS covering the data.
    """
    floor_area_per_resident_m2 = check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    default_levels = check_positive("default_levels", default_levels)
    persons_per_household = check_positive("persons_per_household", persons_per_household)
    path = Path(path) if path is not None else demo_pbf_path()
    if not path.is_file():
        raise InputDataError(f"OSM 文件不存在: {path.name} (OSM file not found)")
    if path.stat().st_size == 0:
        raise InputDataError(f"OSM 文件为空: {path.name} (empty OSM file)")

    buildings, landuse = _read_areas(path)
    return _residents_of_footprints(
        [(bid, tags) for bid, tags, _ in buildings],
        shapely.from_wkb([geom for _, _, geom in buildings]) if buildings else np.array([], dtype=object),
        shapely.from_wkb(landuse) if landuse else np.array([], dtype=object),
        label=f"OSM 文件 {path.name}",
        floor_area_per_resident_m2=floor_area_per_resident_m2,
        default_levels=default_levels,
        persons_per_household=persons_per_household,
        crs=crs,
    )


def residents_from_buildings_online(
    polygon: shapely.Geometry,
    *,
    floor_area_per_resident_m2: float = settings.FLOOR_AREA_PER_RESIDENT_M2,
    default_levels: float = settings.DEFAULT_BUILDING_LEVELS,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    crs: object | None = None,
) -> gpd.GeoDataFrame:
    """Residents of the residential buildings inside a WGS84 polygon, downloaded with osmnx.

    Buildings (``building=*``) and ``landuse=residential`` areas are fetched with
    ``osmnx.features_from_polygon``; which buildings count and how many people they
    house follow exactly the rules of :func:`residents_from_buildings` (same code).

    Parameters
    ----------
    polygon
        Study area in WGS84 degrees (a county boundary).
    floor_area_per_resident_m2, default_levels, persons_per_household, crs
        As :func:`residents_from_buildings`.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`residents_from_buildings`; ``building_id`` is ``w<id>`` / ``r<id>``.

    Raises
    ------
    NetworkUnavailableError
        Offline: the OpenStreetMap servers cannot be reached.
    InputDataError
        A non-positive parameter, or no residential building in the area.
    """
    check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    check_positive("default_levels", default_levels)
    check_positive("persons_per_household", persons_per_household)
    features = fetch_osm_features(polygon, BUILDING_FEATURE_TAGS, what_zh="建筑")
    return residents_from_features(
        features,
        floor_area_per_resident_m2=floor_area_per_resident_m2,
        default_levels=default_levels,
        persons_per_household=persons_per_household,
        crs=crs,
        label="OpenStreetMap 在线数据 (online)",
    )


def residents_from_features(
    features: gpd.GeoDataFrame,
    *,
    floor_area_per_resident_m2: float = settings.FLOOR_AREA_PER_RESIDENT_M2,
    default_levels: float = settings.DEFAULT_BUILDING_LEVELS,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    crs: object | None = None,
    label: str = "OpenStreetMap 要素 (features)",
) -> gpd.GeoDataFrame:
    """Residents of the residential buildings among osmnx features (``features_from_polygon`` / ``_xml``).

    Parameters
    ----------
    features
        An osmnx features frame in EPSG:4326 (index ``element``, ``id``; one column per
        tag) holding ``building=*`` and ``landuse=residential`` polygons
        (:data:`BUILDING_FEATURE_TAGS`).
    floor_area_per_resident_m2, default_levels, persons_per_household, crs
        As :func:`residents_from_buildings`.
    label
        What the features are, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`residents_from_buildings`.

    Raises
    ------
    InputDataError
        A non-positive parameter, or no residential building among the features.
    """
    floor_area_per_resident_m2 = check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    default_levels = check_positive("default_levels", default_levels)
    persons_per_household = check_positive("persons_per_household", persons_per_household)
    polygonal = np.isin(features.geom_type.to_numpy(), ("Polygon", "MultiPolygon"))
    buildings: list[tuple[str, dict[str, str]]] = []
    footprints: list[shapely.Geometry] = []
    landuse: list[shapely.Geometry] = []
    geoms = features.geometry.to_numpy()
    for k, ((element, osm_id), record) in enumerate(zip(features.index, features.to_dict("records"), strict=True)):
        if not polygonal[k]:
            continue
        tags = feature_tags(record)
        if "building" in tags and tags["building"] != "no":
            buildings.append((f"{str(element)[:1]}{osm_id}", tags))
            footprints.append(geoms[k])
        if tags.get("landuse") == "residential":
            landuse.append(geoms[k])
    return _residents_of_footprints(
        buildings,
        np.array(footprints, dtype=object),
        np.array(landuse, dtype=object),
        label=label,
        floor_area_per_resident_m2=floor_area_per_resident_m2,
        default_levels=default_levels,
        persons_per_household=persons_per_household,
        crs=crs,
    )


def _residents_of_footprints(
    buildings: list[tuple[str, dict[str, str]]],
    footprints: np.ndarray,
    landuse: np.ndarray,
    *,
    label: str,
    floor_area_per_resident_m2: float,
    default_levels: float,
    persons_per_household: float,
    crs: object | None,
) -> gpd.GeoDataFrame:
    """The residential rule and the residents arithmetic for building footprints (WGS84).

    Shared by OSM files and online downloads.  ``buildings`` are (id, tags) beside their
    ``footprints``; ``landuse`` are the ``landuse=residential`` polygons.
    """
    if not buildings:
        raise InputDataError(f"{label} 中没有建筑 (no building=* in the data)")
    xy = shapely.get_coordinates(footprints)
    check_lonlat(xy[:, 0], xy[:, 1], what=label)
    metric = metric_crs(xy[:, 0], xy[:, 1], epsg=crs)
    footprints_m = gpd.GeoSeries(footprints, crs=WGS84).to_crs(metric).to_numpy()
    centroids_m = shapely.centroid(footprints_m)

    in_landuse = np.zeros(len(buildings), dtype=bool)
    if len(landuse):
        landuse_m = gpd.GeoSeries(landuse, crs=WGS84).to_crs(metric).to_numpy()
        tree = shapely.STRtree(landuse_m)
        hits = tree.query(centroids_m, predicate="within")
        in_landuse[np.unique(hits[0])] = True

    keep = np.array(
        [
            is_residential_building(tags, in_residential_landuse=bool(inside))
            for (_, tags), inside in zip(buildings, in_landuse, strict=True)
        ],
        dtype=bool,
    )
    index = np.flatnonzero(keep)
    if index.size == 0:
        raise InputDataError(
            f"{label} 中没有居住建筑（{len(buildings)} 栋建筑均非住宅）；"
            f"可改用小区台账 (no residential building among {len(buildings)} buildings)"
        )
    levels_parsed = [parse_levels(buildings[i][1].get("building:levels"), default_levels=default_levels) for i in index]
    levels = np.array([lv for lv, _ in levels_parsed], dtype=float)
    footprint_m2 = shapely.area(footprints_m[index])
    residents = footprint_m2 * levels / floor_area_per_resident_m2
    households = residents / persons_per_household
    assumption = building_assumption_zh(
        floor_area_per_resident_m2=floor_area_per_resident_m2,
        default_levels=default_levels,
        persons_per_household=persons_per_household,
    )
    points = gpd.GeoSeries(centroids_m[index], crs=metric).to_crs(WGS84)
    out = gpd.GeoDataFrame(
        {
            "building_id": [buildings[i][0] for i in index],
            "building": [buildings[i][1]["building"] for i in index],
            "name": [buildings[i][1].get("name:zh", buildings[i][1].get("name", "")) for i in index],
            "footprint_m2": footprint_m2,
            "levels": levels,
            "levels_source": [src for _, src in levels_parsed],
            "residents": residents,
            "households": households,
            "source": "buildings",
            "assumption": assumption,
        },
        geometry=points.to_numpy(),
        crs=WGS84,
    )
    out.attrs["assumption"] = assumption
    logger.info(
        "demand from buildings: %s residential of %s buildings, %.0f residents, %.0f households, %s",
        f"{len(out):,}",
        f"{len(buildings):,}",
        float(residents.sum()),
        float(households.sum()),
        metric.to_string(),
    )
    return out
