"""Special groups (高龄老人 / 空巢老人 / 困难群众) as counts per compound or grid: demand weights.

A county keeps these people in two ways: as counts in the compound ledger (高龄老人数, 空巢老人数,
困难群众数 columns) or as a list of individuals (one row each: 类别, and 小区 / 住址 / 网格编码 /
经纬度).  Either way this module turns them into *counts per demand point* — columns
``oldest_old``, ``empty_nest``, ``hardship`` of the demand — which coverage
(:func:`geo.access.coverage.with_weight`) and placement (``weight_column`` of
:func:`geo.placement.place_centers`) take as the weight instead of residents.

Personal data: :func:`read_special_groups` never reads a name, phone or ID number — only the
category and where the person lives — and the records are counted, never returned for a map or
a file: only counts per compound or grid leave this module (issue 19's rules, geo/io/personal.py).
A record placed only by its grid code is spread over the grid's demand points by residents.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.errors import InputDataError
from geo.io.addresses import AddressIndex, compound_key
from geo.io.coords import to_wgs84
from geo.io.ledger import _check_file, _column_map
from geo.io.search import normalise
from geo.io.sheets import header_key, read_sheet
from geo.io.tables import parse_coordinate, parse_count

logger = logging.getLogger(__name__)

__all__ = [
    "SPECIAL_GROUPS",
    "SpecialGroupCounts",
    "count_special_groups",
    "read_special_groups",
    "special_group_columns",
]

#: Column of the demand -> the group's Chinese name.
SPECIAL_GROUPS = {"oldest_old": "高龄老人", "empty_nest": "空巢老人", "hardship": "困难群众"}
#: Words of a record's category (类别) -> group (a record may name several: 高龄、空巢).
_CATEGORY_WORDS = {
    "oldest_old": ("高龄", "80岁以上", "八十岁以上", "80周岁以上"),
    "empty_nest": ("空巢", "独居"),
    "hardship": ("困难", "低保", "特困", "低收入", "残疾", "优抚"),
}
#: Ledger columns holding a group's count (compared by header key).
LEDGER_COLUMNS = {
    "oldest_old": ("高龄老人数", "高龄老人", "高龄人数", "80岁以上人口", "80岁以上老人", "80周岁以上人口"),
    "empty_nest": ("空巢老人数", "空巢老人", "空巢人数", "独居老人数"),
    "hardship": ("困难群众数", "困难群众", "困难户数", "低保人数", "低保户数", "困难人数"),
}
_FIELDS = {
    "category": ("类别", "人员类别", "类型", "群体", "特殊群体", "category"),
    "grid": ("网格编码", "网格代码", "所在网格编码", "grid_code", "grid"),
    "compound": ("小区", "小区名称", "居住小区", "所在小区", "compound"),
    "address": ("住址", "家庭住址", "地址", "居住地址", "address"),
    "lon": ("经度", "lon", "lng", "x"),
    "lat": ("纬度", "lat", "y"),
}
#: Farthest a record's position may be from the demand point it is counted at (m).
MAX_RECORD_DIST_M = settings.MAX_SNAP_DIST_M
MAX_RECORDS_BYTES = 16 * 1024 * 1024


def special_group_columns(demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The demand with ``oldest_old`` / ``empty_nest`` / ``hardship`` from the ledger's own count columns.

    A compound ledger carries its extra columns as written (高龄老人数 ...); those found are
    read as counts (``12人``, full-width digits; blank -> 0) under the group's column name.
    """
    out = demand.copy()
    keys = {header_key(c): c for c in demand.columns if c != demand.geometry.name}
    for group, aliases in LEDGER_COLUMNS.items():
        column = next((keys[header_key(a)] for a in aliases if header_key(a) in keys), None)
        if column is None or group in demand.columns:
            continue
        values = [parse_count(v)[0] for v in demand[column].to_numpy()]
        out[group] = np.array([0.0 if v is None else float(v) for v in values])
    return out


@dataclass(frozen=True)
class SpecialGroupRecords:
    """Individual records, reduced to what counting needs: ``line``, one bool column per group,
    ``grid``, ``compound``, ``address``, ``lon``/``lat`` (WGS84, NaN where not given).  No names."""

    rows: pd.DataFrame
    file: str


