"""Rosters (网格员/网格长/楼栋长/党员中心户/在职党员) imported in the grids panel (issue 20).

* ``POST /api/grids/roster`` — a roster (XLSX/XLS/CSV; multipart ``file``, optional ``role`` for a
  file without a role column, ``system`` of its coordinates: gcj02 (default, as picked in Amap),
  wgs84, bd09; ``add=1`` adds it to the roster already imported instead of replacing it).  Read
  with the scripts' reader (:func:`geo.grids.rosters.read_roster`: header found, merged cells,
  GBK/UTF-8 CSV), checked against the current grids with the script's check; a bad file is a
  Chinese 4xx and nothing is stored.  Admin and planners whose area holds every grid.
* ``GET /api/grids/roster`` — the roster against the grids as they are now: counts per grid and
  role, the grids without a 网格员 or 网格长 (``missing``), each grid's organisation and the
  unplaced rows with why; what a role sees is :func:`webapp.privacy.roster_view`'s (names
  masked 张*, phones 138****1234; an administrator's ``?personal=1`` shows names in clear).
* ``GET /api/grids/roster/micro/<code>`` (h-micro2) — the roster's people in one micro-grid for its
  card: building heads and centre households, and anyone placed by position, compound or address,
  are also placed in the micro-grids of their grid (:func:`geo.grids.roster_summary.micro_codes`).
* ``DELETE /api/grids/roster`` — the roster removed (the rows are personal data kept only for
  this feature).

Where it is kept: the instance folder, ``rosters/<project>.csv`` (the rows as read, lon/lat in
WGS84) and ``rosters/<project>.json`` (file name, who, when; no personal data), written
atomically.  Not the plan store: a roster row is one person's record, and
``linli users forget-person`` / ``/api/admin/forget-person`` already remove such a person's
whole row from the instance folder's CSV files (:func:`geo.io.forget.forget_in_file`) — the plan
store's redaction empties fields inside its JSON documents and would leave a nameless row that
still counts; and it needs no schema change in both store dialects.  Each import and removal is
in the audit log (file name and counts, never a name).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from flask import Blueprint, abort, current_app, jsonify, request

from geo.errors import InputDataError
from geo.grids.roster_summary import MICRO_ROLES, ORGANISATION_ROLES, RosterSummary, summarise_roster
from geo.grids.rosters import ROLES, Roster, read_roster
from geo.io.export import atomic_write
from geo.io.personal import mask_name, mask_phone
from webapp.auth import current_user, record, requires, show_personal
from webapp.grids import _LOCK as GRIDS_LOCK
from webapp.grids import current_plan
from webapp.micro import current_micro
from webapp.privacy import roster_view
from webapp.state import get_state
from webapp.users import in_scope

__all__ = ["bp", "roster_people"]

bp = Blueprint("rosterweb", __name__)

_LOCK = threading.Lock()
#: The columns kept per row (the reader's), in this order.
COLUMNS = ("line", "role", "name", "phone", "grid", "compound", "building", "address", "lon", "lat")
SYSTEMS = ("gcj02", "wgs84", "bd09")
#: Most rows listed as unplaced in one answer (all are counted).
MAX_LISTED = 500


# ------------------------------------------------------------------ the files


def _paths() -> tuple[Path, Path]:
    """The project's roster rows (CSV) and its record (JSON) in the instance folder."""
    name = get_state().project.name
    safe = re.sub(r"[^\w.-]", "_", name)[:60] or "project"
    stem = f"{safe}-{hashlib.blake2b(name.encode('utf-8'), digest_size=4).hexdigest()}"
    folder = Path(current_app.instance_path) / "rosters"
    return folder / f"{stem}.csv", folder / f"{stem}.json"


