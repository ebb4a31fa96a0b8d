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
Planners' files go through :func:`geo.io.uploads.read_upload` (docs/bad-inputs.md U1-U16).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.facilities import feature_tags, fetch_osm_features
from geo.errors import CRSError, InputDataError
from geo.io.crs import WGS84, check_lonlat, metric_crs, to_crs
from geo.io.sources import demo_pbf_path
from geo.io.uploads import MAX_UPLOAD_BYTES, check_area_of_use, check_study_area, read_upload

logger = logging.getLogger(__name__)

__all__ = [
    "BUILDING_COLUMNS",
    "COMPOUND_COLUMNS",
    "building_assumption_zh",
    "is_residential_building",
    "parse_levels",
    "residents_from_buildings",
    "residents_from_buildings_online",
    "residents_from_compounds",
    "residents_from_features",
    "residents_from_grid",
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
#: Columns of ``residents_from_compounds`` (besides ``geometry``).
COMPOUND_COLUMNS = ("name", "line", "households", "residents", "residents_source", "source", "assumption")

#: Header names a ledger may use, per field (compared case-insensitively, stripped).
LEDGER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "小区名称", "小区", "name"),
    "households": ("户数", "households"),
    "residents": ("人口", "人数", "居民数", "residents", "population"),
}
#: At most this many bad lines are named in one message.
MAX_LINES_REPORTED = 10


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


def _check_positive(name: str, value: float) -> float:
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


def _fmt(number: float) -> str:
    return f"{number:g}"


