"""Facilities: from the OSM demo extract by service function, or from a planner's file.

The six service functions and their OSM tags live in ``data/facility_tags.json``
(editable).  A planner's own file may be GeoJSON, GeoPackage or CSV with longitude /
latitude columns (``lon``/``lat``, ``经度``/``纬度`` ...); coordinates are WGS84 unless
the file says otherwise.  Every reader returns a GeoDataFrame in EPSG:4326 with
``facility_id``, ``name``, ``category``, ``function`` and ``source``; the OSM readers
add ``function_zh`` and the finer facility ``type`` / ``type_zh`` (the type keys are
those of the planning standard file, see :mod:`geo.standards`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coords import to_wgs84
from geo.crs import WGS84, check_lonlat, to_crs
from geo.errors import InputDataError
from geo.sources import demo_pbf_path
from geo.standards import FUNCTIONS, Standard, load_standard
from geo.textfiles import check_input_file, decode_text

logger = logging.getLogger(__name__)

__all__ = [
    "FACILITY_TAGS_PATH",
    "facility_functions",
    "osm_facilities",
    "osm_facilities_all",
    "read_facilities",
    "read_facility_ledger",
]

FACILITY_TAGS_PATH = Path(__file__).resolve().parent.parent / "data" / "facility_tags.json"
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬")
NAME_NAMES = ("name", "名称", "设施名称")
CATEGORY_NAMES = ("category", "type", "类别", "类型", "设施类型")
MAX_FACILITY_FILE_BYTES = 64 * 1024 * 1024


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


def _osm_frame(functions: dict[str, dict], path: Path | None, standard: Standard | None) -> gpd.GeoDataFrame:
    """POIs of an OSM file matching any of ``functions``, each with the first function that matches."""
    import osmium

    standard = standard or load_standard()
    _check_types(functions, standard)
    path = Path(path) if path is not None else demo_pbf_path()
    rows = []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_relation() or not len(obj.tags):
            continue
        tags = {t.k: t.v for t in obj.tags}
        # First function in file order wins (a POI matching several gets one function).
        matches = ((function, _matching_type(tags, spec)) for function, spec in functions.items())
        function, type_key = next(((f, t) for f, t in matches if t is not None), (None, None))
        if function is None or type_key is None:
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
        category = next((tags[k] for k in ("amenity", "healthcare", "shop", "leisure", "office") if k in tags), "")
        rows.append(
            {
                "facility_id": f"{'n' if obj.is_node() else 'w'}{obj.id}",
                "name": tags.get("name:zh", tags.get("name", "")),
                "category": category,
                "function": function,
                "function_zh": functions[function].get("label_zh", FUNCTIONS.get(function, function)),
                "type": type_key,
                "type_zh": standard.facility_types[type_key].name_zh if type_key else "",
                "source": "OpenStreetMap",
                "lon": lon,
                "lat": lat,
            }
        )
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "lon", "lat"])
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    )


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


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _read_csv(path: Path, crs: object | None) -> gpd.GeoDataFrame:
    rows = list(csv.DictReader(io.StringIO(decode_text(path.read_bytes(), path.name))))
    if not rows:
        raise InputDataError(f"CSV 文件 {path.name} 没有数据行 (no data rows)")
    columns = list(rows[0].keys())
    lon_col, lat_col = _find_column(columns, LON_NAMES), _find_column(columns, LAT_NAMES)
    if lon_col is None or lat_col is None:
        raise InputDataError(
            f"CSV 文件 {path.name} 缺少经度/纬度列（可用列名: lon/lat、经度/纬度）；现有列: {columns} "
            f"(longitude/latitude columns not found)"
        )
    frame = pd.DataFrame(rows)
    lon = pd.to_numeric(frame[lon_col], errors="coerce")
    lat = pd.to_numeric(frame[lat_col], errors="coerce")
    bad = lon.isna() | lat.isna()
    if bad.any():
        lines = (np.flatnonzero(bad.to_numpy()) + 2).tolist()  # +1 header, +1 one-based
        raise InputDataError(
            f"CSV 文件 {path.name} 第 {', '.join(map(str, lines[:10]))} 行的经纬度不是数字 "
            f"(non-numeric coordinates on lines {lines[:10]})"
        )
    system = str(crs).strip().lower().replace("-", "") if crs is not None else "wgs84"
    if system in ("gcj02", "bd09"):
        # Picked in Amap/Tencent (GCJ-02) or Baidu (BD-09): to WGS84 on the way in (U8).
        check_lonlat(lon.to_numpy(), lat.to_numpy(), what=f"CSV 文件 {path.name}")
        lon_w, lat_w = to_wgs84(lon.to_numpy(), lat.to_numpy(), system)
        lon, lat = pd.Series(lon_w), pd.Series(lat_w)
        crs = None
    src = to_crs(crs) if crs is not None else WGS84
    if src.is_geographic:
        check_lonlat(lon.to_numpy(), lat.to_numpy(), what=f"CSV 文件 {path.name}")
    name_col = _find_column(columns, NAME_NAMES)
    cat_col = _find_column(columns, CATEGORY_NAMES)
    out = gpd.GeoDataFrame(
        {
            "facility_id": [f"row{i + 2}" for i in range(len(frame))],
            "name": frame[name_col].fillna("") if name_col else "",
            "category": frame[cat_col].fillna("") if cat_col else "",
            "function": "",
            "source": path.name,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=src,
    )
    return out.to_crs(WGS84)


def read_facilities(path: Path, *, crs: object | None = None) -> gpd.GeoDataFrame:
    """Read facilities from a GeoJSON, GeoPackage or CSV file.

    Parameters
    ----------
    path
        An existing regular file (``.geojson``/``.json``, ``.gpkg``, ``.csv``).
    crs
        CRS of a CSV's coordinates: an EPSG code or CRS, or ``"gcj02"`` (Amap/Tencent
        picks) / ``"bd09"`` (Baidu), converted to WGS84; default WGS84.  GeoJSON is
        WGS84 by RFC 7946.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 (polygons are reduced to their centroids).

    Raises
    ------
    InputDataError
        Missing file, unsupported kind, no features, bad coordinates (the message
        names the line or feature).
    """
    path = Path(path)
    check_input_file(path, what_zh="设施文件", what_en="facility file", max_bytes=MAX_FACILITY_FILE_BYTES)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, crs)
    if suffix in (".geojson", ".json"):
        head = path.read_bytes()[:64].lstrip()
        if not head.startswith(b"{"):
            raise InputDataError(f"{path.name} 不是 GeoJSON 文件 (not a GeoJSON document)")
        driver = "GeoJSON"
    elif suffix == ".gpkg":
        if not path.read_bytes()[:16].startswith(b"SQLite format 3"):
            raise InputDataError(f"{path.name} 不是 GeoPackage 文件 (not a GeoPackage)")
        driver = "GPKG"
    else:
        raise InputDataError(
            f"不支持的设施文件类型 {path.name}；支持 .geojson、.gpkg、.csv (unsupported facility file)"
        )
    try:
        frame = gpd.read_file(path, driver=driver, engine="pyogrio")
    except Exception as exc:
        raise InputDataError(f"无法读取 {path.name}: {type(exc).__name__} (cannot read file)") from exc
    if frame.empty:
        raise InputDataError(f"{path.name} 中没有要素 (no features)")
    if driver == "GeoJSON":
        frame = frame.set_crs(WGS84, allow_override=True)
    if frame.crs is None:
        raise InputDataError(f"{path.name} 没有坐标系信息，请说明坐标系 (no CRS in the file)")
    geoms = frame.geometry.to_numpy()
    if shapely.is_empty(geoms).any() or shapely.is_missing(geoms).any():
        i = int(np.flatnonzero(shapely.is_empty(geoms) | shapely.is_missing(geoms))[0])
        raise InputDataError(f"{path.name} 第 {i + 1} 个要素没有几何 (feature {i + 1} has no geometry)")
    frame = frame.to_crs(WGS84)
    pts = shapely.centroid(frame.geometry.to_numpy())
    xy = shapely.get_coordinates(pts)
    check_lonlat(xy[:, 0], xy[:, 1], what=f"设施文件 {path.name}")
    columns = list(frame.columns)
    name_col = _find_column(columns, NAME_NAMES)
    cat_col = _find_column(columns, CATEGORY_NAMES)
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"f{i + 1}" for i in range(len(frame))],
            "name": frame[name_col].fillna("").astype(str).to_numpy() if name_col else "",
            "category": frame[cat_col].fillna("").astype(str).to_numpy() if cat_col else "",
            "function": "",
            "source": path.name,
        },
        geometry=pts,
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
) -> gpd.GeoDataFrame:
    """Read a planner's facility ledger (台账) and give each row its function and type.

    The file goes through :func:`geo.uploads.read_upload` (CSV or XLSX, UTF-8 or GBK,
    Chinese or English headers, any of the coordinate systems of
    :data:`geo.coords.SYSTEMS`).  The category column (类别/类型/category/type) holds a
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
    from geo.uploads import read_upload

    standard = standard or load_standard()
    frame = read_upload(Path(path), original_name=original_name, expected="point", system=system)
    label = original_name or Path(path).name
    cat_col = _find_column(list(frame.columns), LEDGER_CATEGORY_NAMES)
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
    name_col = _find_column(list(frame.columns), NAME_NAMES)
    function = [m[0] for m in matched]
    ftype = [m[1] for m in matched]
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