def read_special_groups(path: Path, *, original_name: str | None = None, system: str = "gcj02") -> SpecialGroupRecords:
    """Read a list of individuals in special groups (CSV/XLSX/XLS: title rows, merged cells, GBK).

    Only the category and the place columns are read; names, phones and ID numbers are left in
    the file.  A row whose category names no group is not counted (listed by
    :func:`count_special_groups` with its line).

    Raises
    ------
    InputDataError
        An unreadable file, no category column, no column to place a row by.
    """
    path = Path(path)
    label = original_name or path.name
    kind = _check_file(path, label, MAX_RECORDS_BYTES)
    with tempfile.TemporaryDirectory(prefix="linli-special-") as tmp:
        copy = Path(tmp) / f"records.{kind}"
        copy.write_bytes(path.read_bytes())
        sheet = read_sheet(copy, label, kind, known=[a for aliases in _FIELDS.values() for a in aliases])
    found = _column_map(sheet, _FIELDS, None, label)
    if "category" not in found:
        raise InputDataError(
            f"特殊群体名单 {label} 没有「类别」列（高龄/空巢/困难群众）；现有列: {'、'.join(sheet.header)} "
            f"(the list needs a category column)"
        )
    if not ({"grid", "compound", "address"} & found.keys() or {"lon", "lat"} <= found.keys()):
        raise InputDataError(
            f"特殊群体名单 {label} 中找不到网格编码、小区、住址或经纬度列；现有列: {'、'.join(sheet.header)} "
            f"(the list needs a grid code, compound, address or longitude/latitude column)"
        )
    records = []
    for line, cells in sheet.rows:
        category = normalise(cells[found["category"]])
        rec: dict[str, object] = {"line": line}
        for group, words in _CATEGORY_WORDS.items():
            rec[group] = any(w in category for w in words)
        for fld in ("grid", "compound", "address"):
            rec[fld] = str(cells[found[fld]]).strip() if fld in found else ""
        x = parse_coordinate(cells[found["lon"]])[0] if "lon" in found else None
        y = parse_coordinate(cells[found["lat"]])[0] if "lat" in found else None
        rec["lon"], rec["lat"] = (np.nan if x is None else x), (np.nan if y is None else y)
        records.append(rec)
    rows = pd.DataFrame(records, columns=["line", *SPECIAL_GROUPS, "grid", "compound", "address", "lon", "lat"])
    if rows.empty:
        raise InputDataError(f"特殊群体名单 {label} 没有数据行 (the list has no rows)")
    ok = rows["lon"].notna() & rows["lat"].notna()
    if ok.any():
        lon, lat = to_wgs84(rows.loc[ok, "lon"].to_numpy(float), rows.loc[ok, "lat"].to_numpy(float), system)
        rows.loc[ok, "lon"], rows.loc[ok, "lat"] = lon, lat
    return SpecialGroupRecords(rows, label)


@dataclass(frozen=True)
class SpecialGroupCounts:
    """Records counted at the demand points.

    Attributes
    ----------
    demand
        The demand with one count column per group (:data:`SPECIAL_GROUPS`; records spread over
        a grid are fractions).
    unmatched
        ``line`` and ``why`` of the records not counted (no name or place is kept).
    counted
        Records counted per group.
    """

    demand: gpd.GeoDataFrame
    unmatched: pd.DataFrame
    counted: dict[str, int]


