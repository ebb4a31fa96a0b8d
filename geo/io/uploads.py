"""One loader for the files planners upload: boundaries, facilities, residential data, networks.

:func:`read_upload` takes a file on disk (the web app passes its temporary file and
the name the planner's browser sent) and returns a GeoDataFrame in EPSG:4326, or
raises :class:`~geo.errors.InputDataError` / :class:`~geo.errors.CRSError` with a
message for planners (Chinese, English beside it) that names the file by its
original name, never by a server path.  It is framework-free: no Flask, no
environment, no network.

Kinds, chosen by the extension of the original name (else of ``path``):

* ``.geojson`` / ``.json``: GeoJSON, WGS84 by RFC 7946 (a legacy ``crs`` member is
  ignored and the ranges are checked, docs/bad-inputs.md U10);
* ``.gpkg``: GeoPackage, copied into a private temp dir and read through pyogrio
  read-only (docs/bad-inputs.md U13);
* ``.zip``: a zipped Shapefile (docs/bad-inputs.md U3-U6);
* ``.csv`` / ``.xlsx`` / ``.xls``: a table with longitude / latitude columns, its header found below
  any title rows (:func:`geo.io.sheets.read_sheet`; docs/bad-inputs.md U7, U8);
* ``.kml``: KML, refused up front if it has a DOCTYPE or ENTITY (docs/bad-inputs.md U14).

GDAL is restricted (docs/bad-inputs.md U11, U12): at import the VRT and network drivers are listed in
``GDAL_SKIP`` through pyogrio's config API; the kind is checked by the file's magic
bytes before GDAL sees it, and the driver GDAL actually chose is asserted to be the
one of the extension before any feature is read.  Every temporary file lives in a
fresh directory that is removed on every path out.

Z and M policy (docs/bad-inputs.md U16): coordinates are read as 2-D; Z and M values are dropped
(planning is 2-D), and ``frame.attrs["dropped_z"]`` says whether any were present.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import stat
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo.errors import CRSError, InputDataError
from geo.io.coords import SYSTEMS, to_wgs84
from geo.io.crs import WGS84, metric_crs, to_crs
from geo.io.sheets import read_sheet
from geo.io.tables import find_column, parse_coordinate

logger = logging.getLogger(__name__)

__all__ = [
    "EXPECTED_KINDS",
    "GDAL_RESTRICTIONS",
    "LAT_NAMES",
    "LON_NAMES",
    "MAX_UNZIPPED_BYTES",
    "MAX_UPLOAD_BYTES",
    "MAX_ZIP_RATIO",
    "STUDY_AREA_MAX_DIST_M",
    "UploadTooLargeError",
    "check_area_of_use",
    "check_gpkg_tables",
    "check_study_area",
    "dbf_text_encoding",
    "read_upload",
]

#: Largest upload accepted (bytes).  A county's boundaries, facilities or a road
#: network as Shapefile/GeoPackage stay well below this.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Largest total uncompressed size of a zip's members (bytes), from its directory (docs/bad-inputs.md U4).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: Largest ratio of uncompressed to compressed size of a zip (docs/bad-inputs.md U4: zip bombs).
MAX_ZIP_RATIO = 100.0
#: Largest number of members of a zip.
MAX_ZIP_MEMBERS = 1000
#: A feature farther than this from the study area means a wrong CRS or swapped axes (docs/bad-inputs.md U9).
STUDY_AREA_MAX_DIST_M = 50_000.0
#: Margin around a projected CRS's area of use (degrees), as in :func:`geo.io.crs.metric_crs`.
AREA_OF_USE_MARGIN_DEG = 0.5
#: How many bad rows / features a message lists.
MAX_LISTED = 10
#: Column names (compared stripped, case-insensitively) of a table's longitude / X and
#: latitude / Y; shared by every reader of planners' tables (facilities, ledgers, compounds).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬")

#: The geometry kinds a caller may expect and the geometry types each accepts.
EXPECTED_KINDS = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
    "any": ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
}
KIND_ZH = {"point": "点 (point)", "line": "线 (line)", "polygon": "面 (polygon)", "any": "点/线/面 (any)"}

#: GDAL options set once at import (docs/bad-inputs.md U11/U12): no VRT indirection, no network drivers,
#: no directory listing or remote reads.  Set through pyogrio, never ``os.environ``.
#: GDAL only honours ``GDAL_SKIP`` when drivers are registered, so the real guard is
#: the magic-byte check plus the assertion of the driver GDAL chose (:func:`_check_driver`).
GDAL_RESTRICTIONS = {
    "GDAL_SKIP": "VRT,OGR_VRT,WFS,OAPIF,OGCAPI,WMS,WCS,WMTS,CSW,HTTP,Elasticsearch,Carto,AmigoCloud,NGW,EEDA,PLSCENES",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".nonexistent-extension",
    "GDAL_HTTP_TIMEOUT": "1",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
}
pyogrio.set_gdal_config_options(GDAL_RESTRICTIONS)

#: Extension -> kind of upload.
KINDS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xls": "xls",
    ".kml": "kml",
}
#: Kind -> GDAL drivers allowed to open it.
DRIVERS = {
    "geojson": ("GeoJSON",),
    "gpkg": ("GPKG",),
    "shapefile": ("ESRI Shapefile",),
    "xlsx": ("XLSX",),
    "kml": ("KML", "LIBKML"),
}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj")
SHAPEFILE_OPTIONAL = (".cpg",)
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")


class UploadTooLargeError(InputDataError):
    """An upload, or the unpacked content of a zip, is larger than the limits (HTTP 413)."""


def _display_name(path: Path, original_name: str | None) -> str:
    """The planner's file name without any directory (browsers may send ``C:\\fakepath\\x.zip``)."""
    name = original_name if original_name else path.name
    return re.split(r"[\\/]", name.replace("\x00", ""))[-1] or "upload"


