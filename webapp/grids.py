"""The project's management grids (网格) on the web map: the layer, a grid's card, edits with undo.

The grids are the project's own (``[units] grid``) or generated once from its street
blocks (as ``scripts/grids.py`` does) and kept as a JSON document (:func:`plan_to_dict`:
units, codes, fields, edit history and version) in the instance folder, one per project.
Every edit names the version it was made on (a stale edit is refused with 409) and
answers with the grids, the checks (:func:`check_plan`) and how many edits can be undone.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import numpy as np
from flask import Blueprint, current_app, jsonify, request

from geo.grids.edits import edit, undo
from geo.grids.output import grid_coverage, grid_members, grids_gdf, plan_from_dict, plan_to_dict
from geo.grids.plan import GridEditError, GridPlan, list_field
from geo.io.crs import WGS84
from geo.io.export import atomic_write
from geo.workflows import project_grids
from webapp.api import _function, json_body, rounded
from webapp.state import get_state

bp = Blueprint("grids", __name__)

_LOCK = threading.Lock()
PERSONAL_FIELDS = ("grid_member", "central_households")
PHONE = re.compile(r"(1\d{2})\d{4}(\d{4})")


def mask_personal(text: object) -> str:
    """A name as 张*, a mobile number as 138****1234 (the rest of the text kept)."""
    value = str(text or "").strip()
    if not value:
        return ""
    value = PHONE.sub(r"\1****\2", value)
    head, _, rest = value.partition(" ")
    masked = head[0] + "*" * max(1, len(head) - 1) if not PHONE.fullmatch(head) and "*" not in head else head
    return f"{masked} {rest}".strip()


def _path(name: str) -> Path:
    safe = re.sub(r"[^\w.-]", "_", name)[:80] or "project"
    return Path(current_app.instance_path) / "grids" / f"{safe}.json"


def _plans() -> dict[str, GridPlan]:
    return current_app.extensions.setdefault("linli.grids", {})


def current_plan() -> GridPlan:
    """The project's grid plan: kept in memory, read from the instance folder, or generated once."""
    state = get_state()
    name = state.project.name
    plans = _plans()
    if name in plans:
        return plans[name]
    path = _path(name)
    if path.exists():
        plan = plan_from_dict(json.loads(path.read_text(encoding="utf-8")))
    else:
        plan = project_grids(state.project, units=_own_units(state))
        _save(name, plan)
    plans[name] = plan
    return plan


def _own_units(state):
    """The project's own grid polygons as units (compounds), else None for street blocks."""
    own = state.project.units.get("grid")
    if own is None or own.empty:
        return None
    from geo.workflows import grid_units

    return grid_units(state.project, polygons=own)


def _save(name: str, plan: GridPlan) -> None:
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(plan_to_dict(plan), ensure_ascii=False)
    atomic_write(path, lambda tmp: tmp.write_text(body, encoding="utf-8"))


def _payload(plan: GridPlan, *, issues=None, elapsed_ms: float | None = None) -> dict:
    frame = grids_gdf(plan)
    function = request.args.get("coverage")
    if function:
        cov = grid_coverage(plan, get_state().analysis_of(None).accessibility, grids=frame)
        frame = frame.merge(cov, on="code", how="left")
    keep = [c for c in frame.columns if c not in PERSONAL_FIELDS and c != "geometry"]
    frame = frame[[*keep, "geometry"]].to_crs(WGS84)
    frame = frame.assign(geometry=rounded(frame.geometry.to_numpy()))
    centres = frame.geometry.representative_point()
    features = []
    for row, centre in zip(frame.itertuples(index=False), centres, strict=True):
        props = {k: _plain(getattr(row, k)) for k in keep}
        props["label_at"] = [round(centre.y, 6), round(centre.x, 6)]
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(_geojson(row.geometry))})
    checks = plan.issues() if issues is None else list(issues)
    out = {
        "version": plan.version,
        "can_undo": len(plan.history),
        "issues": [i.to_dict() for i in checks],
        "grids": {"type": "FeatureCollection", "features": features},
        "min_households": plan.min_households,
        "max_households": plan.max_households,
    }
    if elapsed_ms is not None:
        out["edit_ms"] = round(elapsed_ms, 1)
    return out


def _geojson(geom) -> str:
    import shapely

    return shapely.to_geojson(geom)


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


@bp.get("/grids")
def grids():
    """The grids with their figures (optional ``?coverage=<function>``), checks and version."""
    if request.args.get("coverage"):
        _function(request.args["coverage"])
    with _LOCK:
        plan = current_plan()
        return jsonify(_payload(plan))


@bp.get("/grids/<code>")
def grid_card(code: str):
    """One grid's card: figures, facilities within by function, its organisation (personal data masked)."""
    with _LOCK:
        plan = current_plan()
    if code not in plan.fields and code not in plan.codes:
        return jsonify({"error": f"未知网格编码 {code!r} (unknown grid code)"}), 404
    frame = grids_gdf(plan).set_index("code")
    row = frame.loc[code]
    functions = get_state().functions
    facilities = {f: int(row.get(f"fac_{f}", 0) or 0) for f in functions}
    fields = plan.fields.get(code, {})
    return jsonify(
        {
            "code": code,
            "parent": str(row["parent"]),
            "name": str(fields.get("name", "")),
            "units": int(row["units"]),
            "households": round(float(row["households"]), 1),
            "residents": round(float(row["residents"]), 1),
            "area_m2": round(float(row["area_m2"]), 0),
            "facilities": facilities,
            "branch": str(fields.get("branch", "")),
            "grid_member": mask_personal(fields.get("grid_member", "")),
            "central_households": [mask_personal(h) for h in list_field(fields.get("central_households"))],
            "unit_ids": grid_members(plan).get(code, []),
            "flags": str(row.get("flags", "")),
        }
    )


@bp.post("/grids/edit")
def grid_edit():
    """One edit (move / split / merge / set, with ``version``): the grids after it and the checks."""
    op = json_body()
    with _LOCK:
        plan = current_plan()
        started = time.perf_counter()
        try:
            result = edit(plan, op)
        except GridEditError as exc:
            status = 409 if "version" in str(exc) and "stale" in str(exc) else 422
            return jsonify({"error": str(exc)}), status
        elapsed = (time.perf_counter() - started) * 1000
        name = get_state().project.name
        _plans()[name] = result.plan
        _save(name, result.plan)
        return jsonify(_payload(result.plan, issues=result.issues, elapsed_ms=elapsed))


@bp.post("/grids/undo")
def grid_undo():
    """Step back ``steps`` edits (default 1)."""
    data = json_body()
    with _LOCK:
        plan = current_plan()
        try:
            new = undo(plan, data.get("steps", 1))
        except GridEditError as exc:
            return jsonify({"error": str(exc)}), 422
        name = get_state().project.name
        _plans()[name] = new
        _save(name, new)
        return jsonify(_payload(new))
