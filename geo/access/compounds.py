"""Residents from the community ledger of residential compounds (小区): one row per compound with
its household count (or residents), its own columns kept, and a picked point or polygon.

A table ledger (CSV/XLSX/XLS) is read row by row (:func:`geo.io.ledger.read_ledger`): title rows,
two-row headers under merged cells, ``120户`` and full-width digits all read; a row without a
position or without 户数 and 人口 is listed in the report and the rest loads.  Its coordinate
system is declared or detected against the streets (:func:`geo.network.systems.locate_ledger`).
A layer (GeoJSON, GeoPackage, zipped Shapefile) of compound points or polygons goes through
:func:`geo.io.uploads.read_upload`.  Columns beyond the counts (所属社区, 党员数, 物业公司 ...) are
carried as attributes; 60岁以上人口 / 0-6岁人口, where present, are the compound's own elderly and
children, counted for the age-weighted functions instead of one share for the whole area.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.demand import check_positive, format_number
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.ledger import LEDGER_KINDS, LedgerReport, LedgerTable, RowIssue, drop_rows, read_ledger
from geo.io.sheets import header_key
from geo.io.tables import parse_count
from geo.io.uploads import read_upload
from geo.network.graph import WalkNetwork
from geo.network.systems import locate_ledger

logger = logging.getLogger(__name__)

__all__ = ["COMPOUND_COLUMNS", "COMPOUND_FIELDS", "residents_from_compounds"]

#: Columns of ``residents_from_compounds`` (besides ``geometry``, the optional ``ledger_id``,
#: ``community``, ``elderly``, ``children`` and the ledger's own other columns).
COMPOUND_COLUMNS = ("name", "line", "households", "residents", "residents_source", "source", "assumption")

#: Header names a compound ledger may use, per field (compared without spaces, brackets or case).
COMPOUND_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("小区编号", "编号", "编码", "小区代码", "id", "code"),
    "name": ("小区名称", "名称", "小区", "楼盘名称", "小区楼盘名称", "住宅小区", "name"),
    "households": ("户数", "总户数", "住户数", "住户户数", "户籍户数", "常住户数", "households"),
    "residents": ("人口", "人数", "居民数", "常住人口", "总人口", "居住人口", "人口数", "residents", "population"),
    "elderly": ("60岁以上人口", "60岁及以上人口", "60周岁以上人口", "60岁以上老人", "老年人口", "老年人数", "elderly"),
    "children": ("0-6岁人口", "0-6岁儿童", "0~6岁人口", "0至6岁人口", "学龄前儿童", "儿童人口", "children"),
    "community": ("所属社区", "社区", "所属村居", "村居", "所在社区"),
}
_COUNTS = ("households", "residents", "elderly", "children")
AGE_ZH = {"elderly": "60岁以上人口", "children": "0-6岁人口"}


def _layer_ledger(frame: gpd.GeoDataFrame, label: str) -> LedgerTable:
    """A compound layer's attributes as ledger rows (feature numbers as lines)."""
    attributes = [c for c in frame.columns if c != frame.geometry.name and c != "line"]
    keys = {header_key(c): c for c in attributes}
    found: dict[str, str] = {}
    for fld, aliases in COMPOUND_FIELDS.items():
        hit = next((keys[header_key(a)] for a in aliases if header_key(a) in keys), None)
        if hit is not None and hit not in found.values():
            found[fld] = hit
    report = LedgerReport(file=label, columns=dict(found), rows_read=len(frame))
    report.attributes = [c for c in attributes if c not in found.values()]
    records = []
    for k, rec in enumerate(frame[attributes].to_dict("records")):
        record: dict[str, object] = {"line": k + 1}
        for fld, column in found.items():
            value = rec[column]
            if fld in _COUNTS:
                number, why = parse_count(value)
                if why:
                    report.issues.append(RowIssue(k + 1, column, str(value), why, loaded=True))
                record[fld] = np.nan if number is None else number
            else:
                record[fld] = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        for column in report.attributes:
            record[column] = rec[column]
        records.append(record)
    report.rows_loaded = len(records)
    return LedgerTable(pd.DataFrame(records), report)