def building_assumption_zh(
    *, floor_area_per_resident_m2: float, default_levels: float, persons_per_household: float
) -> str:
    """The assumption of :func:`residents_from_buildings`, in Chinese, naming its figures."""
    return (
        f"居民数 = 建筑基底面积(m²) × 层数 ÷ 人均建筑面积 {_fmt(floor_area_per_resident_m2)} m²/人"
        f"（七普城市家庭户人均住房建筑面积 36.52 m²）；缺少或无效的 building:levels 按 "
        f"{_fmt(default_levels)} 层计；户数 = 居民数 ÷ {_fmt(persons_per_household)} 人/户（七普平均家庭户规模）；"
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
    floor_area_per_resident_m2 = _check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    default_levels = _check_positive("default_levels", default_levels)
    persons_per_household = _check_positive("persons_per_household", persons_per_household)
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
    _check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    _check_positive("default_levels", default_levels)
    _check_positive("persons_per_household", persons_per_household)
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
    floor_area_per_resident_m2 = _check_positive("floor_area_per_resident_m2", floor_area_per_resident_m2)
    default_levels = _check_positive("default_levels", default_levels)
    persons_per_household = _check_positive("persons_per_household", persons_per_household)
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


# --------------------------------------------------------------------- compound ledger


def _map_headers(label: str, headers: list[str]) -> dict[str, str]:
    """Field -> column of the ledger (coordinates already taken by the loader); unknown columns raise."""
    lookup = {alias.lower(): field for field, aliases in LEDGER_HEADERS.items() for alias in aliases}
    found: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        key = str(header or "").strip().lstrip("\ufeff").lower()
        if not key or key.startswith("unnamed:"):
            continue  # a trailing comma from a spreadsheet
        field = lookup.get(key)
        if field is None:
            unknown.append(header)
        elif field in found:
            raise InputDataError(
                f"小区台账 {label} 中列 {found[field]!r} 与 {header!r} 重复 (duplicate column for {field})"
            )
        else:
            found[field] = header
    allowed = "; ".join(f"{field}: {'/'.join(aliases)}" for field, aliases in LEDGER_HEADERS.items())
    if unknown:
        raise InputDataError(
            f"小区台账 {label} 中有无法识别的列 {unknown}；可用列名为 {allowed} (unknown columns {unknown})"
        )
    if "households" not in found and "residents" not in found:
        raise InputDataError(
            f"小区台账 {label} 缺少列 ['households']（需要 户数 或 人口）；可用列名为 {allowed} "
            f"(missing columns ['households'])"
        )
    return found


def _number(value: object) -> float | None:
    """A number from a cell (``None`` when blank or missing, NaN when not a number)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return math.nan


def residents_from_compounds(
    path: Path,
    *,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    system: str = "wgs84",
    original_name: str | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Residents of residential compounds (小区) from a planner's ledger.

    The file goes through :func:`geo.io.uploads.read_upload`: a CSV/XLSX table (UTF-8 or
    GBK, a header row in Chinese or English: 名称/name, 户数/households, 经度/lon,
    纬度/lat, optionally 人口/residents), or a GeoJSON/GeoPackage/zipped Shapefile of
    compound points or polygons with those attribute columns (a polygon stands for its
    representative point).  A row's residents are its 人口 when given, otherwise 户数 x
    ``persons_per_household``; a row with 人口 but no 户数 gets 人口 /
    ``persons_per_household`` households.

    Parameters
    ----------
    path
        The ledger file.
    persons_per_household
        Persons per household; default 2.62 (2020 census).
    system
        Coordinate system of a table's 经度/纬度 (degrees): ``"wgs84"`` (default, also
        ``"cgcs2000"``), ``"gcj02"`` (picked in Amap/Tencent) or ``"bd09"`` (Baidu),
        converted to WGS84; or an EPSG code for X/Y in metres.
    original_name
        The name the planner gave the file, for messages; default ``path.name``.
    study_area
        Optional study area (WGS84 degrees); compounds far from it are refused.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per compound in EPSG:4326 with the columns of
        :data:`COMPOUND_COLUMNS`: ``line`` (line number of a table, feature number of a
        layer), ``residents_source`` (``"ledger"`` or ``"households"``), ``source`` =
        ``"compounds"``.

    Raises
    ------
    InputDataError
        Missing, empty, too large or undecodable file; unknown or missing columns
        (the message lists the allowed names); rows with bad coordinates (named by line
        number, by the loader) or with a non-numeric or negative count (named by line
        number); an unknown ``system``.
    CRSError
        Coordinates that do not fit their system, or far from the study area.
    """
    persons_per_household = _check_positive("persons_per_household", persons_per_household)
    path = Path(path)
    label = original_name or path.name
    frame = read_upload(
        path,
        original_name=label,
        expected="any",
        system=system,
        max_bytes=settings.MAX_LEDGER_BYTES,
        study_area=study_area,
    )
    is_table = frame.attrs.get("kind") in ("csv", "xlsx")
    if is_table:
        lines = frame["line"].to_numpy(dtype=np.int64)
        attributes = [c for c in frame.columns if c not in ("line", frame.geometry.name)]
    else:
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
        attributes = [c for c in frame.columns if c != frame.geometry.name]
    columns = _map_headers(label, attributes)
    rows: list[dict[str, object]] = []
    bad: list[tuple[int, str]] = []
    for k, line in enumerate(lines.tolist()):
        cells = {field: frame[header].iloc[k] for field, header in columns.items()}
        households = _number(cells.get("households"))
        residents = _number(cells.get("residents"))
        counts = [c for c in (households, residents) if c is not None]
        if not counts:
            bad.append((line, "户数和人口均为空 (no households or residents)"))
            continue
        if any(math.isnan(c) or not math.isfinite(c) or c < 0 for c in counts):
            bad.append((line, "户数或人口不是非负数字 (households/residents not a non-negative number)"))
            continue
        if residents is not None:
            source = "ledger"
            households = residents / persons_per_household if households is None else households
        else:
            source = "households"
            # households is given whenever residents is not (checked above).
            residents = float(households) * persons_per_household  # type: ignore[arg-type]
        raw_name = cells.get("name")
        name = "" if raw_name is None or (isinstance(raw_name, float) and math.isnan(raw_name)) else str(raw_name)
        rows.append(
            {
                "k": k,
                "name": name.strip() or (f"第{line}行" if is_table else f"第{line}个要素"),
                "line": line,
                "households": households,
                "residents": residents,
                "residents_source": source,
            }
        )
    if bad:
        where = "行" if is_table else "个要素"
        shown = "; ".join(f"第 {line} {where}: {why}" for line, why in bad[:MAX_LINES_REPORTED])
        listed = [line for line, _ in bad]
        raise InputDataError(
            f"小区台账 {label} 有 {len(bad)} {'行数据' if is_table else '个要素'}有误 — {shown} "
            f"(bad rows on lines {listed[:MAX_LINES_REPORTED]})"
        )
    table = pd.DataFrame(rows)
    points = frame.geometry.to_numpy()[table["k"].to_numpy()]
    points = np.where(shapely.get_type_id(points) == 0, points, shapely.point_on_surface(points))
    assumption = f"人口取台账“人口”列；无人口时按 户数 × {_fmt(persons_per_household)} 人/户（七普平均家庭户规模）计"
    out = gpd.GeoDataFrame(
        {
            "name": table["name"].astype(str).to_numpy(),
            "line": table["line"].to_numpy(dtype=np.int64),
            "households": table["households"].to_numpy(dtype=float),
            "residents": table["residents"].to_numpy(dtype=float),
            "residents_source": table["residents_source"].to_numpy(),
            "source": "compounds",
            "assumption": assumption,
        },
        geometry=points,
        crs=WGS84,
    )
    out.attrs["assumption"] = assumption
    logger.info(
        "demand from compounds: %d compounds, %.0f residents, %.0f households",
        len(out),
        float(out["residents"].sum()),
        float(out["households"].sum()),
    )
    return out


# --------------------------------------------------------------------- population grid

#: Columns of ``residents_from_grid`` (besides ``geometry``).
GRID_COLUMNS = ("cell_id", "residents", "households", "source", "assumption")
#: Column names (compared stripped, case-insensitively) of a grid layer's persons per cell.
GRID_POPULATION_NAMES = ("人口", "人数", "人口数", "population", "pop", "residents")
#: Column names of a grid layer's households per cell (optional).
GRID_HOUSEHOLD_NAMES = ("户数", "households")
#: Header keys of an ESRI ASCII grid; ``nodata_value`` is optional.
ASC_KEYS = ("ncols", "nrows", "xllcorner", "xllcenter", "yllcorner", "yllcenter", "cellsize", "nodata_value")


def _read_ascii_grid(path: Path, label: str) -> tuple[np.ndarray, float, float, float]:
    """Values (rows top to bottom, NaN for no-data) and the lower-left cell corner and cell size."""
    size = path.stat().st_size if path.is_file() else -1
    if size < 0:
        raise InputDataError(f"人口格网文件不存在: {label} (population grid not found)")
    if size == 0:
        raise InputDataError(f"人口格网文件为空: {label} (empty file)")
    if size > MAX_UPLOAD_BYTES:
        raise InputDataError(f"人口格网文件过大: {label} ({size / 1e6:.0f} MB) (file too large)")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{label} 不是 ESRI ASCII 格网（含非 ASCII 字符） (not an ESRI ASCII grid)") from exc
    lines = text.splitlines()
    header: dict[str, float] = {}
    body_start = 0
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) != 2 or parts[0].lower() not in ASC_KEYS:
            break
        try:
            header[parts[0].lower()] = float(parts[1])
        except ValueError as exc:
            raise InputDataError(
                f"{label} 第 {i + 1} 行: {parts[0]} 的值 {parts[1][:20]!r} 不是数字 (bad header value)"
            ) from exc
        body_start = i + 1
    missing = [k for k in ("ncols", "nrows", "cellsize") if k not in header]
    if "xllcorner" not in header and "xllcenter" not in header:
        missing.append("xllcorner")
    if "yllcorner" not in header and "yllcenter" not in header:
        missing.append("yllcorner")
    if missing:
        raise InputDataError(
            f"{label} 缺少 ESRI ASCII 格网头 {missing}（需要 ncols、nrows、xllcorner、yllcorner、cellsize） "
            f"(missing ESRI ASCII grid header)"
        )
    ncols, nrows, cell = header["ncols"], header["nrows"], header["cellsize"]
    if not (ncols >= 1 and nrows >= 1 and ncols == int(ncols) and nrows == int(nrows)):
        raise InputDataError(f"{label} 的 ncols/nrows 应为正整数 (ncols/nrows must be positive integers)")
    if not (math.isfinite(cell) and cell > 0):
        raise InputDataError(f"{label} 的 cellsize={cell} 应为正数 (cellsize must be positive)")
    try:
        values = np.array(" ".join(lines[body_start:]).split(), dtype=float)
    except ValueError as exc:
        raise InputDataError(f"{label} 的格网值中有非数字 (non-numeric cell values)") from exc
    if values.size != int(ncols) * int(nrows):
        raise InputDataError(
            f"{label} 有 {values.size} 个格网值，应为 ncols × nrows = {int(ncols) * int(nrows)} "
            f"(cell count does not match the header)"
        )
    grid = values.reshape(int(nrows), int(ncols))
    if "nodata_value" in header:
        grid[grid == header["nodata_value"]] = np.nan
    x0 = header["xllcorner"] if "xllcorner" in header else header["xllcenter"] - cell / 2
    y0 = header["yllcorner"] if "yllcorner" in header else header["yllcenter"] - cell / 2
    return grid, x0, y0, cell