def _kind_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in KINDS:
        allowed = ", ".join(KINDS)
        raise InputDataError(
            f"不支持的文件类型 {name}；支持 {allowed}（Shapefile 请打包为 .zip） "
            f"(unsupported file type; allowed: {allowed})"
        )
    return KINDS[suffix]


def _copy_capped(src, dst: Path, limit_bytes: int, name: str) -> int:
    """Copy a binary stream to ``dst``, refusing more than ``limit_bytes``; return bytes written."""
    written = 0
    with open(dst, "wb") as out:
        while chunk := src.read(1024 * 1024):
            written += len(chunk)
            if written > limit_bytes:
                raise UploadTooLargeError(
                    f"{name} 解压后超过 {limit_bytes / 1e6:.0f} MB (unpacked content larger than the limit)"
                )
            out.write(chunk)
    return written


# -- zip archives (docs/bad-inputs.md U3, U4, U5) --------------------------------------------------------


def _check_zip_directory(zf: zipfile.ZipFile, name: str, max_unzipped_bytes: int) -> list[zipfile.ZipInfo]:
    """Refuse the whole archive on unsafe names or bomb-like sizes, from its directory only."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UploadTooLargeError(
            f"压缩包 {name} 含 {len(infos)} 个文件，超过 {MAX_ZIP_MEMBERS} 个 (too many members in the zip)"
        )
    for info in infos:
        raw = info.orig_filename
        parts = re.split(r"[\\/]", raw)
        reason = None
        if "\x00" in raw:
            reason = "文件名含空字符 (NUL byte in a member name)"
        elif raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
            reason = "含绝对路径 (absolute path)"
        elif ".." in parts:
            reason = "含 ../ 上级目录 (parent-directory path)"
        elif stat.S_ISLNK(info.external_attr >> 16):
            reason = "含符号链接 (symbolic link)"
        if reason:
            shown = raw.replace("\x00", "\\0")[:80]
            raise InputDataError(
                f"压缩包 {name} 中的成员 {shown!r} {reason}；整个压缩包已拒绝，请重新打包 "
                f"(unsafe zip member; archive refused)"
            )
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > max_unzipped_bytes:
        raise UploadTooLargeError(
            f"压缩包 {name} 解压后为 {total / 1e6:.0f} MB，超过上限 {max_unzipped_bytes / 1e6:.0f} MB "
            f"(unpacked size over the limit)"
        )
    if total > MAX_ZIP_RATIO * max(packed, 1) and total > 1024 * 1024:
        raise UploadTooLargeError(
            f"压缩包 {name} 的压缩比 {total / max(packed, 1):.0f}:1 超过 {MAX_ZIP_RATIO:.0f}:1，疑似压缩炸弹 "
            f"(compression ratio too high: zip bomb?)"
        )
    return infos


def _extract_shapefile(upload: Path, name: str, work: Path, max_unzipped_bytes: int) -> Path:
    """Validate a zipped Shapefile and copy its parts to ``work/layer.*``; return the ``.shp`` path."""
    try:
        zf = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(f"{name} 不是有效的 zip 压缩包 (not a valid zip archive)") from exc
    with zf:
        infos = _check_zip_directory(zf, name, max_unzipped_bytes)
        files = [i for i in infos if not i.is_dir()]
        shps = [i for i in files if i.filename.lower().endswith(".shp")]
        if not shps:
            raise InputDataError(
                f"压缩包 {name} 中没有 .shp 文件；请把 Shapefile 的 .shp/.shx/.dbf/.prj 一起打包 (no .shp in the zip)"
            )
        if len(shps) > 1:
            listed = ", ".join(i.filename for i in shps[:MAX_LISTED])
            raise InputDataError(
                f"压缩包 {name} 中有 {len(shps)} 个 .shp 文件 ({listed})；每个压缩包只能含一个图层 "
                f"(several .shp files; upload one layer per zip)"
            )
        stem = shps[0].filename[: -len(".shp")]
        members = {}
        for info in files:
            if info.filename[: len(stem)] == stem and info.filename[len(stem) :].lower() in (
                *SHAPEFILE_PARTS,
                *SHAPEFILE_OPTIONAL,
            ):
                members[info.filename[len(stem) :].lower()] = info
        missing = [ext for ext in SHAPEFILE_PARTS if ext not in members]
        if missing:
            why = {".shx": "索引 (index)", ".dbf": "属性表 (attributes)", ".prj": "坐标系 (CRS; 不会默认按 WGS84 处理)"}
            listed = ", ".join(f"{ext} {why.get(ext, '')}" for ext in missing)
            raise InputDataError(
                f"压缩包 {name} 中的 {shps[0].filename} 缺少 {listed}；请从 GIS 软件导出完整的 Shapefile 再打包 "
                f"(Shapefile parts missing: {', '.join(missing)})"
            )
        budget = max_unzipped_bytes
        for ext, info in members.items():
            with zf.open(info) as src:
                budget -= _copy_capped(src, work / f"layer{ext}", budget, name)
    return work / "layer.shp"


#: What a .cpg may say for the two encodings Chinese attribute tables come in.
_CPG_UTF8 = {"utf-8", "utf8", "65001"}
_CPG_GB = {"gbk", "cp936", "936", "gb2312", "gb18030", "ansi 936"}


def _check_dbf(shp: Path, name: str) -> None:
    """Refuse a damaged ``.dbf`` or a ``.cpg`` that names the wrong encoding (GDAL reads both without a word).

    A ``.dbf`` shorter than its header says, or with another number of records than the
    ``.shx`` has shapes, loses or shifts attributes; a ``.cpg`` saying GBK over UTF-8 text
    (or UTF-8 over GBK) garbles every Chinese name.

    Raises
    ------
    InputDataError
        Naming what is wrong and how to fix it.
    """
    raw = shp.with_suffix(".dbf").read_bytes()
    n_shapes = max(shp.with_suffix(".shx").stat().st_size - 100, 0) // 8
    if len(raw) < 32:
        raise InputDataError(f"{name} 的属性表 .dbf 已损坏（文件不完整），请重新导出 (the .dbf is damaged)")
    n_records = int.from_bytes(raw[4:8], "little")
    header_len = int.from_bytes(raw[8:10], "little")
    record_len = int.from_bytes(raw[10:12], "little")
    whole = max(len(raw) - header_len, 0) // record_len if header_len >= 33 and record_len >= 1 else 0
    if header_len < 33 or record_len < 1 or whole < n_records:
        raise InputDataError(
            f"{name} 的属性表 .dbf 已损坏或被截断：表头记录 {n_records} 条，文件只容纳 {whole} 条；"
            f"请从 GIS 软件重新导出 (the .dbf is truncated: {n_records} records declared, {whole} present)"
        )
    if n_records != n_shapes:
        raise InputDataError(
            f"{name} 的属性表 .dbf 有 {n_records} 条记录，而图形有 {n_shapes} 个，属性会错位或丢失；"
            f"请从 GIS 软件重新导出 (the .dbf has {n_records} records for {n_shapes} shapes)"
        )
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        return
    declared = cpg.read_bytes()[:40].decode("ascii", errors="replace").strip()
    text = raw[32 : header_len + n_records * record_len]
    if text.isascii():
        return
    try:
        text.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if declared.lower() in _CPG_UTF8 and not utf8:
        actual = "GBK/GB18030"
    elif declared.lower() in _CPG_GB and utf8:
        actual = "UTF-8"
    else:
        return
    raise InputDataError(
        f"{name} 的 .cpg 声明编码为 {declared[:20]}，但属性表 .dbf 的文字是 {actual}，按声明读取会成为乱码；"
        "请删除压缩包中的 .cpg 后重新上传（系统会自动识别 UTF-8 或 GBK），或改正 .cpg "
        f"(the .cpg says {declared[:20]} but the attributes are {actual}; remove or fix the .cpg)"
    )


def _dbf_encoding(shp: Path) -> str | None:
    """Encoding of a .dbf without .cpg (docs/bad-inputs.md U6): UTF-8 if its records decode, else GB18030."""
    if shp.with_suffix(".cpg").exists():
        return None
    return dbf_text_encoding(shp.with_suffix(".dbf").read_bytes())


def dbf_text_encoding(raw: bytes) -> str:
    """The encoding a ``.dbf``'s records are written in (its bytes): UTF-8 if they decode, else GB18030."""
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else len(raw)
    try:
        raw[header_len:].decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