def count_special_groups(
    records: SpecialGroupRecords,
    demand: gpd.GeoDataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    name_column: str = "name",
    code_column: str = "code",
    max_dist_m: float = MAX_RECORD_DIST_M,
) -> SpecialGroupCounts:
    """Count each record at the demand point of its home.

    A record is placed, in order, by its compound (the demand's ``name_column``: a compound
    ledger; 小区/花园/苑 variants alike), by its address (a compound's name in it, or the ledger's
    地址 at its start), by its coordinates (the nearest demand point within ``max_dist_m``), or
    by its grid code (spread over the grid's demand points in proportion to residents).

    Parameters
    ----------
    records
        :func:`read_special_groups`.
    demand
        Demand points with ``residents`` (projected or geographic CRS).
    grids
        Grid polygons with ``code_column``, to place records by grid code.
    max_dist_m
        Farthest a record's position may be from its demand point (metres).

    Raises
    ------
    InputDataError
        Demand without ``residents`` or a CRS.
    """
    if "residents" not in demand.columns or demand.crs is None:
        raise InputDataError("需求点需要坐标系和 residents 列 (demand needs a CRS and residents)")
    rows = records.rows
    n = len(demand)
    place = np.full(len(rows), -1)
    why = np.full(len(rows), "", dtype=object)
    groups = rows[list(SPECIAL_GROUPS)].to_numpy(bool)
    none = ~groups.any(axis=1)
    why[none] = "类别不是高龄、空巢或困难群众 (category names no group)"
    todo = ~none
    if name_column in demand.columns:
        names = demand[name_column].astype(str).to_numpy()
        keys = np.array([compound_key(v) for v in names], dtype=object)
        by_key: dict[str, list[int]] = {}
        for k, key in enumerate(keys):
            by_key.setdefault(key, []).append(k)
        index = AddressIndex(names, demand, keys)
        for i in np.flatnonzero(todo):  # one look-up per record
            hits = by_key.get(compound_key(rows["compound"].iat[i]), []) if rows["compound"].iat[i] else []
            if not hits and rows["address"].iat[i]:
                hits = index.find(rows["address"].iat[i])
            if len(hits) == 1:
                place[i] = hits[0]
            elif len(hits) > 1:
                why[i] = f"小区/住址对应 {len(hits)} 个小区，无法确定 (ambiguous)"
    metric = demand if demand.crs.is_projected else demand.to_crs(demand.estimate_utm_crs())
    todo = ~none & (place < 0) & rows["lon"].notna().to_numpy() & rows["lat"].notna().to_numpy()
    if todo.any():
        pts = gpd.GeoSeries(
            shapely.points(rows["lon"].to_numpy(float)[todo], rows["lat"].to_numpy(float)[todo]), crs=4326
        ).to_crs(metric.crs)
        tree = shapely.STRtree(shapely.centroid(metric.geometry.to_numpy()))
        (at, hit), dist = tree.query_nearest(pts.to_numpy(), max_distance=max_dist_m, return_distance=True)
        idx = np.flatnonzero(todo)
        place[idx[at]] = hit
        far = idx[~np.isin(np.arange(idx.size), at)]
        why[far] = f"坐标 {max_dist_m:g} m 内没有居民点 (no demand point within {max_dist_m:g} m)"
        del dist
    share = np.zeros((0, n))
    spread_rows = np.zeros(0, dtype=int)
    todo = ~none & (place < 0) & (why == "") & (rows["grid"].astype(str).str.strip() != "").to_numpy()
    if todo.any() and grids is not None:
        g = grids.to_crs(metric.crs)
        codes = g[code_column].astype(str).to_numpy()
        at_pt, at_grid = shapely.STRtree(g.geometry.to_numpy()).query(
            shapely.centroid(metric.geometry.to_numpy()), predicate="within"
        )
        residents = demand["residents"].to_numpy(float)
        spread_rows = np.flatnonzero(todo)
        share = np.zeros((spread_rows.size, n))
        for j, i in enumerate(spread_rows):  # one vector operation per record placed by grid
            inside = at_pt[codes[at_grid] == rows["grid"].iat[i].strip()]
            total = residents[inside].sum()
            if total > 0:
                share[j, inside] = residents[inside] / total
            else:
                why[i] = f"网格编码 {rows['grid'].iat[i]} 不存在或没有居民 (unknown grid or no residents)"
    nothing = ~none & (place < 0) & (why == "")
    nothing[spread_rows] &= share.sum(axis=1) == 0
    why[nothing] = "没有可匹配的小区、住址、坐标或网格编码 (matches no compound, address, position or grid)"
    out = demand.copy()
    counted = {}
    placed = place >= 0
    for col, group in enumerate(SPECIAL_GROUPS):
        mine = groups[:, col]
        values = np.bincount(place[placed & mine], minlength=n).astype(float)
        if spread_rows.size:
            values += share[mine[spread_rows]].sum(axis=0)
        out[group] = values
        counted[group] = round(float(values.sum()))
    unmatched = pd.DataFrame({"line": rows["line"].to_numpy()[why != ""], "why": why[why != ""]})
    logger.info("special groups: %d records, %s counted, %d not counted", len(rows), counted, len(unmatched))
    return SpecialGroupCounts(out, unmatched, counted)
