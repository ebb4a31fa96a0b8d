"""Facilities: from the OSM demo extract by service function, or from a planner's file.

The six service functions and their OSM tags live in ``data/facility_tags.json``
(editable).  A planner's own file may be GeoJSON, GeoPackage or CSV with longitude /
latitude columns (``lon``/``lat``, ``经度``/``纬度`` ...); coordinates are WGS84 unless
the file says otherwise.  Every reader returns a GeoDataFrame in EPSG:4326 with
``facility_id``, ``name``, ``category``, ``function`` and ``source``; the OSM readers
add ``function_zh`` and the finer facility ``type`` / ``type_zh`` (the type keys are
those of the planning standard file, see :mod:`geo.access.standards`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.standards import FUNCTIONS, Standard, load_standard
from geo.errors import InputDataError, NetworkUnavailableError
from geo.io.coords import SYSTEMS
from geo.io.crs import WGS84
from geo.io.sources import demo_pbf_path, internet_reachable
from geo.io.tables import find_column
from geo.io.uploads import read_upload

logger = logging.getLogger(__name__)

__all__ = [
    "FACILITY_TAGS_PATH",
    "facilities_from_features",
    "facility_functions",
    "facility_tag_keys",
    "feature_tags",
    "fetch_osm_features",
    "osm_facilities",
    "osm_facilities_all",
    "osm_facilities_online",
    "read_facilities",
    "read_facility_ledger",
]

FACILITY_TAGS_PATH = settings.DATA_DIR / "facility_tags.json"
NAME_NAMES = ("name", "名称", "设施名称")
CATEGORY_NAMES = ("category", "type", "类别", "类型", "设施类型")
MAX_FACILITY_FILE_BYTES = 64 * 1024 * 1024
#: Timeout of one Overpass request (s) for online downloads; osmnx's default is 180 s.
ONLINE_TIMEOUT_S = 60


def facility_functions(path: Path = FACILITY_TAGS_PATH) -> dict[str, dict]:
    """The service functions and their OSM tag filters, from the editable data file."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["functions"]


def _matching_type(tags: dict[str, str], spec: dict) -> str | None:
    """Type key of the first filter of a function that the tags match (``""``: no type); ``None``: no match."""
    for flt in spec["filters"]:
        value = tags.get(flt["key"])
        if value is None or ("*" not in flt["values"] and value not in flt["values"]):
            continue
        if all(tags.get(k) in v for k, v in flt.get("and", {}).items()):
            return flt.get("type", "")
    return None


def _check_types(functions: dict[str, dict], standard: Standard) -> None:
    """Every filter's type must be a facility type of the standard, of the same function."""
    for function, spec in functions.items():
        for i, flt in enumerate(spec["filters"]):
            key = flt.get("type")
            if not key:
                continue
            where = f"服务功能 {function!r} 的第 {i + 1} 个标签条件 (type={key!r})"
            if key not in standard.facility_types:
                raise InputDataError(
                    f"{FACILITY_TAGS_PATH.name} 中{where} 不在标准 {standard.code} 的设施类型中 "
                    f"(facility type not in the standard file)"
                )
            if standard.facility_types[key].function != function:
                raise InputDataError(
                    f"{FACILITY_TAGS_PATH.name} 中{where} 在标准中属于服务功能 "
                    f"{standard.facility_types[key].function!r} (facility type belongs to another function)"
                )


COLUMNS = ["facility_id", "name", "category", "function", "function_zh", "type", "type_zh", "source"]


def _facility_row(tags: dict[str, str], functions: dict[str, dict], standard: Standard) -> dict[str, str] | None:
    """The function, type and names of a POI with ``tags`` (first matching function wins); ``None``: no match.

    The one place where OSM tags become a service function: used for OSM files and for
    online downloads alike.
    """
    matches = ((function, _matching_type(tags, spec)) for function, spec in functions.items())
    function, type_key = next(((f, t) for f, t in matches if t is not None), (None, None))
    if function is None or type_key is None:
        return None
    category = next((tags[k] for k in ("amenity", "healthcare", "shop", "leisure", "office") if k in tags), "")
    return {
        "name": tags.get("name:zh", tags.get("name", "")),
        "category": category,
        "function": function,
        "function_zh": functions[function].get("label_zh", FUNCTIONS.get(function, function)),
        "type": type_key,
        "type_zh": standard.facility_types[type_key].name_zh if type_key else "",
        "source": "OpenStreetMap",
    }


