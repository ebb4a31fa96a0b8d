"""Residents from the community ledger of residential compounds (小区): one row per compound with
its household count (or residents) and a picked point or polygon; bad rows named by line.
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
from geo.access.demand import check_positive, format_number
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.uploads import read_upload

logger = logging.getLogger(__name__)

__all__ = ["COMPOUND_COLUMNS", "LEDGER_HEADERS", "MAX_LINES_REPORTED", "residents_from_compounds"]

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
    persons_per_household = check_positive("persons_per_household", persons_per_household)
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
    per_household = format_number(persons_per_household)
    assumption = f"人口取台账“人口”列；无人口时按 户数 × {per_household} 人/户（七普平均家庭户规模）计"
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