def _grid_cells_from_asc(path: Path, label: str, crs: object | None) -> tuple[gpd.GeoDataFrame, list[str], str]:
    """Cell centres (WGS84), cell ids and the source CRS of an ASCII grid; values in ``residents``."""
    grid, x0, y0, cell = _read_ascii_grid(path, label)
    if crs is None:
        prj = path.with_suffix(".prj")
        if not prj.is_file():
            raise CRSError(
                f"{label} 没有坐标系信息：请给出 crs（如 4326 即 WorldPop 的 WGS84 经纬度，或 4549）"
                f"或附带 .prj 文件；"
                f"不会默认按 WGS84 处理 (state the grid's CRS; it is never assumed)"
            )
        crs = prj.read_text(encoding="utf-8", errors="replace")
    src = to_crs(crs)
    nrows, ncols = grid.shape
    rows, cols = np.divmod(np.arange(grid.size), ncols)
    x = x0 + (cols + 0.5) * cell
    y = y0 + (nrows - rows - 0.5) * cell  # the first row of values is the northernmost
    frame = gpd.GeoDataFrame({"residents": grid.ravel()}, geometry=gpd.points_from_xy(x, y), crs=src)
    ids = [f"第 {r + 1} 行第 {c + 1} 列 (row {r + 1}, col {c + 1})" for r, c in zip(rows, cols, strict=True)]
    return check_area_of_use(frame, label), ids, src.to_string()