def _facility_frame(rows: list[dict], lon: list[float], lat: list[float]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _osm_frame(functions: dict[str, dict], path: Path | None, standard: Standard | None) -> gpd.GeoDataFrame:
    """POIs of an OSM file matching any of ``functions``, each with the first function that matches."""
    import osmium

    standard = standard or load_standard()
    _check_types(functions, standard)
    path = Path(path) if path is not None else demo_pbf_path()
    rows, lons, lats = [], [], []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_relation() or not len(obj.tags):
            continue
        row = _facility_row({t.k: t.v for t in obj.tags}, functions, standard)
        if row is None:
            continue
        if obj.is_node():
            if not obj.location.valid():
                continue
            lon, lat = obj.location.lon, obj.location.lat
        else:
            locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if not locs:
                continue
            lon, lat = np.mean(locs, axis=0)
        rows.append({"facility_id": f"{'n' if obj.is_node() else 'w'}{obj.id}", **row})
        lons.append(lon)
        lats.append(lat)
    return _facility_frame(rows, lons, lats)


def fetch_osm_features(polygon: shapely.Geometry, tags: dict[str, Any], *, what_zh: str) -> gpd.GeoDataFrame:
    """OSM features inside a WGS84 polygon, downloaded with osmnx ``features_from_polygon``.

    The internet is checked first, so that offline this fails at once.

    Parameters
    ----------
    polygon
        Study area in WGS84 degrees.
    tags
        osmnx tag query (``{"amenity": True, "landuse": ["residential"]}``).
    what_zh
        What is downloaded, for the message (``"设施"``).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per OSM element (index ``element``, ``id``), one column per tag;
        empty when the area has none.

    Raises
    ------
    NetworkUnavailableError
        The OpenStreetMap servers cannot be reached.
    """
    import osmnx as ox
    import requests

    message = (
        f"无法连接 OpenStreetMap 服务器下载{what_zh}（无网络）；请改用离线 .osm.pbf 文件或台账 "
        f"(cannot reach the OpenStreetMap servers; use an .osm.pbf file or a ledger)"
    )
    if not internet_reachable(ox.settings.overpass_url):
        raise NetworkUnavailableError(message)
    ox.settings.requests_timeout = ONLINE_TIMEOUT_S
    try:
        return ox.features_from_polygon(polygon, tags)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise NetworkUnavailableError(message) from exc
    except ox._errors.InsufficientResponseError:  # no matching feature in the area
        return gpd.GeoDataFrame(geometry=[], crs=WGS84)


def feature_tags(record: dict) -> dict[str, str]:
    """The tags of one row of an osmnx features frame (missing tags are NaN there)."""
    return {str(k): str(v) for k, v in record.items() if k != "geometry" and isinstance(v, str)}


def osm_facilities_online(polygon: shapely.Geometry, *, standard: Standard | None = None) -> gpd.GeoDataFrame:
    """Every POI of the six functions inside a WGS84 polygon, downloaded with osmnx.

    The tags are matched through ``data/facility_tags.json`` exactly as
    :func:`osm_facilities_all` does for OSM files (first matching function wins); ways
    and relations are taken at their centroid.

    Parameters
    ----------
    polygon
        Study area in WGS84 degrees (a county boundary).
    standard
        Standard giving the facility types' Chinese names; ``None``: GB 50180-2018.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns as :func:`osm_facilities_all`, EPSG:4326.

    Raises
    ------
    NetworkUnavailableError
        Offline: the OpenStreetMap servers cannot be reached.
    """
    features = fetch_osm_features(polygon, dict.fromkeys(facility_tag_keys(), True), what_zh="设施")
    return facilities_from_features(features, standard=standard)


def facility_tag_keys() -> list[str]:
    """The OSM keys the service functions' tag filters look at (``amenity``, ``shop`` ...)."""
    return sorted({flt["key"] for spec in facility_functions().values() for flt in spec["filters"]})


def facilities_from_features(features: gpd.GeoDataFrame, *, standard: Standard | None = None) -> gpd.GeoDataFrame:
    """Facilities of the six functions among osmnx features (``features_from_polygon`` / ``_xml``).

    Parameters
    ----------
    features
        An osmnx features frame in EPSG:4326: index (``element``, ``id``), one column per tag.
    standard
        Standard giving the facility types' Chinese names; ``None``: GB 50180-2018.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns as :func:`osm_facilities_all`; ways and relations at their centroid.
    """
    standard = standard or load_standard()
    functions = facility_functions()
    _check_types(functions, standard)
    rows, lons, lats = [], [], []
    if len(features):
        xy = shapely.get_coordinates(shapely.centroid(features.geometry.to_numpy()))
        for (element, osm_id), record, (lon, lat) in zip(features.index, features.to_dict("records"), xy, strict=True):
            row = _facility_row(feature_tags(record), functions, standard)
            if row is not None:
                rows.append({"facility_id": f"{str(element)[:1]}{osm_id}", **row})
                lons.append(lon)
                lats.append(lat)
    logger.info("facilities from features: %d of %d features matched a function", len(rows), len(features))
    return _facility_frame(rows, lons, lats)


def osm_facilities(function: str, path: Path | None = None, *, standard: Standard | None = None) -> gpd.GeoDataFrame:
    """Facilities of one service function from an OSM file (default: the demo extract).

    Nodes are taken as they are; ways (buildings, areas) by the centroid of their nodes.
    A POI that matches several functions is returned by each of them here (unlike
    :func:`osm_facilities_all`).

    Parameters
    ----------
    function
        Key of a service function (``"medical"``, ``"elderly"``, ...).
    path
        ``.osm.pbf`` or ``.osm`` file; ``None`` reads the bundled demo.
    standard
        Standard giving the facility types' Chinese names; ``None``: GB 50180-2018.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points with ``facility_id``, ``name``, ``category`` (the OSM tag
        value), ``function``, ``function_zh``, ``type`` (finer facility type key of the
        standard, from the first matching filter of ``data/facility_tags.json``),
        ``type_zh`` and ``source``.

    Raises
    ------
    InputDataError
        Unknown function; a tag filter naming a type that is not in the standard.
    """
    functions = facility_functions()
    if function not in functions:
        raise InputDataError(f"服务功能 {function!r} 无效，可选: {', '.join(functions)} (unknown service function)")
    return _osm_frame({function: functions[function]}, path, standard)


def osm_facilities_all(path: Path | None = None, *, standard: Standard | None = None) -> gpd.GeoDataFrame:
    """Every POI of an OSM file that matches any service function, each with exactly one function.

    A POI matching several functions gets the first of them in the order of
    ``data/facility_tags.json`` (elderly, childcare, medical, food, leisure, services
    in the shipped file), so the rows partition the matching POIs.  Columns as
    :func:`osm_facilities`; ``function_zh`` is the function's Chinese label.
    """
    return _osm_frame(facility_functions(), path, standard)


def _system_and_crs(crs: object | None) -> Any:
    """The ``system`` argument of :func:`geo.io.uploads.read_upload` for a ``crs`` argument."""
    if crs is None:
        return "wgs84"
    key = str(crs).strip().lower().replace("-", "").replace("_", "")
    return key if key in SYSTEMS else crs


def read_facilities(
    path: Path,
    *,
    crs: object | None = None,
    original_name: str | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Read facilities from a planner's file through :func:`geo.io.uploads.read_upload`.

    Parameters
    ----------
    path
        An existing regular file: ``.geojson``/``.json``, ``.gpkg``, zipped Shapefile
        ``.zip``, ``.kml``, or a ``.csv``/``.xlsx`` table with longitude/latitude
        columns (经度/纬度, lon/lat ...), UTF-8 or GBK, Chinese or English headers.
    crs
        Coordinate system of a table's coordinates: ``"wgs84"`` (default),
        ``"cgcs2000"``, ``"gcj02"`` (Amap/Tencent picks), ``"bd09"`` (Baidu), all
        converted to WGS84; or an EPSG code / CRS of X/Y columns in metres (CGCS2000
        Gauss-Kruger ``4549``).  GeoJSON is WGS84 by RFC 7946; Shapefiles and
        GeoPackages use their own CRS.
    original_name
        The name the planner gave the file, for messages; default ``path.name``.
    study_area
        Optional study area (WGS84 degrees); a facility farther than
        :data:`geo.io.uploads.STUDY_AREA_MAX_DIST_M` from it is refused as a likely wrong
        coordinate system.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 (lines and polygons reduced to their centroids) with
        ``facility_id`` (``row<line>`` for tables, ``f<n>`` for layers), ``name``,
        ``category``, ``function`` (empty) and ``source`` (the file name).

    Raises
    ------
    InputDataError
        Missing, empty, too large or unsupported file, no features, bad coordinates
        (the message names the line or feature), an unknown coordinate system.
    CRSError
        Coordinates that do not fit their CRS, swapped axes, or far from the study area.
    """
    path = Path(path)
    label = original_name or path.name
    frame = read_upload(
        path,
        original_name=label,
        expected="any",
        system=_system_and_crs(crs),
        max_bytes=MAX_FACILITY_FILE_BYTES,
        study_area=study_area,
    )
    columns = [c for c in frame.columns if c != frame.geometry.name]
    name_col = find_column(columns, NAME_NAMES)
    cat_col = find_column(columns, CATEGORY_NAMES)
    if "line" in columns and frame.attrs.get("kind") in ("csv", "xlsx"):
        ids = [f"row{int(n)}" for n in frame["line"]]
    else:
        ids = [f"f{i + 1}" for i in range(len(frame))]
    return gpd.GeoDataFrame(
        {
            "facility_id": ids,
            "name": frame[name_col].fillna("").astype(str).to_numpy() if name_col else "",
            "category": frame[cat_col].fillna("").astype(str).to_numpy() if cat_col else "",
            "function": "",
            "source": label,
        },
        geometry=shapely.centroid(frame.geometry.to_numpy()),
        crs=WGS84,
    )


#: Columns a ledger may use for the facility's category (类别/类型).
LEDGER_CATEGORY_NAMES = ("类别", "类型", "设施类型", "设施类别", "category", "type")


def _category_lookup(standard: Standard) -> dict[str, tuple[str, str]]:
    """Category text (Chinese or English name, key) -> (function, type key or "")."""
    lookup: dict[str, tuple[str, str]] = {}
    for key, spec in facility_functions().items():
        for text in (key, spec["label_zh"], spec["label_en"]):
            lookup[text.strip().lower()] = (key, "")
    for key, ftype in standard.facility_types.items():
        for text in (key, ftype.name_zh, ftype.name_en):
            lookup[text.strip().lower()] = (ftype.function, key)
    return lookup


def read_facility_ledger(
    path: Path,
    *,
    original_name: str | None = None,
    system: str = "wgs84",
    standard: Standard | None = None,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Read a planner's facility ledger (台账) and give each row its function and type.

    The file goes through :func:`geo.io.uploads.read_upload` (CSV or XLSX, UTF-8 or GBK,
    Chinese or English headers, any of the coordinate systems of
    :data:`geo.io.coords.SYSTEMS`).  The category column (类别/类型/category/type) holds a
    facility type of the standard (``幼儿园``, ``社区卫生服务站``, ``kindergarten`` ...)
    or a function (``老有所养``, ``medical`` ...).

    Parameters
    ----------
    path
        The ledger file.
    original_name
        The name the planner gave the file (messages use it).
    system
        Coordinate system of the ledger's longitude/latitude (``wgs84``, ``gcj02``, ``bd09``).
    standard
        The planning standard (default: ``data/standards/gb50180_2018.json``).
    study_area
        Optional study area (WGS84 degrees); rows far from it are refused (likely a
        wrong ``system``).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``facility_id``, ``name``, ``category``, ``function``,
        ``function_zh``, ``type``, ``type_zh``, ``source`` and ``line``.

    Raises
    ------
    InputDataError
        No category column, or categories that are neither a type nor a function
        (the message lists their lines and the accepted names).
    """
    standard = standard or load_standard()
    frame = read_upload(Path(path), original_name=original_name, expected="point", system=system, study_area=study_area)
    label = original_name or Path(path).name
    cat_col = find_column(list(frame.columns), LEDGER_CATEGORY_NAMES)
    if cat_col is None:
        raise InputDataError(
            f"台账 {label} 缺少类别列（可用列名: {'、'.join(LEDGER_CATEGORY_NAMES)}）"
            f"(the ledger needs a category column)"
        )
    lookup = _category_lookup(standard)
    categories = frame[cat_col].fillna("").astype(str).str.strip()
    matched = [lookup.get(c.lower()) for c in categories]
    bad = [i for i, m in enumerate(matched) if m is None]
    if bad:
        lines = frame["line"].to_numpy()[bad] if "line" in frame.columns else np.asarray(bad) + 2
        shown = ", ".join(f"第 {int(n)} 行「{categories.iloc[i]}」" for n, i in zip(lines[:10], bad[:10], strict=False))
        functions = facility_functions()
        accepted = "、".join(
            [spec["label_zh"] for spec in functions.values()] + [t.name_zh for t in standard.facility_types.values()]
        )
        raise InputDataError(
            f"台账 {label} 有 {len(bad)} 行类别无法识别: {shown}；可用类别: {accepted} "
            f"(unknown categories; use a function or a facility type of the standard)"
        )
    functions = facility_functions()
    name_col = find_column(list(frame.columns), NAME_NAMES)
    pairs = [m for m in matched if m is not None]  # every row matched: the unmatched were refused above
    function = [m[0] for m in pairs]
    ftype = [m[1] for m in pairs]
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"L{int(n)}" for n in frame.get("line", pd.Series(np.arange(len(frame)) + 2))],
            "name": frame[name_col].fillna("").astype(str).to_numpy() if name_col else "",
            "category": categories.to_numpy(),
            "function": function,
            "function_zh": [functions[f]["label_zh"] for f in function],
            "type": ftype,
            "type_zh": [standard.facility_types[t].name_zh if t else "" for t in ftype],
            "source": label,
            "line": frame["line"].to_numpy() if "line" in frame.columns else np.arange(len(frame)) + 2,
        },
        geometry=frame.geometry.to_numpy(),
        crs=WGS84,
    )
