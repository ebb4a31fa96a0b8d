"""The JSON API: layers as GeoJSON, candidate evaluation, drawn-area comparison, plans.

Every view: parse and validate the request (strict JSON, checked geometry), one call
into the precomputed analysis or the plan store, JSON out.  GeoJSON responses use
``application/geo+json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, Response, abort, current_app, jsonify, request

from geo import settings
from geo.access.compare import compare_service_area
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.io.drawn import BadNumberError, parse_geometry, parse_json
from geo.io.export import geojson_text
from geo.io.uploads import read_upload
from geo.maps.viewport import coordinate_digits
from geo.network.systems import locate_table
from geo.workflows import (
    BUNDLED_COUNTIES,
    LEDGER_PARTS,
    ledger_preview,
    read_project_ledger,
    safe_file_name,
    write_project,
)
from webapp.auth import check_job, job_user, plan_author, public, requires
from webapp.errors import BadRequestError
from webapp.limits import job_owner
from webapp.mapview import safe
from webapp.plans import FEATURE_KINDS, Feature, PlanStore
from webapp.plans.base import MAX_NAME_CHARS, plan_id_of
from webapp.plans.diff import diff_plans
from webapp.security import csrf_token
from webapp.state import (
    Scene,
    coverage_summary,
    evaluate_plan,
    get_state,
    plan_rings,
    replace_ledger,
    walking_time_points,
)

bp = Blueprint("api", __name__)

GEOJSON = "application/geo+json"
MAX_PROPERTY_CHARS = 2_000


def store() -> PlanStore:
    """The app's plan store."""
    return current_app.extensions["linli.store"]


def json_body() -> dict:
    """The request's JSON object, parsed strictly (docs/bad-inputs.md G1-G3)."""
    if not request.mimetype or request.mimetype != "application/json":
        abort(415, description="请求应为 application/json (expected a JSON body)")
    try:
        data = parse_json(request.get_data(cache=False))
    except BadNumberError:
        raise  # well-formed JSON holding a number no analysis can take: 422
    except InputDataError as exc:
        raise BadRequestError(str(exc)) from exc
    if not isinstance(data, dict):
        raise BadRequestError("请求 JSON 应为对象 (the JSON body must be an object)")
    return data


def rounded(geoms: np.ndarray) -> np.ndarray:
    """WGS84 geometries with coordinates on a 1e-7 degree grid (about 1 cm) for a shorter GeoJSON.

    Only the coordinates are rounded (``pointwise``), which is all a map needs: snapping with a
    valid output costs twenty times more (a candidate's rings: 3 ms against 0.15 ms) and can
    fail on a valid polygon (a hole that no longer fits its shell).
    """
    return shapely.set_precision(geoms, 1e-7, mode="pointwise")


def json_with_layers(body: dict, **layers: gpd.GeoDataFrame) -> Response:
    """``body`` as JSON with each of ``layers`` (WGS84) as a GeoJSON member, rounded.

    The layers are written by :func:`geo.io.export.geojson_text` (GEOS writes the
    coordinates) and spliced in as text: parsing GeoPandas' GeoJSON back only to encode it
    again cost a candidate's answer three quarters of its serialisation.
    """
    members = [
        f"{json.dumps(name)}:{geojson_text(frame.assign(geometry=rounded(frame.geometry.to_numpy())))}"
        for name, frame in layers.items()
    ]
    rest = json.dumps(body, ensure_ascii=False)
    text = "{" + ",".join(members) + ("," + rest[1:] if rest != "{}" else "}")
    return Response(text, mimetype="application/json")


def geojson_response(frame: gpd.GeoDataFrame) -> Response:
    """A GeoDataFrame as GeoJSON (WGS84) with the GeoJSON media type."""
    frame = frame.to_crs(WGS84)
    frame = frame.assign(geometry=rounded(frame.geometry.to_numpy()))
    return Response(geojson_text(frame), mimetype=GEOJSON)


def _function(name: str | None, *, groups: bool = False) -> str:
    """A function of the analysis; with ``groups`` also a facility group of its own (学有所教, h-rural)."""
    function = name or "medical"
    known = {**get_state().functions, **(get_state().facility_groups if groups else {})}
    if function not in known:
        allowed = ", ".join(known)
        raise InputDataError(f"功能 {function!r} 不在分析的功能中 (unknown function; allowed: {allowed})")
    return function


def _minutes(data: dict, default: tuple[float, ...]) -> tuple[float, ...]:
    value = data.get("minutes")
    if value is None:
        return default
    if not isinstance(value, list) or not value or len(value) > 6:
        raise InputDataError("minutes 应为 1-6 个分钟数的数组 (minutes must be a list of 1-6 numbers)")
    out = []
    for m in value:
        if isinstance(m, bool) or not isinstance(m, int | float) or not (0 < m <= 60) or not math.isfinite(m):
            raise InputDataError(f"minutes 中的 {m!r} 无效，应在 (0, 60] 分钟 (each budget must be in (0, 60])")
        out.append(float(m))
    return tuple(sorted(set(out)))


