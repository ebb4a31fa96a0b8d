"""The project's management grids (网格) on the web map: the layer, a grid's card, edits with undo.

The grids are the project's own (``[units] grid``) or generated once from its street
blocks (as ``scripts/grids.py`` does) and kept in the plan store (SQLite or PostGIS, as
plans are): per project the plan's fixed part (units, parents, bounds), its current codes
and fields with the undo and redo stacks, and one row per version saying who changed what
and when, holding that version's grids (any can be restored).  Every edit may name the
version it was made on (a stale edit is refused with 409 and the versions since), is
checked against the editor's area (a planner edits only grids of their town/community),
is recorded in the audit log, and answers with the grids, the checks (:func:`check_plan`
and code stability) and how many edits can be undone and redone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from flask import Blueprint, abort, current_app, jsonify, request

from geo.grids.edits import edit, redo, restore, touched, undo
from geo.grids.output import grid_coverage, grid_members, grids_gdf, plan_from_dict, plan_to_dict
from geo.grids.plan import GridEditError, GridPlan, list_field
from geo.io.crs import WGS84
from geo.workflows import project_grids
from webapp.api import _function, json_body, rounded, store
from webapp.auth import current_user, record, requires
from webapp.plans import PlanStore, StaleVersionError
from webapp.plans.base import pack_json, unpack_json
from webapp.state import get_state
from webapp.users import in_scope

bp = Blueprint("grids", __name__)

_LOCK = threading.Lock()
PERSONAL_FIELDS = ("grid_member", "central_households", "building_head")
PHONE = re.compile(r"(1\d{2})\d{4}(\d{4})")
#: What an operation is called in a version's summary (the history list).
OP_ZH = {
    "generate": "生成",
    "move": "调整单元",
    "split": "拆分",
    "merge": "合并",
    "set": "填写",
    "renumber": "重新编号",
    "boundary": "调整边界",
    "undo": "撤销",
    "redo": "重做",
    "restore": "恢复版本",
    "rederive": "按网格重新划分微网格",
    "forget": "删除个人信息",
    "import": "导入现有网格",  # h-gridimp (issue 20): webapp/gridimport.py
    "merge_systems": "采用多网合一方案",  # h-gridimp
    "bounds": "修改户数上下限",  # h-micro3 (issue 20): webapp/micro.py
    "reset": "重新生成微网格（弃用旧微网格）",  # h-micro3
}


def mask_personal(text: object) -> str:
    """A name as 张*, a mobile number as 138****1234 (the rest of the text kept)."""
    value = str(text or "").strip()
    if not value:
        return ""
    value = PHONE.sub(r"\1****\2", value)
    head, _, rest = value.partition(" ")
    masked = head[0] + "*" * max(1, len(head) - 1) if not PHONE.fullmatch(head) and "*" not in head else head
    return f"{masked} {rest}".strip()


# ------------------------------------------------------------------ the plan in the store


def _fields(fields) -> dict:
    return {c: dict(f) for c, f in fields.items()}


def _stack(plan: GridPlan, entries) -> list[dict]:
    """Undo or redo entries as the units whose code differs from the current grid (edits change few)."""
    out = []
    for op, grid, fields in entries:
        idx = np.flatnonzero(grid != plan.grid)
        out.append({"op": op, "idx": idx.tolist(), "codes": grid[idx].tolist(), "fields": _fields(fields)})
    return out


def _unstack(grid: np.ndarray, entries) -> tuple:
    out = []
    for e in entries:
        g = grid.copy()
        g[np.asarray(e["idx"], dtype=np.int64)] = np.asarray(e["codes"], dtype=object)
        out.append((e["op"], g, e["fields"]))
    return tuple(out)


def state_text(plan: GridPlan) -> str:
    """What edits change: codes, fields, the undo and redo stacks, the version."""
    return pack_json(
        {
            "grid": plan.grid.tolist(),
            "fields": _fields(plan.fields),
            "history": _stack(plan, plan.history),
            "future": _stack(plan, plan.future),
            "version": plan.version,
            "min_households": plan.min_households,  # h-micro3: the bounds can be edited (micro-grids)
            "max_households": plan.max_households,
        }
    )


def snapshot_text(plan: GridPlan) -> str:
    """One version's grids and fields (for the history, and to restore it)."""
    bounds = [plan.min_households, plan.max_households]  # h-micro3: a version's bounds, restored with it
    return pack_json({"grid": plan.grid.tolist(), "fields": _fields(plan.fields), "bounds": bounds})


