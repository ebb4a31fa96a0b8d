"""The project's management grids (网格) on the web map: the layer, a grid's card, edits with undo.

The grids are the project's own (``[units] grid``) or generated once from its street
blocks (as ``scripts/grids.py`` does) and kept as a JSON document (:func:`plan_to_dict`:
units, codes, fields, edit history and version) in the instance folder, one per project.
Every edit names the version it was made on (a stale edit is refused with 409) and
answers with the grids, the checks (:func:`check_plan`) and how many edits can be undone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from flask import Blueprint, current_app, jsonify, request

from geo.grids.edits import edit, undo
from geo.grids.output import grid_coverage, grid_members, grids_gdf, plan_from_dict, plan_to_dict
from geo.grids.plan import GridEditError, GridPlan, list_field
from geo.io.crs import WGS84
from geo.io.export import atomic_write
from geo.workflows import project_grids
from webapp.api import _function, json_body, rounded
from webapp.auth import requires
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
        plan = read_plan(path)
    else:
        plan = project_grids(state.project, units=_own_units(state))
        write_plan(path, plan, whole=True)
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
    write_plan(_path(name), plan)


def _edits_path(path: Path) -> Path:
    return path.with_name(path.stem + ".edits.json")


def write_plan(path: Path, plan: GridPlan, *, whole: bool = False) -> None:
    """The plan as JSON, atomically: the whole plan (units, parents) once, and after every
    edit only what edits change (codes, fields, history, version) beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if whole:
        body = json.dumps(plan_to_dict(plan), ensure_ascii=False)
        atomic_write(path, lambda tmp: tmp.write_text(body, encoding="utf-8"))
    state = {
        "grid": plan.grid.tolist(),
        "fields": {c: dict(f) for c, f in plan.fields.items()},
        "history": [
            {"op": op, "grid": g.tolist(), "fields": {c: dict(f) for c, f in fl.items()}} for op, g, fl in plan.history
        ],
        "plan_version": plan.version,
        "coverage": plan.coverage,
    }
    edits = json.dumps(state, ensure_ascii=False)
    atomic_write(_edits_path(path), lambda tmp: tmp.write_text(edits, encoding="utf-8"))


def read_plan(path: Path) -> GridPlan:
    """The plan of :func:`write_plan`: the whole plan with the latest edits."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edits = _edits_path(path)
    coverage = False
    if edits.exists():
        state = json.loads(edits.read_text(encoding="utf-8"))
        coverage = bool(state.pop("coverage", False))
        data.update(state)
    return dataclasses.replace(plan_from_dict(data), coverage=coverage)


#: Each grid's figures and WGS84 outline by its units (unchanged by an edit elsewhere):
#: (units frame id, code, members) -> (properties, GeoJSON geometry, label point, projected polygon).
_SHAPES: dict[tuple, tuple[dict, dict, list, object]] = {}
_SHAPES_MAX = 5_000
_PER_GRID_FIELDS = ("name", "branch", "flags")


def _grid_shapes(plan: GridPlan) -> tuple[list[str], list[tuple[dict, dict, list, object]]]:
    """Per grid: the cached figures and outline, computed only for grids whose units changed."""
    sel = np.flatnonzero(plan.grid != "")
    codes, inv = np.unique(plan.grid[sel].astype(str), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(codes.size + 1))
    keys = [
        (id(plan.units), str(c), hashlib.blake2b(sel[order[bounds[k] : bounds[k + 1]]].tobytes()).hexdigest())
        for k, c in enumerate(codes)
    ]
    missing = [k for k, key in enumerate(keys) if key not in _SHAPES]
    if missing:
        keep = np.isin(plan.grid, codes[missing])
        part = dataclasses.replace(plan, grid=np.where(keep, plan.grid, "").astype(object))
        frame = grids_gdf(part, issues=()).set_index("code")
        wgs = frame.geometry.to_crs(WGS84)
        wgs = gpd.GeoSeries(rounded(wgs.to_numpy()), index=frame.index, crs=WGS84)
        centres = wgs.representative_point()
        if len(_SHAPES) > _SHAPES_MAX:
            _SHAPES.clear()
        for k in missing:
            code = str(codes[k])
            row = frame.loc[code]
            props = {
                c: _plain(row[c]) for c in frame.columns if c not in (*PERSONAL_FIELDS, *_PER_GRID_FIELDS, "geometry")
            }
            props["code"] = code
            geometry = json.loads(shapely.to_geojson(wgs[code]))
            label_at = [round(centres[code].y, 6), round(centres[code].x, 6)]
            _SHAPES[keys[k]] = (props, geometry, label_at, row.geometry)
    return [str(c) for c in codes], [_SHAPES[key] for key in keys]


def _payload(plan: GridPlan, *, issues=None, elapsed_ms: float | None = None) -> dict:
    acc = None
    if request.args.get("coverage"):
        state = get_state()
        acc = state.analysis_of(state.scene(request.args.get("profile"), request.args.get("budget"))).accessibility
    return grids_payload(plan, issues=issues, acc=acc, elapsed_ms=elapsed_ms)


def grids_payload(plan: GridPlan, *, issues=None, acc=None, elapsed_ms: float | None = None) -> dict:
    """The grids as the page draws them (WGS84 features, label points), the checks and the version.

    ``acc``: the scene's accessibility, to add each grid's coverage per function (``pct_<function>``).
    """
    checks = plan.issues() if issues is None else list(issues)
    codes, shapes = _grid_shapes(plan)
    flags: dict[str, set[str]] = {}
    for issue in checks:
        if issue.grid:
            flags.setdefault(issue.grid, set()).add(issue.kind)
    pct: dict[str, dict] = {}
    if acc is not None and codes:
        frame = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=[s[3] for s in shapes], crs=plan.units.crs)
        table = grid_coverage(plan, acc, grids=frame).set_index("code")
        pct = {str(c): {str(k): _plain(v) for k, v in row.items()} for c, row in table.iterrows()}
    features = []
    for code, (props, geometry, label_at, _) in zip(codes, shapes, strict=True):
        fields = plan.fields.get(code, {})
        out = {
            **props,
            "name": str(fields.get("name", "")),
            "branch": str(fields.get("branch", "")),
            "flags": ",".join(sorted(flags.get(code, ()))),
            **pct.get(code, {}),
            "label_at": label_at,
        }
        features.append({"type": "Feature", "properties": out, "geometry": geometry})
    payload = {
        "version": plan.version,
        "can_undo": len(plan.history),
        "issues": [i.to_dict() for i in checks],
        "grids": {"type": "FeatureCollection", "features": features},
        "min_households": plan.min_households,
        "max_households": plan.max_households,
    }
    if elapsed_ms is not None:
        payload["edit_ms"] = round(elapsed_ms, 1)
    return payload


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


@bp.get("/grids")
@requires("read")
def grids():
    """The grids with their figures (optional ``?coverage=<function>``), checks and version."""
    if request.args.get("coverage"):
        _function(request.args["coverage"])
    with _LOCK:
        plan = current_plan()
        return jsonify(_payload(plan))


@bp.get("/grids/<code>")
@requires("read")
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
@requires("edit_plan", audit="grid.edit")
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
@requires("edit_plan", audit="grid.undo")
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