# ------------------------------------------------------------------------ reading


@bp.get("/csrf")
@public
def csrf():
    """The session's CSRF token, for API clients."""
    return jsonify({"token": csrf_token()})


@bp.get("/project")
@requires("read")
def project():
    """The project, its assumptions and the coverage summary."""
    state = get_state()
    summary = coverage_summary(state)
    return jsonify(
        {
            "name": state.project.name,
            "crs": state.project.network.crs.to_string(),
            "extent_wgs84": state.extent_wgs84,
            "functions": dict(state.functions),
            "assumptions": state.assumptions(),
            "coverage": summary[
                ["group", "name_zh", "basis", "budget_min", "facilities", "population", "covered", "covered_pct"]
            ]
            .round(2)
            .to_dict(orient="records"),
            "units": sorted(state.project.units),
            "load_s": round(state.load_s, 2),
        }
    )


@bp.get("/layers/<name>")
@requires("read")
def layer(name: str):
    """A layer as GeoJSON: boundary, facilities, roads, areas, service_areas, times, gaps, units-<level>.

    The layers do not change while the app runs: each is serialised once and kept.
    """
    state = get_state()
    function = _function(request.args.get("function"))
    key = ("layer", name, function)
    with state.lock:
        body = state.cache.get(key)
    if body is None:
        body = _layer(state, name, function).get_data()
        with state.lock:
            state.cache[key] = body
    return Response(body, mimetype=GEOJSON)


def _scene(source: Mapping) -> Scene:
    """The scene a request asks for: ``profile`` (walk / elderly / bike / ebike) and ``budget``
    (minutes), each defaulting to the project's."""
    return get_state().scene(source.get("profile"), source.get("budget"))


@bp.get("/summary")
@requires("read")
def summary():
    """The panel's figures in a scene (``?profile=&budget=``): residents covered per function
    and the assumptions they rest on; ``&weight=`` counts a demand column instead of residents
    (the age or special groups the project's demand carries, :func:`webapp.state.weight_columns`)."""
    state = get_state()
    scene = _scene(request.args)
    weight = request.args.get("weight") or None
    table = coverage_summary(state, scene, weight)
    rows = table[["group", "name_zh", "basis", "budget_min", "facilities", "population", "covered", "covered_pct"]]
    return jsonify(
        {
            "profile": scene.profile,
            "budget_min": scene.budget_min,
            "weight": weight,
            "assumptions": state.assumptions(scene),
            "coverage": json.loads(rows.round(2).to_json(orient="records")),
        }
    )


@bp.get("/view/<name>")
@requires("read")
def view(name: str):
    """A map layer in the browser's window: ``?bbox=west,south,east,north&zoom=Z&function=F`` -> GeoJSON.

    What the page draws as the planner pans and zooms (streets, buildings, service areas,
    facilities, walking times, gap cells), never the whole county; coordinates to a tenth of a
    pixel.  ``&profile=P&budget=M``: the service areas, walking times and gaps of that scene.
    """
    state = get_state()
    function = _function(request.args.get("function"), groups=name == "facilities")
    scene = _scene(request.args)
    bbox = request.args.get("bbox", "").split(",")
    if len(bbox) != 4:
        raise InputDataError("视窗 bbox 应为 西,南,东,北 四个数 (bbox=w,s,e,n)")
    zoom = request.args.get("zoom", "")
    frame = state.view(name, function, bbox, zoom, scene)
    digits = coordinate_digits(int(float(zoom)))
    # Plain rounding (a planner's window is redrawn, not analysed: no topology to keep).
    frame = frame.assign(geometry=shapely.transform(frame.geometry.to_numpy(), lambda c: np.round(c, digits)))
    response = Response(geojson_text(frame), mimetype=GEOJSON)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _layer(state, name: str, function: str) -> Response:
    if name == "boundary":
        geom = state.study_area_wgs84
        return geojson_response(gpd.GeoDataFrame({"name": [state.project.name]}, geometry=[geom], crs=WGS84))
    if name == "facilities":
        fac = state.acc.facilities
        cols = [c for c in ("facility_id", "name", "function", "function_zh", "type", "type_zh", "source") if c in fac]
        return geojson_response(fac[[*cols, "geometry"]])
    if name == "roads":
        return geojson_response(state.roads)
    if name == "areas":
        return geojson_response(state.areas)
    if name == "service_areas":
        areas = state.function_areas(function)
        if areas is None:
            return geojson_response(gpd.GeoDataFrame({"minutes": []}, geometry=[], crs=WGS84))
        return geojson_response(areas)
    if name == "times":
        return geojson_response(walking_time_points(state, function))
    if name == "gaps":
        return geojson_response(state.gaps[function])
    if name.startswith("units-") and name.removeprefix("units-") in state.project.units:
        return geojson_response(state.project.units[name.removeprefix("units-")])
    raise InputDataError(f"没有图层 {name!r} (unknown layer)")


