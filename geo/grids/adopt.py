"""Existing grids adopted as a plan's grids, and where an import's problems lie on the map.

A planner's grid polygons (imported, or a merged proposal of several systems) become the
grids of a :class:`~geo.grids.plan.GridPlan` built on other units (street blocks): each unit
goes to the polygon holding the largest part of its area, when that part is at least
:data:`geo.settings.GRID_ADOPT_MIN_SHARE` of the unit ("the grid it mostly lies in").  Only the
parents (communities) holding such a unit change: their other units are left in no grid (the
plan's check lists them), units of every other parent keep their grids.  Imported codes and
names are kept; a code the plan already had keeps its other fields (grid worker, branch,
centre households).  :func:`problem_places` draws each problem :func:`~geo.grids.imports.check_grids`
found: the overlap itself, the gap, the part outside the parent, else the grid.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.grids.partition import empty_fields
from geo.grids.plan import GridEditError, GridPlan, Issue

logger = logging.getLogger(__name__)

__all__ = ["Adoption", "adopt_grids", "problem_places"]


@dataclass(frozen=True, eq=False)
class Adoption:
    """A plan with adopted grids, and how its units were placed.

    Attributes
    ----------
    plan
        The plan after the adoption (one more version; undo steps back to the plan before).
    assigned
        Units placed in an adopted grid.
    unassigned
        Unit ids of the changed parents that lie mostly in no adopted grid (left in no grid).
    empty
        Codes of adopted grids that hold no unit (each unit lies mostly elsewhere).
    households
        Households of each adopted code from its units.
    parents
        The parents (codes) whose grids were replaced.
    """

    plan: GridPlan
    assigned: int
    unassigned: tuple[str, ...]
    empty: tuple[str, ...]
    households: Mapping[str, float]
    parents: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON for the web app (at most 200 unit ids listed)."""
        return {
            "assigned": self.assigned,
            "unassigned": len(self.unassigned),
            "unassigned_units": list(self.unassigned[:200]),
            "empty": list(self.empty),
            "households": {c: round(v, 1) for c, v in self.households.items()},
            "parents": list(self.parents),
            "grids": len(self.households),
        }


