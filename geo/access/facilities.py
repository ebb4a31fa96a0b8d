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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.standards import FUNCTIONS, Standard, load_standard
from geo.access.vocabulary import load_vocabulary, parse_functions
from geo.errors import InputDataError, NetworkUnavailableError
from geo.io.coords import SYSTEMS
from geo.io.crs import WGS84
from geo.io.ledger import RowIssue, drop_rows, read_ledger
from geo.io.sheets import header_key
from geo.io.sources import demo_pbf_path, internet_reachable
from geo.io.tables import find_column
from geo.io.uploads import check_study_area, read_upload
from geo.network.graph import WalkNetwork
from geo.network.systems import locate_ledger, locate_table

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
        if not all(tags.get(k) in v for k, v in flt.get("and", {}).items()):
            continue
        words = flt.get("name_contains")
        name = tags.get("name:zh", tags.get("name", ""))
        if words and not any(word in name for word in words):
            continue
        return flt.get("type", "")
    return None


def _known(functions: dict[str, dict], standard: Standard) -> dict[str, dict]:
    """The tag file's functions the standard knows: the six, its own, its groups (学有所教)."""
    return {
        key: spec
        for key, spec in functions.items()
        if key in FUNCTIONS or key in standard.functions or key in standard.groups
    }


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
    functions = _known(functions, standard)
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
    functions = _known(facility_functions(), standard)
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
    ``data/facility_tags.json`` (elderly, childcare, medical, food, leisure, services, then the
    schools of the 学有所教 group
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
    network: WalkNetwork | None = None,
) -> gpd.GeoDataFrame:
    """Read facilities from a planner's file through :func:`geo.io.uploads.read_upload`.

    Parameters
    ----------
    path
        An existing regular file: ``.geojson``/``.json``, ``.gpkg``, zipped Shapefile
        ``.zip``, ``.kml``, or a ``.csv``/``.xlsx`` table with longitude/latitude
        columns (经度/纬度, lon/lat ...), UTF-8 or GBK, Chinese or English headers.
    crs
        Coordinate system of a table's coordinates: ``"wgs84"``, ``"cgcs2000"``,
        ``"gcj02"`` (Amap/Tencent picks), ``"bd09"`` (Baidu), all converted to WGS84; or
        an EPSG code / CRS of X/Y columns in metres (CGCS2000 Gauss-Kruger ``4549``).
        ``None`` (default): a table's degrees are judged against ``network``
        (:func:`geo.network.systems.resolve_system`; inside China without a network the
        read stops and asks).  GeoJSON is WGS84 by RFC 7946; Shapefiles and GeoPackages use
        their own CRS.
    network
        The walk network the facilities are for, to detect an undeclared system.
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
        ``facility_id`` (the file's own id column 编号/设施编号/id/code when its values are
        unique, else ``row<line>`` for tables, ``f<n>`` for layers), ``name``,
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
        study_area=None if crs is None else study_area,
    )
    if crs is None:
        # Undeclared degrees of a table: never silently WGS84 (a GCJ-02 pick is ~0.5 km off).
        frame = locate_table(frame, network, name=label)
        if study_area is not None:
            check_study_area(frame, study_area, label)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    name_col = find_column(columns, NAME_NAMES)
    cat_col = find_column(columns, CATEGORY_NAMES)
    id_col = find_column([header_key(c) for c in columns], tuple(header_key(a) for a in LEDGER_FIELDS["id"][:-1]))
    own_ids = None
    if id_col is not None:
        own = frame[columns[[header_key(c) for c in columns].index(id_col)]].fillna("").astype(str).str.strip()
        if own.ne("").all() and own.is_unique:
            own_ids = own.tolist()  # the planner's own ids (编号) name the facilities in every output
    if own_ids is not None:
        ids = own_ids
    elif "line" in columns and frame.attrs.get("kind") in ("csv", "xlsx", "xls"):
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


#: Header names of a facility ledger's fields (compared without spaces, brackets or case; the first
#: alias present wins, so a 设施编号 column is the id even where a 序号 column is also present).
LEDGER_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("设施编号", "编号", "设施编码", "编码", "代码", "id", "code", "序号"),
    "name": ("设施名称", "名称", "单位名称", "机构名称", "站点名称", "场所名称", "name"),
    "category": (
        "设施类别",
        "设施类型",
        "类别",
        "类型",
        "分类",
        "设施分类",
        "业态",
        "poi类别",
        "poi类型",
        "category",
        "type",
    ),
    "functions": ("服务功能", "包含功能", "功能配置", "功能"),
    "community": ("所属社区", "社区", "所属村居", "村居", "所在社区"),
    "address": ("地址", "详细地址", "address"),
}
#: Columns of a ledger's facilities (besides the ledger's own other columns and ``geometry``).
LEDGER_COLUMNS = [
    "facility_id",
    "ledger_id",
    "name",
    "category",
    "function",
    "function_zh",
    "type",
    "type_zh",
    "community",
    "address",
    "source",
    "line",
]


def read_facility_ledger(
    path: Path,
    *,
    original_name: str | None = None,
    system: str | None = "auto",
    network: WalkNetwork | None = None,
    standard: Standard | None = None,
    study_area: shapely.Geometry | None = None,
    category_map: Path | Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a county's facility ledger (台账) and give each row its functions and type.

    The file is read by :func:`geo.io.ledger.read_ledger` (CSV/XLSX/XLS, title rows, merged headers,
    coordinates in two columns, one 坐标 column or DMS); the category (设施类别) is looked up in the
    county vocabulary (:mod:`geo.access.vocabulary`: 邻里中心, 卫生院, 村卫生室, 农贸市场, 长者食堂,
    Amap POI classes ...).  A row for several functions (邻里中心: all six, or those its 服务功能
    column lists) becomes one facility per function.  Rows whose position cannot be read and rows of
    unknown categories are not loaded; they are listed in the report (``attrs["report"]``), the rest
    loads.

    Parameters
    ----------
    path
        The ledger file.
    original_name
        The name the planner gave the file (messages, report, the facilities' ``source``).
    system
        Coordinate system of the degrees: ``"auto"`` (default: detected against ``network``),
        ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``, or an EPSG code of X/Y in metres.
    network
        The project's walk network, to detect the coordinate system (and check a declared one).
    standard
        The planning standard (default GB 50180-2018).
    study_area
        Optional WGS84 polygon; rows far from it are reported and left out.
    category_map
        The county's own category table or ``{类别: 服务功能}`` (over the shipped vocabulary).
    columns
        The planner's choice of column per field (``{"category": "业务类型"}``).
    sheet
        The worksheet (default: chosen by content).

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with :data:`LEDGER_COLUMNS` and the ledger's other columns;
        ``attrs["report"]`` is the :class:`geo.io.ledger.LedgerReport`.

    Raises
    ------
    InputDataError
        Unreadable file, no coordinate or category column, no row loaded.
    SystemUnclearError
        Undeclared system the streets do not decide.
    CRSError
        Most rows out of range or far from the study area.
    """
    standard = standard or load_standard()
    vocabulary = load_vocabulary(category_map, standard=standard)
    label = original_name or Path(path).name
    ledger = read_ledger(
        Path(path), fields=LEDGER_FIELDS, original_name=label, columns=columns, sheet=sheet, what_zh="设施台账"
    )
    report = ledger.report
    if "category" not in report.columns and "functions" not in report.columns:
        raise InputDataError(
            f"设施台账 {label} 缺少类别列（可用列名: 设施类别、类别、类型、category；或 服务功能 列）；"
            f"表头在第 {report.header_line} 行，"
            f"现有列: {'、'.join([*report.columns.values(), *report.attributes])} "
            f"(the ledger needs a category column)"
        )
    rows = ledger.rows
    # Line -> (functions, type key) of each row kept; rows left out later are simply not looked up.
    meanings: dict[int, tuple[tuple[str, ...], str]] = {}
    keep = np.ones(len(rows), dtype=bool)
    issues: list[RowIssue] = []
    unknown: dict[str, int] = {}
    for k, record in enumerate(rows.to_dict("records")):
        category = str(record.get("category", "") or "")
        listed = str(record.get("functions", "") or "")
        meaning = vocabulary.lookup(category) if category else None
        try:
            own = (
                parse_functions(
                    listed, where=f"第 {record['line']} 行", functions=standard.functions, groups=standard.groups
                )
                if listed
                else ()
            )
        except InputDataError as exc:
            issues.append(RowIssue(int(record["line"]), report.columns["functions"], listed, str(exc).split(" (")[0]))
            keep[k] = False
            continue
        if meaning is None and not own:
            keep[k] = False
            if category:
                unknown[category] = unknown.get(category, 0) + 1
            else:
                issues.append(
                    RowIssue(int(record["line"]), report.columns.get("category", "类别"), "", "类别为空 (no category)")
                )
            continue
        functions = own or (meaning.functions if meaning else ())
        ftype = (
            meaning.type
            if meaning and meaning.type and standard.facility_types[meaning.type].function in functions
            else ""
        )
        meanings[int(record["line"])] = (functions, ftype)
    report.unknown_categories = unknown
    ledger = drop_rows(ledger, keep, issues)
    if ledger.rows.empty:
        raise InputDataError(f"设施台账 {label} 没有可读入的设施 (no facility could be read)\n{report.to_text()}")
    ledger, points = locate_ledger(ledger, system, network, study_area=study_area)
    rows = ledger.rows
    ids = rows["id"].astype(str).str.strip() if "id" in rows.columns else pd.Series([""] * len(rows))
    unique_ids = bool(ids.ne("").all() and ids.is_unique)
    records = []
    geometry = []
    for k, record in enumerate(rows.to_dict("records")):
        functions, ftype = meanings[int(record["line"])]
        ledger_id = ids.iloc[k] if unique_ids else f"L{int(record['line'])}"
        for function in functions:
            type_key = ftype if ftype and standard.facility_types[ftype].function == function else ""
            records.append(
                {
                    "facility_id": (
                        ledger_id if len(functions) == 1 else f"{ledger_id}（{standard.function_label(function)}）"
                    ),
                    "ledger_id": ids.iloc[k] or f"L{int(record['line'])}",
                    "name": str(record.get("name", "") or ""),
                    "category": str(record.get("category", "") or ""),
                    "function": function,
                    "function_zh": standard.function_label(function),
                    "type": type_key,
                    "type_zh": standard.facility_types[type_key].name_zh if type_key else "",
                    "community": str(record.get("community", "") or ""),
                    "address": str(record.get("address", "") or ""),
                    "source": label,
                    "line": int(record["line"]),
                    **{a: record[a] for a in report.attributes if a not in LEDGER_COLUMNS},
                }
            )
            geometry.append(points.iloc[k])
    attributes = [a for a in report.attributes if a not in LEDGER_COLUMNS]
    out = gpd.GeoDataFrame(pd.DataFrame(records, columns=[*LEDGER_COLUMNS, *attributes]), geometry=geometry, crs=WGS84)
    out.attrs["report"] = report
    logger.info("facility ledger %s", report.summary())
    return out
