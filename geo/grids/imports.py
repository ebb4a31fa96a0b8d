"""Existing grids read from a planner's file and checked: codes, overlaps, gaps, nesting, household bounds.

:func:`read_grids` reads GeoJSON / GeoPackage / zipped Shapefile through
:func:`geo.io.uploads.read_upload`; :func:`check_grids` lists every problem as an
:class:`~geo.grids.plan.Issue` naming the grid code, with a Chinese message.

Grids kept as an Excel list of codes with the compounds (小区) or buildings (楼栋) each holds,
without any geometry, are read by :func:`read_grid_list` (title rows, merged cells, GBK CSV)
and drawn by :func:`grids_from_list`: each named compound/building is matched to the compound
ledger or the buildings by name (full-width characters, spaces and the 小区/花园/苑 suffix
variants do not matter), and a grid's area is the union of its places' polygons, or, for places
that are points, of their cells (each point's Voronoi cell among all the places, clipped to the
study area).  Unmatched names are listed with their line; then :func:`check_grids` as for any import.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import settings
from geo.access.units import CODE_NAMES, NAME_NAMES, _find
from geo.errors import InputDataError
from geo.grids.plan import Issue
from geo.grids.rosters import building_key, compound_key
from geo.io.coords import to_wgs84
from geo.io.ledger import _check_file, _column_map
from geo.io.sheets import read_sheet
from geo.io.uploads import read_upload

logger = logging.getLogger(__name__)

__all__ = [
    "HOUSEHOLD_NAMES",
    "LIST_FIELDS",
    "PARENT_NAMES",
    "GridList",
    "ListedGrids",
    "check_grids",
    "grids_from_list",
    "read_grid_list",
    "read_grids",
]

HOUSEHOLD_NAMES = ("households", "户数", "住户数", "户数(户)", "hh")
PARENT_NAMES = ("parent", "上级编码", "所属社区编码", "社区编码", "村编码")
_DIGITS = re.compile(r"^\d+$")


def read_grids(
    path: Path,
    *,
    original_name: str | None = None,
    system: str = "wgs84",
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """A planner's grid polygons: ``code``, ``name``, optional ``households`` and ``parent``, WGS84.

    Codes are kept as text as they are (empty or repeated codes are for :func:`check_grids`
    to list, not refused here).  ``system``: the coordinate system of a table's columns, or
    ``gcj02`` / ``bd09`` for a file in degrees whose polygons were drawn on Amap / Baidu
    (converted to WGS84).

    Raises
    ------
    InputDataError
        No code column, a projected file said to be in ``gcj02`` / ``bd09`` (and every error of
        :func:`geo.io.uploads.read_upload`).
    """
    path = Path(path)
    frame = read_upload(path, original_name=original_name, expected="polygon", system=system, study_area=study_area)
    frame = _picked_on_a_map(frame, system, original_name or path.name)
    code = _find(frame.columns, CODE_NAMES)
    if code is None:
        have = ", ".join(str(c) for c in frame.columns if c not in ("geometry", "line"))
        raise InputDataError(
            f"{original_name or path.name} 没有网格编码列（code/编码/网格编码），现有列: {have} "
            f"(grids need a code column)"
        )
    codes = frame[code].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
    codes = codes.str.replace(r"\.0$", "", regex=True)  # 350521100001.0 read as a number
    out = gpd.GeoDataFrame({"code": codes}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    name = _find(frame.columns, NAME_NAMES)
    # A grid without a name is named by its code (pandas keeps a missing value NaN through astype(str)).
    names = frame[name].fillna("").astype(str).str.strip() if name is not None else codes
    out["name"] = np.where(names.to_numpy(object) == "", codes.to_numpy(object), names.to_numpy(object))
    households = _find(frame.columns, HOUSEHOLD_NAMES)
    if households is not None:
        out["households"] = pd.to_numeric(frame[households], errors="coerce").to_numpy(float)
    parent = _find(frame.columns, PARENT_NAMES)
    if parent is not None:
        out["parent"] = frame[parent].fillna("").astype(str).str.strip().str.replace(r"\.0$", "", regex=True).to_numpy()
    return out


def _picked_on_a_map(frame: gpd.GeoDataFrame, system: str, name: str) -> gpd.GeoDataFrame:
    """A GeoJSON / GeoPackage / Shapefile in degrees drawn on Amap/Tencent (``gcj02``) or Baidu
    (``bd09``) converted to WGS84 (its CRS says WGS84 but its coordinates are offset 100-700 m,
    docs/bad-inputs.md U8).  A projected file cannot be in those systems: refused.  Tables are
    converted by the reader already."""
    key = str(system).strip().lower().replace("-", "").replace("_", "")
    if key not in ("gcj02", "bd09") or frame.attrs.get("kind") in ("csv", "xlsx", "xls"):
        return frame
    source = CRS.from_user_input(frame.attrs.get("source_crs") or frame.crs)
    if not source.is_geographic:
        raise InputDataError(
            f"{name} 是投影坐标（{source.name}），不会是{'高德/腾讯' if key == 'gcj02' else '百度'}坐标；"
            f"请把坐标系选为 WGS84/CGCS2000 (a projected file is not in {system}: choose wgs84)"
        )

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], key)
        return np.column_stack([lon, lat])

    return frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), convert), crs=frame.crs)


def _metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise InputDataError("网格图层没有坐标系 (grids have no CRS)")
    return frame if frame.crs.is_projected else frame.to_crs(frame.estimate_utm_crs())


def check_grids(
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame | None = None,
    *,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    number_digits: int = settings.GRID_NUMBER_DIGITS,
    tolerance_m2: float = settings.GRID_AREA_TOLERANCE_M2,
) -> list[Issue]:
    """Every problem of a set of existing grids, each naming the grid (or parent) code.

    Kinds: ``bad_code`` (empty, not digits, wrong length), ``duplicate_code``,
    ``bad_parent_code`` (no parent with the code's prefix), ``outside_parent`` (area outside
    the parent its code names), ``overlap``, ``gap`` (parent area in no grid; without
    parents, holes inside the grids' union), ``below_floor`` / ``above_ceiling`` (when the
    grids have ``households``), ``invalid_geometry``.

    Parameters
    ----------
    grids
        ``code`` and polygons (any CRS; areas in a local UTM when geographic), optional
        ``households``.
    parents
        Communities (``code``, polygons) the grids should nest in.
    min_households, max_households
        Household bounds per grid.
    number_digits
        Digits of a grid's number after its parent's code.
    tolerance_m2
        Overlaps and gaps smaller than this (m²) are drawing noise.

    Raises
    ------
    InputDataError
        Grids or parents without a ``code`` column or a CRS.
    """
    if "code" not in grids.columns:
        raise InputDataError("网格图层缺少 code（编码）列 (grids need a code column)")
    grids = _metric(grids.reset_index(drop=True))
    codes = grids["code"].astype(str).to_numpy(object)
    geoms = grids.geometry.to_numpy()
    issues: list[Issue] = []
    bad_geom = ~shapely.is_valid(geoms)
    for code in codes[bad_geom]:
        issues.append(
            Issue(
                "invalid_geometry",
                "warning",
                f"网格 {code} 的边界自相交或无效 (grid {code} has an invalid polygon)",
                grid=str(code),
            )
        )
    geoms = shapely.make_valid(geoms)
    parent_codes: list[str] = []
    parent_geoms = np.zeros(0, dtype=object)
    if parents is not None:
        if "code" not in parents.columns:
            raise InputDataError("上级区划图层缺少 code（编码）列 (parents need a code column)")
        parents = parents.to_crs(grids.crs)
        parent_codes = parents["code"].astype(str).tolist()
        parent_geoms = shapely.make_valid(parents.geometry.to_numpy())
    lengths = {len(c) + number_digits for c in parent_codes}
    for code in codes:
        if code == "" or not _DIGITS.match(code):
            issues.append(
                Issue("bad_code", "error", f"网格编码 “{code}” 应为数字 (a grid code must be digits)", grid=str(code))
            )
        elif lengths and len(code) not in lengths:
            want = "、".join(str(n) for n in sorted(lengths))
            issues.append(
                Issue(
                    "bad_code",
                    "error",
                    f"网格编码 {code} 有 {len(code)} 位，应为 {want} 位（社区编码 + {number_digits} 位序号）"
                    f"(grid code {code} should have {want} digits: parent code + {number_digits})",
                    grid=str(code),
                )
            )
    counts = pd.Series(codes).value_counts()
    for code in counts.index[(counts > 1) & (counts.index != "")]:
        issues.append(
            Issue(
                "duplicate_code",
                "error",
                f"网格编码 {code} 重复 {int(counts[code])} 次 (grid code {code} is used {int(counts[code])} times)",
                grid=str(code),
            )
        )
    # nesting: the parent the code names
    owner = np.full(len(codes), -1)
    if parent_codes:
        index = {c: k for k, c in enumerate(parent_codes)}
        for i, code in enumerate(codes):
            k = index.get(str(code)[:-number_digits], -1) if len(code) > number_digits else -1
            owner[i] = k
            if k < 0 and code != "":
                issues.append(
                    Issue(
                        "bad_parent_code",
                        "error",
                        f"网格 {code} 的编码前缀不是任何上级社区/村的编码 "
                        f"(no parent has the prefix of grid code {code})",
                        grid=str(code),
                    )
                )
                continue
            if k < 0:
                continue
            outside = float(shapely.area(shapely.difference(geoms[i], parent_geoms[k])))
            if outside > tolerance_m2:
                issues.append(
                    Issue(
                        "outside_parent",
                        "error",
                        f"网格 {code} 有 {outside:,.0f} m² 在上级区划 {parent_codes[k]} 之外 "
                        f"(grid {code} reaches {outside:,.0f} m² outside its parent)",
                        grid=str(code),
                        parent=parent_codes[k],
                    )
                )
    # overlaps between grids
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size:
        area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
        for a, b, m2 in zip(left, right, area, strict=True):
            if m2 > tolerance_m2:
                issues.append(
                    Issue(
                        "overlap",
                        "error",
                        f"网格 {codes[a]} 与 {codes[b]} 重叠 {m2:,.0f} m² (grids {codes[a]} and {codes[b]} overlap)",
                        grid=str(codes[a]),
                        units=(str(codes[a]), str(codes[b])),
                    )
                )
    # gaps: a parent's area in none of its grids, or holes in the grids' union
    if parent_codes:
        for k, (pcode, pgeom) in enumerate(zip(parent_codes, parent_geoms, strict=True)):
            mine = geoms[owner == k]
            gap = float(shapely.area(shapely.difference(pgeom, shapely.union_all(mine)))) if mine.size else 0.0
            if mine.size == 0:
                issues.append(
                    Issue("gap", "warning", f"上级区划 {pcode} 没有网格 (parent {pcode} has no grid)", parent=pcode)
                )
            elif gap > tolerance_m2:
                issues.append(
                    Issue(
                        "gap",
                        "error",
                        f"上级区划 {pcode} 有 {gap:,.0f} m² 不属于任何网格 "
                        f"(parent {pcode} has {gap:,.0f} m² in no grid)",
                        parent=pcode,
                    )
                )
    else:
        union = shapely.union_all(geoms)
        holes = [shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]
        for hole in holes:
            if hole.area > tolerance_m2:
                near = codes[shapely.STRtree(geoms).query(hole, predicate="intersects")]
                issues.append(
                    Issue(
                        "gap",
                        "error",
                        f"网格 {'、'.join(sorted(map(str, near)))} 之间有 {hole.area:,.0f} m² 的空隙 "
                        f"(a gap of {hole.area:,.0f} m² between grids)",
                        grid=str(sorted(map(str, near))[0]) if near.size else "",
                        units=tuple(sorted(map(str, near))),
                    )
                )
    if "households" in grids.columns:
        for code, hh in zip(codes, grids["households"].to_numpy(float), strict=True):
            if not np.isfinite(hh):
                issues.append(
                    Issue("bad_households", "warning", f"网格 {code} 户数为空或非数字 (no households)", grid=str(code))
                )
            elif hh > max_households:
                issues.append(
                    Issue(
                        "above_ceiling",
                        "warning",
                        f"网格 {code} 有 {hh:.0f} 户，超过上限 {max_households:g} (grid {code} above the ceiling)",
                        grid=str(code),
                    )
                )
            elif hh < min_households:
                issues.append(
                    Issue(
                        "below_floor",
                        "warning",
                        f"网格 {code} 只有 {hh:.0f} 户，少于下限 {min_households:g} (grid {code} below the floor)",
                        grid=str(code),
                    )
                )
    logger.info("imported grids: %d grids, %d issues", len(codes), len(issues))
    return issues


# ----------------------------------------------------------------------------- grids as lists

#: Header names of a grid list (compared without spaces, brackets or case).
LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("网格编码", "网格代码", "编码", "网格编号", "code"),
    "name": ("网格名称", "网格名", "名称", "name"),
    "parent": PARENT_NAMES,
    "households": HOUSEHOLD_NAMES,
    "compounds": ("所辖小区", "包含小区", "覆盖小区", "所含小区", "小区", "小区名称", "compounds", "compound"),
    "buildings": ("所辖楼栋", "包含楼栋", "覆盖楼栋", "所含楼栋", "楼栋", "楼栋名称", "buildings", "building"),
}
#: How the names in one cell are separated (、，;/| and new lines).
_LIST_SPLIT = re.compile(r"[、，,；;／/|｜\n\r]+")
#: Largest grid list accepted (bytes).
MAX_LIST_BYTES = 16 * 1024 * 1024
#: Margin (m) around the places' points where no study area is given: their cells end there.
LIST_EXTENT_MARGIN_M = 100.0
KIND_ZH = {"compounds": "小区", "buildings": "楼栋"}


@dataclass(frozen=True)
class GridList:
    """A grid list as read: one row per named place.

    ``rows``: ``line`` (the file's line), ``code``, ``name``, ``parent``, ``households`` (NaN
    where not given), ``kind`` (``compounds`` / ``buildings``), ``place`` (the name as written,
    a building joined to its row's compound when the row names both).
    """

    rows: pd.DataFrame
    file: str


def read_grid_list(path: Path, *, original_name: str | None = None, sheet: str | None = None) -> GridList:
    """Read an Excel/CSV list of grid codes with the compounds or buildings each holds.

    One row per grid with the names in one cell (separated by 、，; / or new lines), or one row
    per place with the code merged down (or left blank) over the grid's rows: both read.  A
    building cell (``3号楼``) on a row that names a compound stands for that compound's building.

    Raises
    ------
    InputDataError
        An unreadable file, no code column, no compound or building column, no row naming a place.
    """
    path = Path(path)
    label = original_name or path.name
    kind = _check_file(path, label, MAX_LIST_BYTES)
    known = [a for aliases in LIST_FIELDS.values() for a in aliases]
    with tempfile.TemporaryDirectory(prefix="linli-gridlist-") as tmp:
        copy = Path(tmp) / f"list.{kind}"
        copy.write_bytes(path.read_bytes())
        table = read_sheet(copy, label, kind, known=known, sheet=sheet)
    found = _column_map(table, LIST_FIELDS, None, label)
    if "code" not in found:
        raise InputDataError(
            f"网格清单 {label} 没有网格编码列（网格编码/编码）；现有列: {'、'.join(table.header)} "
            f"(the grid list needs a code column)"
        )
    if "compounds" not in found and "buildings" not in found:
        raise InputDataError(
            f"网格清单 {label} 没有小区或楼栋列（所辖小区/小区/所辖楼栋/楼栋）；现有列: {'、'.join(table.header)} "
            f"(the grid list needs a compound or building column)"
        )
    records: list[dict[str, object]] = []
    last = {"code": "", "name": "", "parent": ""}
    for line, cells in table.rows:

        def cell(field: str, cells: list[str] = cells) -> str:
            return str(cells[found[field]]).strip() if field in found else ""

        code = re.sub(r"\.0$", "", cell("code"))
        if code:
            last = {"code": code, "name": cell("name") or code, "parent": re.sub(r"\.0$", "", cell("parent"))}
        compounds = [c.strip() for c in _LIST_SPLIT.split(cell("compounds")) if c.strip()]
        buildings = [b.strip() for b in _LIST_SPLIT.split(cell("buildings")) if b.strip()]
        if not last["code"] or not (compounds or buildings):
            continue
        households = pd.to_numeric(cell("households"), errors="coerce") if code else np.nan
        base = {"line": line, **last, "households": float(households)}
        if buildings:
            prefix = compounds[0] if len(compounds) == 1 else ""
            records += [{**base, "kind": "buildings", "place": prefix + b} for b in buildings]
        else:
            records += [{**base, "kind": "compounds", "place": c} for c in compounds]
    rows = pd.DataFrame(records, columns=["line", "code", "name", "parent", "households", "kind", "place"])
    if rows.empty:
        raise InputDataError(f"网格清单 {label} 没有列出任何小区或楼栋的行 (no row names a compound or building)")
    return GridList(rows, label)


@dataclass(frozen=True)
class ListedGrids:
    """Grids drawn from a list.

    Attributes
    ----------
    grids
        ``code``, ``name``, ``households``, ``parent`` (when listed), ``places`` (places matched)
        and the polygons, in the places' CRS.
    unmatched
        ``line``, ``code``, ``kind`` (小区/楼栋), ``place``, ``why``: names that matched no place
        (or several, or a place already in another grid).
    """

    grids: gpd.GeoDataFrame
    unmatched: pd.DataFrame

    def issues(self) -> list[Issue]:
        """The unmatched names as issues naming the grid, the line and the place."""
        return [
            Issue(
                "unmatched_place",
                "error",
                f"第 {r.line} 行 网格 {r.code} 的{r.kind}「{r.place}」：{r.why}",
                grid=str(r.code),
            )
            for r in self.unmatched.itertuples()
        ]


def _place_index(places: gpd.GeoDataFrame, name_column: str, key) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, name in enumerate(places[name_column].fillna("").astype(str).to_numpy()):
        k = key(name)
        if k:
            index.setdefault(k, []).append(i)
    return index


def grids_from_list(
    listing: GridList,
    compounds: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    name_column: str = "name",
    households_column: str = "households",
    extent: shapely.Geometry | None = None,
) -> ListedGrids:
    """Each listed grid's area from the compounds/buildings it names.

    Parameters
    ----------
    listing
        :func:`read_grid_list`.
    compounds, buildings
        The compound ledger and the buildings (points or polygons, any CRS, with a
        ``name_column`` and optional ``households_column``); the kinds the list names must be given.
    extent
        The study area, in the CRS of the places once projected (metres): point places' cells are
        clipped to it; default the places' convex hull widened by :data:`LIST_EXTENT_MARGIN_M`.

    Returns
    -------
    ListedGrids
        The grids (households: the list's figure, else the sum of its places') and the unmatched names.

    Raises
    ------
    InputDataError
        The list names compounds (buildings) and no compound ledger (buildings) was given, places
        without the name column or a CRS, or no listed name matched.
    """
    rows = listing.rows
    layers = {"compounds": compounds, "buildings": buildings}
    keys = {"compounds": compound_key, "buildings": building_key}
    crs = None
    for kind in rows["kind"].unique():
        layer = layers[kind]
        if layer is None or layer.empty:
            raise InputDataError(
                f"网格清单列出了{KIND_ZH[kind]}，但没有{KIND_ZH[kind]}数据可匹配（小区台账 / 建筑）"
                f" (the list names {kind}; give the {kind} layer)"
            )
        if name_column not in layer.columns or layer.crs is None:
            raise InputDataError(
                f"{KIND_ZH[kind]}数据需要坐标系和「{name_column}」列 ({kind} need a CRS and a name column)"
            )
        if crs is None:
            crs = layer.crs if layer.crs.is_projected else layer.estimate_utm_crs()
    # one table of every usable place, its kind's key, households and geometry (metres)
    parts = []
    for kind in rows["kind"].unique():
        given = layers[kind]
        assert given is not None  # checked above
        layer = given.to_crs(crs).reset_index(drop=True)
        hh = (
            pd.to_numeric(layer[households_column], errors="coerce").fillna(0.0).to_numpy(float)
            if households_column in layer.columns
            else np.zeros(len(layer))
        )
        parts.append(
            gpd.GeoDataFrame(
                {"kind": kind, "name": layer[name_column].fillna("").astype(str).to_numpy(), "households": hh},
                geometry=shapely.make_valid(layer.geometry.to_numpy()),
                crs=crs,
            )
        )
    places = pd.concat(parts, ignore_index=True)
    geoms = places.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        pts = geoms[is_point]
        if extent is None:
            extent = shapely.buffer(shapely.convex_hull(shapely.multipoints(pts)), LIST_EXTENT_MARGIN_M)
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent))
        owner = shapely.STRtree(cells).query(pts, predicate="within")
        cell_of = np.empty(pts.size, dtype=object)
        cell_of[owner[0]] = cells[owner[1]]
        geoms = geoms.copy()
        geoms[is_point] = shapely.intersection(cell_of, extent)
    index = {kind: _place_index(places[places["kind"] == kind], "name", keys[kind]) for kind in rows["kind"].unique()}
    offset = {kind: int(np.flatnonzero(places["kind"].to_numpy() == kind)[0]) for kind in index}
    taken: dict[int, str] = {}
    members: dict[str, list[int]] = {}
    unmatched = []
    for r in rows.itertuples():
        hits = index[r.kind].get(keys[r.kind](r.place), [])
        why = ""
        if not hits:
            why = f"不在{'小区台账' if r.kind == 'compounds' else '建筑数据'}中 (no such {r.kind[:-1]})"
        elif len(hits) > 1:
            why = f"名称对应 {len(hits)} 个{KIND_ZH[r.kind]}，无法确定 (ambiguous name)"
        else:
            i = offset[r.kind] + hits[0]
            if i in taken and taken[i] != r.code:
                why = f"已列入网格 {taken[i]} (already in grid {taken[i]})"
            else:
                taken[i] = str(r.code)
                members.setdefault(str(r.code), []).append(i)
        if why:
            unmatched.append({"line": r.line, "code": r.code, "kind": KIND_ZH[r.kind], "place": r.place, "why": why})
    unmatched_frame = pd.DataFrame(unmatched, columns=["line", "code", "kind", "place", "why"])
    if not members:
        raise InputDataError(
            f"网格清单 {listing.file} 中没有一个小区或楼栋能匹配 (no listed name matched)；"
            f"例如第 {rows['line'].iat[0]} 行「{rows['place'].iat[0]}」"
        )
    first = rows.drop_duplicates("code")
    listed_hh = rows.groupby("code")["households"].max()
    out_rows = []
    hh = places["households"].to_numpy(float)
    for r in first.itertuples():
        idx = members.get(str(r.code), [])
        if not idx:
            unmatched_frame.loc[len(unmatched_frame)] = [
                r.line,
                r.code,
                "网格",
                r.name,
                "网格的小区/楼栋均未匹配，未生成 (no place of the grid matched)",
            ]
            continue
        given = float(listed_hh.get(r.code, np.nan))
        out_rows.append(
            {
                "code": str(r.code),
                "name": str(r.name),
                "parent": str(r.parent),
                "households": given if np.isfinite(given) else float(hh[idx].sum()),
                "places": len(idx),
                "geometry": shapely.union_all(geoms[idx]),
            }
        )
    grids = gpd.GeoDataFrame(out_rows, geometry="geometry", crs=crs)
    if not (grids["parent"] != "").any():
        grids = grids.drop(columns="parent")
    logger.info(
        "grid list %s: %d grids from %d places, %d names unmatched",
        listing.file,
        len(grids),
        len(taken),
        len(unmatched_frame),
    )
    return ListedGrids(grids, unmatched_frame.sort_values("line", kind="stable").reset_index(drop=True))
