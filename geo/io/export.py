"""Data exports for meetings and desktop GIS: GeoPackage, GeoJSON, zipped Shapefile, CSV, XLSX.

Every file the scripts and the web app write goes through this module:

* :func:`write_gpkg` (layers, Chinese layer names kept), :func:`write_geojson`,
  :func:`write_shapefile_zip`, and :func:`write_table` for CSV/XLSX tables
  (:func:`write_csv`, :func:`write_xlsx`); :func:`atomic_write` for any other file.
* Every file is written through a temporary file in the target folder, flushed to
  disk and renamed over the target: a failed export (a full disk, a crash) leaves
  the old file untouched and no temporary file behind.
* Geometries are written in WGS84 (EPSG:4326), which QGIS, ArcGIS and the web app
  read without asking, unless the export names another system (``crs=``, a
  :class:`~geo.io.crs.ExportCRS`: CGCS2000 EPSG:4490 or its 3-degree Gauss-Kruger zone);
  the system is then named in the file (GeoPackage: its SRS and each layer's description;
  Shapefile: the ``.prj`` and a ``坐标系说明.txt``; CSV: the coordinate headers), with the
  assumption that WGS84 and CGCS2000 are the same at map accuracy.
* GeoPackages can carry QGIS layer styles (the ``layer_styles`` table, :mod:`geo.io.qgis_styles`);
  :func:`geo.maps.qgis_layers.write_styled_gpkg` writes one with the web map's palette, so it
  opens styled in QGIS (every face writes its GeoPackages through it).
* Text cells of CSV/XLSX that start like a formula (``= + - @``, tab, CR) get a
  leading ``'`` so that a spreadsheet shows them as text and never runs them: a
  facility named ``=HYPERLINK(...)`` stays text in Excel/WPS.
* Shapefiles carry a ``.cpg`` naming their encoding (UTF-8 by default, GBK for old
  desktop tools), so Chinese attribute values survive; field names are cut to the
  format's 10 bytes and kept unique, with the full names in a ``字段说明.csv``.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import CRSError, DiskFullError, GeoError, InputDataError
from geo.io.crs import CGCS2000, WGS84, ExportCRS, export_crs
from geo.io.qgis_styles import LayerStyle, write_layer_styles

logger = logging.getLogger(__name__)

__all__ = [
    "CHECK_HEADERS_ZH",
    "CODE_HEADER_WORDS",
    "COVERAGE_HEADERS_ZH",
    "FORMULA_START",
    "PLAN_LAYERS_ZH",
    "SHAPEFILE_ENCODINGS",
    "TABLE_FORMATS",
    "atomic_write",
    "chinese_table",
    "coordinate_columns",
    "export_crs_for",
    "formula_safe",
    "geojson_text",
    "plan_layers",
    "stage_write",
    "to_export_crs",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_shapefile_zip",
    "write_table",
    "write_xlsx",
]

#: First characters that make Excel, WPS or LibreOffice read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Shapefile attribute encodings offered: UTF-8 (QGIS, ArcGIS Pro) and GBK (old ArcMap/MapGIS).
SHAPEFILE_ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK"}
SHAPEFILE_NAME_BYTES = 10
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: Table files :func:`write_table` writes, by suffix.
TABLE_FORMATS = (".csv", ".xlsx")


#: Files SQLite (GeoPackage) writers keep beside a database while they write it.
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
#: Below this much free space a writer's failure is taken for a full disk: GDAL reports a
#: full disk as whatever SQLite statement failed first ("no such table: gpkg_contents"),
#: never as ENOSPC.
DISK_FULL_FREE_BYTES = 1 << 20


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether ``exc``, raised while writing into ``folder``, came from a full disk."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if any(s in str(exc) for s in ("No space left", "disk is full", "disk full")):
        return True
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_FREE_BYTES
    except OSError:
        return False


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, fsync it, then rename it to ``path``.

    The temporary file is removed whatever happens; ``path`` is either the old file or
    the complete new one.  Folders are created as needed.

    Parameters
    ----------
    path
        The file to write.
    write
        Writes the whole file at the path it is given (which does not exist yet).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DiskFullError
        The disk filled up while writing (whatever the writer raised: GDAL says it in its own
        words); the temporary file and its SQLite side files are removed.
    """
    path = Path(path)
    tmp = stage_write(path, write)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def stage_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """The first half of :func:`atomic_write`: ``write(tmp)`` on a temporary path beside ``path``,
    fsynced, and that path returned; the caller renames it over ``path`` (``os.replace``) or
    removes it.  Several files can so be prepared first and replaced only when all are ready.

    Raises
    ------
    DiskFullError
        As :func:`atomic_write`; nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    done = False
    try:
        tmp.unlink()  # some writers (GDAL) refuse to open an existing empty file
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        done = True
    except GeoError:
        raise
    except Exception as exc:
        if _disk_full(exc, path.parent):
            raise DiskFullError(
                f"磁盘已满，文件 {path.name} 未生成（原有文件完好）；请清理磁盘后重试 "
                "(disk full: nothing was written; free space and retry)"
            ) from exc
        raise
    finally:
        for leftover in (*(tmp.with_name(tmp.name + s) for s in SQLITE_SIDECARS), *(() if done else (tmp,))):
            leftover.unlink(missing_ok=True)
    return tmp


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and headers) starting like a formula get a leading ``'``.

    A spreadsheet then shows them as text instead of running them (see :data:`FORMULA_START`).
    """
    out = frame.copy()

    def fix(value: object) -> object:
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value

    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(fix)
    out.columns = [fix(c) for c in out.columns]
    return out


