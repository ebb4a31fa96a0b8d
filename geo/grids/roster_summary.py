"""A roster checked against a grid plan, summed up per grid for the web map (issue 20).

:func:`summarise_roster` is the one call the web app makes: the roster's rows are placed in the
plan's current grids with :func:`geo.grids.rosters.check_roster` (the check ``scripts/roster.py``
makes), then counted per grid and role, the grids without a grid worker (网格员) or a grid head
(网格长) flagged, the organisation of each grid listed and the rows placed nowhere (or refused as
duplicates or of an unknown role) kept with why.  Names and phones are left as read: the web
app masks them by the viewer's role (:mod:`webapp.privacy`, :mod:`geo.io.personal`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.grids.output import grids_gdf
from geo.grids.plan import GridPlan
from geo.grids.rosters import ROLES, Roster, check_roster

__all__ = ["MICRO_ROLES", "ORGANISATION_ROLES", "RosterSummary", "micro_codes", "summarise_roster"]

#: Roles of a grid's organisation (named on its card and in the organisation chart); the
#: in-service members (在职党员, registered where they live) are counted only.
ORGANISATION_ROLES = ("网格长", "网格员", "楼栋长", "党员中心户")
#: Roles of the building / micro-grid level (h-micro2): placed in a micro-grid by any means.
MICRO_ROLES = ("楼栋长", "党员中心户")
#: How a row placed at the grid level is also placed in a micro-grid, whatever its role: by its
#: position or its compound/address (a grid code alone says nothing of the building).
MICRO_PLACED_BY = ("坐标", "小区", "地址")


@dataclass(frozen=True)
class RosterSummary:
    """A roster against the grids.

    Attributes
    ----------
    rows
        Rows read (all of them).
    counts
        One row per grid of the plan (``grid_code``) and one column per role in :data:`ROLES`:
        people counted (placed, not a duplicate, a known role).
    missing
        Grid code -> the required roles it lacks (``"网格员、网格长"``), for grids lacking one.
    people
        Placed, counted people: ``grid_code``, ``role``, ``name``, ``phone`` (as read) and
        ``micro_code`` (the micro-grid, ``""`` when none: see :func:`micro_codes`).
    unmatched
        Rows not counted: ``line``, ``role``, ``name``, ``phone``, ``compound``, ``why``.
    """

    rows: int
    counts: pd.DataFrame
    missing: dict[str, str]
    people: pd.DataFrame
    unmatched: pd.DataFrame
    #: One row per micro-grid (``micro_code``) and one column per role in :data:`ROLES`; None
    #: without micro-grids (h-micro2).
    micro_counts: pd.DataFrame | None = None

    @property
    def placed(self) -> int:
        """People counted in a grid."""
        return len(self.people)


def micro_codes(
    rows: pd.DataFrame,
    roster: Roster,
    micro: gpd.GeoDataFrame,
    *,
    compounds: gpd.GeoDataFrame | None = None,
) -> np.ndarray:
    """The micro-grid of each roster row already placed in a grid (``rows``, :func:`check_roster`'s).

    A row is placed in a micro-grid when the same check against the micro-grids finds one
    (by a micro-grid code, its compound or address, or its position) that lies in the row's
    grid, and the row is of the building level (:data:`MICRO_ROLES`: 楼栋长, 党员中心户) or was
    placed in its grid by position, compound or address (:data:`MICRO_PLACED_BY`): a grid
    head placed by the grid code alone stays at the grid.

    Parameters
    ----------
    rows
        :attr:`geo.grids.rosters.RosterCheck.rows` of ``roster`` against the grids.
    micro
        Micro-grid polygons with ``code`` and ``parent`` (their grid now), any CRS.

    Returns
    -------
    numpy.ndarray
        Micro-grid code per row, ``""`` where none.
    """
    inner = check_roster(roster, micro[["code", "geometry"]], compounds=compounds).rows
    codes = inner["grid_code"].to_numpy(object)
    parent_of = dict(zip(micro["code"].astype(str), micro["parent"].astype(str), strict=True))
    parent = np.array([parent_of.get(str(c), "") for c in codes], dtype=object)
    level = rows["role"].isin(MICRO_ROLES).to_numpy() | rows["matched_by"].isin(MICRO_PLACED_BY).to_numpy()
    inside = (codes != "") & (parent == rows["grid_code"].to_numpy(object))
    return np.where(level & inside, codes, "").astype(object)


def summarise_roster(
    roster: Roster,
    plan: GridPlan,
    *,
    compounds: gpd.GeoDataFrame | None = None,
    micro: GridPlan | None = None,
) -> RosterSummary:
    """Place ``roster`` in the current grids of ``plan`` (and its micro-grids) and sum it up per grid.

    Parameters
    ----------
    roster
        Rows read by :func:`geo.grids.rosters.read_roster` (lon/lat WGS84 degrees).
    plan
        The grid plan (its grids in the plan's projected CRS).
    compounds
        The project's compound ledger (``name``, optional address column), to place rows by
        compound name or home address; None: by grid code and coordinates only.
    micro
        The micro-grids of the plan (their units' ``parent`` the grid they are in now), or None:
        people of the building level are also placed in them (:func:`micro_codes`) and counted
        per micro-grid (h-micro2).

    Raises
    ------
    InputDataError
        The plan has no grid (nothing to place the rows in).
    """
    grids = grids_gdf(plan, issues=())[["code", "geometry"]]
    check = check_roster(roster, grids, compounds=compounds)
    rows = check.rows
    counted = (rows["grid_code"] != "") & ~rows["why"].astype(str).str.startswith(("重复", "角色"))
    rows["micro_code"] = ""
    if micro is not None:
        rows["micro_code"] = micro_codes(rows, roster, grids_gdf(micro, issues=()), compounds=compounds)
    people = rows.loc[counted, ["grid_code", "role", "name", "phone", "micro_code"]].reset_index(drop=True)
    unmatched = rows.loc[~counted, ["line", "role", "name", "phone", "compound", "why"]].reset_index(drop=True)
    missing = dict(zip(check.missing["grid_code"].astype(str), check.missing["missing"].astype(str), strict=True))
    counts = check.counts[["grid_code", *ROLES]]
    micro_counts = None
    if micro is not None:
        inside = people[people["micro_code"] != ""]
        micro_counts = (
            pd.crosstab(inside["micro_code"], inside["role"])
            .reindex(index=micro.codes, columns=list(ROLES), fill_value=0)
            .rename_axis(index="micro_code", columns=None)
            .reset_index()
        )
    return RosterSummary(len(rows), counts, missing, people, unmatched, micro_counts)
