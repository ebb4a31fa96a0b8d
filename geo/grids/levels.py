"""Three grid levels under a community: 网格 (300-500 households) and 微网格/网点 (10-50 households).

The community (社区/村) is the first level; its grids are made by :func:`generate_grids`
from the units (street blocks, so grids run along the streets, or compounds); each grid's
micro-grids are made the same way with the grid as their parent, from the same units or from
finer ones inside them (:func:`building_plots`: each street block cut into the Voronoi cells of
its buildings), so a micro-grid is whole units of one grid: nested without gaps or overlaps,
coded grid code + sequence.  A unit above the micro ceiling is its own micro-grid and is
flagged ``oversized_unit``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.errors import CRSError
from geo.grids.blocks import point_units, units_with_households
from geo.grids.output import grids_gdf
from geo.grids.partition import generate_grids
from geo.grids.plan import GridPlan, Issue, check_plan
from geo.grids.tree import TREE_HEADERS, organisation_table

logger = logging.getLogger(__name__)

__all__ = [
    "LEVEL_TREE_HEADERS",
    "LevelPlan",
    "building_plots",
    "check_levels",
    "demand_plots",
    "generate_levels",
    "levels_table",
    "micro_grids",
]

#: The organisation tree down to the micro-grids: the grid rows of :data:`TREE_HEADERS`
#: and the micro-grid under each.
LEVEL_TREE_HEADERS = TREE_HEADERS | {
    "micro_code": "微网格编码",
    "micro_name": "微网格名称",
    "micro_households": "微网格户数 (户)",
}


def building_plots(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each unit cut into the Voronoi cells of the buildings (points) inside it: units for micro-grids.

    The plots of a unit cover it exactly (no gap, no overlap); a unit with fewer than two
    buildings stays whole.  Plot ids are the unit's id + ``-`` + a 3-digit number.

    Parameters
    ----------
    units
        ``unit_id`` and polygons in a projected CRS (metres), e.g. street blocks.
    buildings
        Building points (or polygons: their representative points), same CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id``, ``block`` (the unit's id) and the plot polygons.

    Raises
    ------
    geo.errors.CRSError
        Units not in a projected CRS, or buildings in another CRS.
    """
    if units.crs is None or not units.crs.is_projected:
        raise CRSError(f"单元需要米制投影坐标系，收到 {units.crs} (units must be in a projected CRS in metres)")
    if buildings.crs != units.crs:
        raise CRSError(f"建筑与单元坐标系不同: {buildings.crs} / {units.crs} (buildings and units differ in CRS)")
    geoms = units.geometry.to_numpy()
    ids = units["unit_id"].astype(str).to_numpy()
    points = shapely.point_on_surface(buildings.geometry.to_numpy())
    owner = point_units(geoms, points, snap_m=0.0)
    order = np.argsort(owner, kind="stable")
    owner_sorted = owner[order]
    rows: list[tuple[str, str, shapely.Geometry]] = []
    for i, (uid, geom) in enumerate(zip(ids, geoms, strict=True)):
        lo, hi = np.searchsorted(owner_sorted, [i, i + 1])
        pts = shapely.get_coordinates(points[order[lo:hi]])
        pts = np.unique(pts, axis=0)
        if len(pts) < 2:
            rows.append((uid, uid, geom))
            continue
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=geom))
        cells = shapely.intersection(cells, geom)
        cells = cells[shapely.area(cells) > settings.GRID_AREA_TOLERANCE_M2]
        rows.extend((f"{uid}-{k + 1:03d}", uid, cell) for k, cell in enumerate(cells))
    logger.info("building plots: %d units -> %d plots", len(units), len(rows))
    return gpd.GeoDataFrame(
        {"unit_id": [r[0] for r in rows], "block": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=units.crs,
    )


@dataclass(frozen=True, eq=False)
class LevelPlan:
    """The grids of a community and their micro-grids, over the same units (same order).

    Attributes
    ----------
    grids
        Level 2: 网格 in their communities.
    micro
        Level 3: 微网格/网点 in their grids, of the same units or of finer ones inside them.
    """

    grids: GridPlan
    micro: GridPlan


def demand_plots(plan: GridPlan, demand: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The plan's units cut into the plots of their demand points (buildings), with households.

    Parameters
    ----------
    plan
        A grid plan (projected CRS, metres).
    demand
        Demand points (buildings or a population grid's cells) with ``residents`` and
        optionally ``households``; any CRS (reprojected to the plan's).

    Raises
    ------
    geo.errors.InputDataError
        Demand without a ``residents`` column.
    """
    points = demand.to_crs(plan.units.crs)
    return units_with_households(building_plots(plan.units, points), points)


def micro_grids(
    plan: GridPlan,
    units: gpd.GeoDataFrame | None = None,
    *,
    min_households: float = settings.GRID_MICRO_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_MICRO_MAX_HOUSEHOLDS,
    seed: int = 0,
) -> GridPlan:
    """The micro-grids (微网格/网点) of every grid of ``plan``, made from the plan's units.

    Parameters
    ----------
    plan
        A grid plan (projected CRS, metres).
    units
        Finer units inside the plan's units (``unit_id``, ``households``, same CRS), e.g.
        :func:`building_plots` with their households; the plan's own units when omitted.
    min_households, max_households
        Household floor and ceiling of a micro-grid.
    seed
        Seed of the tie-breaking jitter.

    Raises
    ------
    geo.errors.InputDataError
        Bad bounds, or a plan with units in no grid.
    """
    parents = grids_gdf(plan)[["code", "name", "geometry"]]
    parents["name"] = parents["name"].where(parents["name"].astype(str) != "", parents["code"])
    if units is None:
        units = plan.units.drop(columns=["parent"]).assign(community=plan.units["parent"].to_numpy(object))
        adjacency = plan.adjacency
    else:
        units, adjacency = units.drop(columns=["parent"], errors="ignore"), None
    micro = generate_grids(
        units,
        parents,
        min_households=min_households,
        max_households=max_households,
        seed=seed,
        adjacency=adjacency,
    )
    logger.info("micro-grids: %d grids -> %d micro-grids", len(parents), len(micro.codes))
    return micro


def generate_levels(
    units: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame | None = None,
    *,
    min_households: float = settings.GRID_URBAN_MIN_HOUSEHOLDS,
    max_households: float = settings.GRID_URBAN_MAX_HOUSEHOLDS,
    micro_min_households: float = settings.GRID_MICRO_MIN_HOUSEHOLDS,
    micro_max_households: float = settings.GRID_MICRO_MAX_HOUSEHOLDS,
    micro_units: gpd.GeoDataFrame | None = None,
    seed: int = 0,
) -> LevelPlan:
    """Grids of each community and micro-grids of each grid from one set of units.

    Parameters
    ----------
    units
        ``unit_id``, ``households`` and polygons in a projected CRS (metres): buildings,
        compounds or street blocks.
    parents
        Communities (``code``, ``name``); one placeholder parent when omitted.
    min_households, max_households
        Bounds of a grid (网格).
    micro_min_households, micro_max_households
        Bounds of a micro-grid (微网格/网点).
    micro_units
        Finer units for the micro-grids (see :func:`micro_grids`); ``units`` when omitted.
    seed
        Seed of the tie-breaking jitter.

    Raises
    ------
    geo.errors.CRSError
        Units not in a projected CRS.
    geo.errors.InputDataError
        Bad units or bounds (see :func:`generate_grids`).
    """
    grids = generate_grids(units, parents, min_households=min_households, max_households=max_households, seed=seed)
    micro = micro_grids(
        grids, micro_units, min_households=micro_min_households, max_households=micro_max_households, seed=seed
    )
    return LevelPlan(grids=grids, micro=micro)


def check_levels(levels: LevelPlan) -> list[Issue]:
    """Every violation of either level, then nesting: each micro-grid inside one grid, coded under it.

    Micro-grid issues carry the micro-grid's code; a nesting issue (``not_nested``) names
    the micro-grid and says which grid it should be in.
    """
    issues = [*check_plan(levels.grids), *check_plan(levels.micro)]
    micro = levels.micro.grid
    same = (
        len(levels.micro.units) == len(levels.grids.units)
        and (levels.micro.units["unit_id"].to_numpy() == levels.grids.units["unit_id"].to_numpy()).all()
    )
    if same:
        grid = levels.grids.grid
    else:  # finer units: the grid their inner point lies in
        polygons = grids_gdf(levels.grids)
        inner = shapely.point_on_surface(levels.micro.units.geometry.to_numpy())
        where = point_units(polygons.geometry.to_numpy(), inner, snap_m=0.0)
        grid = np.where(where >= 0, polygons["code"].to_numpy(object)[np.maximum(where, 0)], "?")
    bad = np.array([m != "" and g != "" and not str(m).startswith(str(g)) for g, m in zip(grid, micro, strict=True)])
    for code in sorted(set(micro[bad].tolist())):
        parents = sorted(set(grid[micro == code].tolist()))
        issues.append(
            Issue(
                "not_nested",
                "error",
                f"微网格 {code} 不在网格 {'、'.join(parents)} 之内或编码不以其网格编码开头 "
                f"(micro-grid {code} is not inside its grid {', '.join(parents)} or not coded under it)",
                grid=str(code),
                parent=parents[0],
            )
        )
    return issues


def levels_table(levels: LevelPlan, *, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The organisation tree community -> grid -> micro-grid: one row per micro-grid.

    The columns of :data:`LEVEL_TREE_HEADERS` (English keys): the grid's row of
    :func:`geo.grids.tree.organisation_table` followed by the micro-grid's code, name and
    households; a micro-grid is under the grid its code starts with.  Sorted by code.
    """
    grids = organisation_table(levels.grids, names=names)
    micro = grids_gdf(levels.micro)
    width = len(micro["code"].iloc[0]) - len(micro["parent"].iloc[0]) if len(micro) else 0
    rows = pd.DataFrame(
        {
            "code": micro["parent"].astype(str).to_numpy(),
            "micro_code": micro["code"].astype(str).to_numpy(),
            "micro_name": micro["name"].astype(str).to_numpy(),
            "micro_households": micro["households"].to_numpy(float),
        }
    )
    out = grids.merge(rows, on="code", how="left").sort_values(["code", "micro_code"], kind="stable")
    logger.info("levels tree: %d grids, %d micro-grids (%d-digit numbers)", len(grids), len(rows), width)
    return out.reset_index(drop=True)[list(LEVEL_TREE_HEADERS)]
