"""The "1+10" linkage and compound party coverage in the web app's grids panel (issue 20, h-linkweb).

* ``POST /api/linkage`` — ``{"k": 10, "radius_min": 10}``: the imported roster's in-service party
  members (在职党员 placed in a grid and with a position, as ``scripts/roster.py`` takes them) each
  linked to ``k`` households of the project's demand (:func:`geo.grids.linkage_tables.household_points`:
  its ``households`` column repeats a building, as the script's ``--households``), every household
  to at most one member, the least total walking time; candidates within ``radius_min`` minutes,
  widened to 15 where too few (:func:`geo.grids.linkage.linkage_pairs`), solved exactly by
  OR-Tools' min-cost flow and certified (:func:`geo.grids.linkage.solve_linkage`).  A background
  job of kind ``linkage`` (:mod:`webapp.jobs`: owner-scoped, progress, cancel, the per-user caps);
  202 with the job.  No roster: 409; no member with a position, bad ``k``/``radius_min``: 422.
* ``GET /api/linkage/<job>`` — the finished job for the map: members (masked labels, fewer than
  ``k`` flagged), households left unlinked (per building, WGS84), the links (member -> building;
  the page draws them from :data:`LINES_MIN_ZOOM`), counts per grid, the solver and its proof.
* ``GET /api/linkage/<job>/roster.xlsx[?grid=CODE]`` — the sheets the script writes (联系党员,
  未联系户, 联系户按网格, 说明), of one grid or all; names masked (张*), an administrator's
  ``?personal=1`` in clear; phones always masked.
* ``GET /api/party`` / ``POST /api/party`` (a ledger file, not kept) — compound party coverage
  (:func:`geo.grids.party.party_coverage`, the script ``scripts/party.py``'s call) per
  community/town/whole area, and the compounds without a branch as points.

Privacy.  The job store (``jobs.sqlite3`` in the instance folder, kept :data:`webapp.jobs.JOB_KEEP_H`
hours, not scanned by ``forget-person``) holds *no personal data*: a member is the index of their
row in the stored roster file, a household its index in the project's demand; names, phones and
positions are read from the roster file (``rosters/<project>.csv``, which forget-person rewrites)
when the result is shown, and only if that file is byte for byte the one the job read (its
digest is in the result).  After a person is removed, or the roster replaced, the result shows
its counts only and asks for a new run.  What a role sees: :func:`webapp.privacy.roster_view` —
roles that see the roster's ``rows`` (administrator, planner) see members' masked names;
others (viewer) never see a member named, only counted.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from flask import Blueprint, Flask, abort, current_app, jsonify, request, send_file

from geo.errors import InputDataError
from geo.grids.linkage import (
    LINKAGE_HOUSEHOLDS_PER_MEMBER,
    LINKAGE_MAX_RADIUS_S,
    LINKAGE_RADIUS_S,
    Linkage,
    grid_codes_at,
    linkage_by_grid,
    linkage_pairs,
    solve_linkage,
)
from geo.grids.linkage_tables import OUTSIDE_ZH, household_points, linkage_sheets
from geo.grids.output import grids_gdf
from geo.grids.party import PARTY_HEADERS, party_coverage
from geo.grids.rosters import Roster, check_roster
from geo.io.export import export_crs_for, write_xlsx
from geo.io.personal import mask_personal
from webapp import rosterweb
from webapp.api import json_body
from webapp.auth import check_job, current_user, job_user, requires, show_personal
from webapp.grids import _LOCK as GRIDS_LOCK
from webapp.grids import current_plan
from webapp.limits import job_owner
from webapp.privacy import mask_name, roster_view
from webapp.state import get_state

__all__ = ["bp", "init_app"]

bp = Blueprint("linkweb", __name__)

KIND = "linkage"
MEMBER_ROLE = "在职党员"
#: Defaults shown on the panel: "1+10", candidates within 10 minutes' walk (widened to 15).
DEFAULT_K = LINKAGE_HOUSEHOLDS_PER_MEMBER
DEFAULT_RADIUS_MIN = LINKAGE_RADIUS_S / 60
MAX_RADIUS_MIN = 30.0  # as the script's --radius-min
MAX_K = 100  # as the script's --k
#: The page draws each member's links from this zoom on (a town's links would hide the map).
LINES_MIN_ZOOM = 16


def init_app(app: Flask) -> None:
    """The routes under ``/api`` and the job kind ``linkage`` in the app's job queue."""
    app.register_blueprint(bp, url_prefix="/api")

    def _linkage(params: dict, progress) -> dict:
        with app.app_context():
            return run_linkage(params, progress)

    app.extensions["linli.jobs"].runners[KIND] = _linkage