def _with_state(base: GridPlan, text: str) -> GridPlan:
    state = unpack_json(text)
    grid = np.asarray(state["grid"], dtype=object)
    return dataclasses.replace(
        base,
        grid=grid,
        fields=state["fields"],
        history=_unstack(grid, state["history"]),
        future=_unstack(grid, state["future"]),
        version=int(state["version"]),
        min_households=float(state.get("min_households", base.min_households)),
        max_households=float(state.get("max_households", base.max_households)),
    )


def _summary(op: dict, change: dict) -> str:
    grids = change["grids"]
    shown = "、".join(grids[:6]) + ("…" if len(grids) > 6 else "")
    units = f"，{len(change['units'])} 个单元" if change["units"] else ""
    if op.get("op") == "bounds" and isinstance(op.get("to"), list):  # h-micro3: 10-50 -> 20-60 户
        shown = f"{op['from'][0]:g}-{op['from'][1]:g} → {op['to'][0]:g}-{op['to'][1]:g} 户"
    return f"{OP_ZH.get(str(op.get('op')), str(op.get('op')))}: {shown or '—'}{units}"


def _user_name() -> str:
    return str(current_user().get("name", ""))


def _legacy_path(name: str) -> Path:
    """Where an earlier Linli kept the grids (JSON in the instance folder): read once into the store."""
    safe = re.sub(r"[^\w.-]", "_", name)[:80] or "project"
    return Path(current_app.instance_path) / "grids" / f"{safe}.json"


def _read_legacy(path: Path) -> GridPlan:
    data = json.loads(path.read_text(encoding="utf-8"))
    edits = path.with_name(path.stem + ".edits.json")
    if edits.exists():
        state = json.loads(edits.read_text(encoding="utf-8"))
        state.pop("coverage", None)
        data.update(state)
    return plan_from_dict(data)


def _cache() -> dict:
    """Per project: the plan's fixed part read once, and the plan at the store's version."""
    return current_app.extensions.setdefault("linli.grids", {})


def current_plan() -> GridPlan:
    """The project's grid plan at the store's version: kept in memory while no other process
    wrote a newer one, read from the store, or generated (or taken over from the instance
    folder of an earlier Linli) and stored as version 0."""
    state = get_state()
    name = state.project.name
    plans = _cache()
    db = store()
    version = db.grid_plan_version(name)
    cached = plans.get(name)
    if cached is not None and version == cached["plan"].version:
        return cached["plan"]
    if version is None:
        legacy = _legacy_path(name)
        plan = _read_legacy(legacy) if legacy.exists() else project_grids(state.project, units=_own_units(state))
        base = plan_to_dict(dataclasses.replace(plan, history=(), future=()))
        created = db.create_grid_plan(
            name,
            version=plan.version,
            base=pack_json({**base, "coverage": plan.coverage}),
            state=state_text(plan),
            snapshot=snapshot_text(plan),
            user=_user_name(),
            summary=f"{OP_ZH['generate']}: {len(plan.codes)} 个网格",
        )
        if created:  # else another process stored its plan first: that one is read below
            cached = plans[name] = {"base": plan}
    row = db.grid_plan(name)
    if row is None:  # pragma: no cover - written just above
        raise GridEditError("网格方案无法保存 (the grid plan could not be stored)")
    if cached is None or "base" not in cached:
        data = unpack_json(row["base"])
        coverage = bool(data.pop("coverage", False))
        cached = plans[name] = {"base": dataclasses.replace(plan_from_dict(data), coverage=coverage)}
    cached["plan"] = _with_state(cached["base"], row["state"])
    return cached["plan"]


