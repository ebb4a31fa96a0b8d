"""Where residents live: demand points from residential buildings or a compound ledger.

No registry package ships fine-grained population for China offline, so demand comes
from what a planner has:

* ``residents_from_buildings``: residential buildings of an OpenStreetMap file,
  residents = footprint (m²) x levels / floor area per resident (m²), with the figures
  written beside every point (``assumption``) so that a map can show them.
* ``residents_from_compounds``: the community ledger of residential compounds (小区),
  one row per compound with its household count and a picked point.

Both return demand points in EPSG:4326 with ``residents``, ``households``, ``source``
and ``assumption``; the defaults live in :mod:`geo.settings` with their sources.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.coords import to_wgs84
from geo.crs import WGS84, check_lonlat, metric_crs
from geo.errors import InputDataError
from geo.sources import demo_pbf_path
from geo.textfiles import check_input_file, decode_text

logger = logging.getLogger(__name__)

__all__ = [
    "BUILDING_COLUMNS",
    "COMPOUND_COLUMNS",
    "building_assumption_zh",
    "is_residential_building",
    "parse_levels",
    "residents_from_buildings",
    "residents_from_compounds",
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
#: Columns of ``residents_from_compounds`` (besides ``geometry``).
COMPOUND_COLUMNS = ("name", "line", "households", "residents", "residents_source", "source", "assumption")

#: Header names a ledger may use, per field (compared case-insensitively, stripped).
LEDGER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "小区名称", "小区", "name"),
    "households": ("户数", "households"),
    "residents": ("人口", "人数", "居民数", "residents", "population"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
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
                geom = bytes.fromhex(wkb.create_multipolygon(obj))
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
    if not buildings:
        raise InputDataError(f"OSM 文件 {path.name} 中没有建筑 (no building=* in the file)")
    footprints = shapely.from_wkb([geom for _, _, geom in buildings])
    xy = shapely.get_coordinates(footprints)
    check_lonlat(xy[:, 0], xy[:, 1], what=f"OSM 文件 {path.name}")
    metric = metric_crs(xy[:, 0], xy[:, 1], epsg=crs)
    footprints_m = gpd.GeoSeries(footprints, crs=WGS84).to_crs(metric).to_numpy()
    centroids_m = shapely.centroid(footprints_m)

    in_landuse = np.zeros(len(buildings), dtype=bool)
    if landuse:
        landuse_m = gpd.GeoSeries(shapely.from_wkb(landuse), crs=WGS84).to_crs(metric).to_numpy()
        tree = shapely.STRtree(landuse_m)
        hits = tree.query(centroids_m, predicate="within")
        in_landuse[np.unique(hits[0])] = True

    keep = np.array(
        [
            is_residential_building(tags, in_residential_landuse=bool(inside))
            for (_, tags, _), inside in zip(buildings, in_landuse, strict=True)
        ],
        dtype=bool,
    )
    index = np.flatnonzero(keep)
    if index.size == 0:
        raise InputDataError(
            f"OSM 文件 {path.name} 中没有居住建筑（{len(buildings)} 栋建筑均非住宅）；"
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


def _map_headers(path: Path, headers: list[str]) -> dict[str, str]:
    """Field -> header of the file; unknown headers raise."""
    lookup = {alias.lower(): field for field, aliases in LEDGER_HEADERS.items() for alias in aliases}
    found: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        key = (header or "").strip().lower()
        if not key:
            continue  # a trailing comma from a spreadsheet
        field = lookup.get(key)
        if field is None:
            unknown.append(header)
        elif field in found:
            raise InputDataError(
                f"小区台账 {path.name} 中列 {found[field]!r} 与 {header!r} 重复 (duplicate column for {field})"
            )
        else:
            found[field] = header
    allowed = "; ".join(f"{field}: {'/'.join(aliases)}" for field, aliases in LEDGER_HEADERS.items())
    if unknown:
        raise InputDataError(
            f"小区台账 {path.name} 中有无法识别的列 {unknown}；可用列名为 {allowed} (unknown columns {unknown})"
        )
    missing = [f for f in ("lon", "lat") if f not in found]
    if "households" not in found and "residents" not in found:
        missing.append("households")
    if missing:
        raise InputDataError(
            f"小区台账 {path.name} 缺少列 {missing}（需要 户数 或 人口，以及 经度、纬度）；可用列名为 {allowed} "
            f"(missing columns {missing})"
        )
    return found


def _number(text: str | None) -> float | None:
    """A number from a cell (``None`` when blank, NaN when not a number)."""
    if text is None or not text.strip():
        return None
    try:
        return float(text.strip().replace(",", ""))
    except ValueError:
        return math.nan


def residents_from_compounds(
    path: Path,
    *,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    system: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Residents of residential compounds (小区) from a planner's ledger CSV.

    The file is UTF-8 or GBK with a header row naming the columns in Chinese or English:
    名称/name, 户数/households, 经度/lon, 纬度/lat, and optionally 人口/residents.  A
    row's residents are its 人口 when given, otherwise 户数 x ``persons_per_household``;
    a row with 人口 but no 户数 gets 人口 / ``persons_per_household`` households.

    Parameters
    ----------
    path
        The CSV file.
    persons_per_household
        Persons per household; default 2.62 (2020 census).
    system
        Coordinate system of 经度/纬度 (degrees): ``"wgs84"`` (default, also
        ``"cgcs2000"``), ``"gcj02"`` (picked in Amap/Tencent) or ``"bd09"`` (Baidu),
        converted to WGS84.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per compound in EPSG:4326 with the columns of
        :data:`COMPOUND_COLUMNS`: ``line`` (line number in the file),
        ``residents_source`` (``"ledger"`` or ``"households"``), ``source`` =
        ``"compounds"``.

    Raises
    ------
    InputDataError
        Missing, empty, too large or undecodable file; unknown or missing columns
        (the message lists the allowed names); rows with a non-numeric or negative
        count or bad coordinates (the message names their line numbers); an unknown
        ``system``.
    """
    persons_per_household = _check_positive("persons_per_household", persons_per_household)
    path = Path(path)
    check_input_file(path, what_zh="小区台账", what_en="ledger file", max_bytes=settings.MAX_LEDGER_BYTES)
    to_wgs84(np.zeros(1), np.zeros(1), system)  # unknown system names raise before reading

    reader = csv.DictReader(io.StringIO(decode_text(path.read_bytes(), path.name)))
    columns = _map_headers(path, list(reader.fieldnames or []))
    rows: list[dict[str, object]] = []
    bad: list[tuple[int, str]] = []
    for record in reader:
        line = reader.line_num
        cells = {field: record.get(header) for field, header in columns.items()}
        lon, lat = _number(cells["lon"]), _number(cells["lat"])
        households = _number(cells.get("households"))
        residents = _number(cells.get("residents"))
        if lon is None or lat is None or math.isnan(lon) or math.isnan(lat):
            bad.append((line, "经纬度缺失或不是数字 (coordinates missing or not numeric)"))
            continue
        if not (abs(lon) <= 180.0 and abs(lat) <= 90.0):
            bad.append((line, f"经纬度超出范围 ({lon}, {lat}) (coordinates out of range)"))
            continue
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
            residents = households * persons_per_household
        name = (cells.get("name") or "").strip() or f"第{line}行"
        rows.append(
            {
                "name": name,
                "line": line,
                "households": households,
                "residents": residents,
                "residents_source": source,
                "lon": lon,
                "lat": lat,
            }
        )
    if bad:
        shown = "; ".join(f"第 {line} 行: {why}" for line, why in bad[:MAX_LINES_REPORTED])
        lines = [line for line, _ in bad]
        raise InputDataError(
            f"小区台账 {path.name} 有 {len(bad)} 行数据有误 — {shown} (bad rows on lines {lines[:MAX_LINES_REPORTED]})"
        )
    if not rows:
        raise InputDataError(f"小区台账 {path.name} 没有数据行 (no data rows)")
    frame = pd.DataFrame(rows)
    lon_w, lat_w = to_wgs84(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float), system)
    check_lonlat(lon_w, lat_w, what=f"小区台账 {path.name}")
    assumption = f"人口取台账“人口”列；无人口时按 户数 × {_fmt(persons_per_household)} 人/户（七普平均家庭户规模）计"
    out = gpd.GeoDataFrame(
        {
            "name": frame["name"].astype(str).to_numpy(),
            "line": frame["line"].to_numpy(dtype=np.int64),
            "households": frame["households"].to_numpy(dtype=float),
            "residents": frame["residents"].to_numpy(dtype=float),
            "residents_source": frame["residents_source"].to_numpy(),
            "source": "compounds",
            "assumption": assumption,
        },
        geometry=gpd.points_from_xy(lon_w, lat_w),
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