# ---------------------------------------------------------------------- analysis


@bp.post("/evaluate")
@requires("read")
def evaluate():
    """Service areas and newly covered residents of one candidate center."""
    start = time.perf_counter()
    state = get_state()
    data = json_body()
    drawn = parse_geometry(data.get("geometry"), expected="point", study_area=state.study_area_wgs84)
    scene = _scene(data)
    minutes = _minutes(data, state.bands(scene)) if "minutes" in data else None
    result = state.evaluate_candidate(drawn.geometry, minutes, scene)
    body = {
        "snap_dist_m": result["snap_dist_m"],
        "delta": result["delta"],
        "assumption": _speed_note(scene),
        "profile": scene.profile,
        "budget_min": scene.budget_min,
        "server_ms": round((time.perf_counter() - start) * 1000, 1),
    }
    return json_with_layers(body, rings=result["rings"])


def _speed_note(scene: Scene) -> str:
    """What a candidate's figures assume, e.g. ``步行 4 km/h, 15 分钟``."""
    profile = settings.get_profile(scene.profile)
    return f"{profile.label_zh} {profile.speed_kmh:g} km/h, {scene.budget_min:g} 分钟"


#: Most candidate sites of a plan evaluated together in one request.
MAX_PLAN_SITES = 500


def _sites(data: dict, state, too_many: str, most: int) -> list:
    """The candidate points of a request (``{"sites": [GeoJSON Point, ...]}``, WGS84), each checked."""
    raw = data.get("sites")
    if not isinstance(raw, list) or not raw:
        raise InputDataError("sites 应为非空的点列表 (sites must be a non-empty list of points)")
    if len(raw) > most:
        raise InputDataError(too_many)
    return [parse_geometry(g, expected="point", study_area=state.study_area_wgs84).geometry for g in raw]


@bp.post("/evaluate-plan")
@requires("read")
def evaluate_plan_sites():
    """A plan's candidate sites evaluated together (``{"sites": [GeoJSON Point, ...]}``)."""
    start = time.perf_counter()
    state = get_state()
    data = json_body()
    points = _sites(data, state, f"候选点过多：最多 {MAX_PLAN_SITES} 个 (too many sites)", MAX_PLAN_SITES)
    scene = _scene(data)
    body = evaluate_plan(state, points, scene)
    body["assumption"] = _speed_note(scene)
    body["profile"], body["budget_min"] = scene.profile, scene.budget_min
    body["server_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return jsonify(body)


#: Most candidates whose rings are drawn in one request.
MAX_RING_SITES = 50


@bp.post("/candidate-rings")
@requires("read")
def candidate_rings_of_sites():
    """Each of a plan's candidates' own rings at once (``{"sites": [Point...], "profile", "budget"}``),
    in the scene's bands: what the page redraws when the travel profile or the budget changes."""
    start = time.perf_counter()
    state = get_state()
    data = json_body()
    too_many = f"一次最多绘制 {MAX_RING_SITES} 个候选点的服务范围 (too many sites)"
    points = _sites(data, state, too_many, MAX_RING_SITES)
    scene = _scene(data)
    rings = plan_rings(state, points, scene)
    body = {"assumption": _speed_note(scene), "server_ms": round((time.perf_counter() - start) * 1000, 1)}
    return json_with_layers(body, rings=rings)


@bp.post("/compare")
@requires("read")
def compare():
    """A drawn service area against the computed one of its center."""
    state = get_state()
    data = json_body()
    drawn = parse_geometry(
        data.get("area"), expected="polygon", study_area=state.study_area_wgs84, repair=bool(data.get("repair"))
    )
    center = None
    if data.get("center") is not None:
        center = parse_geometry(data["center"], expected="point", study_area=state.study_area_wgs84).geometry
    # The page's scene: its travel profile, and its budget unless the request names minutes.
    scene = _scene(data)
    minutes = _minutes({"minutes": [data.get("minutes", scene.budget_min)]}, state.minutes)[0]
    analysis = state.analysis_of(scene)
    crs = state.project.network.crs
    drawn_m = gpd.GeoSeries([drawn.geometry], crs=WGS84).to_crs(crs).iloc[0]
    center_m = gpd.GeoSeries([center], crs=WGS84).to_crs(crs).iloc[0] if center is not None else None
    result = compare_service_area(
        analysis.graph, analysis.accessibility.demand, drawn_m, center=center_m, minutes=minutes
    )
    shapes = {}
    for key in ("computed", "drawn_not_reachable", "reachable_not_drawn"):
        geom = gpd.GeoSeries([result.pop(key)], crs=crs).to_crs(WGS84).iloc[0]
        shapes[key] = shapely.geometry.mapping(geom) if not geom.is_empty else None
    result = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}
    return jsonify({**result, "shapes": shapes, "repaired": drawn.repaired, "note": drawn.note})


# -------------------------------------------------------------------------- plans


