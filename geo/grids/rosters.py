"""Rosters (网格员/网格长/楼栋长/党员中心户/在职党员) read from Excel/CSV and checked against the grids.

Each row is placed in a grid by, in order: its grid code; its compound (小区) name matched to the
compound ledger (normalised: full-width, spaces, and the 小区/花园/苑/家园/公寓 suffixes); its home
address matched to the ledger (a compound's name in it, or the compound's ledger address at its
start, after dropping province/city/county/town prefixes and writing 3号楼/3幢 as 3栋); its
coordinates (WGS84, GCJ-02 or BD-09).  This is how in-service party members (在职党员) are
registered to the grid where they live.  The rows that match no grid are listed with why; unknown
codes, duplicates (same name and phone, or same name in one grid) are flagged; counts per grid and
role, and the grids without a grid worker or a grid head.

Names and phones stay in :attr:`Roster.rows` only; tables meant for files go through
:func:`geo.io.personal.mask_personal`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputDataError
from geo.io.addresses import AddressIndex, address_key, building_key, compound_key
from geo.io.coords import to_wgs84
from geo.io.ledger import _check_file, _column_map
from geo.io.sheets import read_sheet
from geo.io.tables import parse_coordinate

__all__ = [
    "ROLES",
    "Roster",
    "RosterCheck",
    "address_key",
    "building_key",
    "check_roster",
    "compound_key",
    "read_roster",
]

#: The roles a roster row may have, as written in the counties' rosters.
ROLES = ("网格员", "网格长", "楼栋长", "党员中心户", "在职党员")
#: Roles a grid must have at least one of each.
REQUIRED_ROLES = ("网格员", "网格长")
_FIELDS = {
    "name": ("姓名", "名字", "name"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone"),
    "role": ("角色", "身份", "职务", "类别", "role"),
    "grid": ("网格编码", "网格代码", "所在网格编码", "网格", "grid_code", "grid"),
    "compound": ("小区", "小区名称", "居住小区", "所在小区", "compound"),
    "building": ("楼栋", "楼栋号", "幢", "building"),
    "address": ("住址", "家庭住址", "地址", "address"),
    "lon": ("经度", "lon", "lng", "x"),
    "lat": ("纬度", "lat", "y"),
}
_SYSTEMS = ("wgs84", "gcj02", "bd09")


@dataclass(frozen=True)
class Roster:
    """The rows of a roster: ``line``, ``role``, ``name``, ``phone``, ``grid``, ``compound``,
    ``building``, ``address``, ``lon``, ``lat`` (WGS84 degrees, NaN where not given)."""

    rows: pd.DataFrame
    file: str


def read_roster(
    path: Path, *, original_name: str | None = None, role: str | None = None, system: str = "gcj02"
) -> Roster:
    """Read a roster (CSV/XLSX/XLS) with the ledgers' reader (header found, merged cells filled).

    Parameters
    ----------
    path
        The file.
    role
        The role of every row when the file has no role column (one of :data:`ROLES`).
    system
        Coordinate system of the lon/lat columns: ``wgs84``, ``gcj02`` or ``bd09``.

    Raises
    ------
    InputDataError
        An unreadable file, an unknown role or system, or no column to place a row by.
    """
    path = Path(path)
    name = original_name or path.name
    if system not in _SYSTEMS:
        raise InputDataError(f"坐标系 {system!r} 不支持，可为 {'、'.join(_SYSTEMS)} (unknown coordinate system)")
    if role is not None and role not in ROLES:
        raise InputDataError(f"角色 {role!r} 不认识，可为 {'、'.join(ROLES)} (unknown role)")
    kind = _check_file(path, name, 16 * 1024 * 1024)
    known = [a for aliases in _FIELDS.values() for a in aliases]
    with tempfile.TemporaryDirectory(prefix="linli-roster-") as tmp:
        copy = Path(tmp) / f"roster.{kind}"
        copy.write_bytes(path.read_bytes())
        sheet = read_sheet(copy, name, kind, known=known)
    found = _column_map(sheet, _FIELDS, None, name)
    if not ({"grid", "compound", "address"} & found.keys() or {"lon", "lat"} <= found.keys()):
        raise InputDataError(
            f"名册 {name} 中找不到网格编码、小区或经纬度列；现有列: {'、'.join(sheet.header)} "
            "(roster needs a grid code, compound or longitude/latitude column)"
        )
    if "role" not in found and role is None:
        raise InputDataError(
            f"名册 {name} 没有「角色」列，请指定角色（{'、'.join(ROLES)}） (roster has no role column)"
        )
    records = []
    for line, cells in sheet.rows:
        rec: dict[str, object] = {f: (cells[found[f]] if f in found else "") for f in _FIELDS}
        rec["line"] = line
        rec["role"] = rec["role"] or (role or "")
        x, _ = parse_coordinate(rec["lon"]) if "lon" in found else (None, None)
        y, _ = parse_coordinate(rec["lat"]) if "lat" in found else (None, None)
        rec["lon"], rec["lat"] = (np.nan if x is None else x), (np.nan if y is None else y)
        records.append(rec)
    rows = pd.DataFrame(records, columns=["line", *_FIELDS])
    if rows.empty:
        raise InputDataError(f"名册 {name} 没有数据行 (roster has no rows)")
    ok = rows["lon"].notna() & rows["lat"].notna()
    if ok.any():
        lon, lat = to_wgs84(rows.loc[ok, "lon"].to_numpy(float), rows.loc[ok, "lat"].to_numpy(float), system)
        rows.loc[ok, "lon"], rows.loc[ok, "lat"] = lon, lat
    return Roster(rows, name)


def _join(a: str, b: str) -> str:
    return f"{a}；{b}" if a else b


def _place_why(what: str, found: list[int], grids: set[str]) -> str:
    if not found:
        if what == "住址":
            return "住址中没有台账里的小区名称或地址 (address matches no compound in the ledger)"
        return f"{what}不在小区台账中 (compound not in the ledger)"
    if grids == {""}:
        return f"{what}对应的小区不在任何网格内 (the compound lies in no grid)"
    return f"{what}对应 {len(found)} 个小区，分属不同网格，无法确定 (ambiguous: compounds in several grids)"


@dataclass(frozen=True)
class RosterCheck:
    """A roster checked against the grids.

    Attributes
    ----------
    rows
        The roster's rows with ``grid_code`` (the grid placed in, ``""`` if none), ``matched_by``
        (``网格编码``/``小区``/``地址``/``坐标``), ``matched_compound`` (the ledger's compound a row
        was placed by) and ``why`` (why not placed, or a duplicate).
    counts
        Per grid code, one column per role (count of people).
    missing
        Per grid without a required role: ``grid_code``, ``missing`` (the roles it lacks).
    """

    rows: pd.DataFrame
    counts: pd.DataFrame
    missing: pd.DataFrame

    @property
    def unmatched(self) -> pd.DataFrame:
        """The rows placed in no grid, with why."""
        return self.rows[self.rows["grid_code"] == ""]


def _unknown_code(given: str, codes: np.ndarray) -> str:
    """Why a grid code is not placed; a short code that ends exactly one grid's full code (the
    map labels a grid by the end of its code; a spreadsheet drops leading zeros) is named."""
    ends = [c for c in codes if c.endswith(given) and c != given] if given.isdigit() else []
    if len(ends) == 1:
        return f"网格编码 {given} 不存在，是否指 {ends[0]}？请填完整编码 (unknown grid code; did you mean {ends[0]}?)"
    return f"网格编码 {given} 不存在 (unknown grid code)"


def check_roster(
    roster: Roster,
    grids: gpd.GeoDataFrame,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    code_column: str = "code",
    compound_name_column: str = "name",
) -> RosterCheck:
    """Place every roster row in a grid and check the roster.

    Parameters
    ----------
    grids
        Grid polygons with a ``code_column`` (any CRS).
    compounds
        The compound ledger (points or polygons with ``compound_name_column``, optional address
        column 地址/小区地址), to place rows by compound name or by home address: the address is
        normalised (:func:`address_key`: province/city/county/town prefixes, full-width digits,
        3号楼/3幢 -> 3栋) and holds a compound's name (小区/花园/苑 variants alike), or starts with
        a compound's ledger address.

    Raises
    ------
    InputDataError
        Grids without the code column or without a CRS.
    """
    if code_column not in grids.columns or grids.crs is None:
        raise InputDataError(f"网格图层需要坐标系和「{code_column}」列 (grids need a CRS and a code column)")
    rows = roster.rows.copy()
    codes = grids[code_column].astype(str).to_numpy()
    known = set(codes)
    grid_code = np.full(len(rows), "", dtype=object)
    how = np.full(len(rows), "", dtype=object)
    why = np.full(len(rows), "", dtype=object)
    given = rows["grid"].fillna("").astype(str).str.strip().to_numpy()
    by_code = np.isin(given, list(known))
    grid_code[by_code], how[by_code] = given[by_code], "网格编码"
    bad = (given != "") & ~by_code
    why[bad] = [_unknown_code(g, codes) for g in given[bad]]
    wgs = grids.to_crs(4326)
    tree = shapely.STRtree(wgs.geometry.to_numpy())
    matched = np.full(len(rows), "", dtype=object)
    if compounds is not None and len(compounds):
        names = compounds[compound_name_column].astype(str).to_numpy()
        ckey = np.array([compound_key(n) for n in names], dtype=object)
        cpt = shapely.point_on_surface(compounds.to_crs(4326).geometry.to_numpy())
        hit_pt, hit_grid = tree.query(cpt, predicate="within")
        grid_of = np.full(len(names), "", dtype=object)
        grid_of[hit_pt] = codes[hit_grid]
        by_key: dict[str, list[int]] = {}
        for k, key in enumerate(ckey):
            by_key.setdefault(key, []).append(k)
        todo = np.flatnonzero((grid_code == "") & (rows["compound"].fillna("").astype(str) != "").to_numpy())
        for i in todo:  # one dictionary look-up per row
            found = by_key.get(compound_key(rows["compound"].iat[i]), [])
            g = {grid_of[k] for k in found}
            if len(g) == 1 and "" not in g:
                grid_code[i], how[i], why[i], matched[i] = g.pop(), "小区", "", names[found[0]]
            elif not why[i]:
                why[i] = _place_why(f"小区「{rows['compound'].iat[i]}」", found, g)
        todo = np.flatnonzero((grid_code == "") & (rows["address"].fillna("").astype(str).str.strip() != "").to_numpy())
        if todo.size:
            place = AddressIndex(names, compounds, ckey)
            for i in todo:  # one regular-expression search and one prefix walk per row
                found = place.find(rows["address"].iat[i])
                g = {grid_of[k] for k in found}
                if len(g) == 1 and "" not in g:
                    grid_code[i], how[i], why[i], matched[i] = g.pop(), "地址", "", names[found[0]]
                else:
                    why[i] = _join(why[i], _place_why("住址", found, g))
    todo = np.flatnonzero((grid_code == "") & rows["lon"].notna().to_numpy() & rows["lat"].notna().to_numpy())
    if todo.size:
        pts = shapely.points(rows["lon"].to_numpy(float)[todo], rows["lat"].to_numpy(float)[todo])
        hit_pt, hit_grid = tree.query(pts, predicate="within")
        grid_code[todo[hit_pt]], how[todo[hit_pt]], why[todo[hit_pt]] = codes[hit_grid], "坐标", ""
        outside = todo[~np.isin(np.arange(todo.size), hit_pt)]
        why[outside] = [_join(w, "坐标不在任何网格内 (position in no grid)") for w in why[outside]]
    nothing = (grid_code == "") & (why == "")
    why[nothing] = "没有网格编码、小区或坐标 (no grid code, compound or position)"
    bad_role = ~rows["role"].isin(ROLES).to_numpy()
    why[bad_role] = [f"角色「{r}」不认识 (unknown role)" for r in rows["role"].to_numpy()[bad_role]]
    text = {c: rows[c].fillna("").astype(str) for c in ("name", "phone", "role")}
    person = text["name"] + "|" + text["phone"] + "|" + text["role"]
    dup = person.duplicated(keep="first").to_numpy() & (text["name"] != "").to_numpy()
    why[dup] = "重复的行 (duplicate of an earlier row)"
    rows["grid_code"], rows["matched_by"], rows["why"] = grid_code, how, why
    rows["matched_compound"] = matched
    counted = rows[(rows["grid_code"] != "") & ~dup & ~bad_role]
    counts = (
        pd.crosstab(counted["grid_code"], counted["role"])
        .reindex(index=codes, columns=list(ROLES), fill_value=0)
        .rename_axis(index="grid_code", columns=None)
        .reset_index()
    )
    lacks = ["、".join(r for r in REQUIRED_ROLES if row[r] == 0) for _, row in counts[list(REQUIRED_ROLES)].iterrows()]
    missing = pd.DataFrame({"grid_code": counts["grid_code"], "missing": lacks})
    missing = missing[missing["missing"] != ""].reset_index(drop=True)
    return RosterCheck(rows, counts, missing)