def residents_from_compounds(
    path: Path,
    *,
    persons_per_household: float = settings.PERSONS_PER_HOUSEHOLD,
    system: str | None = "auto",
    network: WalkNetwork | None = None,
    original_name: str | None = None,
    study_area: shapely.Geometry | None = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Residents of residential compounds (小区) from a planner's ledger.

    A row's residents are its 人口 when given, otherwise 户数 x ``persons_per_household``; a row
    with 人口 but no 户数 gets 人口 / ``persons_per_household`` households.  A row with neither,
    or whose position cannot be read, is listed in the report (``attrs["report"]``) and left out;
    the rest loads.  Where a 60岁以上人口 / 0-6岁人口 column is present, a row left blank there
    gets the ledger's own share of the rows that have it (said in ``assumption``).

    Parameters
    ----------
    path
        The ledger file: CSV/XLSX/XLS (any header row, 经度/纬度 or one 坐标 column), or a
        GeoJSON/GeoPackage/zipped Shapefile of compound points or polygons (a polygon stands for
        its representative point).
    persons_per_household
        Persons per household; default 2.62 (2020 census).
    system
        Coordinate system of a table's degrees: ``"auto"`` (default: detected against
        ``network``), ``"wgs84"``/``"cgcs2000"``, ``"gcj02"`` (Amap/Tencent), ``"bd09"``
        (Baidu), or an EPSG code for X/Y in metres.  Layers use their own CRS.
    network
        The project's walk network, to detect (or check) the coordinate system.
    original_name
        The name the planner gave the file, for messages; default ``path.name``.
    study_area
        Optional study area (WGS84 degrees); compounds far from it are reported and left out.
    columns, sheet
        The planner's choice of column per field and of the worksheet (tables).

    Returns
    -------
    geopandas.GeoDataFrame
        One point per compound in EPSG:4326 with the columns of :data:`COMPOUND_COLUMNS`
        (``line``: line of a table, feature number of a layer; ``residents_source``
        ``"ledger"`` or ``"households"``; ``source`` = ``"compounds"``), ``ledger_id``,
        ``community``, ``elderly`` / ``children`` where the ledger has them, and the ledger's
        other columns as written.

    Raises
    ------
    InputDataError
        Unreadable file, no household or resident column, no row that could be read.
    SystemUnclearError
        Undeclared system the streets do not decide.
    CRSError
        Coordinates that do not fit their system, or most rows far from the study area.
    """
    persons_per_household = check_positive("persons_per_household", persons_per_household)
    path = Path(path)
    label = original_name or path.name
    is_table = PurePosixPath(label).suffix.lower() in LEDGER_KINDS
    if is_table:
        ledger = read_ledger(
            path,
            fields=COMPOUND_FIELDS,
            numbers=_COUNTS,
            original_name=label,
            columns=columns,
            sheet=sheet,
            what_zh="小区台账",
        )
    else:
        frame = read_upload(
            path, original_name=label, expected="any", max_bytes=settings.MAX_LEDGER_BYTES, study_area=study_area
        )
        ledger = _layer_ledger(frame, label)
        points = frame.geometry.reset_index(drop=True)
    report = ledger.report
    if "households" not in report.columns and "residents" not in report.columns:
        allowed = "; ".join(
            f"{f}: {'/'.join(a)}" for f, a in COMPOUND_FIELDS.items() if f in ("households", "residents")
        )
        raise InputDataError(
            f"小区台账 {label} 缺少列 ['households']（需要 户数 或 人口）；可用列名为 {allowed}；"
            f"现有列: {'、'.join([*report.columns.values(), *report.attributes])} (missing columns ['households'])"
        )
    rows = ledger.rows
    households = rows["households"].to_numpy(float) if "households" in rows else np.full(len(rows), np.nan)
    residents = rows["residents"].to_numpy(float) if "residents" in rows else np.full(len(rows), np.nan)
    has_count = np.isfinite(households) | np.isfinite(residents)
    where = "行" if is_table else "个要素"
    already = {i.line for i in report.issues}
    issues = [
        RowIssue(
            int(line),
            report.columns.get("households", report.columns.get("residents", "户数")),
            "",
            "户数和人口均为空 (no households or residents)",
        )
        for line in rows["line"].to_numpy()[~has_count]
        if int(line) not in already
    ]
    if not has_count.any():
        raise InputDataError(
            f"小区台账 {label} 的每一{where}都没有有效的户数或人口 (no row has households or residents)\n"
            f"{report.to_text()}"
        )
    if not has_count.all():
        if not is_table:
            points = points[has_count].reset_index(drop=True)
        ledger = drop_rows(ledger, has_count, issues)
        rows = ledger.rows
    if is_table:
        ledger, points = locate_ledger(ledger, system, network, study_area=study_area)
        rows = ledger.rows
    households = rows["households"].to_numpy(float) if "households" in rows else np.full(len(rows), np.nan)
    residents = rows["residents"].to_numpy(float) if "residents" in rows else np.full(len(rows), np.nan)
    from_ledger = np.isfinite(residents)
    residents = np.where(from_ledger, residents, households * persons_per_household)
    households = np.where(np.isfinite(households), households, residents / persons_per_household)
    per_household = format_number(persons_per_household)
    assumption = f"人口取台账“人口”列；无人口时按 户数 × {per_household} 人/户（七普平均家庭户规模）估算"
    names = rows["name"].astype(str).str.strip() if "name" in rows else pd.Series([""] * len(rows))
    lines = rows["line"].to_numpy(dtype=np.int64)
    names = [n or (f"第{line}行" if is_table else f"第{line}个要素") for n, line in zip(names, lines, strict=True)]
    data: dict[str, object] = {
        "name": names,
        "line": lines,
        "households": households,
        "residents": residents,
        "residents_source": np.where(from_ledger, "ledger", "households"),
        "source": "compounds",
        "assumption": assumption,
    }
    if "id" in rows:
        data["ledger_id"] = rows["id"].astype(str).to_numpy()
    if "community" in rows:
        data["community"] = rows["community"].astype(str).to_numpy()
    notes = [assumption]
    for column in ("elderly", "children"):
        if column not in rows:
            continue
        values = rows[column].to_numpy(float)
        too_many = np.isfinite(values) & (values > residents + 1e-9)
        for k in np.flatnonzero(too_many):
            report.issues.append(
                RowIssue(
                    int(lines[k]),
                    report.columns[column],
                    format_number(values[k]),
                    f"{AGE_ZH[column]}多于人口，未采用",
                    True,
                )
            )
        values = np.where(too_many, np.nan, values)
        given = np.isfinite(values)
        if not given.any():
            continue
        if not given.all():
            share = float(values[given].sum() / max(residents[given].sum(), 1e-9))
            values = np.where(given, values, residents * share)
            notes.append(f"{int((~given).sum())} 个小区未填{AGE_ZH[column]}，按台账中其余小区的比例 {share:.1%} 估算")
        data[column] = values
    for attribute in report.attributes:
        if attribute not in data:
            data[attribute] = rows[attribute].to_numpy(object)
    geoms = points.to_numpy()
    geoms = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)
    out["assumption"] = "；".join(notes)
    out.attrs["assumption"] = "；".join(notes)
    out.attrs["report"] = report
    report.rows_loaded = len(out)
    logger.info(
        "demand from compounds: %d compounds, %.0f residents, %.0f households; %s",
        len(out),
        float(out["residents"].sum()),
        float(out["households"].sum()),
        report.summary(),
    )
    return out