def _share_of_units(units: np.ndarray, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the polygon holding the largest part of it (-1: none) and that part's share of the unit."""
    best = np.full(units.size, -1, dtype=np.int64)
    share = np.zeros(units.size)
    if units.size == 0 or polys.size == 0:
        return best, share
    u, p = shapely.STRtree(polys).query(units, predicate="intersects")
    if u.size == 0:
        return best, share
    area = shapely.area(shapely.intersection(units[u], polys[p]))
    order = np.lexsort(
        (-p, area, u)
    )  # by unit, then by area (ties: the first polygon): each unit's last is its largest
    last = np.r_[u[order][1:] != u[order][:-1], True]
    pick = order[last]
    best[u[pick]] = p[pick]
    unit_area = shapely.area(units[u[pick]])
    share[u[pick]] = np.divide(area[pick], unit_area, out=np.zeros(pick.size), where=unit_area > 0)
    return best, share


def adopt_grids(
    plan: GridPlan,
    grids: gpd.GeoDataFrame,
    *,
    op: Mapping[str, object],
    min_share: float = settings.GRID_ADOPT_MIN_SHARE,
) -> Adoption:
    """Make ``grids`` the plan's grids on its own units, as one more edit (undoable).

    Parameters
    ----------
    plan
        The plan whose units are placed.
    grids
        ``code``, optional ``name``, polygons in any CRS (reprojected to the plan's).
    op
        What the history records for this step (e.g. ``{"op": "import", "file": ...}``).
    min_share
        Least share (0-1] of a unit's area inside one grid for the unit to be placed there.

    Raises
    ------
    GridEditError
        No ``code`` column or CRS, an empty or repeated code, ``min_share`` outside (0, 1],
        no unit lies mostly in any grid, or a code is already used by a grid of a parent
        the adoption does not change.
    """
    if "code" not in grids.columns or grids.crs is None:
        raise GridEditError("采用的网格需要 code（编码）列和坐标系 (grids to adopt need a code column and a CRS)")
    if not 0 < min_share <= 1:
        raise GridEditError(f"min_share 应在 (0, 1] 之间，收到 {min_share!r} (min_share must be in (0, 1])")
    codes = grids["code"].astype(str).str.strip().to_numpy(object)
    if (codes == "").any():
        raise GridEditError(
            f"第 {int(np.flatnonzero(codes == '')[0]) + 1} 个网格没有编码，无法采用；请先补全编码 "
            "(a grid without a code cannot be adopted)"
        )
    counts = pd.Series(codes).value_counts()
    if (counts > 1).any():
        raise GridEditError(
            f"网格编码 {counts.index[counts > 1][0]} 重复，无法采用；请先改正编码 (a repeated code cannot be adopted)"
        )
    names = (
        grids["name"].fillna("").astype(str).to_numpy(object) if "name" in grids.columns else codes.copy()
    )  # read_grids gives the code where the file has no name
    polys = shapely.make_valid(grids.to_crs(plan.units.crs).geometry.to_numpy())
    units = plan.units.geometry.to_numpy()
    best, share = _share_of_units(units, polys)
    covered = (best >= 0) & (share >= min_share - 1e-9)
    if not covered.any():
        raise GridEditError(
            f"没有一个街区（单元）有 {min_share:.0%} 以上的面积落在导入的网格内：网格可能不在本项目范围内 "
            "(no unit lies mostly in any of the grids: are they of this study area?)"
        )
    parent_of = plan.units["parent"].to_numpy(object).astype(str)
    changed = np.unique(parent_of[covered])
    in_changed = np.isin(parent_of, changed)
    grid = plan.grid.copy()
    grid[in_changed] = ""
    grid[covered] = codes[best[covered]]
    kept = set(plan.grid[~in_changed].tolist()) - {""}
    clash = sorted(kept & set(grid[covered].tolist()))
    if clash:
        raise GridEditError(
            f"网格编码 {clash[0]} 已是本方案中另一社区/村的网格，无法采用；请改正编码 "
            f"(code {clash[0]} is already a grid of a parent this import does not change)"
        )
    # A grid's code is its community's code and a sequence (STANDARDS.md): the organisation tree,
    # the downloads and a planner's area follow the prefix, so a code that does not start with the
    # code of a community it holds blocks of cannot be adopted (nor a grid across communities).
    placed_parent = parent_of[covered]
    wrong = (placed_parent != "") & ~np.char.startswith(grid[covered].astype(str), placed_parent.astype(str))
    if wrong.any():
        code, parent = grid[covered][wrong][0], placed_parent[wrong][0]
        raise GridEditError(
            f"网格编码 {code} 不以其所在社区/村的编码 {parent} 开头（编码规则：上级编码+序号），或该网格跨越社区/村，"
            f"无法采用；请改正编码或边界 (code {code} does not start with the code of its community {parent})"
        )
    fields: dict[str, dict] = {c: dict(f) for c, f in plan.fields.items() if c in kept}
    used = set(grid[covered].tolist())
    for code, name in zip(codes, names, strict=True):
        if code in used:
            old = {**empty_fields(), **dict(plan.fields.get(code, {}))}
            named = str(name).strip()[:200]
            fields[code] = {**old, "name": named if named and named != code else old["name"]}
    history = (*plan.history, (dict(op), plan.grid, plan.fields))[-settings.GRID_UNDO_DEPTH :]
    new = dataclasses.replace(plan, grid=grid, fields=fields, history=history, future=(), version=plan.version + 1)
    hh = plan.units["households"].to_numpy(float)
    sums = np.bincount(best[covered], weights=hh[covered], minlength=len(codes))
    ids = plan.units["unit_id"].to_numpy(object).astype(str)
    logger.info(
        "adopted %d grids: %d units placed, %d left in no grid, %d parents",
        len(used),
        int(covered.sum()),
        int((in_changed & ~covered).sum()),
        changed.size,
    )
    return Adoption(
        plan=new,
        assigned=int(covered.sum()),
        unassigned=tuple(ids[in_changed & ~covered].tolist()),
        empty=tuple(str(c) for c in codes if c not in used),
        households={str(c): float(v) for c, v in zip(codes, sums, strict=True)},
        parents=tuple(str(p) for p in changed),
    )


def problem_places(
    grids: gpd.GeoDataFrame,
    issues: Sequence[Issue],
    parents: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m2: float = settings.GRID_AREA_TOLERANCE_M2,
) -> gpd.GeoDataFrame:
    """Where each problem of :func:`~geo.grids.imports.check_grids` lies, to draw on a map.

    ``overlap``: the two grids' common part; ``gap``: the parent's area in no grid, or (without
    parents) the hole between grids; ``outside_parent``: the grid's part outside its parent;
    any other problem naming a grid: that grid.  Problems naming no place (a listed name that
    matched nothing) are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        ``kind``, ``severity``, ``message``, ``grid``, ``parent``, polygons in ``grids``' CRS.
    """
    crs = grids.crs
    codes = grids["code"].astype(str).to_numpy(object)
    geoms = shapely.make_valid(grids.geometry.to_numpy())
    by_code = {str(c): shapely.union_all(geoms[codes == c]) for c in pd.unique(codes)}
    parent_geom: dict[str, object] = {}
    if parents is not None and len(parents):
        frame = parents.to_crs(crs)
        parent_geom = dict(zip(frame["code"].astype(str), shapely.make_valid(frame.geometry.to_numpy()), strict=True))
    union = shapely.union_all(geoms) if geoms.size else shapely.Polygon()
    holes = iter(
        h
        for part in shapely.get_parts(union)
        for h in (shapely.Polygon(r) for r in getattr(part, "interiors", ()))
        if h.area > tolerance_m2
    )
    rows = []
    for issue in issues:
        place = None
        if issue.kind == "overlap" and len(issue.units) == 2:
            a, b = (by_code.get(c) for c in issue.units)
            place = shapely.intersection(a, b) if a is not None and b is not None else None
        elif issue.kind == "gap" and issue.parent in parent_geom:
            place = shapely.difference(parent_geom[issue.parent], union)
        elif issue.kind == "gap" and not issue.parent:
            place = next(holes, None)
        elif issue.kind == "outside_parent" and issue.parent in parent_geom and issue.grid in by_code:
            place = shapely.difference(by_code[issue.grid], parent_geom[issue.parent])
        elif issue.kind != "unmatched_place" and issue.grid in by_code:
            place = by_code[issue.grid]
        if place is None or shapely.is_empty(place):
            continue
        rows.append(
            {
                "kind": issue.kind,
                "severity": issue.severity,
                "message": issue.message,
                "grid": issue.grid,
                "parent": issue.parent,
                "geometry": place,
            }
        )
    columns = ["kind", "severity", "message", "grid", "parent", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)
