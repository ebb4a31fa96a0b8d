"""The plan's building programme on the web page: centres, status, lateness, coverage by phase, wall map.

A plan's candidates carry their place in the programme in their properties (``centre``,
``centre_kind``, ``site_role``, ``functions``, ``status``, ``target_date``, ``phase``; see
:func:`geo.workflows.programme.programme_from_features`): candidates sharing a ``centre`` are
the sites of one linked or hub centre; a candidate without them is a single-site centre in
phase 1, status 规划.  Both routes take the plan as it is on screen (saved or not):

* ``POST /api/programme`` — the centres with their lateness on ``today``, progress against the
  ``targets``, coverage per function after each phase, and each site's colour keys;
* ``POST /api/programme/map.<png|pdf>`` — the wall map of the same (A3/A4), with the title block
  (``organisation``, ``author``, ``reviewer``, ``approval_no``, ``date``) over the project's ``[print]``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path

import pandas as pd
from flask import Blueprint, jsonify

from geo.errors import InputDataError
from geo.maps.layout import ORIENTATIONS, PAPER_MM, PRINT_FIELDS_ZH, print_fields, render_layout
from geo.maps.programme import LATENESS_EDGE, STATUS_COLOURS, programme_wall_map
from geo.workflows.programme import (
    Programme,
    lateness,
    parse_target,
    programme_coverage,
    programme_from_features,
    progress,
)
from geo.workflows.programme_outputs import town_reach_notes
from webapp.api import MAX_PLAN_SITES, _features, _scene, _speed_note, json_body
from webapp.auth import requires
from webapp.exports import _download
from webapp.state import get_state

bp = Blueprint("programme", __name__)

#: Most targets in one request.
MAX_TARGETS = 5
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _today(data: dict) -> dt.date:
    """The day lateness is judged on: the page's (the planner's) date, else the server's."""
    value = data.get("today")
    if value in (None, ""):
        return dt.date.today()
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise InputDataError("today 应为 YYYY-MM-DD 日期 (today must be an ISO date)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputDataError(f"日期 {value} 不存在 (no such date)") from exc


def _request(data: dict):
    """The plan's programme, the day, the targets and the scene's analysis of a request."""
    state = get_state()
    raw = data.get("features")
    if isinstance(raw, list) and len(raw) > MAX_PLAN_SITES:
        raise InputDataError(f"图形过多：最多 {MAX_PLAN_SITES} 个 (too many features)")
    features = _features(raw, state.study_area_wgs84)
    targets_raw = data.get("targets") or []
    if not isinstance(targets_raw, list) or len(targets_raw) > MAX_TARGETS:
        raise InputDataError(f"targets 应为最多 {MAX_TARGETS} 个「个数@日期」 (targets: a list of N@date)")
    targets = [parse_target(str(t)) for t in targets_raw]
    scene = _scene(data)
    analysis = state.analysis_of(scene)
    programme = programme_from_features(
        [{"kind": f.kind, "name": f.name, "geometry": f.geometry, "properties": f.properties} for f in features],
        analysis.accessibility.standard.functions,
    )
    return state, programme, _today(data), targets, scene, analysis


def _town_speed(data: dict) -> float | None:
    """h-rural2 (issue 21): the scene's town circle speed (``town_speed``, km/h; blank: the standard data's)."""
    from webapp.scenecheck import town_speed_of

    return town_speed_of(data.get("town_speed"))


def _town_reach_en(coverage: pd.DataFrame, data: dict) -> list[str]:
    """h-rural2: :func:`town_reach_notes` in English (one line where a hub's town centre is judged)."""
    from geo.access.life_circle import town_reach

    if not town_reach_notes(coverage):
        return []
    reach = town_reach(speed_kmh=_town_speed(data))
    return [f"hub town centres reached by {reach.note_en}; stations and other centres by the chosen mode and budget"]


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects: dates as ISO text, NaN as null."""
    out = frame.copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, dt.date)).any():
            out[column] = [v.isoformat() if isinstance(v, dt.date) else None for v in out[column]]
    return json.loads(out.to_json(orient="records", force_ascii=False, double_precision=4))


def _sites(programme: Programme, late: pd.DataFrame) -> list[dict]:
    sites = programme.centres.sites
    idx = programme.centres.centre_index
    return [
        {
            "candidate": int(c),
            "centre": str(centre),
            "site": str(site),
            "kind": str(kind),
            "role": str(role),
            "functions_zh": str(fn),
            "status": str(late["status"].iloc[i]),
            "lateness": str(late["lateness"].iloc[i]),
        }
        for c, centre, site, kind, role, fn, i in zip(
            sites["candidate"],
            sites["centre"],
            sites["site"],
            sites["kind"],
            sites["role"],
            sites["functions_zh"],
            idx,
            strict=True,
        )
    ]


@bp.post("/programme")
@requires("read")
def programme_view():
    """The plan's programme: centres and lateness, progress against targets, coverage by phase."""
    data = json_body()
    _, programme, today, targets, scene, analysis = _request(data)
    late = lateness(programme, today)
    goals = progress(programme, targets, today)
    coverage = programme_coverage(analysis.accessibility, analysis.graph, programme, town_speed_kmh=_town_speed(data))
    columns = ["stage", "stage_key", "phase", "function", "function_zh", "population", "covered_before"]
    columns += ["newly_covered"]
    columns += ["covered_after", "covered_pct_after", "sites", "unsnapped_sites"]
    return jsonify(
        {
            "today": today.isoformat(),
            "centres": _records(late),
            "sites": _sites(programme, late),
            "progress": _records(goals),
            "coverage": _records(coverage[columns].round(2)),
            "notes": list(programme.centres.notes),
            "notes_en": list(programme.centres.notes_en),  # h-rural2: the page in English
            "colours": {"status": STATUS_COLOURS, "lateness": LATENESS_EDGE},
            "assumption": _speed_note(scene),
            "town_reach": town_reach_notes(coverage),  # h-rural (issue 21): hubs' town centres by e-bike
            "town_reach_en": _town_reach_en(coverage, data),  # h-rural2: the same in English
        }
    )


@bp.post("/programme/map.<fmt>")
@requires("read")
def programme_map(fmt: str):
    """The plan's programme as the wall map (PNG or PDF) for the weekly meeting."""
    if fmt not in ("png", "pdf"):
        raise InputDataError(f"格式 {fmt!r} 无效，可选: png, pdf (unknown format)")
    data = json_body()
    paper = data.get("paper", "A3")
    orientation = data.get("orientation", "landscape")
    if paper not in PAPER_MM or orientation not in ORIENTATIONS:
        raise InputDataError(
            f"纸张应为 {', '.join(PAPER_MM)}，方向应为 {', '.join(ORIENTATIONS)} (paper / orientation unknown)"
        )
    # h-centreweb (issue 21): the title block as on every print — the project's [print] fields
    # (编制单位, 编制人, 审核人, 审图号, 日期), overridden by the page's (an empty value: a blank line).
    given = {key: data[key] for key in PRINT_FIELDS_ZH if key in data}
    state, programme, today, targets, scene, analysis = _request(data)
    fields = print_fields(state.project.print_fields, given)
    late = lateness(programme, today)
    goals = progress(programme, targets, today)
    coverage = programme_coverage(analysis.accessibility, analysis.graph, programme, town_speed_kmh=_town_speed(data))
    content, text = programme_wall_map(
        state.project,
        programme,
        late,
        goals,
        coverage,
        today=today,
        assumption=_speed_note(scene),
        sources=tuple(state.project.source_notes),
        **fields,
    )
    with tempfile.TemporaryDirectory(prefix="linli-programme-") as tmp:
        path = render_layout(content, Path(tmp) / f"map.{fmt}", text=text, paper=paper, orientation=orientation)
        body = path.read_bytes()
    name = f"programme_{today.isoformat()}_{paper}.{fmt}"
    return _download(body, name, "image/png" if fmt == "png" else "application/pdf")
