"""Existing grids imported in the grids panel, and several grid systems compared (多网合一) (issue 20).

* ``POST /api/grids/import`` — a county's existing grids (multipart ``file``: GeoJSON,
  GeoPackage, zipped Shapefile with a code column — their own CRS, WGS84 or CGCS2000, or
  ``system`` = gcj02 / bd09 for polygons drawn on Amap / Baidu — or an
  Excel/CSV list of codes with the compounds/buildings each holds, drawn from the project's
  named buildings or compound ledger) read with the scripts' readers and checked with the
  scripts' check (:func:`geo.grids.imports.check_grids`: codes, overlaps, gaps, nesting in the
  project's communities, household bounds) — the report, the problem places (WGS84) and what
  adopting it would do (blocks placed in the grid they mostly lie in).  Nothing is stored.
* ``POST /api/grids/import/adopt`` — the same file with ``version`` (the grids on screen):
  the imported grids become the web grids as one new version (undoable, audited, 409 when
  stale, 403 for a planner outside the communities it changes).
* ``POST /api/grids/systems`` — one or more other grid systems (``file`` repeated; each named
  by its file name) compared with the current grids (:func:`geo.grids.compare.compare_systems`):
  the pairs' disagreement, the pieces where systems disagree (households affected, which
  systems), each current grid's best match per system and a merged proposal
  (:func:`geo.grids.compare.merge_systems`).  Nothing of the files is kept after the answer.
* ``POST /api/grids/systems/adopt`` — the same files with ``version``: the merged proposal
  becomes the web grids as one new version (same rules as an import).

The files are read from a private temporary folder that is always removed, with every rule
of the upload loader (docs/bad-inputs.md U1-U16); adopting re-sends the file, so the server
keeps nothing between the report and the adoption.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
from flask import Blueprint, current_app, request
from werkzeug.datastructures import FileStorage

from geo.errors import InputDataError
from geo.grids.adopt import Adoption, adopt_grids, problem_places
from geo.grids.compare import best_matches, compare_systems, disagreement_pieces, merge_systems
from geo.grids.imports import check_grids, grids_from_list, read_grid_list, read_grids
from geo.grids.output import grids_gdf
from geo.grids.plan import GridEditError, GridPlan, Issue
from geo.io.crs import WGS84
from geo.io.ledger import LEDGER_KINDS
from geo.io.uploads import UploadTooLargeError
from geo.workflows import study_area
from webapp.api import json_with_layers
from webapp.auth import current_user, requires
from webapp.grids import _LOCK as GRIDS_LOCK
from webapp.grids import _at_version, _conflict, _payload, _stale_text, current_plan
from webapp.state import get_state
from webapp.users import in_scope

__all__ = ["bp"]

bp = Blueprint("gridimport", __name__)

#: Most grids in one imported file (a county's town has tens to a few hundred).
MAX_IMPORT_GRIDS = 2_000
#: Most other systems compared at once (party building, comprehensive governance, police, ...).
MAX_SYSTEMS = 4
#: The current web grids' name among the compared systems.
CURRENT = "当前网格"
#: Coordinate systems a planner may choose: a file's own CRS (WGS84 or CGCS2000, in its .prj or
#: GeoPackage), or degrees drawn on Amap/Tencent (gcj02) or Baidu (bd09), converted to WGS84.
SYSTEMS = ("wgs84", "cgcs2000", "gcj02", "bd09")
#: Vector files accepted besides the lists (CSV/XLSX/XLS).
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")


def _version() -> int:
    version = request.form.get("version", "")
    if not (version.isascii() and version.isdigit() and len(version) <= 18):
        raise InputDataError("采用时必须给出屏幕上网格的版本号 version (the grids' version is required)")
    return int(version)


def _uploads() -> list[FileStorage]:
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InputDataError("没有上传网格文件 (no grid file uploaded)")
    for f in files:
        suffix = PurePosixPath(f.filename or "").suffix.lower()
        if suffix not in (*VECTOR_SUFFIXES, *LEDGER_KINDS):
            allowed = "、".join((*VECTOR_SUFFIXES, *LEDGER_KINDS))
            raise InputDataError(
                f"{f.filename[:80]} 的类型不支持；网格文件可为 {allowed} "
                "(grids are GeoJSON, GeoPackage, a zipped Shapefile or an Excel/CSV list)"
            )
    return files


def _system() -> str:
    system = request.form.get("system") or "wgs84"
    if system not in SYSTEMS:
        raise InputDataError(f"坐标系 {system[:20]!r} 不支持，可为 {'、'.join(SYSTEMS)} (unknown coordinate system)")
    return system


def _read(upload: FileStorage) -> tuple[gpd.GeoDataFrame, list[Issue], str]:
    """One uploaded grid file as polygons (``code``, ``name``, maybe ``households``, ``parent``)
    in the project's CRS, the list's unmatched names as issues, and where the households come from."""
    state = get_state()
    project = state.project
    name = (upload.filename or "")[:200]
    listed: list[Issue] = []
    with tempfile.TemporaryDirectory(prefix="linli-gridimport-") as tmp:
        path = Path(tmp) / "upload.bin"  # a generated name; the planner's only as metadata (U2)
        upload.save(path)
        size = path.stat().st_size
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        if limit and size > limit:
            raise UploadTooLargeError(f"文件 {name} 超过上限 {limit / 1e6:.1f} MB (file larger than the limit)")
        if PurePosixPath(name).suffix.lower() in LEDGER_KINDS:
            listing = read_grid_list(path, original_name=name)
            demand = project.demand
            own = demand if "name" in demand.columns else None
            is_compounds = own is not None and "source" in own.columns and (own["source"] == "compounds").all()
            compounds, buildings = (own, None) if is_compounds else (None, own)
            result = grids_from_list(listing, compounds, buildings, extent=study_area(project))
            frame = result.grids
            listed = result.issues()
        else:
            frame = read_grids(path, original_name=name, system=_system(), study_area=state.study_area_wgs84)
    if len(frame) > MAX_IMPORT_GRIDS:
        raise InputDataError(
            f"{name} 有 {len(frame)} 个网格，一次最多导入 {MAX_IMPORT_GRIDS} 个 (too many grids in one file)"
        )
    return frame.to_crs(project.network.crs), listed, name


def _grids_layer(frame: gpd.GeoDataFrame, issues: list[Issue], adoption: Adoption | None) -> gpd.GeoDataFrame:
    """The imported grids as the page draws them (WGS84): code, name, households, blocks' households, problems."""
    flags = pd.DataFrame([(i.grid, i.kind) for i in issues if i.grid], columns=["grid", "kind"])
    kinds = flags.groupby("grid")["kind"].agg(lambda k: ",".join(sorted(set(k))))
    out = gpd.GeoDataFrame(
        {
            "code": frame["code"].astype(str).to_numpy(),
            "name": frame["name"].astype(str).to_numpy(),
            "households": frame["households"].round(1).to_numpy() if "households" in frame.columns else None,
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    hh = adoption.households if adoption is not None else {}
    out["households_blocks"] = out["code"].map(lambda c: round(hh.get(c, 0.0), 1))
    flags_of = {str(k): str(v) for k, v in kinds.items()}
    out["flags"] = out["code"].map(lambda c: flags_of.get(c, ""))
    return out.to_crs(WGS84)


def _places_layer(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return places.to_crs(WGS84)


def _outside_area(adoption: Adoption | None) -> str:
    """Why the signed-in planner may not adopt (the first community outside their area), or ""."""
    user = current_user()
    if adoption is None or user["role"] == "admin":
        return ""
    outside = [p for p in adoption.parents if not in_scope(user["scope"], p)]
    if not outside:
        return ""
    return (
        f"无权采用：区域 {outside[0]} 不在您的范围 {user['scope'] or '（无）'} 内 "
        "(these grids change communities outside your area)"
    )


def _trial(plan: GridPlan, grids: gpd.GeoDataFrame, op: str) -> tuple[Adoption | None, str]:
    """What adopting ``grids`` would do (nothing stored), and why the signed-in planner may not, or ""."""
    try:
        adoption = adopt_grids(plan, grids, op={"op": op})
    except GridEditError as exc:
        return None, str(exc)
    return adoption, _outside_area(adoption)


def _report(frame: gpd.GeoDataFrame, listed: list[Issue], name: str, plan: GridPlan) -> tuple[dict, dict]:
    """The check of an imported file against the project's communities, and what adopting it would do."""
    adoption, adopt_error = _trial(plan, frame, "import")
    from_file = "households" in frame.columns and frame["households"].notna().any()
    checked = frame
    if not from_file and adoption is not None:  # the bounds checked on the households of the blocks inside
        checked = frame.assign(households=frame["code"].astype(str).map(adoption.households).fillna(0.0))
    parents = plan.parents
    if adoption is not None:
        parents = parents[parents["code"].astype(str).isin(adoption.parents)]
    issues = [
        *listed,
        *check_grids(checked, parents, min_households=plan.min_households, max_households=plan.max_households),
    ]
    places = problem_places(frame, issues, parents)
    body = {
        "file": name,
        "version": plan.version,
        "count": len(frame),
        "households_from": "file" if from_file else "blocks",
        "min_households": plan.min_households,
        "max_households": plan.max_households,
        "issues": [i.to_dict() for i in issues],
        "adoption": adoption.to_dict() if adoption is not None else None,
        "adopt_error": adopt_error,
    }
    layers = {"grids": _grids_layer(frame, issues, adoption), "places": _places_layer(places)}
    return body, layers


@bp.post("/grids/import")
@requires("edit_plan")
def import_check():
    """Read and check an existing grids file (``file``); what adopting it would do. Nothing is stored."""
    (upload,) = _uploads()[:1]
    frame, listed, name = _read(upload)
    with GRIDS_LOCK:
        plan = current_plan()
    body, layers = _report(frame, listed, name, plan)
    return json_with_layers(body, **layers)


def _adopt(frame: gpd.GeoDataFrame, op: dict, audit: str):
    """The grids ``frame`` adopted as the next version of the web grids (through the grids' commit)."""
    done: dict[str, Adoption] = {}

    def change(plan: GridPlan, _name: str) -> GridPlan:
        done["adoption"] = adopt_grids(plan, frame, op=op)
        return done["adoption"].plan

    def payload(plan: GridPlan, **kw) -> dict:
        return {**_payload(plan, **kw), "adoption": done["adoption"].to_dict()}

    return _at_version(_version(), op, audit, change, payload=payload)


@bp.post("/grids/import/adopt")
@requires("edit_plan")
def import_adopt():
    """Adopt an existing grids file (``file``, ``version``) as the web grids: one new version."""
    version = _version()  # refused before reading the file
    (upload,) = _uploads()[:1]
    frame, _listed, name = _read(upload)
    op = {"op": "import", "file": name, "count": len(frame), "version": version}
    return _adopt(frame, op, "grid.import")


def _systems(plan: GridPlan) -> dict[str, gpd.GeoDataFrame]:
    """The current grids and each uploaded system, named by its file (made unique)."""
    files = _uploads()
    if len(files) > MAX_SYSTEMS:
        raise InputDataError(f"一次最多对比 {MAX_SYSTEMS} 个网格体系，收到 {len(files)} 个 (too many systems)")
    current = grids_gdf(plan)[["code", "geometry"]]
    if current.empty:
        raise InputDataError("当前没有网格可对比 (there are no grids to compare with)")
    systems = {CURRENT: current}
    for upload in files:
        frame, _listed, name = _read(upload)
        stem = (PurePosixPath(name).stem or "网格")[:40]
        key = stem if stem not in systems else f"{stem}_{len(systems) + 1}"
        systems[key] = frame[["code", "geometry"]]
    return systems


def _proposal(plan: GridPlan, systems: dict[str, gpd.GeoDataFrame]):
    comparison = compare_systems(systems, get_state().project.demand)
    merged = merge_systems(
        comparison, plan.parents, min_households=plan.min_households, max_households=plan.max_households
    )
    return comparison, merged


@bp.post("/grids/systems")
@requires("edit_plan")
def systems_compare():
    """Compare other grid systems (``file`` repeated) with the current grids; the merged proposal. Nothing is kept."""
    with GRIDS_LOCK:
        plan = current_plan()
    systems = _systems(plan)
    comparison, merged = _proposal(plan, systems)
    proposal = grids_gdf(merged)
    adoption, adopt_error = _trial(plan, proposal, "merge_systems")
    matches = best_matches(comparison, CURRENT)
    others = [s for s in comparison.systems if s != CURRENT]
    body = {
        "version": plan.version,
        "systems": list(comparison.systems),
        "pairs": comparison.pairs.round(1).to_dict(orient="records"),
        "matches": [
            {
                "code": str(r["code"]),
                "households": round(float(r["households"]), 1),
                "best": {s: {"code": str(r[f"match_{s}"]), "share_pct": float(r[f"share_{s}"])} for s in others},
            }
            for r in matches.to_dict(orient="records")
        ],
        "proposal_count": len(merged.codes),
        "proposal_issues": [i.to_dict() for i in merged.issues()],
        "adoption": adoption.to_dict() if adoption is not None else None,
        "adopt_error": adopt_error,
        "min_households": plan.min_households,
        "max_households": plan.max_households,
    }
    diff = disagreement_pieces(comparison)
    code_columns = {f"code_{s}": f"code_{k}" for k, s in enumerate(comparison.systems)}
    layers = {
        "disagreement": diff[["piece", *code_columns, "area_m2", "households", "pairs", "systems", "geometry"]]
        .rename(columns=code_columns)
        .round({"area_m2": 0, "households": 1})
        .to_crs(WGS84),
        "proposal": proposal[["code", "households", "units", "geometry"]].round({"households": 1}).to_crs(WGS84),
    }
    return json_with_layers(body, **layers)


@bp.post("/grids/systems/adopt")
@requires("edit_plan")
def systems_adopt():
    """Adopt the merged proposal of the current grids and the uploaded systems (``file``, ``version``)."""
    version = _version()
    with GRIDS_LOCK:
        plan = current_plan()
    if plan.version != version:  # the proposal is of the grids on screen: refused before any work
        stale = GridEditError(_stale_text(plan.version, version))
        return _conflict(get_state().project.name, stale, version)
    systems = _systems(plan)
    _comparison, merged = _proposal(plan, systems)
    names = [s for s in systems if s != CURRENT]
    op = {"op": "merge_systems", "systems": "、".join(names)[:200], "count": len(merged.codes), "version": version}
    return _adopt(grids_gdf(merged)[["code", "name", "geometry"]], op, "grid.merge_systems")