def _wgs84(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise InputDataError(f"图层 {what} 没有坐标系 (layer {what!r} has no CRS); 请先设置 CRS")
    return frame.to_crs(WGS84)


def to_export_crs(frame: gpd.GeoDataFrame, crs: ExportCRS | None, what: str = "") -> gpd.GeoDataFrame:
    """``frame`` in the export's coordinate system (WGS84 when ``crs`` is ``None``).

    WGS84 -> CGCS2000 is no datum shift: the WGS84 coordinates are relabelled EPSG:4490
    (identical at map accuracy, :data:`geo.io.crs.CGCS2000_ASSUMPTION_ZH`), then projected
    into the Gauss-Kruger zone when one was chosen.

    Raises
    ------
    InputDataError
        ``frame`` has no CRS.
    """
    out = _wgs84(frame, what)
    if crs is None or not crs.is_cgcs2000:
        return out
    out = out.set_crs(CGCS2000, allow_override=True)
    return out if crs.crs == CGCS2000 else out.to_crs(crs.crs)


def export_crs_for(choice: object, *frames: gpd.GeoDataFrame) -> ExportCRS:
    """The export coordinate system ``choice`` (:func:`geo.io.crs.export_crs`) for these layers.

    The Gauss-Kruger zone is the one of the centre of all their features (WGS84).

    Raises
    ------
    CRSError
        An unknown choice, or a zone for data outside China's 3-degree zones.
    """
    boxes = [
        f.to_crs(WGS84).total_bounds for f in frames if isinstance(f, gpd.GeoDataFrame) and f.crs is not None and len(f)
    ]
    if not boxes:
        return export_crs(choice, lon=[], lat=[])  # a zone needs coordinates: refused
    lon = [min(b[0] for b in boxes), max(b[2] for b in boxes)]
    lat = [min(b[1] for b in boxes), max(b[3] for b in boxes)]
    return export_crs(choice, lon=lon, lat=lat)


def coordinate_columns(frame: gpd.GeoDataFrame, crs: ExportCRS | None = None) -> pd.DataFrame:
    """The attributes of a point layer with its coordinates as two columns named by their system.

    Longitude/latitude (``经度 (WGS84)``/``纬度 (WGS84)``, ``... (CGCS2000)``) in degrees, or a
    Gauss-Kruger zone's ``东坐标 Y (米, EPSG:4549)`` / ``北坐标 X (米, EPSG:4549)`` (surveyors'
    X is the northing).  Polygons and lines give the coordinates of a point inside them.

    Raises
    ------
    InputDataError
        ``frame`` has no CRS.
    """
    data = to_export_crs(frame, crs, "表格")
    points = data.geometry.representative_point()
    table = pd.DataFrame(data.drop(columns=data.geometry.name))
    if crs is not None and crs.is_projected:
        table[f"东坐标 Y (米, EPSG:{crs.epsg})"] = points.x.round(2).to_numpy()
        table[f"北坐标 X (米, EPSG:{crs.epsg})"] = points.y.round(2).to_numpy()
    else:
        system = "CGCS2000" if crs is not None and crs.is_cgcs2000 else "WGS84"
        table[f"经度 ({system})"] = points.x.round(COORDINATE_DIGITS).to_numpy()
        table[f"纬度 ({system})"] = points.y.round(COORDINATE_DIGITS).to_numpy()
    return table


def _check_layers(layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    if not layers:
        raise InputDataError("没有可导出的图层 (no layers to export)")
    for name in layers:
        if not isinstance(name, str) or not name.strip() or len(name) > 63:
            raise InputDataError(f"图层名 {name!r} 无效：应为 1-63 个字符 (layer names must be 1-63 characters)")


def _plain_columns(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lists, dicts and other objects written as text (GDAL knows strings and numbers)."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: v if v is None or isinstance(v, str | int | float) else str(v))
    return out


def write_gpkg(
    layers: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    crs: ExportCRS | None = None,
    styles: Sequence[LayerStyle] | None = None,
) -> Path:
    """All layers in one GeoPackage (WGS84 or ``crs``), layer names as given (Chinese names are fine).

    Parameters
    ----------
    layers
        Layer name -> GeoDataFrame (any CRS; written in EPSG:4326 or ``crs``) or a plain
        DataFrame (written as an attribute table: summaries, coverage figures).  Empty
        layers are written too, so the file always has the same layers.
    path
        Output ``.gpkg``.
    crs
        The export's coordinate system (:func:`geo.io.crs.export_crs`); ``None``: WGS84.
        Its note (system, zone, the WGS84 assumption) is each layer's description.
    styles
        QGIS default styles written into ``layer_styles`` (:class:`~geo.io.qgis_styles.LayerStyle`;
        the web map's palette: :func:`geo.maps.qgis_layers.palette_styles`, or
        :func:`geo.maps.qgis_layers.write_styled_gpkg` for both in one call); ``None``: none.

    Raises
    ------
    InputDataError
        No layers, a bad layer name, or a spatial layer without a CRS.
    """
    import pyogrio

    _check_layers(layers)
    frames = {
        name: _plain_columns(to_export_crs(frame, crs, name)) if isinstance(frame, gpd.GeoDataFrame) else frame
        for name, frame in layers.items()
    }
    options = {"DESCRIPTION": crs.note_zh} if crs is not None else {}

    def write(tmp: Path) -> None:
        for name, frame in frames.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", layer_options=options)
            else:
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
        if styles:
            write_layer_styles(tmp, styles)

    atomic_write(path, write)
    logger.info("GeoPackage %s: %d layers", Path(path).name, len(frames))
    return Path(path)


def _json_values(column: pd.Series) -> list:
    """A column's values as Python objects for JSON, missing values (NaN, NaT, None) as ``None``."""
    values = column.tolist()
    missing = column.isna().to_numpy()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    return values


def geojson_text(frame: gpd.GeoDataFrame) -> str:
    """A GeoDataFrame (already in WGS84) as a GeoJSON FeatureCollection string, fast.

    Geometries are written by GEOS (:func:`shapely.to_geojson`, shortest round-trip
    numbers) instead of GeoPandas' per-coordinate Python: a window of a county's streets
    is written in a tenth of the time.  Missing values become ``null``; Chinese is kept
    as characters.
    """
    geoms = shapely.to_geojson(frame.geometry.to_numpy())
    names = [c for c in frame.columns if c != frame.geometry.name]
    # Column by column (pandas' row-wise conversions cost milliseconds even for three rows).
    columns = [_json_values(frame[c]) for c in names]
    features = (
        '{"type":"Feature","properties":'
        f"{json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False, default=str)},"
        f'"geometry":{g or "null"}}}'
        for values, g in zip(zip(*columns, strict=True) if names else ((),) * len(frame), geoms, strict=True)
    )
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path, *, crs: ExportCRS | None = None) -> Path:
    """One layer as GeoJSON (UTF-8, Chinese kept as characters): RFC 7946 WGS84, or CGCS2000.

    GeoJSON holds longitude/latitude only (RFC 7946), so ``crs`` may be WGS84 or CGCS2000
    (EPSG:4490, the same numbers at map accuracy; named in the file's ``crs`` member, which
    RFC 7946 readers ignore); a Gauss-Kruger zone is refused: export a GeoPackage or a CSV.

    Raises
    ------
    CRSError
        ``crs`` is a projected (Gauss-Kruger) system.
    """
    if crs is not None and crs.is_projected:
        raise CRSError(
            f"GeoJSON 只能存经纬度 (RFC 7946)，不能用 {crs.label}；请选择 wgs84 或 cgcs2000，或导出 GeoPackage/CSV "
            "(GeoJSON holds longitude/latitude only; use a GeoPackage for a Gauss-Kruger zone)"
        )
    data = _plain_columns(_wgs84(frame, Path(path).stem))
    text = data.to_json(drop_id=True, ensure_ascii=False)
    if crs is not None and crs.is_cgcs2000:
        member = json.dumps({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}})
        text = '{"type": "FeatureCollection", "crs": ' + member + "," + text.split(",", 1)[1].lstrip()
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return Path(path)


def _field_names(columns: list[str], encoding: str) -> dict[str, str]:
    """Unique shapefile field names of at most 10 bytes in ``encoding``."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        name = ""
        for char in str(column):
            if len((name + char).encode(encoding, errors="replace")) > SHAPEFILE_NAME_BYTES:
                break
            name += char
        base, k = name or "field", 1
        while name.upper() in used or not name:
            suffix = f"_{k}"
            trimmed = base
            while len((trimmed + suffix).encode(encoding, errors="replace")) > SHAPEFILE_NAME_BYTES:
                trimmed = trimmed[:-1]
            name, k = trimmed + suffix, k + 1
        used.add(name.upper())
        out[column] = name
    return out


def write_shapefile_zip(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: str | Path,
    *,
    encoding: str = "utf-8",
    crs: ExportCRS | None = None,
) -> Path:
    """A zip of one Shapefile per layer (WGS84), each with its ``.cpg``, and a field-name table.

    Parameters
    ----------
    layers
        File stem -> GeoDataFrame of one geometry kind.  Stems should be ASCII
        (``facilities``): old unzip tools garble Chinese member names.
    path
        Output ``.zip``.
    encoding
        ``utf-8`` (default) or ``gbk`` (ArcMap 10 and other old tools); values that
        GBK cannot hold are refused rather than written as ``?``.
    crs
        The export's coordinate system (default WGS84); named in each ``.prj`` and in
        ``坐标系说明 crs.txt``.

    Raises
    ------
    InputDataError
        Unknown encoding, bad stems, a layer without a CRS, mixed geometry kinds, or
        text that the chosen encoding cannot hold.
    """
    if encoding.lower() not in SHAPEFILE_ENCODINGS:
        raise InputDataError(
            f"编码 {encoding!r} 无效，可选: {', '.join(SHAPEFILE_ENCODINGS)} (unknown shapefile encoding)"
        )
    _check_layers(layers)
    gdal_encoding = SHAPEFILE_ENCODINGS[encoding.lower()]
    tables = []
    prepared = {}
    for stem, frame in layers.items():
        if "/" in stem or "\\" in stem or stem.startswith("."):
            raise InputDataError(f"文件名 {stem!r} 无效 (layer file stems must be plain names)")
        data = _plain_columns(to_export_crs(frame, crs, stem))
        kinds = {k.replace("Multi", "") for k in data.geom_type.dropna().unique()}
        if len(kinds) > 1:
            raise InputDataError(
                f"图层 {stem} 混合了几何类型 {sorted(kinds)}，Shapefile 只能存一种 "
                "(a shapefile holds one geometry kind; export the layer as GeoPackage)"
            )
        names = _field_names([c for c in data.columns if c != data.geometry.name], gdal_encoding)
        for column, short in names.items():
            tables.append({"文件 file": stem, "字段 field": short, "原名 column": column})
            if gdal_encoding == "GBK" and not pd.api.types.is_numeric_dtype(data[column]):
                for value in data[column].dropna():
                    try:
                        str(value).encode("gbk")
                    except UnicodeEncodeError:
                        raise InputDataError(
                            f"图层 {stem} 字段 {column} 的值 {str(value)[:20]!r} 无法用 GBK 编码，请改用 UTF-8 "
                            "(a value cannot be written in GBK; export with UTF-8)"
                        ) from None
        prepared[stem] = data.rename(columns=names)

    def write(tmp: Path) -> None:
        with (
            tempfile.TemporaryDirectory(prefix="linli-shp-") as folder,
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            for stem, data in prepared.items():
                target = Path(folder) / f"{stem}.shp"
                data.to_file(target, driver="ESRI Shapefile", engine="pyogrio", encoding=gdal_encoding)
                cpg = target.with_suffix(".cpg")
                if not cpg.exists():
                    cpg.write_text(gdal_encoding, encoding="ascii")
                for suffix in SHAPEFILE_PARTS:
                    part = target.with_suffix(suffix)
                    if part.exists():
                        archive.write(part, f"{stem}{suffix}")
            buffer = io.StringIO()
            formula_safe(pd.DataFrame(tables)).to_csv(buffer, index=False)  # column names may be anyone's text
            archive.writestr("字段说明 fields.csv", buffer.getvalue().encode("utf-8-sig"))
            if crs is not None:
                archive.writestr("坐标系说明 crs.txt", (crs.note_zh + "\r\n").encode("utf-8-sig"))

    atomic_write(path, write)
    logger.info("shapefile zip %s: %d layers, %s", Path(path).name, len(prepared), gdal_encoding)
    return Path(path)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """A table as CSV for Excel: UTF-8 with BOM, formula-safe text, no index.

    Code columns (headers with 编码/代码) are written as text (``350521100001``, never
    ``350521100001.0``).  A CSV cannot tell Excel that a column is text: opened by a
    double click, Excel still shows a 12-digit code as ``3.50521E+11``; import the CSV
    with the column set to 文本 (Text), or use the XLSX, whose code cells are text.
    """
    table = pd.DataFrame(frame).copy()
    for column in table.columns:
        if _is_code(column):
            table[column] = table[column].map(_code_text).astype(object)
    table = formula_safe(table)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8-sig"))
    return Path(path)


def _xlsx(sheets: Mapping[str, pd.DataFrame], target) -> None:
    names: set[str] = set()
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            sheet_name = "".join(c for c in str(name) if c not in "[]:*?/\\")[:31] or "表"
            base, k = sheet_name, 1
            while sheet_name in names:
                sheet_name = f"{base[:28]}_{k}"
                k += 1
            names.add(sheet_name)
            table = formula_safe(pd.DataFrame(frame))
            table.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            for j, column in enumerate(table.columns):
                cells = [str(column)] + [str(v) for v in table[column].head(200)]
                width = max(sum(2 if ord(c) > 0x2E80 else 1 for c in s) for s in cells) + 2
                sheet.column_dimensions[sheet.cell(row=1, column=j + 1).column_letter].width = min(width, 60)
            for j, column in enumerate(table.columns):
                if _is_code(column):  # codes stay text: no 3.50521E+11, no lost leading zeros
                    for cell in next(sheet.iter_cols(min_col=j + 1, max_col=j + 1, min_row=2)):
                        cell.number_format = "@"
                        if cell.value is not None and not isinstance(cell.value, str):
                            cell.value = str(_code_text(cell.value))
            sheet.freeze_panes = "A2"


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Tables as sheets of one workbook: Chinese headers as given, formula-safe text, frozen header row.

    Sheet names are cut to Excel's 31 characters and made unique.
    """
    if not sheets:
        raise InputDataError("没有可导出的表格 (no tables to export)")
    atomic_write(path, lambda tmp: _xlsx(sheets, tmp))
    return Path(path)


def write_table(tables: pd.DataFrame | Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Tables as CSV or XLSX by the suffix of ``path``, formula-safe, atomically.

    Parameters
    ----------
    tables
        One table, or sheet name -> table.  A CSV holds one table only.
    path
        Output ``.csv`` (UTF-8 with BOM, for Excel) or ``.xlsx``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputDataError
        An unknown suffix, no tables, or several tables for one CSV.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InputDataError(f"表格格式 {suffix!r} 无效，可选: {', '.join(TABLE_FORMATS)} (unknown table format)")
    sheets = {"表": tables} if isinstance(tables, pd.DataFrame) else dict(tables)
    if suffix == ".xlsx":
        return write_xlsx(sheets, path)
    if len(sheets) != 1:
        raise InputDataError(f"CSV 只能存一张表，收到 {len(sheets)} 张 (a CSV holds one table; use .xlsx)")
    return write_csv(next(iter(sheets.values())), path)


#: Chinese layer names of a plan's feature kinds (GeoPackage) and ASCII file stems (Shapefile).
PLAN_LAYERS_ZH = {"area": "规划服务范围", "candidate": "候选中心", "town": "乡镇界", "grid": "网格调整"}
#: Chinese headers (with units) of the coverage table in spreadsheets.
COVERAGE_HEADERS_ZH = {
    "unit": "分区编码",
    "unit_name": "分区名称",
    "group": "功能/类型",
    "kind": "类别",
    "name_zh": "名称",
    "function": "所属功能",
    "basis": "人口口径",
    "budget_min": "步行时间阈值 (分钟)",
    "budget_note": "时间阈值依据",
    "facilities": "设施数 (处)",
    "population": "人口 (人)",
    "covered": "覆盖人口 (人)",
    "covered_pct": "覆盖率 (%)",
    "households": "户数 (户)",
    "households_covered": "覆盖户数 (户)",
}
CHECK_HEADERS_ZH = {
    "unit": "分区编码",
    "unit_name": "分区名称",
    "level": "生活圈等级",
    "name_zh": "检查项",
    "verdict_zh": "结论",
    "measured": "实测值",
    "required": "要求值",
    "unit_of_measure": "单位",
    "clause": "标准条文",
}


#: Words that mark a header as a code column (division, grid or unit codes): written as text.
CODE_HEADER_WORDS = ("编码", "代码")
#: Units that mark a header as a count of people or households: whole numbers for officials.
WHOLE_HEADER_UNITS = ("(人)", "(户)")
#: Words that mark a header as a longitude/latitude: 6 decimals (about 0.1 m).
COORDINATE_HEADER_WORDS = ("经度", "纬度")
COORDINATE_DIGITS = 6


def _is_code(header: object) -> bool:
    return any(w in str(header) for w in CODE_HEADER_WORDS)


def _code_text(value: object) -> object:
    """A code as text: ``350521100001.0`` -> ``'350521100001'``; missing stays missing."""
    if value is None or (isinstance(value, float) and value != value):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def chinese_table(frame: pd.DataFrame, headers: Mapping[str, str], *, digits: int = 2) -> pd.DataFrame:
    """The columns named in ``headers``, renamed to their Chinese headers, rounded for reading.

    People and households (headers ending in ``(人)``/``(户)``) become whole numbers,
    longitudes and latitudes keep 6 decimals, other numbers ``digits`` decimals, and
    code columns (headers with 编码/代码) become text, so a spreadsheet never shows
    ``3.50521E+11``.  The data files (GeoPackage) keep the exact figures.
    """
    out = frame[[c for c in headers if c in frame.columns]].rename(columns=dict(headers))
    for column in out.columns:
        series = out[column]
        if _is_code(column):
            out[column] = series.map(_code_text).astype(object)
        elif pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        elif any(str(column).endswith(u) for u in WHOLE_HEADER_UNITS):
            out[column] = series.round(0).astype("Int64")
        elif any(w in str(column) for w in COORDINATE_HEADER_WORDS):
            out[column] = series.round(COORDINATE_DIGITS)
        else:
            out[column] = series.round(digits)
    return out


def plan_layers(features: list[Mapping], *, crs=WGS84) -> dict[str, gpd.GeoDataFrame]:
    """A saved plan's features (``kind``, ``name``, GeoJSON ``geometry``, ``properties``) as one layer per kind.

    Layer keys are the kinds (``area``, ``candidate``, ``town``, ``grid``); use
    :data:`PLAN_LAYERS_ZH` for Chinese layer names.  Properties are flattened to
    columns (``prop_<key>``) with text values.
    """
    import shapely.geometry

    out: dict[str, gpd.GeoDataFrame] = {}
    for kind in PLAN_LAYERS_ZH:
        rows = [f for f in features if f.get("kind") == kind]
        if not rows:
            continue
        keys = sorted({str(k) for f in rows for k in (f.get("properties") or {})})[:50]
        columns = {
            "feature_id": [f.get("id") for f in rows],
            "name": [str(f.get("name") or "") for f in rows],
        }
        for key in keys:
            columns[f"prop_{key}"[:60]] = [
                None if (f.get("properties") or {}).get(key) is None else str((f.get("properties") or {}).get(key))
                for f in rows
            ]
        try:
            geoms = [shapely.geometry.shape(f["geometry"]) for f in rows]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputDataError(f"方案中 {kind} 要素的几何无效 (a plan feature has an invalid geometry)") from exc
        out[kind] = gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
    return out
