"""The life-circle check on the page (issue 21, h-rural): the scene's check, line by line.

``GET /api/check?profile=&budget=&standard=auto|gb50180|tdt1062``: the check of the scene on
screen (:func:`geo.workflows.check_standard`), each unit by its own standard (``auto``: the
unit's 城乡类型, else the project's ``area_type``) or by the planner's one standard, as the
check's exports do (``?standard=`` of :mod:`webapp.exports`).  Every line carries the standard,
the clause, the reach (mode, speed, radius or minutes) and 待核实 where a figure is not confirmed.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

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
)


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
    scene = _scene(request.args)
    key = ("ru_check", scene.profile, chosen)  # the check judges by radii and levels: not by the budget
    with state.lock:
        table = state.cache.get(key)
    if table is None:
        table = check_standard(state.analysis_of(scene), standard=None if chosen == "auto" else chosen)
        with state.lock:
            kept = [k for k in state.cache if isinstance(k, tuple) and k[:1] == ("ru_check",)]
            for old in kept[: max(0, len(kept) - 3 * MAX_SCENES + 1)]:
                state.cache.pop(old, None)
            state.cache[key] = table
    lines = table[list(LINE_COLUMNS)].round({"measured": 1})
    return jsonify(
        {
            "standard": chosen,
            "profile": scene.profile,
            "standards": sorted(set(table["standard"])),
            "default_code": state.ru_default_code,
            "lines": json.loads(lines.to_json(orient="records", force_ascii=False)),
        }
    )
