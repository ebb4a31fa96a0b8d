"""The scene's life-circle check and the town circle's speed, as the page's requests give them.

Shared by the check on the page (:mod:`webapp.lifecircle`), the exports of the scene
(:mod:`webapp.exports`), the programme and the placement (:mod:`webapp.api`); it imports none of
them, so that none of them imports another for it.
"""

from __future__ import annotations

import math
import re

from geo.access.life_circle import town_reach
from geo.errors import InputDataError
from geo.workflows import check_standard
from webapp.state import MAX_SCENES

#: The check's standard a planner may choose: each unit by its type (``auto``), or one for all.
CHECK_STANDARDS = ("auto", "gb50180", "tdt1062")
#: The town circle's speed a planner may set (km/h), as ``scripts.* --town-speed``.
TOWN_SPEED_RANGE_KMH = (1.0, 60.0)
_SPEED_TEXT = re.compile(r"^[0-9]{1,2}(\.[0-9]{1,2})?$")


def town_speed_of(value: object) -> float | None:
    """The town circle's speed a request gives (``town_speed``): ``None`` for blank, else km/h in 1-60.

    Raises
    ------
    InputDataError
        Not a plain number (ASCII digits, at most two decimals) or outside 1-60 km/h (a 422).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        speed = None
    elif isinstance(value, str):
        speed = float(value) if _SPEED_TEXT.match(value) else None
    else:
        speed = float(value)
    lo, hi = TOWN_SPEED_RANGE_KMH
    if speed is None or not (math.isfinite(speed) and lo <= speed <= hi):
        raise InputDataError(
            f"镇级生活圈速度 town_speed={str(value)[:20]!r} 无效，应为 {lo:g}-{hi:g} 之间的数字（km/h），"
            f"留空则按标准数据的电动自行车速度 (town speed must be a number {lo:g}-{hi:g} km/h)"
        )
    return speed


def speeds_of(town_speed: float | None) -> dict[str, float] | None:
    """``speeds_kmh`` of the check for a town speed (the town level's mode at that speed)."""
    return None if town_speed is None else {town_reach().profile.name: town_speed}


def scene_check(state, scene, chosen: str, town_speed: float | None):
    """The scene's check (cached per profile, standard and town speed), with the English columns."""
    key = ("ru_check", scene.profile, chosen, town_speed)  # judged by radii and levels: not by the budget
    with state.lock:
        table = state.cache.get(key)
    if table is None:
        table = check_standard(
            state.analysis_of(scene),
            standard=None if chosen == "auto" else chosen,
            speeds_kmh=speeds_of(town_speed),
            english=True,
        )
        with state.lock:
            kept = [k for k in state.cache if isinstance(k, tuple) and k[:1] == ("ru_check",)]
            for old in kept[: max(0, len(kept) - 3 * MAX_SCENES + 1)]:
                state.cache.pop(old, None)
            state.cache[key] = table
    return table
