"""An analysis weighed by a demand column: the special groups (高龄/空巢/困难群众) or a ledger's own count.

:func:`weigh_analysis` is the one call the faces make: it reads the ledger's own group counts
(:func:`geo.access.special_groups.special_group_columns`), counts a list of individuals at the
demand points when one is given (names never read), and judges coverage — and placement
through :func:`geo.workflows.plan_centres` — by the chosen column.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.access.coverage import with_weight
from geo.access.special_groups import count_special_groups, read_special_groups, special_group_columns
from geo.workflows.analysis import Analysis

__all__ = ["WeightedAnalysis", "weigh_analysis"]


@dataclass(frozen=True, eq=False)
class WeightedAnalysis:
    """The analysis with the group counts on its demand and, when asked, its weight.

    Attributes
    ----------
    analysis
        The analysis (its accessibility's ``weight`` set when a weight was chosen).
    unmatched
        ``line`` and ``why`` of the list's records not counted (empty without a list).
    counted
        Records counted per group (empty without a list).
    """

    analysis: Analysis
    unmatched: pd.DataFrame
    counted: dict[str, int]


def weigh_analysis(
    analysis: Analysis,
    weight: str | None,
    *,
    special_groups: Path | None = None,
    system: str = "gcj02",
    grids: gpd.GeoDataFrame | None = None,
) -> WeightedAnalysis:
    """Group counts on the demand, and coverage judged by ``weight`` (a demand column) when given.

    Parameters
    ----------
    analysis
        :func:`geo.workflows.load_analysis` with walking times.
    weight
        The demand column to weigh by (``oldest_old``, ``empty_nest``, ``hardship`` or any numeric
        column of the demand); ``None``: residents as before.
    special_groups
        A list of individuals (CSV/XLSX: 类别 and 小区/住址/网格编码/经纬度), counted at the demand points.
    system
        Coordinate system of the list's longitude/latitude.
    grids
        Grid polygons (``code``), to count records given only by grid code.

    Raises
    ------
    InputDataError
        An unreadable list; a weight column the demand does not have, negative or all zero.
    """
    acc = analysis.accessibility
    demand = special_group_columns(acc.demand)
    unmatched = pd.DataFrame({"line": [], "why": []})
    counted: dict[str, int] = {}
    if special_groups is not None:
        counts = count_special_groups(read_special_groups(special_groups, system=system), demand, grids=grids)
        demand, unmatched, counted = counts.demand, counts.unmatched, counts.counted
    acc = dataclasses.replace(acc, demand=demand)
    if weight is not None:
        acc = with_weight(acc, weight)
    return WeightedAnalysis(dataclasses.replace(analysis, acc=acc), unmatched, counted)