def _own_units(state):
    """The project's own grid polygons as units (compounds), else None for street blocks."""
    own = state.project.units.get("grid")
    if own is None or own.empty:
        return None
    from geo.workflows import grid_units

    return grid_units(state.project, polygons=own)


def save_version(
    db: PlanStore, name: str, before: GridPlan, after: GridPlan, op: dict, change: dict, user: str
) -> None:
    """Write ``after`` (made from ``before``) as the next version, with who, what and when.

    Raises
    ------
    StaleVersionError
        Another process saved a newer version first (nothing written).
    """
    db.save_grid_plan(
        name,
        version=before.version,
        new_version=after.version,
        state=state_text(after),
        snapshot=snapshot_text(after),
        op=op,
        summary=_summary(op, change),
        user=user,
    )


def _named_parents(plan: GridPlan, op: dict) -> set[str]:
    """The parents of the grids an operation names (every parent for ``renumber``: it is project-wide)."""
    parent_of = plan.units["parent"].to_numpy(object).astype(str)
    if op.get("op") == "renumber":
        return set(parent_of.tolist())
    named = [op.get("grid"), op.get("to"), *(op.get("grids") if isinstance(op.get("grids"), list) else [])]
    codes = [c for c in named if isinstance(c, str)]
    return set(parent_of[np.isin(plan.grid, codes)].tolist()) if codes else set()


def _check_scope(change: dict, parents: set[str] | frozenset[str] = frozenset()) -> None:
    """A planner changes only grids of their area (403 naming the first one outside): the grids
    an edit changed and those it names."""
    user = current_user()
    if user["role"] == "admin":
        return
    outside = sorted(p for p in {*change["parents"], *parents} if not in_scope(user["scope"], p))
    if outside:
        abort(
            403,
            description=f"无权修改区域 {outside[0]} 的网格：您的范围是 {user['scope'] or '（无）'} "
            "(these grids are outside your area; you may read them but not change them)",
        )


def _conflict(name: str, exc: Exception, since: object, *, current: Callable[[], GridPlan] | None = None) -> tuple:
    """409 with the current version and the versions saved since the editor's (who, when, what).

    ``name``: the plan's key in the store; ``current``: how to read it (the grids by default)."""
    _cache().pop(name, None)
    plan = (current or current_plan)()
    start = since if isinstance(since, int) and not isinstance(since, bool) else plan.version - 1
    return jsonify(
        {
            "error": str(exc),
            "status": 409,
            "current_version": plan.version,
            "conflict": get_store_history(name, since=start),
        }
    ), 409


def get_store_history(name: str, *, since: int = -1, limit: int = 200) -> list[dict]:
    """The versions of a project's grids after ``since``, newest first."""
    return store().grid_history(name, since=since, limit=limit)


def _commit(
    name: str,
    before: GridPlan,
    after: GridPlan,
    op: dict,
    *,
    audit: str,
    started: float,
    issues=None,
    current: Callable[[], GridPlan] | None = None,
    payload: Callable[..., dict] | None = None,
):
    """Scope check, store, cache, audit; the answer with the grids and checks.

    ``name``, ``current`` and ``payload``: the plan's key in the store, how to read it and how
    to answer with it (the grids by default; the micro-grids in :mod:`webapp.micro`)."""
    change = touched(before, after)
    _check_scope(change, _named_parents(before, op))
    try:
        save_version(store(), name, before, after, op, change, _user_name())
    except StaleVersionError as exc:
        return _conflict(name, exc, before.version, current=current)
    _cache()[name]["plan"] = after
    record(audit, f"grids={name},version={after.version}", json.dumps(op, ensure_ascii=False)[:500])
    elapsed = (time.perf_counter() - started) * 1000
    return jsonify((payload or _payload)(after, issues=issues, elapsed_ms=elapsed, change=change))


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


