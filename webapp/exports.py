"""Downloads for meetings: print layouts, the standalone map, tables, a plan's layers, the summary.

Every route is a GET under ``/api/export/`` (reading only: no CSRF token needed);
each parses its query, makes one call into ``geo`` (or :mod:`webapp.standalone`),
and sends the file.  Files are built in a temporary folder that is always removed;
errors come back as JSON through :mod:`webapp.errors` (no path, no traceback).

* ``map.png`` / ``map.pdf`` — ``?map=coverage|service_areas|grids|placement&function=
  &paper=A4|A3&orientation=landscape|portrait&author=&organisation=&approval_no=``; the
  选址 map draws the page's placement job ``&job=ID`` (its sites and parameters), or without
  one a run with the panel's default parameters
* ``map.html`` — the interactive map of ``?function=`` as one offline HTML file
* ``coverage.xlsx`` / ``coverage.csv`` — coverage table (and the standard check), Chinese headers
* ``report.pdf`` — one-page summary of the coverage analysis (``?function=`` for its map)
* ``plans/<id>.gpkg`` / ``plans/<id>.zip`` (``?encoding=utf-8|gbk``) / ``plans/<id>.geojson``
  (its candidates) / ``plans/<id>.csv`` (its candidates' names and coordinates) — a saved
  plan's layers with the project's facilities and boundary; ``?crs=wgs84|cgcs2000|cgcs2000_gk|
  cgcs2000_gk_zone`` (or an EPSG code) picks the coordinate system, named in the file
* ``plans/<id>.pdf`` / ``.png`` / ``.xlsx`` — a plan's own candidates printed: the map with
  each numbered and named, and what each adds (the panel; the XLSX's sheets)
* every print takes the title block ``&organisation=&author=&reviewer=&approval_no=&date=``
  over the project's ``[print]`` section (an empty value prints a blank line)
"""

from __future__ import annotations

import dataclasses
import io
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import Blueprint, current_app, request, send_file

from geo.access.coverage_tables import coverage_table, gap_cells
from geo.errors import InputDataError
from geo.io.crs import WGS84, export_crs
from geo.io.export import (
    COVERAGE_HEADERS_ZH,
    PLAN_LAYERS_ZH,
    SHAPEFILE_ENCODINGS,
    coordinate_columns,
    plan_layers,
    write_geojson,
    write_shapefile_zip,
    write_table,
)
from geo.maps import content as maps
from geo.maps.layout import ORIENTATIONS, PAPER_MM, PRINT_FIELDS_ZH, LayoutText, print_fields, render_layout
from geo.maps.qgis_layers import write_styled_gpkg
from geo.maps.report import summary_report
from geo.workflows import check_standard, check_standard_note, is_estimate, official_table, project_map
from geo.workflows.maps import placement_result_map
from geo.workflows.outputs import LIFE_CIRCLE_CHECK_HEADERS
from geo.workflows.plan_print import plan_print
from webapp.auth import check_job, requires
from webapp.i18n import texts
from webapp.plans import PlanStore
from webapp.plans.base import author_label
from webapp.scenecheck import CHECK_STANDARDS, scene_check, speeds_of, town_speed_of
from webapp.state import PLACEMENT_DEFAULTS, get_state, run_placement

bp = Blueprint("exports", __name__)

MAX_FIELD_CHARS = 100
#: Kinds of map a button can print; grids and placement are computed on request.
WEB_MAP_KINDS = tuple(maps.MAP_KINDS)