# ------------------------------------------------------------------ inputs


#: Without a roster (409 to a request; the job's own message when it was removed after the submit).
NO_ROSTER_ZH = (
    "尚未导入名册：请先在网格面板导入含在职党员的名册 "
    "(no roster imported: import a roster with in-service members in the grids panel first)"
)


def _roster_file(*, in_job: bool = False) -> tuple[pd.DataFrame, str, str]:
    """The stored roster's rows, the file name it came from and the digest of the stored file; 409 without one."""
    csv_path, _ = rosterweb._paths()
    rows = rosterweb._read_rows(csv_path)
    if rows is None or rows.empty:
        if in_job:
            raise InputDataError(NO_ROSTER_ZH)
        abort(409, description=NO_ROSTER_ZH)
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()[:32]
    return rows, csv_path.name, digest


def _members(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the in-service members the script links (placed in a grid, with a position)
    and their grid codes, checked against the current grids with the script's check."""
    with GRIDS_LOCK:
        plan = current_plan()
    grids = grids_gdf(plan, issues=())[["code", "geometry"]]
    check = check_roster(Roster(rows, ""), grids, compounds=rosterweb._compounds()).rows
    take = (check["role"] == MEMBER_ROLE) & check["lon"].notna() & check["lat"].notna() & (check["why"] == "")
    index = np.flatnonzero(take.to_numpy())
    return index, check["grid_code"].to_numpy(object)[index]


def _households() -> gpd.GeoSeries:
    return household_points(get_state().project.demand)


def _household_grids(homes: gpd.GeoSeries) -> np.ndarray:
    with GRIDS_LOCK:
        plan = current_plan()
    return grid_codes_at(homes, grids_gdf(plan, issues=())[["code", "geometry"]])


def _settings(raw: dict) -> tuple[int, float]:
    k = raw.get("k", DEFAULT_K)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InputDataError(
            f"每名党员联系户数 k 应为 1-{MAX_K} 的整数，收到 {str(k)[:20]!r} (k must be an integer 1-{MAX_K})"
        )
    radius = raw.get("radius_min", DEFAULT_RADIUS_MIN)
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius <= MAX_RADIUS_MIN:
        raise InputDataError(
            f"联系半径 radius_min 应大于 0 且不超过 {MAX_RADIUS_MIN:g} 分钟，收到 {str(radius)[:20]!r} "
            f"(radius_min must be in (0, {MAX_RADIUS_MIN:g}] minutes)"
        )
    return k, float(radius)


# ------------------------------------------------------------------ the job


def run_linkage(params: dict, progress) -> dict:
    """The job: the linkage of the stored roster's members and the project's households.

    Its result holds ids and counts only (module docstring): the rows of the members in the
    roster file, the member of each household, times, radii, the per-grid counts.
    """
    k, radius_s = int(params["k"]), float(params["radius_min"]) * 60
    progress("读取名册与住户 (reading the roster and the households)", 0.05)
    rows, _, digest = _roster_file(in_job=True)
    index, member_grid = _members(rows)
    if index.size == 0:
        raise InputDataError("名册中没有落入网格且带坐标的在职党员 (no in-service member placed with a position)")
    homes = _households()
    if len(homes) == 0:
        raise InputDataError("项目没有住户数据，无法分配联系户 (the project has no households)")
    state = get_state()
    members = gpd.GeoSeries(gpd.points_from_xy(rows["lon"].iloc[index], rows["lat"].iloc[index]), crs=4326)
    progress("搜索步行可达的候选住户 (candidate households within walking reach)", 0.15)
    max_radius_s = max(radius_s, LINKAGE_MAX_RADIUS_S)
    pairs = linkage_pairs(state.graph, members, homes, k=k, radius_s=radius_s, max_radius_s=max_radius_s)
    progress("最小费用流求解并验证最优 (min-cost flow, certified optimal)", 0.55)
    result = solve_linkage(pairs, k=k)
    progress("汇总 (summing up)", 0.95)
    per_grid = linkage_by_grid(result, member_grid=member_grid, household_grid=_household_grids(homes))
    return {
        "roster_digest": digest,
        "k": k,
        "radius_min": radius_s / 60,
        "max_radius_min": max_radius_s / 60,
        "speed_kmh": state.graph.profile.speed_kmh,
        "method": result.method,
        "solver": "OR-Tools SimpleMinCostFlow",
        "optimal": result.optimal,
        "gap_bound_s": result.gap_bound_s,
        "total_time_s": round(result.total_time_s, 1),
        "n_members": int(index.size),
        "n_households": len(homes),
        "n_links": result.n_links,
        "n_short": int(result.short_members.size),
        "n_unlinked": int(result.unlinked_households.size),
        "member_rows": index.tolist(),
        "member_grid": [str(c) for c in member_grid],
        "member_count": result.member_count.tolist(),
        "member_ok": pairs.member_ok.tolist(),
        "radius_s": pairs.radius_s.tolist(),
        "household_member": result.household_member.tolist(),
        "household_time_s": np.round(np.nan_to_num(result.household_time_s, nan=-1.0), 1).tolist(),
        "household_ok": pairs.household_ok.tolist(),
        "per_grid": {
            "columns": [str(c) for c in per_grid.columns],
            "rows": [[v if isinstance(v, str) else int(v) for v in row] for row in per_grid.itertuples(index=False)],
        },
    }


def _finished(job_id: int) -> dict:
    """A done linkage job's result (the asker's or an administrator's: 403 otherwise)."""
    check_job(job_id)
    job = current_app.extensions["linli.jobs"].get(job_id)
    if job["kind"] != KIND:
        raise InputDataError(f"任务 #{job_id} 不是联系户分配 (job {job_id} is not a linkage)")
    if job["status"] != "done":
        abort(409, description=f"任务 #{job_id} 尚未完成（{job['status']}） (the job has not finished)")
    return job["result"]


def _linkage_of(res: dict) -> Linkage:
    times = np.asarray(res["household_time_s"], dtype=float)
    member = np.asarray(res["household_member"], dtype=np.int64)
    return Linkage(
        household_member=member,
        household_time_s=np.where(member >= 0, times, np.nan),
        member_count=np.asarray(res["member_count"], dtype=np.int64),
        k=int(res["k"]),
        total_time_s=float(res["total_time_s"]),
        method=str(res["method"]),
        optimal=bool(res["optimal"]),
        gap_bound_s=float(res["gap_bound_s"]),
    )


def _people(res: dict) -> pd.DataFrame | None:
    """The members' rows of the roster file the job read, or None when the file changed since."""
    _, _, digest = _roster_file()
    if digest != res["roster_digest"]:
        return None
    rows = rosterweb._read_rows(rosterweb._paths()[0])
    assert rows is not None  # _roster_file found it
    return rows.iloc[np.asarray(res["member_rows"], dtype=np.int64)].reset_index(drop=True)


def _names_seen() -> bool:
    """Roles that see a roster's rows see members' masked names; others never see a member named."""
    return "rows" in roster_view(current_user()["role"])


def _points(geom: gpd.GeoSeries) -> np.ndarray:
    xy = geom.to_crs(4326).get_coordinates().to_numpy()
    return np.round(xy, 6)


# ------------------------------------------------------------------ routes


@bp.post("/linkage")
@requires("run_jobs", audit="linkage.submit")
def linkage_submit():
    """Run the "1+10" linkage as a background job: ``{"k", "radius_min"}`` -> 202 with the job."""
    k, radius_min = _settings(json_body())
    rows, _, _ = _roster_file()
    index, _ = _members(rows)
    if index.size == 0:
        raise InputDataError(
            "名册中没有落入网格且带坐标的在职党员，无法分配联系户 "
            "(no in-service member placed in a grid with a position: nothing to link)"
        )
    params = {"k": k, "radius_min": radius_min}
    job = current_app.extensions["linli.jobs"].submit(KIND, params, owner=job_owner(), user=job_user())
    return jsonify(job), 202


@bp.get("/linkage/<int:job_id>")
@requires("read")
def linkage_result(job_id: int):
    """The finished linkage for the map and the panel (members masked by role; ids resolved now)."""
    res = _finished(job_id)
    show = show_personal()
    linkage = _linkage_of(res)
    homes = _households()
    home_xy = _points(homes)
    people = _people(res)
    out = {
        key: res[key]
        for key in (
            "k",
            "radius_min",
            "max_radius_min",
            "speed_kmh",
            "method",
            "solver",
            "optimal",
            "gap_bound_s",
            "total_time_s",
            "n_members",
            "n_households",
            "n_links",
            "n_short",
            "n_unlinked",
            "per_grid",
        )
    }
    out["lines_min_zoom"] = LINES_MIN_ZOOM
    out["masked"] = not show
    out["stale"] = people is None
    # Households left unlinked, one point per building with how many.
    gone = linkage.unlinked_households
    spots, counts = np.unique(home_xy[gone], axis=0, return_counts=True) if gone.size else (np.zeros((0, 2)), [])
    out["unlinked"] = [[float(x), float(y), int(n)] for (x, y), n in zip(spots, counts, strict=True)]
    out["members"], out["lines"] = [], []
    if people is None:
        return jsonify(out)
    names = _names_seen()
    name_of = (lambda v: str(v).strip()) if show else mask_name
    member_xy = np.round(people[["lon", "lat"]].to_numpy(float), 6)
    for i, row in enumerate(people.itertuples(index=False)):
        out["members"].append(
            {
                "id": i + 1,
                "label": name_of(str(row.name)) if names else "",
                "grid": res["member_grid"][i],
                "lon": float(member_xy[i, 0]),
                "lat": float(member_xy[i, 1]),
                "count": int(linkage.member_count[i]),
                "short": bool(linkage.member_count[i] < linkage.k),
            }
        )
    linked = np.flatnonzero(linkage.household_member >= 0)
    if linked.size:
        ends = np.column_stack([linkage.household_member[linked], home_xy[linked]])
        pairs, n = np.unique(ends, axis=0, return_counts=True)
        out["lines"] = [
            [int(m) + 1, float(member_xy[int(m), 0]), float(member_xy[int(m), 1]), float(x), float(y), int(c)]
            for (m, x, y), c in zip(pairs, n, strict=True)
        ]
    return jsonify(out)


@bp.get("/linkage/<int:job_id>/roster.xlsx")
@requires("read")
def linkage_xlsx(job_id: int):
    """The roster XLSX of the linkage as the script writes it, of one grid (``?grid=``) or all."""
    res = _finished(job_id)
    show = show_personal()
    people = _people(res)
    if people is None:
        abort(
            409,
            description="名册在分配后已更改（导入或删除了人员），请重新分配联系户 "
            "(the roster changed since the linkage ran: run it again)",
        )
    if not _names_seen():
        people = people.assign(name="")
    grid = request.args.get("grid")
    homes = _households()
    home_grid = _household_grids(homes)
    sheets = linkage_sheets(
        _linkage_of(res),
        members=people,
        member_grid=np.asarray(res["member_grid"], dtype=object),
        member_ok=np.asarray(res["member_ok"], dtype=bool),
        radius_s=np.asarray(res["radius_s"], dtype=float),
        households=homes,
        household_grid=home_grid,
        household_ok=np.asarray(res["household_ok"], dtype=bool),
        crs=(crs := export_crs_for("wgs84", gpd.GeoDataFrame(geometry=homes))),
    )
    if grid is not None:
        known = {str(c) for c in res["member_grid"]} | {str(c) for c in home_grid}
        if grid not in known:
            return jsonify({"error": f"未知网格编码 {grid[:40]!r} (unknown grid code)"}), 404
        shown = grid or OUTSIDE_ZH
        sheets = {name: frame[frame["网格编码"] == shown] for name, frame in sheets.items()}
    sheets = {name: mask_personal(frame, show_personal=show) for name, frame in sheets.items()}
    sheets["说明"] = pd.DataFrame(
        {
            "项目": ["坐标系", "联系规则", "求解"],
            "说明": [
                crs.note_zh,
                f"每名党员联系 {res['k']} 户，每户至多由一名党员联系；候选住户步行 {res['radius_min']:g} 分钟内，"
                f"不足时放宽至 {res['max_radius_min']:g} 分钟；步行速度 {res['speed_kmh']:g} km/h",
                "最小费用流 (OR-Tools)，总步行时间最短，已证明最优",
            ],
        }
    )
    with tempfile.TemporaryDirectory(prefix="linli-linkage-") as tmp:
        path = Path(tmp) / "linkage.xlsx"
        write_xlsx(sheets, path)
        data = io.BytesIO(path.read_bytes())
    name = f"联系户_{grid}.xlsx" if grid else "联系户.xlsx"
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=name,
    )