# -- magic bytes and drivers (docs/bad-inputs.md U11-U14) -------------------------------------------------


#: A NUL in a text format: raw, as a JSON escape, or as an XML character reference.
_NUL_TEXT = re.compile(rb"\x00|\\u0000|&#0+;|&#x0+;", re.IGNORECASE)


#: Triggers a GeoPackage may carry: the spatial index's (``rtree_<table>_<column>_*``, GPKG
#: extension), the metadata checks of the standard (``gpkg_*``) and GDAL's feature counts.
_GPKG_TRIGGER = re.compile(r"^(rtree_.+_(insert|update\d*|delete)|gpkg_.+|trigger_.+_feature_count_.+)$", re.IGNORECASE)


def check_gpkg_tables(upload: Path, name: str) -> None:
    """Refuse a GeoPackage whose layers are not plain tables, before GDAL evaluates any of them.

    A layer that is a SQL view (or a virtual table) is evaluated by SQLite when GDAL reads it:
    a recursive view runs forever or into gigabytes.  A trigger beyond the standard's own may
    run on any write.  Both are refused from ``sqlite_master`` (read-only, no SQL of the file
    run); the inspection itself is bounded by a progress handler.
    """
    try:
        con = sqlite3.connect(f"{upload.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise InputDataError(f"无法读取 {name}（文件损坏） (cannot read the GeoPackage: {type(exc).__name__})") from exc
    steps = [0]

    def bounded() -> int:
        steps[0] += 1
        return 1 if steps[0] > 10_000 else 0  # about 10 M virtual machine steps: metadata only

    con.set_progress_handler(bounded, 1000)
    try:
        objects = {
            str(row[0]).lower(): (row[1], str(row[2] or ""))
            for row in con.execute("SELECT name, type, sql FROM sqlite_master WHERE name IS NOT NULL")
        }
        layers = [str(row[0]) for row in con.execute("SELECT table_name FROM gpkg_contents")]
    except sqlite3.Error as exc:
        raise InputDataError(
            f"{name} 不是有效的 GeoPackage（缺少或无法读取 gpkg_contents） "
            f"(not a valid GeoPackage: {type(exc).__name__})"
        ) from exc
    finally:
        con.close()
    for layer in layers:
        kind, sql = objects.get(layer.lower(), ("missing", ""))
        if kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            what = {"view": "SQL 视图 (a SQL view)", "missing": "不存在 (missing)"}.get(
                kind, "虚拟表 (a virtual table)" if kind == "table" else kind
            )
            raise InputDataError(
                f"{name} 的图层 {layer[:80]!r} 是{what}，只接受普通数据表；请在 GIS 软件中导出为普通图层后重新上传 "
                "(only plain tables are read as layers: export the layer as a table)"
            )
    triggers = [key for key, (kind, _) in objects.items() if kind == "trigger" and not _GPKG_TRIGGER.match(key)]
    if triggers:
        raise InputDataError(
            f"{name} 含 {len(triggers)} 个非标准触发器（如 {triggers[0][:80]!r}），请导出为不带触发器的 GeoPackage "
            "(the GeoPackage has triggers beyond the standard's own; export it again without them)"
        )


def _check_magic(upload: Path, kind: str, name: str, max_unzipped_bytes: int) -> None:
    """Refuse a file whose first bytes do not match its extension; never echo its content."""
    with open(upload, "rb") as fh:
        head = fh.read(4096)
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if kind == "geojson" and not stripped.startswith(b"{"):
        raise InputDataError(f"{name} 不是 GeoJSON 文件（应以 {{ 开头） (not a GeoJSON document)")
    if kind in ("geojson", "kml") and _NUL_TEXT.search(upload.read_bytes()):
        # GDAL hands text over as C strings: a name would silently end at its NUL.
        raise InputDataError(
            f"{name} 的文字中含 NUL 字符（\\u0000），读取时会被截断；请删除后重新上传 "
            "(text with a NUL character would be cut there: remove it)"
        )
    if kind == "gpkg":
        if not head.startswith(b"SQLite format 3\x00"):
            raise InputDataError(f"{name} 不是 GeoPackage 文件（不是 SQLite 数据库） (not a GeoPackage: not SQLite)")
        if head[68:72] not in GPKG_APPLICATION_IDS:
            raise InputDataError(
                f"{name} 是 SQLite 数据库但不是 GeoPackage（缺少 GPKG 标识） (SQLite database but not a GeoPackage)"
            )
    if kind == "gpkg":
        check_gpkg_tables(upload, name)
    if kind == "xls" and not head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputDataError(f"{name} 不是 Excel 97-2003 (.xls) 文件 (not an .xls workbook)")
    if kind in ("shapefile", "xlsx") and not head.startswith(b"PK\x03\x04"):
        raise InputDataError(f"{name} 不是 zip/xlsx 文件 (not a zip container)")
    if kind == "xlsx":
        _check_xlsx(upload, name, max_unzipped_bytes)
    if kind == "kml":
        _check_xml(upload.read_bytes(), name)
        if not (stripped.startswith(b"<?xml") or stripped.startswith(b"<kml")):
            raise InputDataError(f"{name} 不是 KML 文件 (not a KML document)")


#: Encodings an XML parser may read a document in: its declaration, a byte-order mark, or these.
_XML_ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-7")
_XML_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")


def _check_xml(data: bytes, name: str) -> None:
    """Refuse any DOCTYPE / ENTITY before an XML parser sees the document (docs/bad-inputs.md U14).

    Looked for in every encoding the document could be read in (UTF-16/32 interleave NULs,
    UTF-7 writes ``<`` as ``+ADw-``, a declaration may name any codec), not only in UTF-8.
    """
    plain = data.replace(b"\x00", b"")
    declared = _XML_DECLARED.match(plain[:200])
    encodings = [*_XML_ENCODINGS, *([declared.group(1).decode("ascii")] if declared else [])]
    texts = [data.lower(), plain.lower()]
    for encoding in encodings:
        try:
            texts.append(data.decode(encoding, errors="ignore").lower().encode("utf-8"))
        except LookupError:  # a codec Python does not know: no parser here reads it either
            continue
    if any(b"<!doctype" in t or b"<!entity" in t for t in texts):
        raise InputDataError(f"{name} 含 DOCTYPE/ENTITY 声明，出于安全原因拒绝 (XML DOCTYPE/ENTITY refused)")


def _check_xlsx(upload: Path, name: str, max_unzipped_bytes: int) -> None:
    try:
        zf = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(f"{name} 不是有效的 xlsx 文件 (not a valid xlsx workbook)") from exc
    with zf:
        infos = _check_zip_directory(zf, name, max_unzipped_bytes)
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise InputDataError(f"{name} 不是 Excel .xlsx 工作簿 (not an xlsx workbook)")
        for info in infos:  # every member: a part's content type, not its name, decides how it is parsed
            if not info.is_dir():
                _check_xml(zf.read(info), f"{name} 的 {info.filename[:60]}")


@contextlib.contextmanager
def _gdal_warnings_logged(name: str):
    """Turn GDAL's warnings (raised by pyogrio as Python warnings) into log records."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        logger.info("GDAL warning while reading %s: %s", name, w.message)


def _check_driver(path: Path, layer: str, kind: str, name: str) -> None:
    """The driver GDAL picks must be the one of the extension (docs/bad-inputs.md U11/U12)."""
    try:
        with _gdal_warnings_logged(name):
            driver = pyogrio.read_info(path, layer=layer)["driver"]
    except Exception as exc:  # any GDAL failure is a bad file; its text may hold a path
        raise InputDataError(
            f"无法读取 {name}（文件损坏或格式不符） (cannot read the file: {type(exc).__name__})"
        ) from exc
    if driver not in DRIVERS[kind]:
        raise InputDataError(
            f"{name} 的内容与扩展名不符（应为 {'/'.join(DRIVERS[kind])}），已拒绝 "
            f"(file content does not match its extension)"
        )


# -- tables (docs/bad-inputs.md U7, U8): rows and coordinates read in geo.io.tables ------------------------


def _table_frame(
    header: list[str], rows: list[tuple[int, list[str]]], name: str, system: str, table_crs: CRS | None
) -> gpd.GeoDataFrame:
    """Points from table rows with longitude/latitude (or X/Y) columns; bad rows reported by line number.

    ``table_crs`` given: the columns are coordinates of that CRS (e.g. CGCS2000
    Gauss-Kruger metres), checked against its area of use; else degrees of ``system``.
    """
    if not rows:
        raise InputDataError(f"{name} 没有数据行 (no data rows)")
    lon_col, lat_col = find_column(header, LON_NAMES), find_column(header, LAT_NAMES)
    if lon_col is None or lat_col is None:
        raise InputDataError(
            f"{name} 缺少经度/纬度列（可用列名: 经度/纬度、lon/lat、lng/lat、x/y）；现有列: {header} "
            f"(longitude/latitude columns not found)"
        )
    i_lon, i_lat = header.index(lon_col), header.index(lat_col)
    lon = np.full(len(rows), np.nan)
    lat = np.full(len(rows), np.nan)
    problems = []
    for k, (line, cells) in enumerate(rows):
        x, why_x = parse_coordinate(cells[i_lon])
        y, why_y = parse_coordinate(cells[i_lat])
        if why_x or why_y:
            what = "; ".join(f"{col} {why}" for col, why in ((lon_col, why_x), (lat_col, why_y)) if why)
            problems.append(f"第 {line} 行 (line {line}): {what}")
        else:
            lon[k], lat[k] = x, y
    if problems:
        more = f" 等共 {len(problems)} 行" if len(problems) > MAX_LISTED else ""
        raise InputDataError(
            f"{name} 中有无法识别的坐标{more}: " + "；".join(problems[:MAX_LISTED]) + " (bad coordinates by line)"
        )
    attrs = pd.DataFrame([cells[: len(header)] for _, cells in rows], columns=header)
    attrs = attrs.drop(columns=[lon_col, lat_col])
    attrs.insert(0, "line", [line for line, _ in rows])
    if table_crs is not None and table_crs.is_projected:
        frame = gpd.GeoDataFrame(attrs, geometry=gpd.points_from_xy(lon, lat), crs=table_crs)
        return check_area_of_use(frame, name)
    fits = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    fits_swapped = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    if not fits.all():
        if fits_swapped.all():
            raise CRSError(
                f"{name} 的坐标可能颠倒：列 {lon_col!r} 像纬度、列 {lat_col!r} 像经度，请交换两列 "
                f"(坐标可能颠倒 / longitude and latitude look swapped)"
            )
        lines = [str(rows[k][0]) for k in np.flatnonzero(~fits)[:MAX_LISTED]]
        raise InputDataError(
            f"{name} 第 {', '.join(lines)} 行的坐标超出经纬度范围（经度 -180..180，纬度 -90..90）；"
            f"若为投影坐标（米），请先转换为经纬度 (coordinates out of range on lines {', '.join(lines)})"
        )
    if table_crs is not None:  # a geographic CRS named by EPSG code (e.g. 4490, CGCS2000)
        frame = gpd.GeoDataFrame(attrs, geometry=gpd.points_from_xy(lon, lat), crs=table_crs)
        return check_area_of_use(frame, name)
    lon, lat = to_wgs84(lon, lat, system)
    return gpd.GeoDataFrame(attrs, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


# -- checks of the result (docs/bad-inputs.md U9, U10, U16) -----------------------------------------------


def _crs_hint(x: np.ndarray, y: np.ndarray, crs: CRS) -> str:
    """The likeliest cause of coordinates that do not fit ``crs``."""
    if crs.is_projected:
        op = crs.coordinate_operation
        params = {p.name.lower(): p.value for p in op.params} if op is not None else {}
        false_easting = float(params.get("false easting", 0.0))
        if np.nanmax(np.abs(x)) <= 180 and np.nanmax(np.abs(y)) <= 90:
            return "坐标像经纬度（度）而坐标系为投影坐标系 (coordinates look like degrees, CRS is projected)"
        if np.nanmedian(x) > 1e7 and false_easting < 1e6:
            return (
                "东坐标带有带号前缀，应选择带带号的坐标系（如 EPSG:4528 而非 EPSG:4549） "
                "(easting has a zone prefix; use the CRS with the zone number)"
            )
        if np.nanmedian(x) < 1e6 and false_easting > 1e7:
            return (
                "东坐标没有带号前缀，应选择不带带号的坐标系（如 EPSG:4549 而非 EPSG:4528） "
                "(easting has no zone prefix; use the CRS without the zone number)"
            )
        if np.nanmedian(x) > 1e6 and np.nanmedian(y) < 1e6:
            return "X/Y（东/北）坐标可能颠倒 (坐标可能颠倒 / axes look swapped)"
    return "坐标系可能选错或坐标可能颠倒 (wrong CRS or swapped axes)"


def check_area_of_use(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Transform to WGS84, refusing coordinates outside the source CRS's area of use (docs/bad-inputs.md U9)."""
    crs = CRS.from_user_input(frame.crs)
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    if crs.is_geographic:
        lon, lat = xy[:, 0], xy[:, 1]
        if not ((np.abs(lon) <= 180) & (np.abs(lat) <= 90)).all():
            swapped = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
            cause = (
                "经纬度可能颠倒 (坐标可能颠倒 / lon/lat swapped)"
                if swapped.all()
                else _crs_hint(lon, lat, CRS.from_epsg(3857))
            )
            raise CRSError(
                f"{name} 的坐标超出经纬度范围（坐标系 {crs.name}）；{cause} (coordinates out of lon/lat range)"
            )
    out = frame.to_crs(WGS84)
    aou = crs.area_of_use
    bounds = out.geometry.bounds.to_numpy()
    bad = ~np.isfinite(bounds).all(axis=1)
    if aou is not None and crs.is_projected:
        m = AREA_OF_USE_MARGIN_DEG
        bad |= (
            (bounds[:, 0] < aou.west - m)
            | (bounds[:, 2] > aou.east + m)
            | (bounds[:, 1] < aou.south - m)
            | (bounds[:, 3] > aou.north + m)
        )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"经度 {aou.west:.1f}..{aou.east:.1f}，纬度 {aou.south:.1f}..{aou.north:.1f}" if aou else ""
        raise CRSError(
            f"{name} 第 {i + 1} 个要素（共 {int(bad.sum())} 个）不在坐标系 {crs.name} 的适用范围内 ({where})；"
            f"{_crs_hint(xy[:, 0], xy[:, 1], crs)} (coordinates outside the CRS's area of use)"
        )
    return out


def _check_geojson_ranges(frame: gpd.GeoDataFrame, name: str) -> None:
    xy = shapely.get_coordinates(frame.geometry.to_numpy())
    lon, lat = xy[:, 0], xy[:, 1]
    if ((np.abs(lon) <= 180) & (np.abs(lat) <= 90)).all():
        return
    if ((np.abs(lat) <= 180) & (np.abs(lon) <= 90)).all():
        cause = "经纬度可能颠倒 (坐标可能颠倒 / lon/lat swapped)"
    else:
        cause = "坐标像投影坐标（米）；GeoJSON 按 RFC 7946 必须为 WGS84 经纬度，文件中的 crs 声明不被采用"
    raise CRSError(f"{name} 的坐标超出经纬度范围；{cause} (GeoJSON must be WGS84 lon/lat, RFC 7946)")


def check_study_area(frame: gpd.GeoDataFrame, study_area: shapely.Geometry, name: str) -> None:
    """Every feature within :data:`STUDY_AREA_MAX_DIST_M` of the study area (WGS84), else CRSError."""
    c = shapely.centroid(study_area)
    crs = metric_crs(np.array([c.x]), np.array([c.y]))
    area_m = gpd.GeoSeries([study_area], crs=WGS84).to_crs(crs).iloc[0]
    dist_m = shapely.distance(frame.geometry.to_crs(crs).to_numpy(), area_m)
    far = ~(dist_m <= STUDY_AREA_MAX_DIST_M)
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise CRSError(
            f"{name} 第 {i + 1} 个要素（共 {int(far.sum())} 个）距研究区 {dist_m[i] / 1000:.0f} km，超过 "
            f"{STUDY_AREA_MAX_DIST_M / 1000:.0f} km；坐标系可能选错或坐标可能颠倒 "
            f"(feature far from the study area: wrong CRS or swapped axes?)"
        )


def _check_geometries(frame: gpd.GeoDataFrame, expected: str, name: str) -> None:
    if frame.empty:
        raise InputDataError(f"{name} 中没有要素，应为{KIND_ZH[expected]}要素 (no features; expected {expected})")
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputDataError(f"{name} 第 {i + 1} 个要素没有几何 (feature {i + 1} has no geometry)")
    types = frame.geom_type.to_numpy()
    wrong = ~np.isin(types, EXPECTED_KINDS[expected])
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise InputDataError(
            f"{name} 第 {i + 1} 个要素是 {types[i]}（共 {int(wrong.sum())} 个不符），此处需要{KIND_ZH[expected]}数据 "
            f"(wrong geometry kind: expected {expected}, got {types[i]})"
        )


# -- the entry point -------------------------------------------------------------------


def _read_layer(path: Path, kind: str, name: str, encoding: str | None) -> tuple[gpd.GeoDataFrame, bool]:
    """Read the single spatial layer of a file through pyogrio as 2-D; also whether Z/M was dropped."""
    try:
        with _gdal_warnings_logged(name):
            layers = [str(n) for n, g in pyogrio.list_layers(path) if g is not None]
    except Exception as exc:  # any GDAL failure is a bad file; its text may hold a path
        raise InputDataError(
            f"无法读取 {name}（文件损坏或格式不符） (cannot read the file: {type(exc).__name__})"
        ) from exc
    if not layers:
        raise InputDataError(f"{name} 中没有含几何的图层 (no spatial layer)")
    if len(layers) > 1:
        listed = ", ".join(layers[:MAX_LISTED])
        raise InputDataError(f"{name} 含 {len(layers)} 个图层 ({listed})；请每次只上传一个图层 (several layers)")
    _check_driver(path, layers[0], kind, name)
    try:
        with _gdal_warnings_logged(name):
            frame = pyogrio.read_dataframe(path, layer=layers[0], encoding=encoding)
    except Exception as exc:  # any GDAL failure is a bad file; its text may hold a path
        raise InputDataError(f"无法读取 {name} (cannot read the file: {type(exc).__name__})") from exc
    geoms = frame.geometry.to_numpy()
    dropped = bool(shapely.has_z(geoms).any() or shapely.has_m(geoms).any())
    if dropped:
        frame = frame.set_geometry(shapely.force_2d(geoms), crs=frame.crs)
    return frame, dropped


def read_upload(
    path: Path,
    *,
    original_name: str | None = None,
    expected: str = "any",
    system: str = "wgs84",
    max_bytes: int = MAX_UPLOAD_BYTES,
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Read a planner's uploaded file into a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path
        The uploaded file on disk (a regular file; any name, e.g. a web server temp file).
    original_name
        The name the planner gave the file (``道路网络.zip``); chooses the kind by its
        extension and names the file in messages.  ``None``: ``path.name``.
    expected
        Geometry kind the caller needs: ``"point"``, ``"line"``, ``"polygon"`` or ``"any"``.
    system
        Coordinate system of CSV/XLSX longitude/latitude columns (degrees), one of
        :data:`geo.io.coords.SYSTEMS`: ``wgs84``, ``cgcs2000``, ``gcj02`` (Amap/Tencent),
        ``bd09`` (Baidu); converted to WGS84.  Or an EPSG code / CRS (``4549``,
        ``"EPSG:4528"``) for X/Y columns in a projected CRS (metres), checked against its
        area of use (docs/bad-inputs.md U9).  Files with a CRS (.prj, GeoPackage) use it.
    max_bytes
        Largest accepted file size in bytes (default :data:`MAX_UPLOAD_BYTES`); the
        unpacked content of a zip is capped by :data:`MAX_UNZIPPED_BYTES` and
        :data:`MAX_ZIP_RATIO`.
    study_area
        Optional study area in WGS84 degrees; every feature must lie within
        :data:`STUDY_AREA_MAX_DIST_M` metres of it.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, 2-D (Z and M dropped), the file's attributes (tables add ``line``,
        the file's line number).  ``attrs``: ``original_name``, ``kind``, ``source_crs``,
        ``dropped_z``.

    Raises
    ------
    UploadTooLargeError
        The file, or a zip's unpacked content, is too large (HTTP 413).
    InputDataError
        Unsupported or mislabelled file, unsafe zip, missing Shapefile parts, bad rows
        (by line number), no features, wrong geometry kind.
    CRSError
        Coordinates that do not fit their CRS, GeoJSON outside lon/lat ranges, lon/lat
        swapped, or features far from the study area.
    """
    path = Path(path)
    name = _display_name(path, original_name)
    if expected not in EXPECTED_KINDS:
        raise InputDataError(f"expected={expected!r} 无效，可选: {', '.join(EXPECTED_KINDS)} (unknown geometry kind)")
    key = str(system).strip().lower().replace("-", "").replace("_", "")
    table_crs = None
    if key not in SYSTEMS:
        try:
            table_crs = to_crs(system)
        except CRSError as exc:
            raise InputDataError(
                f"坐标系 {system!r} 无效，可选: {', '.join(SYSTEMS)} 或 EPSG 代码（如 4549） "
                f"(unknown coordinate system; allowed: {', '.join(SYSTEMS)} or an EPSG code)"
            ) from exc
    kind = _kind_of(name)
    try:
        st = path.stat()
    except OSError as exc:
        raise InputDataError(f"上传的文件 {name} 不存在 (uploaded file not found)") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputDataError(f"{name} 不是普通文件 (not a regular file)")
    if st.st_size > max_bytes:
        raise UploadTooLargeError(
            f"文件 {name} 为 {st.st_size / 1e6:.1f} MB，超过上限 {max_bytes / 1e6:.1f} MB (file larger than the limit)"
        )
    if st.st_size == 0:
        raise InputDataError(f"文件 {name} 为空，应含{KIND_ZH[expected]}要素 (empty file; expected {expected})")
    with tempfile.TemporaryDirectory(prefix="linli-upload-") as tmp:
        work = Path(tmp)
        upload = work / f"upload{PurePosixPath(name).suffix.lower()}"
        with open(path, "rb") as src:
            _copy_capped(src, upload, max_bytes, name)
        _check_magic(upload, kind, name, MAX_UNZIPPED_BYTES)
        dropped = False
        if kind in ("csv", "xlsx", "xls"):
            # Title rows above the header, sign-off rows below, merged cells: as in the ledgers.
            sheet = read_sheet(upload, name, kind, known=(*LON_NAMES, *LAT_NAMES, "名称", "name"))
            frame = _table_frame(sheet.header, sheet.rows, name, key, table_crs)
            source_crs = table_crs.to_string() if table_crs is not None else SYSTEMS[key]
        else:
            target, encoding = upload, None
            if kind == "shapefile":
                target = _extract_shapefile(upload, name, work, MAX_UNZIPPED_BYTES)
                _check_dbf(target, name)
                encoding = _dbf_encoding(target)
            frame, dropped = _read_layer(target, kind, name, encoding)
            if kind in ("geojson", "kml"):
                # RFC 7946 / OGC KML: always WGS84 lon/lat; a legacy "crs" member is ignored (docs/bad-inputs.md U10).
                frame = frame.set_crs(WGS84, allow_override=True)
            if frame.crs is None:
                raise CRSError(f"{name} 没有坐标系信息，请在 GIS 软件中定义坐标系后重新导出 (no CRS in the file)")
            source_crs = CRS.from_user_input(frame.crs).to_string()
            _check_geometries(frame, expected, name)
            if kind in ("geojson", "kml"):
                _check_geojson_ranges(frame, name)
            frame = check_area_of_use(frame, name)
    _check_geometries(frame, expected, name)
    if study_area is not None:
        check_study_area(frame, study_area, name)
    frame.attrs.update({"original_name": name, "kind": kind, "source_crs": source_crs, "dropped_z": dropped})
    logger.info("upload %s: %d features (%s, %s)", name, len(frame), kind, source_crs)
    return frame