def _payload(plan: GridPlan, *, issues=None, elapsed_ms: float | None = None, change: dict | None = None) -> dict:
    """The grids of the scene the page shows (``?coverage=<function>&profile=&budget=``)."""
    acc = None
    if request.args.get("coverage"):
        _function(request.args["coverage"])
        state = get_state()
        acc = state.analysis_of(state.scene(request.args.get("profile"), request.args.get("budget"))).accessibility
    return grids_payload(plan, issues=issues, acc=acc, elapsed_ms=elapsed_ms, change=change)


def grids_payload(
    plan: GridPlan, *, issues=None, acc=None, elapsed_ms: float | None = None, change: dict | None = None
) -> dict:
    """The grids as the page draws them (WGS84 features, label points), the checks and the version.

    ``acc``: the scene's accessibility, to add each grid's coverage per function (``pct_<function>``).
    ``change``: what the edit changed (:func:`geo.grids.edits.touched`), told to the page.
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
            "party_households": len(list_field(fields.get("central_households"))),
            **pct.get(code, {}),
            "label_at": label_at,
        }
        features.append({"type": "Feature", "properties": out, "geometry": geometry})
    payload = {
        "version": plan.version,
        "can_undo": len(plan.history),
        "can_redo": len(plan.future),
        "issues": [i.to_dict() for i in checks],
        "grids": {"type": "FeatureCollection", "features": features},
        "min_households": plan.min_households,
        "max_households": plan.max_households,
    }
    if elapsed_ms is not None:
        payload["edit_ms"] = round(elapsed_ms, 1)
    if change is not None:
        payload["changed"] = {"grids": change["grids"], "units": len(change["units"])}
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
    """The grids with their figures (optional ``?coverage=<function>&profile=&budget=``), checks and version."""
    with _LOCK:
        plan = current_plan()
        return jsonify(_payload(plan))


@bp.get("/grids/history")
@requires("read")
def grid_history():
    """The versions of the grids, newest first: version, who, when, what (``?limit=``, at most 1000)."""
    limit = request.args.get("limit", "200")
    n = int(limit) if limit.isascii() and limit.isdigit() and len(limit) < 6 else 200
    with _LOCK:
        plan = current_plan()
    name = get_state().project.name
    return jsonify({"version": plan.version, "versions": get_store_history(name, limit=max(1, min(n, 1000)))})


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


def _projected_line(plan: GridPlan, op: dict) -> dict:
    """A drawn line (``[[lon, lat], ...]`` WGS84, as the page sends it) in the plan's metres."""
    line = op.get("line")
    if line is None:
        return op
    try:
        xy = np.asarray(line, dtype=float)
    except (TypeError, ValueError):
        return op  # the edit refuses it, saying what a line is
    if xy.ndim != 2 or xy.shape[1:] != (2,) or not np.isfinite(xy).all():
        return op
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise GridEditError("line 应为经纬度 [经度, 纬度] (a line is [lon, lat] points, WGS84)")
    metres = gpd.GeoSeries(shapely.points(xy), crs=WGS84).to_crs(plan.units.crs)
    return {**op, "line": np.column_stack([metres.x, metres.y]).tolist()}


def _unit_at(plan: GridPlan, op: dict) -> dict:
    """``{"op": "move", "at": [lon, lat], "to": code}`` (a block clicked on the map) as the block's unit id."""
    if op.get("op") != "move" or "at" not in op:
        return op
    at = op["at"]
    ok = (
        isinstance(at, list)
        and len(at) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in at)
    )
    if not ok or not (abs(at[0]) <= 180 and abs(at[1]) <= 90):
        raise GridEditError("at 应为一个点的经纬度 [经度, 纬度] (at is one [lon, lat] point, WGS84)")
    point = gpd.GeoSeries(shapely.points([at]), crs=WGS84).to_crs(plan.units.crs).iloc[0]
    hits = plan.units.sindex.query(point, predicate="intersects")
    if hits.size == 0:
        raise GridEditError("该点不在任何街区（单元）内 (there is no block at this point)")
    rest = {k: v for k, v in op.items() if k != "at"}
    return {**rest, "unit": str(plan.units["unit_id"].iloc[int(hits.min())])}


