"""Micro-grids (微网格/网点) on the web map: made in the page, edited with the checks and undo.

The micro-grids are generated once from the current grids and the project's buildings
(:func:`geo.grids.micro.generate_micro`, as ``python -m scripts.grids --levels`` does) and kept
in the plan store beside the grids, under the key ``<project>#micro``: the same versions with
who/when/what, the same version guard (409), audit and restore as the grids
(:mod:`webapp.grids` does the storing).  A micro-grid's parent is the grid its plots are in
now; an edit of the grids never rewrites the micro-grids: the micro-grids it leaves across
two grids or coded under another grid are flagged, and ``rederive`` (one button in the page)
makes the micro-grids of those grids again, as an undoable edit.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from flask import Blueprint, jsonify, request

from geo import settings
from geo.grids.edits import apply_edit, restore, stability_issues
from geo.grids.micro import (
    check_micro_bounds,
    fits_grids,
    flagged_parents,
    generate_micro,
    micro_issues,
    rederive_micro,
    set_micro_bounds,
    with_parents,
)
from geo.grids.output import plan_from_dict, plan_to_dict
from geo.grids.plan import GridEditError, GridPlan
from webapp.api import _function, json_body, store
from webapp.auth import PERMISSIONS, current_user, record, requires
from webapp.grids import (
    _LOCK,
    OP_ZH,
    _at_version,
    _cache,
    _check_scope,
    _commit,
    _conflict,
    _projected_line,
    _stale_text,
    _step,
    _unit_at,
    _user_name,
    _version_of,
    _with_state,
    current_plan,
    get_store_history,
    grids_payload,
    mask_personal,
    snapshot_text,
    state_text,
)
from webapp.plans import StaleVersionError
from webapp.plans.base import pack_json, unpack_json
from webapp.state import get_state
from webapp.users import in_scope

bp = Blueprint("micro", __name__)

#: Micro-grid edits: a plot moved to a neighbouring micro-grid of its grid, split, merge,
#: a boundary moved, a field set (``renumber`` is the grids' only: micro codes stay stable).
MICRO_OPS = ("move", "split", "merge", "boundary", "set")


#: h-micro3: what the page says when the project's street blocks were made again under the micro-grids.
STALE_BLOCKS = (
    "本项目的街区已重新划分，原有微网格的地块已不在现有街区中，无法沿用：请在网格面板“层级 微网格”中点击"
    "“重新生成（弃用原微网格）”，原有各版本仍留在历史记录中 "
    "(the street blocks were made again and the micro-grids no longer fit them: use 'Generate afresh', "
    "the old versions stay in the history)"
)


NO_BUILDINGS = "本项目没有建筑或户数数据，无法生成微网格 (the project has no buildings to make micro-grids from)"


def micro_key(name: str) -> str:
    """The store key of a project's micro-grids."""
    return f"{name}#micro"


def current_micro() -> GridPlan | None:
    """The project's micro-grids at the store's version with their parents from the current
    grids (None before they are generated).  Call under :data:`webapp.grids._LOCK`.

    Raises
    ------
    GridEditError
        The micro-grids' plots are in street blocks the grids no longer have (the blocks were
        made again): only a fresh generation (``reset``) helps then."""
    grids = current_plan()
    plan = stored_micro()
    if plan is None:
        return None
    cached = _cache()[micro_key(get_state().project.name)]
    if cached.get("grids") is not grids:  # the grids changed: each plot's parent again
        if not fits_grids(plan, grids):
            raise GridEditError(STALE_BLOCKS)
        cached["plan"] = with_parents(cached["plan"], grids)
        cached["grids"] = grids
    return cached["plan"]


