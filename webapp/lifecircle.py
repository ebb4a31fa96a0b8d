"""The life-circle check on the page (issue 21, h-rural): the scene's check, line by line.

``GET /api/check?profile=&budget=&standard=auto|gb50180|tdt1062``: the check of the scene on
screen (:func:`geo.workflows.check_standard`), each unit by its own standard (``auto``: the
unit's 城乡类型, else the project's ``area_type``) or by the planner's one standard, as the
check's exports do (``?standard=`` of :mod:`webapp.exports`).  Every line carries the standard,
the clause, the reach (mode, speed, radius or minutes) and 待核实 where a figure is not confirmed.

h-rural2: ``&town_speed=`` (km/h, 1-60; blank: the standard data's, electric bicycle 20 km/h) is
the town circle's speed, part of the scene like the standard: the check, the exports of the scene,
the programme's coverage and the placement's counted town centres all take it.  Each line carries
its English beside the Chinese (``name_en``, ``verdict_en``, ``reach_en``, ``status_en``,
``note_en``) for the page in English; the exports for officials stay Chinese.
"""

from __future__ import annotations

import json
import math
import re

from flask import Blueprint, jsonify, request

from geo.access.life_circle import CHECK_COLUMNS_EN, town_reach
from geo.errors import InputDataError
from geo.workflows import check_standard
from webapp.api import _scene
from webapp.auth import requires
from webapp.exports import CHECK_STANDARDS
from webapp.state import MAX_SCENES, get_state

bp = Blueprint("lifecircle", __name__)

#: The columns of a check line sent to the page.
LINE_COLUMNS = (
    "unit",
    "unit_name",
    "area_type",
    "standard",
    "level",
    "item",
    "name_zh",
    "verdict",
    "verdict_zh",
    "measured",
    "required",
    "unit_of_measure",
    "reach",
    "clause",
    "status",
    "note",
    *CHECK_COLUMNS_EN,
)
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


@bp.get("/check")
@requires("read")
def check():
    """The scene's life-circle check: one line per unit and item, with its standard and clause."""
    state = get_state()
    chosen = request.args.get("standard") or "auto"
    if chosen not in CHECK_STANDARDS:
        raise InputDataError(
            f"参数 standard={chosen[:40]!r} 无效，可选: {', '.join(CHECK_STANDARDS)} (invalid standard)"
        )
    town_speed = town_speed_of(request.args.get("town_speed"))
    scene = _scene(request.args)
    table = scene_check(state, scene, chosen, town_speed)
    lines = table[list(LINE_COLUMNS)].round({"measured": 1})
    town = town_reach(speed_kmh=town_speed)
    return jsonify(
        {
            "standard": chosen,
            "profile": scene.profile,
            # h-rural2: the town circle's speed (None: the standard data's) and its reach, said on screen
            "town_speed": town_speed,
            "town_speed_default_kmh": town_reach().profile.speed_kmh,
            "town_reach_zh": town.note_zh,
            "town_reach_en": town.note_en,
            "standards": sorted(set(table["standard"])),
            "default_code": state.ru_default_code,
            "lines": json.loads(lines.to_json(orient="records", force_ascii=False)),
        }
    )