# ------------------------------------------------------------------ party coverage


def _yes(value: object) -> object:
    return None if value is None or pd.isna(value) else bool(value)


def _coverage_payload(compounds: gpd.GeoDataFrame) -> dict:
    project = get_state().project
    units = {k: project.units[k] for k in ("town", "community") if k in project.units}
    coverage = party_coverage(compounds, units=units, area_name=project.name)
    rates = coverage.rates[[c for c in PARTY_HEADERS if c in coverage.rates.columns]]
    rates = rates.astype(object).where(rates.notna(), None)
    missing = coverage.without_branch
    xy = _points(gpd.GeoSeries(missing.geometry.representative_point(), crs=missing.crs))
    return {
        "headers": {k: v for k, v in PARTY_HEADERS.items() if k in rates.columns},
        "rates": rates.to_dict(orient="records"),
        "without_branch": [
            {
                "name": str(r.name),
                "line": int(r.line) if pd.notna(r.line) else None,
                "community": str(getattr(r, "community", "") or ""),
                "members": None if pd.isna(r.members) else int(r.members),
                "property": _yes(r.has_property),
                "committee": _yes(r.has_committee),
                "lon": float(xy[i, 0]),
                "lat": float(xy[i, 1]),
            }
            for i, r in enumerate(missing.itertuples(index=False))
        ],
        "unknown": len(coverage.unknown),
        "columns": coverage.columns,
    }