def stored_micro() -> GridPlan | None:
    """The project's micro-grids at the store's version as stored (their parents not yet taken
    from the grids; None before they are generated).  Call under :data:`webapp.grids._LOCK`."""
    name = micro_key(get_state().project.name)
    db = store()
    version = db.grid_plan_version(name)
    if version is None:
        return None
    cached = _cache().get(name)
    if cached is None or "plan" not in cached or cached["plan"].version != version:
        row = db.grid_plan(name)
        if row is None:  # pragma: no cover - the version was just read
            return None
        if cached is None or "base" not in cached:
            cached = _cache()[name] = {"base": plan_from_dict(unpack_json(row["base"]))}
        cached["plan"] = _with_state(cached["base"], row["state"])
        cached.pop("grids", None)
    return cached["plan"]


def _need_micro() -> GridPlan:
    micro = current_micro()
    if micro is None:
        raise GridEditError(
            "还没有微网格：请先在网格面板中选择“微网格”并生成 (no micro-grids yet: generate them first)"
        )
    return micro


def micro_payload(plan: GridPlan, *, issues=None, elapsed_ms: float | None = None, change: dict | None = None) -> dict:
    """The micro-grids as the page draws them, with the checks, each one's current grid
    (``parent``) and the grids whose micro-grids want re-deriving (``stale_grids``)."""
    found = micro_issues(plan) if issues is None else list(issues)
    found = _current_notes(plan, found)
    out = grids_payload(plan, issues=found, acc=_scene_accessibility(), elapsed_ms=elapsed_ms, change=change)
    sel = np.flatnonzero(plan.grid != "")
    codes, first = np.unique(plan.grid[sel].astype(str), return_index=True)
    parent = dict(
        zip(codes.tolist(), plan.units["parent"].to_numpy(object)[sel][first].astype(str).tolist(), strict=True)
    )
    for feature in out["grids"]["features"]:
        props = feature["properties"]
        props["parent"] = parent.get(props["code"], "")
    out["level"] = "micro"
    out["stale_grids"] = flagged_parents(found, plan)
    out.update(_bounds(plan))  # h-micro3: with the defaults, stated on screen
    return out


def _current_notes(plan: GridPlan, issues: list) -> list:
    """h-micro3: the generation's notes on bounds it could not meet (``infeasible_bounds``, worded
    with the bounds of that generation) only while the micro-grids have those bounds."""
    cached = _cache().get(micro_key(get_state().project.name)) or {}
    base = cached.get("base")
    if base is None or (base.min_households, base.max_households) == (plan.min_households, plan.max_households):
        return issues
    return [i for i in issues if i.kind != "infeasible_bounds"]


def _scene_accessibility():
    """h-micro3: the accessibility of the scene named by ``?coverage=<function>&profile=&budget=``
    (each micro-grid's residents within reach per function, as the grids'), else None."""
    if not request.args.get("coverage"):
        return None
    _function(request.args["coverage"])
    state = get_state()
    return state.analysis_of(state.scene(request.args.get("profile"), request.args.get("budget"))).accessibility


def _level() -> dict:
    return {"key": micro_key, "current": _need_micro, "payload": micro_payload}


@bp.get("/grids/micro")
@requires("read")
def micro():
    """The micro-grids with their checks and version (``{"micro": null}`` before they are generated)."""
    with _LOCK:
        stored = stored_micro()
        if stored is not None and not fits_grids(stored, current_plan()):  # h-micro3: only a reset helps
            return jsonify(
                {"level": "micro", "micro": None, "version": stored.version, "stale_blocks": True}
                | {"error": STALE_BLOCKS}
                | _bounds(stored)
            )
        plan = current_micro()
        if plan is None:
            return jsonify({"level": "micro", "micro": None, "version": None} | _bounds(None))
        return jsonify(micro_payload(plan))


