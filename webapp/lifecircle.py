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

from flask import Blueprint, jsonify, request

from geo.access.life_circle import CHECK_COLUMNS, CHECK_COLUMNS_EN, town_reach
from geo.errors import InputDataError
from webapp.api import _scene
from webapp.auth import requires
from webapp.scenecheck import CHECK_STANDARDS, scene_check, town_speed_of
from webapp.state import get_state

bp = Blueprint("lifecircle", __name__)

#: The columns of a check line sent to the page: the check's, and their English.
LINE_COLUMNS = (*CHECK_COLUMNS, *CHECK_COLUMNS_EN)


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