@bp.get("/party")
@requires("read")
def party_get():
    """Compound party coverage from the project's compound ledger (422 when its demand is not one)."""
    demand = get_state().project.demand
    if "source" not in demand.columns or not (demand["source"].astype(str) == "compounds").all() or demand.empty:
        raise InputDataError(
            "本项目的居民数据不是小区台账，请上传小区台账（含是否成立党支部、党员数、物业公司、业委会列） "
            "(the project's demand is not a compound ledger: upload one)"
        )
    return jsonify(_coverage_payload(demand))


@bp.post("/party")
@requires("run_jobs")
def party_upload():
    """Compound party coverage of an uploaded compound ledger (``file``, ``system``); nothing kept."""
    from geo.access.compounds import residents_from_compounds
    from geo.workflows import study_area_wgs84

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputDataError("没有上传小区台账 (no compound ledger uploaded)")
    system = request.form.get("system") or "auto"
    if system not in ("auto", "wgs84", "gcj02", "bd09"):
        raise InputDataError(
            f"坐标系 {system[:20]!r} 不支持，可为 auto、wgs84、gcj02、bd09 (unknown coordinate system)"
        )
    project = get_state().project
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".xlsx", ".xls", ".csv"):
        raise InputDataError(f"小区台账应为 .xlsx/.xls/.csv 文件，收到 {suffix[:10]!r} (a ledger must be XLSX/XLS/CSV)")
    with tempfile.TemporaryDirectory(prefix="linli-party-") as tmp:
        path = Path(tmp) / f"ledger{suffix}"  # a generated name (U2)
        upload.save(path)
        compounds = residents_from_compounds(
            path,
            system=system,
            network=project.network,
            original_name=upload.filename[:200],
            study_area=study_area_wgs84(project),
        )
    return jsonify(_coverage_payload(compounds))