def _features(raw: object, study_area) -> list[Feature]:
    if not isinstance(raw, list):
        raise InputDataError("features 应为数组 (features must be an array)")
    out = []
    for k, item in enumerate(raw):
        where = f"第 {k + 1} 个图形 (feature {k + 1})"
        if not isinstance(item, dict):
            raise InputDataError(f"{where} 应为对象 (must be an object)")
        kind = item.get("kind")
        if kind not in FEATURE_KINDS:
            raise InputDataError(f"{where} 的类别 kind={kind!r} 无效，可选: {', '.join(FEATURE_KINDS)}")
        expected = "point" if kind == "candidate" else "polygon"
        try:
            geom = parse_geometry(item.get("geometry"), expected=expected, study_area=study_area).geometry
        except InputDataError as exc:
            raise type(exc)(f"{where}: {exc}") from exc
        name = item.get("name", "")
        if not isinstance(name, str) or len(name) > 200:
            raise InputDataError(f"{where} 的名称应为 200 字以内的文字 (name must be a short string)")
        props = item.get("properties", {}) or {}
        if not isinstance(props, dict) or len(props) > 50:
            raise InputDataError(f"{where} 的属性应为对象 (properties must be an object)")
        for key, value in props.items():
            if len(key) > 100 or not (value is None or isinstance(value, str | int | float | bool)):
                raise InputDataError(f"{where} 的属性 {safe(key)[:40]} 应为文字或数字 (scalar properties only)")
            if isinstance(value, str) and len(value) > MAX_PROPERTY_CHARS:
                raise InputDataError(f"{where} 的属性 {safe(key)[:40]} 过长 (property too long)")
            if isinstance(value, float) and not math.isfinite(value):
                raise InputDataError(f"{where} 的属性 {safe(key)[:40]} 不是有限数 (not a finite number)")
        out.append(Feature(kind=kind, name=name, geometry=shapely.geometry.mapping(geom), properties=props))
    return out


@bp.get("/plans")
@requires("read")
def list_plans():
    """Saved plans (``?deleted=1``: the recycle bin)."""
    return jsonify({"plans": store().list_plans(deleted=request.args.get("deleted") == "1")})


@bp.post("/plans")
@requires("create_plan", audit="plan.create")
def create_plan():
    """A new plan: ``{"name": ..., "notes": ...}``."""
    data = json_body()
    features = _features(data["features"], get_state().study_area_wgs84) if "features" in data else []
    plan = store().create(
        data.get("name", ""), data.get("notes", "") or "", features=features, author=plan_author()
    )  # all or nothing
    return jsonify(plan), 201


@bp.get("/plans/<int:plan_id>")
@requires("read")
def get_plan(plan_id: int):
    """One plan with its features; the ETag is its version."""
    plan = store().get(plan_id)
    response = jsonify(plan)
    response.headers["ETag"] = f'"{plan["version"]}"'
    return response


@bp.put("/plans/<int:plan_id>")
@requires("edit_plan", audit="plan.save")
def save_plan(plan_id: int):
    """Save ``{"version": v, "name"?, "notes"?, "features"?}``; 409 when ``v`` is stale."""
    data = json_body()
    version = data.get("version")
    if version is None and request.headers.get("If-Match"):
        version = request.headers["If-Match"].strip('"')
        version = int(version) if version.isascii() and version.isdigit() and len(version) <= 18 else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputDataError("保存时必须给出打开时的版本号 version (the version the plan was loaded at is required)")
    features = _features(data["features"], get_state().study_area_wgs84) if "features" in data else None
    plan = store().save(
        plan_id,
        version=version,
        name=data.get("name"),
        notes=data.get("notes"),
        features=features,
        author=plan_author(),
    )
    response = jsonify(plan)
    response.headers["ETag"] = f'"{plan["version"]}"'
    return response


@bp.delete("/plans/<int:plan_id>")
@requires("edit_plan", audit="plan.delete")
def delete_plan(plan_id: int):
    """Move a plan to the recycle bin (``?version=`` guards against deleting a newer version)."""
    version = request.args.get("version")
    if version is not None and not (version.isascii() and version.isdigit() and len(version) <= 18):
        raise InputDataError(
            f"删除时的版本号 version={safe(version)[:20]!r} 应为整数；不带 version 则不核对版本 "
            "(version must be an integer, or left out to delete without the check)"
        )
    return jsonify(store().delete(plan_id, version=None if version is None else int(version)))


@bp.post("/plans/<int:plan_id>/restore")
@requires("edit_plan", audit="plan.restore")
def restore_plan(plan_id: int):
    """Undo a delete."""
    return jsonify(store().restore(plan_id, author=plan_author()))