def residents_from_grid(
    path: Path,
    *,
    original_name: str | None = None,
    crs: object | None = None,
    population_column: str | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Residents from a population grid file: one demand point per populated cell.

    Two kinds of file are read (rasterio is not a dependency, so GeoTIFF is not):

    * ``.asc``: an ESRI ASCII grid of persons per cell (WorldPop exports it), parsed
      with numpy; its CRS is ``crs`` or a ``.prj`` beside it, never assumed.  Values
      equal to ``NODATA_value`` are no-data.
    * any polygon layer :func:`geo.io.uploads.read_upload` reads (GeoPackage, GeoJSON,
      zipped Shapefile) with a population column (人口/人数/population/pop/residents)
      and optionally 户数/households.

    Cells with no data (NaN) or 0 persons are left out (they need no service); the
    count of each is in ``attrs``.  Each point is the centre of its cell (for polygon
    cells the centroid, measured in the data's UTM zone).

    Parameters
    ----------
    path
        The grid file.
    original_name
        The name the planner gave the file, for messages; default ``path.name``.
    crs
        CRS of an ``.asc`` grid's coordinates (EPSG code or CRS; ``4326`` for WorldPop's
        WGS84 degrees, ``4549`` for CGCS2000 Gauss-Kruger metres).  Polygon layers
        carry their own CRS.
    population_column
        Name of the persons column of a polygon layer; ``None`` finds it by name.
    study_area
        Optional study area (WGS84 degrees); cells farther than
        :data:`geo.io.uploads.STUDY_AREA_MAX_DIST_M` from it are refused (wrong CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with the columns of :data:`GRID_COLUMNS`: ``cell_id``
        (row/column of a raster, feature number of a layer), ``residents`` (persons,
        float), ``households`` (from a 户数 column, else NaN), ``source`` =
        ``"grid"``.  ``attrs``: ``cells_nodata``, ``cells_zero``, ``source_crs``.

    Raises
    ------
    InputDataError
        Missing, empty, too large or malformed file; no population column; a negative
        or non-numeric population (the message names the cell); no populated cell.
    CRSError
        No CRS for an ``.asc``; cells outside the CRS's area of use or far from the
        study area.
    """
    path = Path(path)
    label = original_name or path.name
    suffix = Path(label).suffix.lower()
    households: np.ndarray
    if suffix in (".tif", ".tiff"):
        raise InputDataError(
            f"暂不支持 GeoTIFF 人口格网 {label}（需要 rasterio）；请在 GIS 软件中另存为 ESRI ASCII 格网 .asc，"
            f"或转为带人口字段的面格网 GeoPackage (GeoTIFF needs rasterio; save as .asc or a polygon grid)"
        )
    if suffix == ".asc":
        frame, ids, source_crs = _grid_cells_from_asc(path, label, crs)
        population = frame["residents"].to_numpy(dtype=float)
        households = np.full(len(frame), np.nan)
        points = frame.geometry.to_numpy()
    else:
        layer = read_upload(path, original_name=label, expected="polygon", study_area=study_area)
        source_crs = layer.attrs["source_crs"]
        columns = [c for c in layer.columns if c != layer.geometry.name]
        pop_col = population_column
        if pop_col is None:
            lowered = {str(c).strip().lower(): c for c in columns}
            pop_col = next((lowered[n] for n in GRID_POPULATION_NAMES if n in lowered), None)
        if pop_col is None or pop_col not in columns:
            raise InputDataError(
                f"人口格网 {label} 缺少人口列（可用列名: {'、'.join(GRID_POPULATION_NAMES)}）；现有列: {columns} "
                f"(population column not found)"
            )
        population = pd.to_numeric(layer[pop_col], errors="coerce").to_numpy(dtype=float)
        text_bad = np.flatnonzero(
            np.isnan(population)
            & layer[pop_col].notna().to_numpy()
            & (layer[pop_col].astype(str).str.strip() != "").to_numpy()
        )
        if text_bad.size:
            i = int(text_bad[0])
            raise InputDataError(
                f"人口格网 {label} 第 {i + 1} 个格网的 {pop_col}={str(layer[pop_col].iloc[i])[:20]!r} 不是数字"
                f"（共 {text_bad.size} 个） (population is not a number)"
            )
        hh_col = next((c for c in columns if str(c).strip().lower() in GRID_HOUSEHOLD_NAMES), None)
        households = (
            pd.to_numeric(layer[hh_col], errors="coerce").to_numpy(dtype=float)
            if hh_col
            else np.full(len(layer), np.nan)
        )
        ids = [f"第 {i + 1} 个格网 (cell {i + 1})" for i in range(len(layer))]
        xy = shapely.get_coordinates(layer.geometry.to_numpy())
        metric = metric_crs(xy[:, 0], xy[:, 1])
        points = layer.geometry.to_crs(metric).centroid.to_crs(WGS84).to_numpy()
    negative = np.flatnonzero(population < 0)
    if negative.size:
        i = int(negative[0])
        raise InputDataError(
            f"人口格网 {label} {ids[i]} 的人口为负数 {population[i]:g}（共 {negative.size} 个）；"
            f"无数据格网请留空或设为 NODATA (negative population)"
        )
    nodata = np.isnan(population)
    zero = population == 0
    keep = np.flatnonzero(~nodata & ~zero)
    if keep.size == 0:
        raise InputDataError(f"人口格网 {label} 中没有人口大于 0 的格网 (no populated cell)")
    out = gpd.GeoDataFrame(
        {
            "cell_id": [ids[i] for i in keep],
            "residents": population[keep],
            "households": households[keep],
            "source": "grid",
            "assumption": f"人口取自格网文件 {label}，每个格网以其中心点代表 (persons per cell from the grid)",
        },
        geometry=points[keep],
        crs=WGS84,
    )
    if study_area is not None and suffix == ".asc":
        check_study_area(out, study_area, label)
    out.attrs.update({"cells_nodata": int(nodata.sum()), "cells_zero": int(zero.sum()), "source_crs": source_crs})
    logger.info(
        "demand from grid %s: %d populated cells (%d no-data, %d zero), %.0f residents",
        label,
        len(out),
        int(nodata.sum()),
        int(zero.sum()),
        float(out["residents"].sum()),
    )
    return out