def _choice(name: str, allowed, default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise InputDataError(f"参数 {name}={value!r} 无效，可选: {', '.join(allowed)} (invalid {name})")
    return value


def _life_circle_check(analysis) -> pd.DataFrame:
    """The life-circle check of a scene, by each unit's standard or the planner's ``?standard=``
    (and the town circle's ``?town_speed=``, h-rural2)."""

    chosen = _choice("standard", CHECK_STANDARDS, "auto")
    speeds = speeds_of(town_speed_of(request.args.get("town_speed")))
    return check_standard(analysis, standard=None if chosen == "auto" else chosen, speeds_kmh=speeds)


def _check_note(state, scene) -> str:
    """h-rural2 (issue 21): the coverage print's line naming the check standard chosen and what is 待核实."""
    from geo.access.life_circle import town_reach

    chosen = _choice("standard", CHECK_STANDARDS, "auto")
    speed = town_speed_of(request.args.get("town_speed"))
    table = scene_check(state, scene, chosen, speed)
    return check_standard_note(table, chosen=chosen, town_reach_zh=town_reach(speed_kmh=speed).note_zh)


def _field(name: str) -> str:
    value = request.args.get(name, "")
    if len(value) > MAX_FIELD_CHARS or any(ord(c) < 32 for c in value):
        raise InputDataError(f"参数 {name} 过长或含控制字符 (at most {MAX_FIELD_CHARS} printable characters)")
    return value


def _print_fields(state) -> dict:
    """The page's title block: the project's ``[print]`` fields, overridden by the request's."""
    given = {key: _field(key) for key in PRINT_FIELDS_ZH if key in request.args}
    return print_fields(state.project.print_fields, given)


def _download(data: bytes, name: str, mimetype: str):
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


def _safe_name(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "-", text).strip("-") or "linli"


def _scene(state):
    """The page's scene an export is of (``?profile=&budget=``; default the project's)."""
    return state.scene(request.args.get("profile"), request.args.get("budget"))


def _map_page(state, kind: str, function: str, fields: dict) -> tuple[maps.MapContent, LayoutText]:
    project = state.project
    scene = _scene(state)
    analysis = state.analysis_of(scene)
    acc = analysis.accessibility
    if kind == "coverage":
        content = maps.coverage_content(
            acc, function, network=project.network, boundary=project.boundary, gaps=gap_cells(acc, function)
        )
        text = maps.coverage_text(acc, function, project_name=project.name, **fields)
        text = dataclasses.replace(text, assumptions=(*text.assumptions, _check_note(state, scene)))
        return content, text
    if kind == "service_areas":
        areas = state.function_areas(function, scene)
        if areas is None:
            raise InputDataError(
                f"项目中没有{state.functions[function]}设施，无法画服务范围 (no facilities of {function})"
            )
        fac = acc.facilities
        content = maps.service_area_content(
            areas.to_crs(project.network.crs),
            fac[fac["function"] == function],
            function=function,
            network=project.network,
            boundary=project.boundary,
        )
        prof = acc.profile
        text = LayoutText(
            title=f"{state.functions[function]} 设施步行服务范围",
            subtitle=f"{project.name} — {', '.join(f'{m:g}' for m in state.bands(scene))} 分钟",
            assumptions=(f"{prof.label_zh} 步速 {prof.speed_kmh:g} km/h ({prof.source})",),
            **fields,
        )
        return content, text
    if kind == "placement":
        result, job_id = _placement_run(state, function)
        with state.lock:  # placement routes on the shared graph and street cells
            pm = placement_result_map(state.analysis, result, fields=fields, job_id=job_id)
        return pm.content, pm.text(None, None)
    with state.lock:  # grids route on the shared graph and street cells
        pm = project_map(analysis, kind, function=function, minutes=scene.budget_min, fields=fields)
    return pm.content, pm.text(None, None)


#: A job's state as the 选址 export names it when the job cannot be drawn.
JOB_STATUS_ZH = {"queued": "排队中", "running": "计算中", "failed": "失败", "cancelled": "已取消"}


def _placement_run(state, function: str) -> tuple[dict, int | None]:
    """The placement run a 选址 map draws: the page's job (``?job=ID``, done) or the panel's defaults."""
    raw = request.args.get("job")
    if raw is None:
        with state.lock:
            scene = _scene(state)
            params = {**PLACEMENT_DEFAULTS, "function": function, "profile": scene.profile, "minutes": scene.budget_min}
            return run_placement(state, params), None
    if not raw.isdigit() or len(raw) > 12:
        raise InputDataError(f"参数 job={raw[:20]!r} 应为选址任务编号 (job must be a placement job id)")
    check_job(int(raw))  # unknown: 404; another user's: 403 (h-acct)
    job = current_app.extensions["linli.jobs"].get(int(raw))
    if job["kind"] != "placement":
        raise InputDataError(f"任务 #{job['id']} 不是选址任务，无法导出选址图 (job {job['id']} is not a placement job)")
    if job["status"] != "done":
        status = JOB_STATUS_ZH.get(job["status"], job["status"])
        raise InputDataError(
            f"选址任务 #{job['id']} {status}，没有可导出的结果；请等计算完成后再导出 "
            f"(job {job['id']} is {job['status']}: nothing to export)"
        )
    return job["result"], job["id"]


@bp.get("/map.<fmt>")
@requires("read")
def map_layout(fmt: str):
    """A print layout (PNG or PDF) of a map of the current project."""
    if fmt not in ("png", "pdf", "html"):
        raise InputDataError(f"格式 {fmt!r} 无效，可选: png, pdf, html (unknown format)")
    state = get_state()
    function = _choice("function", get_state().functions, "medical")
    if fmt == "html":
        from webapp.standalone import standalone_html

        lang = _choice("lang", ("zh", "en"), "zh")
        title = f"{state.project.name} · {state.functions[function]}"
        page = standalone_html(state, function=function, texts=texts(lang), title=title)
        name = f"map_{function}_{_safe_name(state.project.name)}.html"
        return _download(page.encode("utf-8"), name, "text/html; charset=utf-8")
    kind = _choice("map", WEB_MAP_KINDS, "coverage")
    paper = _choice("paper", tuple(PAPER_MM), "A4")
    orientation = _choice("orientation", ORIENTATIONS, "landscape")
    fields = _print_fields(state)
    content, text = _map_page(state, kind, function, fields)
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        path = render_layout(content, Path(tmp) / f"map.{fmt}", text=text, paper=paper, orientation=orientation)
        data = path.read_bytes()
    name = f"{kind}_{function}_{paper}_{orientation}.{fmt}"
    return _download(data, name, "image/png" if fmt == "png" else "application/pdf")


def _coverage_sheets(state) -> dict[str, pd.DataFrame]:
    scene = _scene(state)
    analysis = state.analysis_of(scene)
    acc = analysis.accessibility
    table = coverage_table(acc)
    check = _life_circle_check(analysis)
    estimated = is_estimate(acc.demand)

    def sheet(frame: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
        return official_table(frame, tuple(headers), estimated=estimated, headers=headers)

    sheets = {
        "汇总": sheet(table[table["kind"] == "function"], COVERAGE_HEADERS_ZH),
        "达标检查": sheet(check, dict(LIFE_CIRCLE_CHECK_HEADERS)),
        "全部类型": sheet(table, COVERAGE_HEADERS_ZH),
    }
    a = state.assumptions(scene)
    rows = [
        ("出行方式", f"{a['profile_zh']} {a['speed_kmh']:g} km/h（{a['speed_source']}）"),
        ("时间阈值", f"{a['budget_min']:g} 分钟 ≈ {a['budget_m']} 米"),
        ("标准", a["standard"]),
        ("生活圈检查标准", "、".join(sorted(set(check["standard"])))),
        ("待核实", "标有“待核实”的服务半径、出行时间或条文尚未与标准原文核对，仅供参考"),
        ("人均建筑面积", f"{a['floor_area_per_resident_m2']:g} 平方米/人"),
        ("户均人口", f"{a['persons_per_household']:g} 人/户"),
        ("估算人口" if estimated else "人口", f"{a['residents']:,.0f} 人（{a['demand_points']} 个需求点）"),
        ("道路数据", "© OpenStreetMap contributors (ODbL)"),
        *(("数据来源", note) for note in state.project.source_notes),
    ]
    notes = pd.DataFrame(rows, columns=["项目", "说明"])
    return {"说明": notes, **sheets}


@bp.get("/coverage.<fmt>")
@requires("read")
def coverage_tables(fmt: str):
    """The coverage table (CSV) or all tables (XLSX: notes, summary, standard check, every type)."""
    if fmt not in ("xlsx", "csv"):
        raise InputDataError(f"格式 {fmt!r} 无效，可选: xlsx, csv (unknown format)")
    state = get_state()
    if fmt == "xlsx":
        tables = _coverage_sheets(state)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        acc = state.analysis_of(_scene(state)).accessibility
        tables = official_table(
            coverage_table(acc),
            tuple(COVERAGE_HEADERS_ZH),
            estimated=is_estimate(acc.demand),
            headers=COVERAGE_HEADERS_ZH,
        )
        mimetype = "text/csv; charset=utf-8"
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        data = write_table(tables, Path(tmp) / f"coverage.{fmt}").read_bytes()
    return _download(data, f"coverage_覆盖分析.{fmt}", mimetype)


@bp.get("/report.pdf")
@requires("read")
def report():
    """The one-page summary of the coverage analysis, with the map of ``?function=``."""
    state = get_state()
    function = _choice("function", get_state().functions, "medical")
    fields = _print_fields(state)
    project = state.project
    analysis = state.analysis_of(_scene(state))
    acc = analysis.accessibility
    content = maps.coverage_content(
        acc, function, network=project.network, boundary=project.boundary, gaps=gap_cells(acc, function)
    )
    base = maps.coverage_text(acc, function, project_name=project.name, **fields)
    check = _life_circle_check(analysis)
    # h-rural (issue 21): the check's standard, as chosen in the page's scene, on the standard's line
    chosen = "按分区城乡类型" if request.args.get("standard", "auto") == "auto" else "规划师指定"
    said = f"生活圈检查标准: {'、'.join(sorted(set(check['standard'])))}（{chosen}）"
    lines = [f"{a}；{said}" if a.startswith("标准:") else a for a in base.assumptions]
    text = LayoutText(
        title=f"覆盖分析摘要 — {project.name}",
        subtitle=f"地图: {base.title}; {base.subtitle.split('—')[-1].strip()}",
        sources=base.sources,
        assumptions=tuple(lines if lines != list(base.assumptions) else [said, *lines]),
        **fields,
    )
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        path = summary_report(
            coverage_table(acc),
            check,
            Path(tmp) / "report.pdf",
            text=text,
            content=content,
            estimated=is_estimate(acc.demand),
        )
        data = path.read_bytes()
    return _download(data, "report_覆盖分析摘要.pdf", "application/pdf")


def _store() -> PlanStore:
    return current_app.extensions["linli.store"]


#: A saved plan's export formats: its layers (data) and its candidates printed (print).
PLAN_DATA_FORMATS = ("gpkg", "zip", "geojson", "csv")
PLAN_PRINT_FORMATS = ("pdf", "png", "xlsx")
MIMETYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
}


def _export_crs(state):
    """The export's coordinate system (``?crs=``, default WGS84), its zone from the study area's centroid."""
    centre = state.study_area_wgs84.centroid
    return export_crs(request.args.get("crs"), lon=[centre.x], lat=[centre.y])


def _plan_print(state, plan: dict, fmt: str):
    """A plan's candidates printed (PDF/PNG: the map and the list; XLSX: the tables)."""
    paper = _choice("paper", tuple(PAPER_MM), "A4")
    orientation = _choice("orientation", ORIENTATIONS, "landscape")
    fields = _print_fields(state)
    scene = _scene(state)
    with state.lock:  # the candidates route on the shared graph
        page = plan_print(state.analysis_of(scene), plan["features"], plan_name=plan["name"], fields=fields)
    name = f"plan_{plan['id']}_候选中心_{_safe_name(plan['name'])}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        if fmt == "xlsx":
            notes = pd.DataFrame(
                [
                    ("标题", page.text.title),
                    *(("口径", a) for a in page.text.assumptions),
                    *(("来源", s) for s in page.text.sources),
                ],
                columns=["项目", "说明"],
            )
            path = write_table({"说明": notes, "新增覆盖": page.table}, Path(tmp) / "plan.xlsx")
        else:
            path = render_layout(
                page.content, Path(tmp) / f"plan.{fmt}", text=page.text, paper=paper, orientation=orientation
            )
        data = path.read_bytes()
    return _download(data, name, MIMETYPES[fmt])


@bp.get("/plans/<int:plan_id>.<fmt>")
@requires("read")
def plan_layers_file(plan_id: int, fmt: str):
    """A saved plan: its layers with the project's facilities and boundary (GeoPackage, zipped
    Shapefile, GeoJSON/CSV of its candidates) in the chosen CRS, or its candidates printed."""
    if fmt not in (*PLAN_DATA_FORMATS, *PLAN_PRINT_FORMATS):
        raise InputDataError(
            f"格式 {fmt!r} 无效，可选: {', '.join((*PLAN_DATA_FORMATS, *PLAN_PRINT_FORMATS))} (unknown format)"
        )
    encoding = _choice("encoding", tuple(SHAPEFILE_ENCODINGS), "utf-8")
    state = get_state()
    plan = _store().get(plan_id)
    if fmt in PLAN_PRINT_FORMATS:
        return _plan_print(state, plan, fmt)  # drawn in the project's metric CRS: ?crs= is for data files
    crs = _export_crs(state)
    layers = plan_layers(plan["features"])
    if fmt in ("geojson", "csv"):
        candidates = layers.get("candidate")
        if candidates is None:
            raise InputDataError(f"方案「{plan['name']}」中没有候选中心 (the plan has no candidate centres)")
        stem = f"plan_{plan['id']}_候选中心_{_safe_name(plan['name'])}"
        with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
            if fmt == "geojson":
                path = write_geojson(candidates, Path(tmp) / "plan.geojson", crs=crs)
            else:
                table = coordinate_columns(candidates.rename(columns={"name": "名称", "feature_id": "要素编号"}), crs)
                path = write_table(table, Path(tmp) / "plan.csv")
            data = path.read_bytes()
        return _download(data, f"{stem}_{crs.choice}.{fmt}", MIMETYPES[fmt])
    fac = state.acc.facilities
    keep = [c for c in ("facility_id", "name", "function", "function_zh", "type", "type_zh", "source") if c in fac]
    extra = {"facilities": fac[[*keep, "geometry"]].to_crs(WGS84)}
    # h-acct: the plan named with its authors (who created it, who saved it last) beside the study area.
    about = {
        "name": [state.project.name],
        "plan": [plan["name"]],
        "created_by": [author_label(plan.get("created_by"))],
        "saved_by": [author_label(plan.get("updated_by"))],
    }
    extra["boundary"] = gpd.GeoDataFrame(about, geometry=[state.study_area_wgs84], crs=WGS84)
    name = _safe_name(plan["name"])
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        if fmt == "gpkg":
            zh = {PLAN_LAYERS_ZH[k]: v for k, v in layers.items()}
            zh.update({"现有设施": extra["facilities"], "研究区边界": extra["boundary"]})
            path = write_styled_gpkg(zh, Path(tmp) / "plan.gpkg", crs=crs)
            mimetype = "application/geopackage+sqlite3"
        else:
            path = write_shapefile_zip({**layers, **extra}, Path(tmp) / "plan.zip", encoding=encoding, crs=crs)
            mimetype = "application/zip"
        data = path.read_bytes()
    suffix = "" if crs.choice == "wgs84" else f"_{crs.choice}"
    return _download(data, f"plan_{plan['id']}_方案_{name}{suffix}.{fmt}", mimetype)