def _version_of(data: dict):
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise GridEditError(f"version 应为整数，收到 {version!r} (version must be an integer)")
    return version


@bp.post("/grids/edit")
@requires("edit_plan")
def grid_edit():
    """One edit (move / split / merge / set / boundary / renumber, with ``version``): the grids
    after it and the checks.  A line (split, boundary) is ``[[lon, lat], ...]``."""
    op = json_body()
    with _LOCK:
        plan = current_plan()
        name = get_state().project.name
        started = time.perf_counter()
        try:
            result = edit(plan, _unit_at(plan, _projected_line(plan, op)))
        except GridEditError as exc:
            if "version" in str(exc) and "stale" in str(exc):
                return _conflict(name, exc, op.get("version"))
            raise
        return _commit(name, plan, result.plan, op, audit="grid.edit", started=started, issues=result.issues)


def _at_version(
    version: int | None,
    op: dict,
    audit: str,
    change: Callable[[GridPlan, str], GridPlan],
    *,
    key: Callable[[str], str] | None = None,
    current: Callable[[], GridPlan] | None = None,
    payload: Callable[..., dict] | None = None,
):
    """Under the grids' lock: the 409 when the page's ``version`` is not the plan's, else the plan
    ``change(plan, store key)`` makes, committed as ``op``.  ``key`` (project name -> store key),
    ``current`` and ``payload`` choose another plan than the grids (:mod:`webapp.micro`)."""
    with _LOCK:
        plan = (current or current_plan)()
        name = (key or str)(get_state().project.name)
        started = time.perf_counter()
        if version is not None and version != plan.version:
            return _conflict(name, GridEditError(_stale_text(plan.version, version)), version, current=current)
        level = {"current": current, "payload": payload}
        return _commit(name, plan, change(plan, name), op, audit=audit, started=started, **level)


def _step(kind: str, audit: str = "grid", **level):
    """Undo or redo (``level``: :func:`_at_version`'s ``key``, ``current``, ``payload``)."""
    data = json_body()
    steps = data.get("steps", 1)
    step = undo if kind == "undo" else redo
    return _at_version(
        _version_of(data),
        {"op": kind, "steps": steps},
        f"{audit}.{kind}",
        lambda plan, _name: step(plan, steps),
        **level,
    )


def _stale_text(current: int, version: int) -> str:
    return (
        f"网格方案已被修改（当前第 {current} 版，操作基于第 {version} 版），请刷新后重做 "
        f"(stale: the grids are at version {current}, the request was made on {version})"
    )


@bp.post("/grids/undo")
@requires("edit_plan")
def grid_undo():
    """Step back ``steps`` edits (default 1; ``version`` guards as an edit's does)."""
    return _step("undo")


@bp.post("/grids/redo")
@requires("edit_plan")
def grid_redo():
    """Do ``steps`` undone edits again (default 1)."""
    return _step("redo")


@bp.post("/grids/restore")
@requires("edit_plan")
def grid_restore():
    """Bring back the grids of an earlier version ``to`` as a new version (``version``: the one on screen)."""
    data = json_body()
    to = data.get("to")
    if isinstance(to, bool) or not isinstance(to, int):
        raise GridEditError(f"to 应为要恢复的版本号（整数），收到 {to!r} (to: the version to restore, an integer)")

    def restored(plan: GridPlan, name: str) -> GridPlan:
        snap = unpack_json(store().grid_snapshot(name, to))
        return restore(plan, np.asarray(snap["grid"], dtype=object), snap["fields"], to_version=to)

    return _at_version(_version_of(data), {"op": "restore", "to": to}, "grid.restore", restored)