@bp.post("/plans/<int:plan_id>/diff")
@requires("read")
def diff_plan(plan_id: int):
    """What differs between the saved plan and ``{"name", "notes", "features"}`` on a planner's screen.

    Nothing is written: the page asks this after a stale save (409) to show the planner what
    the newer version changed.  Features are checked as a save checks them.
    """
    data = json_body()
    name, notes = data.get("name", ""), data.get("notes", "")
    if not isinstance(name, str) or not isinstance(notes, str):
        raise InputDataError("name 和 notes 应为文字 (name and notes must be strings)")
    mine = _features(data.get("features"), get_state().study_area_wgs84)
    theirs = store().get(plan_id)
    diff = diff_plans(theirs, name, notes, [{"kind": f.kind, "name": f.name, "geometry": f.geometry} for f in mine])
    fields = ("id", "name", "notes", "version", "updated_at")
    return jsonify({"theirs": {k: theirs[k] for k in fields}, **dataclasses.asdict(diff)})


@bp.post("/jobs")
@requires("run_jobs", audit="job.submit")
def submit_job():
    """Start a long job: ``{"kind": "placement", "params": {...}}`` -> 202.

    Params: ``model``, ``new``, ``minutes``, ``method``, ``profile`` (travel profile, default the
    project's), ``function`` (whose existing
    facilities are the baseline: kept open, their residents not counted again); ``plan``
    (a saved plan's id) and ``candidates`` (network / plan / both; ``both`` when a plan is
    given) choose the candidate sites.  Defaults: :data:`webapp.state.PLACEMENT_DEFAULTS`.
    h-centreweb (issue 21): the plan's centres count as existing facilities, site by site with their
    functions: ``centres`` ``open`` (default: those 已建成), ``phase`` (with ``centres_phase``: those
    of that phase or earlier) or ``none``; ``weight`` counts a demand column (高龄老人 ...) instead
    of residents, as ``/api/summary?weight=``.
    """
    from geo.placement.centers import MODELS
    from webapp.state import PLACEMENT_DEFAULTS

    data = json_body()
    kind = data.get("kind")
    raw = data.get("params") or {}
    if kind != "placement" or not isinstance(raw, dict):
        raise InputDataError("任务类型应为 placement，参数为对象 (kind must be placement, params an object)")
    model = raw.get("model", PLACEMENT_DEFAULTS["model"])
    if model not in MODELS:
        raise InputDataError(f"模型 {model!r} 无效，可选: {', '.join(MODELS)} (unknown model)")
    new = raw.get("new", PLACEMENT_DEFAULTS["new"])
    if isinstance(new, bool) or not isinstance(new, int) or not 1 <= new <= 50:
        raise InputDataError("新中心数 new 应为 1-50 的整数 (new must be an integer 1-50)")
    method = raw.get("method", PLACEMENT_DEFAULTS["method"])
    if method not in ("exact", "heuristic"):
        raise InputDataError("method 应为 exact 或 heuristic")
    default_min = PLACEMENT_DEFAULTS["minutes"]
    minutes = _minutes({"minutes": [raw.get("minutes", default_min)]}, (default_min,))[0]
    features = _plan_candidates(raw.get("plan"))
    source, sites = _candidate_sites(raw, features)
    centres = _centre_params(raw, features)  # h-centreweb (issue 21)
    params = {
        **PLACEMENT_DEFAULTS,
        "model": model,
        "new": new,
        "minutes": minutes,
        "method": method,
        "function": _function(raw.get("function")),
        "profile": get_state().scene(raw.get("profile")).profile,
        "candidates": source,
        "sites": sites,
        **centres,
    }
    job = current_app.extensions["linli.jobs"].submit(kind, params, owner=job_owner(), user=job_user())
    return jsonify(job), 202


#: Where a placement job takes its candidate sites: sampled network nodes, the
#: candidate points of a saved plan (drawn in the browser or uploaded), or both.
CANDIDATE_SOURCES = ("network", "plan", "both")


def _plan_candidates(plan_id: object) -> list[dict] | None:
    """A saved plan's candidates (kind, name, geometry, properties), read once; ``None`` without a plan."""
    if plan_id is None:
        return None
    features = store().get(plan_id)["features"]  # type: ignore[arg-type]  # the store refuses a bad id
    return [
        {"kind": f["kind"], "name": f.get("name", ""), "geometry": f["geometry"], "properties": f.get("properties")}
        for f in features
        if f["kind"] == "candidate" and f["geometry"].get("type") == "Point"
    ]


def _candidate_sites(raw: dict, features: list[dict] | None) -> tuple[str, list[list[float]]]:
    """The candidate source and, for a plan, its candidate points as [lon, lat] (WGS84)."""
    plan_id = raw.get("plan")
    source = raw.get("candidates", "network" if plan_id is None else "both")
    if source not in CANDIDATE_SOURCES:
        raise InputDataError(
            f"候选点来源 candidates={source!r} 无效，可选: {', '.join(CANDIDATE_SOURCES)} (unknown candidate source)"
        )
    if source == "network":
        return source, []
    if plan_id is None or features is None:
        raise InputDataError("候选点来自方案时须给出方案编号 plan (candidates from a plan need its id)")
    # The saved plan's geometries were checked when saved.
    sites = [[float(v) for v in f["geometry"]["coordinates"][:2]] for f in features]
    if not sites:
        raise InputDataError("该方案中没有候选点，请先在地图上放置或上传候选点 (the plan has no candidate sites)")
    return source, sites


