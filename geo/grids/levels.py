"""Three grid levels under a community: 网格 (300-500 households) and 微网格/网点 (10-50 households).

The community (社区/村) is the first level; its grids are made by :func:`generate_grids`
from the units (street blocks, compounds or buildings); each grid's micro-grids are made
the same way from the same units with the grid as their parent, so a micro-grid is whole
units of one grid: nested without gaps or overlaps, coded grid code + sequence.  Micro-grids
need fine units (buildings, or a population grid's cells): a unit above the micro ceiling is
its own micro-grid and is flagged ``oversized_unit``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from geo import settings
from geo.grids.output import grids_gdf
from geo.grids.partition import generate_grids
from geo.grids.plan import GridPlan, Issue, check_plan

logger = logging.getLogger(__name__)

__all__ = ["LevelPlan", "check_levels", "generate_levels", "micro_grids"]


@dataclass(frozen=True, eq=False)
class LevelPlan:
    """The grids of a community and their micro-grids, over the same units (same order).

    Attributes
    ----------
    grids
        Level 2: 网格 in their communities.
    micro
        Level 3: 微网格/网点 in their grids; ``micro.units`` are ``grids.units`` row for row.
    """

    grids: GridPlan
    micro: GridPlan


def micro_grids(
    plan: GridPlan,
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
    units = plan.units.drop(columns=["parent"]).assign(community=plan.units["parent"].to_numpy(object))
    micro = generate_grids(
        units,
        parents,
        min_households=min_households,
        max_households=max_households,
        seed=seed,
        adjacency=plan.adjacency,
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
    micro = micro_grids(grids, min_households=micro_min_households, max_households=micro_max_households, seed=seed)
    return LevelPlan(grids=grids, micro=micro)


def check_levels(levels: LevelPlan) -> list[Issue]:
    """Every violation of either level, then nesting: each micro-grid inside one grid, coded under it.

    Micro-grid issues carry the micro-grid's code; a nesting issue (``not_nested``) names
    the micro-grid and says which grid it should be in.
    """
    issues = [*check_plan(levels.grids), *check_plan(levels.micro)]
    grid, micro = levels.grids.grid, levels.micro.grid
    if len(grid) != len(micro):
        return [
            *issues,
            Issue("not_nested", "error", "两级网格的单元不一致 (the two levels are not made of the same units)"),
        ]
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
