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
import pandas as pd

from geo.grids.output import grids_gdf
from geo.grids.plan import GridPlan
from geo.grids.rosters import ROLES, Roster, check_roster

__all__ = ["ORGANISATION_ROLES", "RosterSummary", "summarise_roster"]

#: Roles of a grid's organisation (named on its card and in the organisation chart); the
#: in-service members (在职党员, registered where they live) are counted only.
ORGANISATION_ROLES = ("网格长", "网格员", "楼栋长", "党员中心户")


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
        Placed, counted people: ``grid_code``, ``role``, ``name``, ``phone`` (as read).
    unmatched
        Rows not counted: ``line``, ``role``, ``name``, ``phone``, ``compound``, ``why``.
    """

    rows: int
    counts: pd.DataFrame
    missing: dict[str, str]
    people: pd.DataFrame
    unmatched: pd.DataFrame

    @property
    def placed(self) -> int:
        """People counted in a grid."""
        return len(self.people)


def summarise_roster(roster: Roster, plan: GridPlan, *, compounds: gpd.GeoDataFrame | None = None) -> RosterSummary:
    """Place ``roster`` in the current grids of ``plan`` and sum it up per grid.

    Parameters
    ----------
    roster
        Rows read by :func:`geo.grids.rosters.read_roster` (lon/lat WGS84 degrees).
    plan
        The grid plan (its grids in the plan's projected CRS).
    compounds
        The project's compound ledger (``name``, optional address column), to place rows by
        compound name or home address; None: by grid code and coordinates only.

    Raises
    ------
    InputDataError
        The plan has no grid (nothing to place the rows in).
    """
    grids = grids_gdf(plan, issues=())[["code", "geometry"]]
    check = check_roster(roster, grids, compounds=compounds)
    rows = check.rows
    counted = (rows["grid_code"] != "") & ~rows["why"].astype(str).str.startswith(("重复", "角色"))
    people = rows.loc[counted, ["grid_code", "role", "name", "phone"]].reset_index(drop=True)
    unmatched = rows.loc[~counted, ["line", "role", "name", "phone", "compound", "why"]].reset_index(drop=True)
    missing = dict(zip(check.missing["grid_code"].astype(str), check.missing["missing"].astype(str), strict=True))
    counts = check.counts[["grid_code", *ROLES]]
    return RosterSummary(len(rows), counts, missing, people, unmatched)