# --- h-centreweb (issue 21): the placement counts the plan's centres and takes the page's weight.
def _centre_params(raw: dict, features: list[dict] | None) -> dict:
    """``centres`` (open / phase / none; default open), ``centres_phase`` (1-99 with phase), the
    saved plan's candidates they come from (checked as a programme now: a 422 at once, not a
    failed job), and ``weight`` (one the project's demand offers, :func:`webapp.state.weight_columns`)."""
    from geo.workflows.programme import programme_from_features
    from webapp.state import CENTRE_MODES, weight_columns

    mode = raw.get("centres", "open")
    if mode not in CENTRE_MODES:
        raise InputDataError(
            f"centres={str(mode)[:20]!r} 无效，可选: {', '.join(CENTRE_MODES)} "
            "(count the plan's centres: open, up to a phase, or none)"
        )
    phase = raw.get("centres_phase")
    if mode == "phase":
        if isinstance(phase, bool) or not isinstance(phase, int) or not 1 <= phase <= 99:
            raise InputDataError("期次 centres_phase 应为 1-99 的整数 (centres_phase must be an integer 1-99)")
    else:
        phase = None
    counted = features if mode != "none" and features else []
    if counted:
        programme_from_features(counted, get_state().functions)
    weight = raw.get("weight") or None
    offered = weight_columns(get_state())
    if weight is not None and weight not in offered:
        raise InputDataError(
            f"权重 {str(weight)[:30]!r} 不可用；本项目可选: {'、'.join(offered) or '无'} (unknown weight)"
        )
    plan = plan_id_of(raw["plan"]) if features is not None else None
    from webapp.scenecheck import town_speed_of  # h-rural2 (issue 21): the town circle's speed, a 422 if bad

    town_speed = town_speed_of(raw.get("town_speed"))
    return {
        "centres": mode,
        "centres_phase": phase,
        "centre_features": counted,
        "plan": plan,
        "weight": weight,
        "town_speed": town_speed,
    }


@bp.get("/jobs/<int:job_id>")
@requires("read")
def job_status(job_id: int):
    """A job's status (queued / running / done / failed / cancelled), its message and result."""
    check_job(job_id)  # h-acct: its submitter or an administrator (403)
    return jsonify(current_app.extensions["linli.jobs"].get(job_id))


@bp.post("/jobs/<int:job_id>/cancel")
@requires("run_jobs", audit="job.cancel")
def cancel_job(job_id: int):
    """Cancel a job: a queued one never starts, a running one stops at its next progress report.

    Answers the job's record (``cancelled``, or ``running`` until the job reaches its next
    report; a finished job is left as it is); an unknown job is 404, another user's 403.
    """
    check_job(job_id)  # h-acct: its submitter or an administrator
    return jsonify(current_app.extensions["linli.jobs"].cancel(job_id))


UPLOAD_KINDS = {"town": "polygon", "area": "polygon", "grid": "polygon", "candidate": "point"}


