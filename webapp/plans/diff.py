"""What differs between two versions of a plan: the saved one and the one on a planner's screen.

A stale save (someone saved a newer version) leaves the planner with two versions; this says
how they differ so that the planner can choose.  Features are matched by kind, name and
geometry (normalised, within :data:`SAME_GEOMETRY_DEG`); a feature whose kind and name match
one of the other version but whose geometry does not was moved or reshaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely
import shapely.geometry

#: Geometries closer than this (WGS84 degrees, about 0.1 m) are the same: the browser
#: writes coordinates to 6 decimals, the store keeps them to full precision.
SAME_GEOMETRY_DEG = 1e-6


@dataclass(frozen=True)
class PlanDiff:
    """Their version against mine: features as ``{"kind", "name", "geometry"}`` dicts."""

    name_changed: bool
    notes_changed: bool
    same: int
    only_theirs: list[dict] = field(default_factory=list)
    only_mine: list[dict] = field(default_factory=list)
    #: Pairs matched by kind and name whose geometry differs: ``{"kind", "name", "theirs", "mine"}``.
    changed: list[dict] = field(default_factory=list)


def _shape(feature: dict) -> shapely.Geometry:
    return shapely.normalize(shapely.geometry.shape(feature["geometry"]))


def _same_shape(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return a.geom_type == b.geom_type and shapely.equals_exact(a, b, tolerance=SAME_GEOMETRY_DEG)


def diff_plans(theirs: dict, mine_name: str, mine_notes: str, mine_features: Sequence[dict]) -> PlanDiff:
    """How ``theirs`` (a stored plan with ``name``, ``notes``, ``features``) differs from mine.

    Parameters
    ----------
    theirs
        The stored plan, as :meth:`~webapp.plans.base.PlanStore.get` returns it.
    mine_name, mine_notes
        The name and notes on the planner's screen.
    mine_features
        The planner's features, ``{"kind", "name", "geometry"}`` (GeoJSON, WGS84), already checked.
    """
    their_items = [(f, _shape(f)) for f in theirs["features"]]
    my_items = [(f, _shape(f)) for f in mine_features]
    # 1. The same kind, name and geometry: unchanged (each feature matched at most once).
    same = 0
    left_mine = []
    for mine, mine_shape in my_items:
        match = next(
            (
                k
                for k, (their, their_shape) in enumerate(their_items)
                if (their["kind"], their["name"]) == (mine["kind"], mine["name"])
                and _same_shape(their_shape, mine_shape)
            ),
            None,
        )
        if match is None:
            left_mine.append(mine)
        else:
            their_items.pop(match)
            same += 1
    # 2. The same kind and name, another geometry: moved or reshaped.
    left_theirs = [f for f, _ in their_items]
    changed = []
    only_mine = []
    for mine in left_mine:
        key = (mine["kind"], mine["name"])
        match = next((k for k, their in enumerate(left_theirs) if (their["kind"], their["name"]) == key), None)
        if match is None:
            only_mine.append(_brief(mine))
        else:
            their = left_theirs.pop(match)
            changed.append(
                {"kind": mine["kind"], "name": mine["name"], "theirs": their["geometry"], "mine": mine["geometry"]}
            )
    return PlanDiff(
        name_changed=theirs["name"] != mine_name.strip(),
        notes_changed=theirs["notes"] != mine_notes,
        same=same,
        only_theirs=[_brief(f) for f in left_theirs],
        only_mine=only_mine,
        changed=changed,
    )


def _brief(feature: dict) -> dict:
    return {"kind": feature["kind"], "name": feature["name"], "geometry": feature["geometry"]}