@bp.post("/grids/micro/generate")
@requires("edit_plan")
def micro_generate():
    """Make the micro-grids of the current grids from the buildings: stored as version 0 the
    first time, afterwards made again for every grid as one undoable edit (``version`` guards)."""
    data = json_body()
    version = _version_of(data)
    given = "min_households" in data or "max_households" in data
    bounds = None
    if given:  # h-micro3: the floor and ceiling on screen (checked before anything is made)
        bounds = check_micro_bounds(
            data.get("min_households", settings.GRID_MICRO_MIN_HOUSEHOLDS),
            data.get("max_households", settings.GRID_MICRO_MAX_HOUSEHOLDS),
        )
    reset = data.get("reset", False)
    if not isinstance(reset, bool):
        raise GridEditError(f"reset 应为 true 或 false，收到 {reset!r} (reset: true or false)")
    with _LOCK:
        stored = stored_micro()
        if stored is not None and (reset or not fits_grids(stored, current_plan())):
            if not reset:
                raise GridEditError(STALE_BLOCKS)
            return _reset(stored, version, bounds)
        exists = current_micro() is not None
    if exists:  # made again in every grid: one edit (the lock is taken again there)
        return _at_version(
            version,
            {"op": "rederive", "grids": ["*"]},
            "micro_grid.generate",
            lambda plan, _name: rederive_micro(plan, sorted(set(plan.units["parent"].astype(str)) - {""})),
            **_level(),
        )
    with _LOCK:
        grids = current_plan()
        name = micro_key(get_state().project.name)
        if current_micro() is not None:  # another request made them meanwhile
            return jsonify(micro_payload(_need_micro()))
        _check_scope({"parents": sorted(set(grids.units["parent"].astype(str)))})  # every community's grids
        started = time.perf_counter()
        demand = get_state().project.demand
        if demand is None or len(demand) == 0:
            raise GridEditError(
                "本项目没有建筑或户数数据，无法生成微网格 (the project has no buildings to make micro-grids from)"
            )
        lo, hi = bounds or (settings.GRID_MICRO_MIN_HOUSEHOLDS, settings.GRID_MICRO_MAX_HOUSEHOLDS)
        made = generate_micro(grids, demand, min_households=lo, max_households=hi)
        base = plan_to_dict(dataclasses.replace(made, history=(), future=()))
        store().create_grid_plan(
            name,
            version=made.version,
            base=pack_json(base),
            state=state_text(made),
            snapshot=snapshot_text(made),
            user=_user_name(),
            summary=f"{OP_ZH['generate']}: {len(made.codes)} 个微网格",
        )
        return _made(name, "generate", started)


