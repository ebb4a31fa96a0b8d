"""Existing grids read from a planner's file and checked: codes, overlaps, gaps, nesting, household bounds.

:func:`read_grids` reads GeoJSON / GeoPackage / zipped Shapefile through
:func:`geo.io.uploads.read_upload`; :func:`check_grids` lists every problem as an
:class:`~geo.grids.plan.Issue` naming the grid code, with a Chinese message.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.units import CODE_NAMES, NAME_NAMES, _find
from geo.errors import InputDataError
from geo.grids.plan import Issue
from geo.io.uploads import read_upload

logger = logging.getLogger(__name__)

__all__ = ["HOUSEHOLD_NAMES", "PARENT_NAMES", "check_grids", "read_grids"]

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
    to list, not refused here).

    Raises
    ------
    InputDataError
        No code column (and every error of :func:`geo.io.uploads.read_upload`).
    """
    path = Path(path)
    frame = read_upload(path, original_name=original_name, expected="polygon", system=system, study_area=study_area)
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
    out["name"] = frame[name].astype(str).to_numpy() if name is not None else codes.to_numpy()
    households = _find(frame.columns, HOUSEHOLD_NAMES)
    if households is not None:
        out["households"] = pd.to_numeric(frame[households], errors="coerce").to_numpy(float)
    parent = _find(frame.columns, PARENT_NAMES)
    if parent is not None:
        out["parent"] = frame[parent].astype(str).str.strip().str.replace(r"\.0$", "", regex=True).to_numpy()
    return out


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