def _read_rows(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    rows = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for column in COLUMNS:
        if column not in rows.columns:
            rows[column] = ""
    rows = rows[list(COLUMNS)]
    rows["line"] = pd.to_numeric(rows["line"], errors="coerce").fillna(0).astype(int)
    for column in ("lon", "lat"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    return rows


def _write(rows: pd.DataFrame, meta: dict) -> None:
    csv_path, meta_path = _paths()
    text = rows[list(COLUMNS)].to_csv(index=False)
    atomic_write(csv_path, lambda tmp: tmp.write_bytes(text.encode("utf-8-sig")))
    data = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
    atomic_write(meta_path, lambda tmp: tmp.write_bytes(data))


def _cache() -> dict:
    return current_app.extensions.setdefault("linli.rosters", {})


def _summary() -> tuple[RosterSummary | None, dict]:
    """The stored roster against the current grids (kept while neither the file nor the grids change)."""
    csv_path, meta_path = _paths()
    with GRIDS_LOCK:
        plan = current_plan()
        micro = current_micro()  # h-micro2: the web micro-grids, when generated
    try:
        st = csv_path.stat()
    except FileNotFoundError:
        return None, {}
    key = (str(csv_path), st.st_mtime_ns, st.st_size, id(plan.units), plan.version)
    key += (None,) if micro is None else (id(micro.units), micro.version)
    cached = _cache().get(str(csv_path))
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    rows = _read_rows(csv_path)
    if rows is None or rows.empty:
        return None, {}
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    summary = summarise_roster(Roster(rows, str(meta.get("file", ""))), plan, compounds=_compounds(), micro=micro)
    _cache()[str(csv_path)] = (key, summary, meta)
    return summary, meta


def _compounds():
    """The project's compound ledger, when its residents come from one (to place rows by compound)."""
    demand = get_state().project.demand
    if "source" not in demand.columns or "name" not in demand.columns:
        return None
    compounds = demand[demand["source"] == "compounds"]
    return compounds if len(compounds) else None


def roster_people() -> pd.DataFrame | None:
    """The grid organisation's people of the stored roster (``grid_code``, ``role``, ``name``) for
    the organisation chart; None without a roster."""
    summary, _ = _summary()
    if summary is None:
        return None
    people = summary.people
    people = people.loc[people["role"].isin(ORGANISATION_ROLES)]
    # h-micro2: building heads and centre households under their micro-grid when one holds them
    inner = people["role"].isin(MICRO_ROLES) & (people["micro_code"] != "")
    return pd.DataFrame(
        {
            "grid_code": people["micro_code"].where(inner, people["grid_code"]).to_numpy(object),
            "role": people["role"].to_numpy(object),
            "name": people["name"].to_numpy(object),
        }
    )


# ------------------------------------------------------------------ what a role sees


def _payload(summary: RosterSummary | None, meta: dict) -> dict:
    if summary is None:
        return {"roster": None, "roles": list(ROLES)}
    show = show_personal()
    sees = roster_view(current_user()["role"])
    name_of = (lambda v: str(v).strip()) if show else mask_name
    counts = summary.counts.set_index("grid_code")
    grids = {}
    for code, row in counts.iterrows():
        entry: dict = {
            "counts": {role: int(row[role]) for role in ROLES},
            "missing": summary.missing.get(str(code), ""),
        }
        if "names" in sees:
            mine = summary.people[summary.people["grid_code"] == code]
            entry["people"] = {
                role: [name_of(n) for n in mine.loc[mine["role"] == role, "name"]] for role in ORGANISATION_ROLES
            }
        grids[str(code)] = entry
    totals = {role: int(counts[role].sum()) for role in ROLES}
    out = {
        "roster": {
            "file": str(meta.get("file", "")),
            "uploaded_by": str(meta.get("uploaded_by", "")),
            "uploaded_at": str(meta.get("uploaded_at", "")),
            "rows": summary.rows,
            "placed": summary.placed,
            "unmatched_count": len(summary.unmatched),
            "totals": totals,
            "missing_count": len(summary.missing),
        },
        "roles": list(ROLES),
        "grids": grids,
        "missing": summary.missing,
        "masked": not show,
    }
    if summary.micro_counts is not None:  # h-micro2: people per micro-grid (those with someone)
        out["micro"] = _micro_entries(summary, sees, name_of)
    if "rows" in sees:
        listed = summary.unmatched.head(MAX_LISTED)
        out["unmatched"] = [
            {
                "line": int(r.line),
                "role": str(r.role),
                "name": name_of(r.name),
                "phone": mask_phone(r.phone),
                "compound": str(r.compound),
                "why": str(r.why),
            }
            for r in listed.itertuples(index=False)
        ]
    return out


# --- h-micro2 (issue 20): the roster's people per micro-grid ---------------------------------------


def _micro_entries(summary: RosterSummary, sees: frozenset[str], name_of, only: str | None = None) -> dict:
    """Micro-grid code -> counts per role and (for roles that see names) the organisation's names;
    micro-grids nobody is placed in are left out (``only``: that micro-grid alone, even empty)."""
    counts = summary.micro_counts
    if counts is None:
        return {}
    counts = counts.set_index("micro_code")
    people = summary.people[summary.people["micro_code"] != ""]
    codes = [only] if only is not None else sorted(set(people["micro_code"].astype(str)))
    out = {}
    for code in codes:
        if code not in counts.index:
            continue
        entry: dict = {"counts": {role: int(counts.at[code, role]) for role in ROLES}}
        if "names" in sees:
            mine = people[people["micro_code"] == code]
            entry["people"] = {
                role: [name_of(n) for n in mine.loc[mine["role"] == role, "name"]] for role in ORGANISATION_ROLES
            }
        out[code] = entry
    return out


@bp.get("/grids/roster/micro/<code>")
@requires("read")
def roster_micro(code: str):
    """The roster's people in micro-grid ``code``, for its card: counts per role and the
    organisation's names masked as on the grid card (:func:`webapp.privacy.roster_view`; an
    administrator's ``?personal=1`` in clear); ``{"roster": null}`` without a roster or micro-grids."""
    show = show_personal()
    with _LOCK:
        summary, _ = _summary()
    if summary is None or summary.micro_counts is None:
        return jsonify({"code": code, "roster": None})
    if code not in set(summary.micro_counts["micro_code"].astype(str)):
        return jsonify({"error": f"未知微网格编码 {code!r} (unknown micro-grid code)"}), 404
    name_of = (lambda v: str(v).strip()) if show else mask_name
    entry = _micro_entries(summary, roster_view(current_user()["role"]), name_of, only=code)
    return jsonify({"code": code, "roster": {"masked": not show, **entry[code]}})


# ------------------------------------------------------------------ routes


def _check_scope_all() -> None:
    """A roster is the whole project's: a planner imports or removes it only when every grid is in their area."""
    user = current_user()
    if user["role"] == "admin":
        return
    with GRIDS_LOCK:
        plan = current_plan()
    outside = sorted(p for p in set(plan.units["parent"].astype(str)) if not in_scope(user["scope"], p))
    if outside:
        abort(
            403,
            description=f"名册覆盖整个项目，区域 {outside[0]} 不在您的范围 {user['scope'] or '（无）'} 内 "
            "(a roster covers the whole project; some of its grids are outside your area)",
        )


def _read_upload() -> tuple[Roster, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InputDataError("没有上传名册文件 (no roster file uploaded)")
    role = request.form.get("role") or None
    system = request.form.get("system") or "gcj02"
    if system not in SYSTEMS:
        raise InputDataError(f"坐标系 {system!r} 不支持，可为 {'、'.join(SYSTEMS)} (unknown coordinate system)")
    with tempfile.TemporaryDirectory(prefix="linli-roster-") as tmp:
        path = Path(tmp) / "upload.bin"  # a generated name; the planner's only as metadata (U2)
        upload.save(path)
        roster = read_roster(path, original_name=upload.filename, role=role, system=system)
    return roster, upload.filename[:200]


@bp.get("/grids/roster")
@requires("read")
def roster_get():
    """The imported roster against the current grids (counts, flags, organisation; rows by role)."""
    with _LOCK:
        summary, meta = _summary()
    return jsonify(_payload(summary, meta))


@bp.post("/grids/roster")
@requires("edit_plan")
def roster_upload():
    """Import a roster (``file``, ``role``, ``system``, ``add``): read, checked against the grids, kept."""
    add = request.form.get("add", "0")
    if add not in ("0", "1"):
        raise InputDataError(f"参数 add={add!r} 无效，可选: 0, 1 (invalid add)")
    show_personal()  # a refused ?personal=1 refuses the import before anything is kept
    _check_scope_all()
    roster, file_name = _read_upload()
    with GRIDS_LOCK:
        plan = current_plan()
        micro = current_micro()  # h-micro2
    with _LOCK:
        csv_path, _ = _paths()
        rows = roster.rows[list(COLUMNS)]
        if add == "1":
            old = _read_rows(csv_path)
            if old is not None:
                rows = pd.concat([old, rows], ignore_index=True)
        summary = summarise_roster(Roster(rows, file_name), plan, compounds=_compounds(), micro=micro)  # checked, kept
        user = current_user()
        meta = {
            "file": file_name,
            "uploaded_by": str(user.get("name", "")),
            "uploaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(rows),
        }
        _write(rows, meta)
        _cache().pop(str(csv_path), None)
    record(
        "roster.import",
        f"roster={get_state().project.name}",
        f"file={file_name}; rows={summary.rows}; placed={summary.placed}; "
        f"unmatched={len(summary.unmatched)}; missing={len(summary.missing)}; add={add}",
    )
    return jsonify(_payload(summary, meta))


@bp.delete("/grids/roster")
@requires("edit_plan")
def roster_delete():
    """Remove the imported roster (its rows and record) from the server."""
    _check_scope_all()
    with _LOCK:
        removed = 0
        for path in _paths():
            if path.is_file():
                path.unlink()
                removed += 1
        _cache().clear()
    record("roster.delete", f"roster={get_state().project.name}", f"files={removed}")
    return jsonify({"roster": None, "removed": bool(removed), "roles": list(ROLES)})