def _made(name: str, action: str, started: float):
    """The answer after micro-grids were made anew (generated, or reset): read back, audited, timed."""
    _cache().pop(name, None)
    plan = _need_micro()
    record(f"micro_grid.{action}", f"grids={name},version={plan.version}", f"{len(plan.codes)} micro-grids")
    out = micro_payload(plan)
    out["edit_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return jsonify(out)


# --- h-micro3 (issue 20): the floor and ceiling, a fresh start, who may edit a card ---


def _bounds(plan: GridPlan | None) -> dict:
    """The micro-grids' household floor and ceiling, and the defaults (``geo.settings``)."""
    return {
        "min_households": plan.min_households if plan is not None else settings.GRID_MICRO_MIN_HOUSEHOLDS,
        "max_households": plan.max_households if plan is not None else settings.GRID_MICRO_MAX_HOUSEHOLDS,
        "default_min_households": settings.GRID_MICRO_MIN_HOUSEHOLDS,
        "default_max_households": settings.GRID_MICRO_MAX_HOUSEHOLDS,
        "bound_cap_households": settings.GRID_MICRO_BOUND_MAX_HOUSEHOLDS,
    }


def _all_grids_scope(plan: GridPlan) -> None:
    """Changing the whole level (bounds, a fresh start) needs the editor's area to hold every grid."""
    _check_scope({"parents": sorted(set(plan.units["parent"].astype(str)) - {""})})


def _may_edit(parent_codes: list[str]) -> bool:
    user = current_user()
    if "edit_plan" not in PERMISSIONS.get(user["role"], frozenset()):
        return False
    return user["role"] == "admin" or all(in_scope(user["scope"], p) for p in parent_codes)


def _reset(old: GridPlan, version: int | None, bounds: tuple[int, int] | None):
    """The micro-grids made afresh from the current grids, replacing the old ones (whose plots
    no longer fit) as the next version; the old versions stay in the history.  Under the lock."""
    name = micro_key(get_state().project.name)
    grids = current_plan()
    if version is not None and version != old.version:
        return _conflict(name, GridEditError(_stale_text(old.version, version)), version, current=stored_micro)
    _check_scope({"parents": sorted(set(grids.units["parent"].astype(str)))})
    demand = get_state().project.demand
    if demand is None or len(demand) == 0:
        raise GridEditError(NO_BUILDINGS)
    started = time.perf_counter()
    lo, hi = bounds or (old.min_households, old.max_households)
    made = generate_micro(grids, demand, min_households=lo, max_households=hi)
    made = dataclasses.replace(made, version=old.version + 1, history=(), future=())
    op = {"op": "reset", "from_version": old.version}
    try:
        store().save_grid_plan(
            name,
            version=old.version,
            new_version=made.version,
            base=pack_json(plan_to_dict(made)),
            state=state_text(made),
            snapshot=snapshot_text(made),
            op=op,
            summary=f"{OP_ZH['reset']}: {len(made.codes)} 个微网格",
            user=_user_name(),
        )
    except StaleVersionError as exc:
        return _conflict(name, exc, old.version, current=stored_micro)
    return _made(name, "reset", started)


@bp.post("/grids/micro/bounds")
@requires("edit_plan")
def micro_bounds():
    """Set the micro-grids' household floor and ceiling (``min_households``, ``max_households``,
    ``version``): a new version, audited, undoable; the checks and colours follow."""
    data = json_body()
    lo, hi = check_micro_bounds(data.get("min_households"), data.get("max_households"))
    version = _version_of(data)

    def changed(plan: GridPlan, _name: str) -> GridPlan:
        _all_grids_scope(plan)
        return set_micro_bounds(plan, min_households=lo, max_households=hi)

    with _LOCK:
        now = _need_micro()
    op = {"op": "bounds", "from": [now.min_households, now.max_households], "to": [float(lo), float(hi)]}
    return _at_version(version, op, "micro_grid.bounds", changed, **_level())


@bp.post("/grids/micro/edit")
@requires("edit_plan")
def micro_edit():
    """One micro-grid edit (move / split / merge / boundary / set, with ``version``): the
    micro-grids after it and the checks (bounds 10-50 户, contiguity, nesting in the grids,
    code stability).  A line is ``[[lon, lat], ...]``; ``at`` a point on the plot to move."""
    op = json_body()
    if op.get("op") not in MICRO_OPS:
        raise GridEditError(f"微网格编辑操作应为 {', '.join(MICRO_OPS)} 之一 (micro-grid ops: {', '.join(MICRO_OPS)})")
    with _LOCK:
        plan = _need_micro()
        name = micro_key(get_state().project.name)
        started = time.perf_counter()
        try:
            after = apply_edit(plan, _unit_at(plan, _projected_line(plan, op)))
        except GridEditError as exc:
            if "version" in str(exc) and "stale" in str(exc):
                return _conflict(name, exc, op.get("version"), current=_need_micro)
            raise
        issues = micro_issues(after, extra=stability_issues(plan, after))
        return _commit(
            name,
            plan,
            after,
            op,
            audit="micro_grid.edit",
            started=started,
            issues=issues,
            current=_need_micro,
            payload=micro_payload,
        )


@bp.post("/grids/micro/rederive")
@requires("edit_plan")
def micro_rederive():
    """Make the micro-grids of the named grids (``grids``) again from their plots, keeping every
    other micro-grid's code; ``version`` guards as an edit's does."""
    data = json_body()
    codes = data.get("grids")
    if not isinstance(codes, list) or not codes or len(codes) > 1000:
        raise GridEditError("grids 应为网格编码列表 (grids: a list of grid codes)")
    return _at_version(
        _version_of(data),
        {"op": "rederive", "grids": codes},
        "micro_grid.rederive",
        lambda plan, _name: rederive_micro(plan, codes),
        **_level(),
    )


@bp.post("/grids/micro/undo")
@requires("edit_plan")
def micro_undo():
    """Step back ``steps`` micro-grid edits (default 1; ``version`` guards)."""
    return _step("undo", "micro_grid", **_level())


@bp.post("/grids/micro/redo")
@requires("edit_plan")
def micro_redo():
    """Do ``steps`` undone micro-grid edits again (default 1)."""
    return _step("redo", "micro_grid", **_level())


@bp.post("/grids/micro/restore")
@requires("edit_plan")
def micro_restore():
    """Bring back the micro-grids of an earlier version ``to`` as a new version."""
    data = json_body()
    to = data.get("to")
    if isinstance(to, bool) or not isinstance(to, int):
        raise GridEditError(f"to 应为要恢复的版本号（整数），收到 {to!r} (to: the version to restore, an integer)")

    def restored(plan: GridPlan, name: str) -> GridPlan:
        resets = [v["version"] for v in get_store_history(name, since=to, limit=1000) if v["op"].get("op") == "reset"]
        if resets:  # h-micro3: the plots were made afresh at that version
            raise GridEditError(
                f"第 {to} 版早于第 {resets[0]} 版的重新生成，其地块与现有街区不符，无法恢复 "
                f"(version {to} predates the fresh generation at version {resets[0]}: it cannot be restored)"
            )
        snap = unpack_json(store().grid_snapshot(name, to))
        back = restore(plan, np.asarray(snap["grid"], dtype=object), snap["fields"], to_version=to)
        now, then = [plan.min_households, plan.max_households], [float(b) for b in snap.get("bounds", [])]
        if len(then) != 2 or then == now:
            return back
        # h-micro3: that version's floor and ceiling come back with it (and go again with an undo)
        op, grid, fields = back.history[-1]
        history = (*back.history[:-1], ({**op, "bounds": [now, then]}, grid, fields))
        return dataclasses.replace(back, min_households=then[0], max_households=then[1], history=history)

    return _at_version(_version_of(data), {"op": "restore", "to": to}, "micro_grid.restore", restored, **_level())


@bp.get("/grids/micro/history")
@requires("read")
def micro_history():
    """The versions of the micro-grids, newest first: version, who, when, what."""
    with _LOCK:
        plan = _need_micro()
    return jsonify({"version": plan.version, "versions": get_store_history(micro_key(get_state().project.name))})


@bp.get("/grids/micro/card/<code>")
@requires("read")
def micro_card(code: str):
    """One micro-grid's card: code, name, households, residents, plots, its grid (parent) and flags."""
    with _LOCK:
        plan = _need_micro()
        grids = current_plan()
    members = np.flatnonzero(plan.grid == code)
    if members.size == 0:
        return jsonify({"error": f"未知微网格编码 {code!r} (unknown micro-grid code)"}), 404
    parents = sorted({str(p) for p in plan.units["parent"].to_numpy(object)[members]})
    fields = plan.fields.get(code, {})
    flags = sorted({i.kind for i in micro_issues(plan) if i.grid == code and i.severity != "info"})
    return jsonify(
        {
            "code": code,
            "name": str(fields.get("name", "")),
            "households": round(float(plan.units["households"].to_numpy(float)[members].sum()), 1),
            "residents": round(float(plan.units["residents"].to_numpy(float)[members].sum()), 1),
            "units": int(members.size),
            "parent": "、".join(parents),
            "parent_name": "、".join(str(grids.fields.get(p, {}).get("name", "")) for p in parents).strip("、"),
            "grid_member": mask_personal(fields.get("grid_member", "")),
            "building_head": mask_personal(fields.get("building_head", "")),  # h-micro3
            "can_edit": _may_edit(parents),  # h-micro3: the card's fields editable by this user
            "flags": ",".join(flags),
            "min_households": plan.min_households,
            "max_households": plan.max_households,
        }
    )