@bp.post("/plans/<int:plan_id>/upload")
@requires("edit_plan", audit="plan.upload")
def upload_to_plan(plan_id: int):
    """Add the features of an uploaded file (town polygons, areas, candidate sites) to a plan.

    Multipart form: ``file``, ``kind`` (town / area / grid / candidate), ``version``
    (the plan's version, 409 when stale), ``system`` (wgs84 / gcj02 / bd09 / cgcs2000 for
    CSV/XLSX/XLS coordinates, or auto: judged against the project's streets).  Every rule of
    the upload loader applies (docs/bad-inputs.md U1-U16); the file is read from a private
    temporary folder that is always removed.
    """
    kind = request.form.get("kind", "town")
    if kind not in UPLOAD_KINDS:
        raise InputDataError(f"kind={kind!r} 无效，可选: {', '.join(UPLOAD_KINDS)} (unknown kind)")
    version = request.form.get("version", "")
    if not (version.isascii() and version.isdigit() and len(version) <= 18):
        raise InputDataError("上传时必须给出方案的版本号 version (the plan's version is required)")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputDataError("没有上传文件 (no file uploaded)")
    state = get_state()
    plan = store().get(plan_id)
    with tempfile.TemporaryDirectory(prefix="linli-upload-") as tmp:
        # Stored under a generated name; the original only as metadata (docs/bad-inputs.md U2).
        path = Path(tmp) / "upload.bin"
        upload.save(path)
        system = request.form.get("system", "wgs84") or "wgs84"
        frame = read_upload(
            path,
            original_name=upload.filename,
            expected=UPLOAD_KINDS[kind],
            system="wgs84" if system == "auto" else system,
            max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            study_area=state.study_area_wgs84,
        )
        if system == "auto":  # a table's degrees judged against the project's streets
            frame = locate_table(frame, state.project.network, name=upload.filename)
    if len(frame) > 500:
        raise InputDataError(f"文件有 {len(frame)} 个要素，一次最多上传 500 个 (too many features in one upload)")
    name_col = next((c for c in ("name", "名称", "NAME", "mc", "MC") if c in frame.columns), None)
    features = [
        {"kind": f["kind"], "name": f["name"], "geometry": f["geometry"], "properties": f["properties"]}
        for f in plan["features"]
    ]
    for k, geom in enumerate(frame.geometry):
        where = f"{safe(upload.filename)[:60]} 第 {k + 1} 个要素 (feature {k + 1})"
        parts = shapely.get_parts(geom)
        if UPLOAD_KINDS[kind] == "point" and len(parts) != 1:
            # Never its first point only: a MultiPoint is several sites, which the planner splits knowingly.
            raise InputDataError(
                f"{where} 是含 {len(parts)} 个点的多点 (MultiPoint)；候选点应为单点，"
                "请在 GIS 软件中拆分为单点（QGIS: 多部件转单部件）后重新上传 "
                f"(a MultiPoint of {len(parts)} points: split it into single points)"
            )
        geom = parts[0] if UPLOAD_KINDS[kind] == "point" else shapely.union_all(parts)
        value = frame[name_col].iloc[k] if name_col else None
        name = f"{upload.filename} #{k + 1}" if value is None or pd.isna(value) else str(value)
        if len(name) > MAX_NAME_CHARS or "\x00" in name:
            what = "含 NUL 字符" if "\x00" in name else f"有 {len(name)} 个字符，超过 {MAX_NAME_CHARS} 个"
            raise InputDataError(
                f"{where} 的名称{what}；请改短或改正后重新上传，名称不会被截断 "
                f"(a name over {MAX_NAME_CHARS} characters or with NUL is refused, never cut)"
            )
        features.append(
            {
                "kind": kind,
                "name": name,
                "geometry": shapely.geometry.mapping(geom),
                "properties": {"source_file": upload.filename[:200]},
            }
        )
    features_in = _features(features, state.study_area_wgs84)
    saved = store().save(plan_id, version=int(version), features=features_in, author=plan_author())
    return jsonify({**saved, "added": len(frame), "source_crs": frame.attrs.get("source_crs")})


# -- a county's ledgers (issue 16): preview, then put into the project -------------------------------


def _json_field(name: str) -> dict:
    """A small JSON object sent as a multipart form field (column choices, category map)."""
    raw = request.form.get(name, "") or "{}"
    value = parse_json(raw.encode("utf-8"))
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequestError(f"{name} 应为 {{字符串: 字符串}} 的 JSON 对象 ({name} must be a JSON object of strings)")
    return {k[:100]: v[:200] for k, v in list(value.items())[:200]}


def _read_ledger_upload(state):
    """The uploaded ledger read against the project's streets (the same reader as the scripts)."""
    part = request.form.get("part", "facilities")
    if part not in LEDGER_PARTS:
        raise InputDataError(f"part={part!r} 无效，可选: {', '.join(LEDGER_PARTS)} (unknown ledger kind)")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputDataError("没有上传文件 (no file uploaded)")
    system = request.form.get("system", "auto") or "auto"
    sheet = request.form.get("sheet") or None
    with tempfile.TemporaryDirectory(prefix="linli-ledger-") as tmp:
        path = Path(tmp) / "upload.bin"  # a generated name; the planner's only as metadata (U2)
        upload.save(path)
        frame = read_project_ledger(
            state.project,
            part,
            path,
            original_name=upload.filename,
            system=system,
            columns={k: v for k, v in _json_field("columns").items() if v},
            category_map=_json_field("categories") if part == "facilities" else None,
            sheet=sheet,
        )
    return part, frame


@bp.post("/ledgers/preview")
@requires("admin")
def preview_ledger():
    """Read a facility or compound ledger and show what would load: nothing changes.

    Multipart form: ``file``, ``part`` (facilities / compounds), ``system`` (auto / wgs84 /
    gcj02 / bd09 / an EPSG code), optional ``columns`` (JSON {field: column}), ``categories``
    (JSON {category: 服务功能}), ``sheet``.  An unclear coordinate system or unrecognised
    coordinate columns are 422 with ``ask`` = ``system`` (and the evidence) or ``columns`` (and
    the headers), so the page can ask the planner.
    """
    part, frame = _read_ledger_upload(get_state())
    return jsonify(ledger_preview(frame, part))


@bp.post("/ledgers/apply")
@requires("admin", audit="ledger.apply")
def apply_ledger_upload():
    """Read a ledger as :func:`preview_ledger` does and put it into the project; recompute the analysis."""
    part, frame = _read_ledger_upload(get_state())
    state = replace_ledger(current_app, part, frame)
    return jsonify({**ledger_preview(frame, part), "applied": True, "assumptions": state.assumptions()})


# -- a new study area from the page (issue 16) ----------------------------------------------------------

#: Form fields of a new study area's files -> (default name, suffixes accepted).
PROJECT_FILES = {
    "network": ("network.osm.pbf", (".osm.pbf", ".pbf", ".osm")),
    "boundary": ("boundary.geojson", (".geojson", ".json", ".gpkg", ".zip", ".kml")),
    "facilities": ("facilities.xlsx", (".xlsx", ".xls", ".csv", ".xlsm")),
    "compounds": ("compounds.xlsx", (".xlsx", ".xls", ".csv", ".xlsm")),
    "categories": ("categories.csv", (".csv",)),
}
#: Separators of the extra ("1+6+X") functions typed in the form.
_FUNCTION_LIST = re.compile(r"[,，、;；\n]+")


@bp.post("/projects")
@requires("admin", audit="project.build")
def create_project():
    """Build a new study area from uploaded files and open it (a background job) -> 202.

    Multipart form: ``name``; ``county`` (a bundled county code) or a ``boundary`` file, or neither;
    ``network`` (an OSM extract, ``.osm.pbf``/``.osm``); optional ``facilities`` and ``compounds``
    ledgers (their coordinate systems are detected against the streets, or ``system``); optional
    ``functions`` (names of functions beyond the six, "1+6+X", separated by 、 or commas) and a
    ``categories`` table (CSV: 类别, 服务功能, 设施类型) saying which categories serve them.  The files
    and a ``project.toml`` are kept under ``instance/projects/<id>/``; the job loads the project
    (network, ledgers, walking times) and makes it the app's project.
    """
    import secrets

    # Above the app's request cap: a county's OSM extract is large (werkzeug spools files to disk).
    request.max_content_length = current_app.config["MAX_PROJECT_UPLOAD"]
    folder = Path(current_app.instance_path) / "projects" / f"p{int(time.time())}-{secrets.token_hex(3)}"
    names: dict[str, str] = {}
    try:
        folder.mkdir(parents=True)
        for field, (default, suffixes) in PROJECT_FILES.items():
            upload = request.files.get(field)
            if upload is None or not upload.filename:
                continue
            name = safe_file_name(upload.filename, default)
            if not name.lower().endswith(suffixes):
                raise InputDataError(
                    f"{upload.filename} 的类型不符，{field} 应为 {'、'.join(suffixes)} (wrong file type for {field})"
                )
            upload.save(folder / name)
            names[field] = name
        if "network" not in names:
            raise InputDataError("请上传路网文件（OpenStreetMap .osm.pbf 或 .osm） (a street network file is required)")
        code = request.form.get("county", "")
        if code and code not in BUNDLED_COUNTIES:
            raise InputDataError(f"县 {code!r} 无效，可选: {', '.join(BUNDLED_COUNTIES)} (unknown county)")
        system = request.form.get("system", "auto")
        declared = None if system in ("", "auto") else system
        path = write_project(
            folder,
            name=request.form.get("name", ""),
            network=names["network"],
            boundary=f"county:{code}" if code else names.get("boundary", "none"),
            facilities=names.get("facilities", "osm"),
            demand=names.get("compounds", "buildings"),
            facilities_system=declared,
            demand_system=declared,
            functions=[f for f in _FUNCTION_LIST.split(request.form.get("functions", "")) if f.strip()],
            categories=names.get("categories"),
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)  # a refused study area leaves nothing behind
        raise
    job = current_app.extensions["linli.jobs"].submit(
        "project", {"path": str(path)}, owner=job_owner(), user=job_user()
    )
    return jsonify(job), 202


# -- search and go to (issue 18): a place of the project by name or code, or a coordinate -------------


@bp.get("/search")
@requires("read")
def search():
    """``?q=...&system=wgs84|gcj02`` -> ``{"results": [...], "coordinate": {...} | null}``.

    Facilities, named compounds, communities, area units (code or name) and streets of the
    project, from an index built once per loaded project; or a typed coordinate as a WGS84
    point, flagged when outside the study area.  An empty query, one over 100 characters or an
    unknown system is 400; two numbers that are no coordinate in either order are 422.
    """
    from geo.io.search import MAX_QUERY_CHARS, SEARCH_SYSTEMS, project_search_index

    query = request.args.get("q", "")
    system = request.args.get("system", "wgs84") or "wgs84"
    if not query.strip():
        raise BadRequestError("请输入要查找的名称、编码或坐标 (the query q is empty)")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequestError(f"查找内容过长，最多 {MAX_QUERY_CHARS} 字 (q is over {MAX_QUERY_CHARS} characters)")
    if system not in SEARCH_SYSTEMS:
        raise BadRequestError(f"坐标系 system={system[:20]!r} 无效，可选: {', '.join(SEARCH_SYSTEMS)} (unknown system)")
    state = get_state()
    with state.lock:
        index = state.cache.get(("search-index",))
    if index is None:
        index = project_search_index(state.project, study_area_wgs84=state.study_area_wgs84)
        with state.lock:
            state.cache[("search-index",)] = index
    return jsonify(index.search(query, system=system).to_dict())
