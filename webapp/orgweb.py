"""The "支部建在网格" organisation tree of the project's grids in the page, and for the wall (issue 20).

* ``GET /api/grids/orgchart`` — the nodes of the current grid plan (community, its grids, their
  micro-grids once generated in the page: :mod:`webapp.micro`, h-micro2) with branch, grid head,
  grid workers, centre households and building heads
  (:func:`geo.grids.orgchart.organisation_nodes`); names masked (张*)
  unless an administrator asks ``?personal=1`` (403 for anyone else).
* ``GET /api/export/orgchart.pdf`` / ``.png`` / ``.xlsx`` — the same nodes as the A3 wall chart
  (:func:`geo.grids.orgchart.organisation_chart`: the PDF holds every page; a chart of several
  pages comes as a ZIP of one PNG per page) or as the table ``scripts/grids.py`` writes.  Under
  ``/api/export/``: the export admission kind (:data:`webapp.limits.ADMISSION`) and the
  administrator-only ``?personal=1`` of :mod:`webapp.auth` apply as to every export.

* ``GET /api/export/grids.gpkg`` / ``.xlsx`` (h-micro2) — the grids and their micro-grids for the
  county: a GeoPackage of both levels with QGIS styles (``?crs=`` as the other exports) and the
  list (codes as text, households, residents, parent code, the heads' names masked unless an
  administrator asks ``?personal=1``), :func:`geo.workflows.grid_levels.grid_levels_export`.

Both hold the grid heads and workers of the roster imported in the grids panel
(:func:`webapp.rosterweb.roster_people`) beside the grids' own fields; its building heads and
centre households sit under their micro-grid when one holds them.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from flask import Blueprint, jsonify, send_file

from geo.errors import InputDataError
from geo.grids.levels import LevelPlan
from geo.grids.orgchart import LEVELS_ZH, ORG_HEADERS, organisation_chart, organisation_nodes
from geo.io.export import write_xlsx
from geo.maps.qgis_layers import write_styled_gpkg
from geo.workflows import is_estimate, official_table
from geo.workflows.grid_levels import grid_levels_export
from webapp.auth import requires, show_personal
from webapp.exports import _download, _export_crs, _safe_name
from webapp.grids import _LOCK, current_plan
from webapp.micro import current_micro
from webapp.rosterweb import roster_people
from webapp.state import get_state

bp = Blueprint("orgweb", __name__)

#: Downloads of the chart: suffix -> MIME type (PNG: one page; several pages come as a ZIP).
FORMATS = {
    "pdf": "application/pdf",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TITLE = "网格党建组织架构图"
DEPTH = {level: k for k, level in enumerate(LEVELS_ZH)}


def _nodes(show_personal: bool) -> pd.DataFrame:
    people = roster_people()  # h-roster: the heads and workers of the imported roster (None without one)
    with _LOCK:
        plan = current_plan()
        micro = current_micro()  # h-micro2: the web micro-grids (community -> grids -> micro-grids)
    levels = plan if micro is None else LevelPlan(grids=plan, micro=micro)
    return organisation_nodes(levels, people=people, show_personal=show_personal)


@bp.get("/grids/orgchart")
@requires("read")
def orgchart_nodes():
    """The organisation tree's nodes (community first, each grid followed by its micro-grids)."""
    show = show_personal()
    nodes = _nodes(show)
    state = get_state()
    return jsonify(
        {
            "project": state.project.name,
            "masked": not show,
            "estimated": bool(is_estimate(state.project.demand)),
            "headers": ORG_HEADERS,
            # depth 0 community, 1 grid, 2 micro-grid (``level`` is its Chinese name)
            "nodes": nodes.assign(depth=nodes["level"].map(DEPTH)).to_dict(orient="records"),
        }
    )


@bp.get("/export/orgchart.<fmt>")
@requires("read")
def orgchart_file(fmt: str):
    """The organisation chart for the wall (PDF, PNG) or its table (XLSX), names masked by default."""
    if fmt not in FORMATS:
        raise InputDataError(f"格式 {fmt!r} 无效，可选: {', '.join(FORMATS)} (unknown format)")
    show = show_personal()
    nodes = _nodes(show)
    state = get_state()
    estimated = bool(is_estimate(state.project.demand))
    name = f"orgchart_组织架构图.{fmt}"
    mimetype = FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        path = Path(tmp) / f"orgchart.{fmt}"
        if fmt == "xlsx":
            headers = ORG_HEADERS | ({"households": "估算户数 (户)"} if estimated else {})
            table = official_table(nodes, list(ORG_HEADERS), headers=headers, estimated=estimated)
            data = write_xlsx({"组织架构": table}, path).read_bytes()
        else:
            title = f"{TITLE} — {state.project.name}"
            pages = organisation_chart(nodes, path, title=title, masked=not show, estimated=estimated)
            if len(pages) == 1:
                data = pages[0].read_bytes()
            else:  # one PNG per page, in page order
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                    for k, page in enumerate(pages):
                        archive.write(page, f"组织架构图_{k + 1:02d}.png")
                data, name, mimetype = buffer.getvalue(), "orgchart_组织架构图_png.zip", "application/zip"
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


# --- h-micro2 (issue 20): the grids and micro-grids as files for the county ------------------------

#: The grids' downloads: GeoPackage (网格 and 微网格 layers, QGIS styles) and the XLSX list.
LEVEL_FORMATS = ("gpkg", "xlsx")


@bp.get("/export/grids.<fmt>")
@requires("read")
def grid_levels_file(fmt: str):
    """The web grids and their micro-grids: a GeoPackage of both levels (``?crs=`` as other
    exports: WGS84 by default, CGCS2000, its Gauss-Kruger zone) or the XLSX list; the heads'
    names masked unless an administrator asks ``?personal=1``."""
    if fmt not in LEVEL_FORMATS:
        raise InputDataError(f"格式 {fmt!r} 无效，可选: {', '.join(LEVEL_FORMATS)} (unknown format)")
    show = show_personal()
    state = get_state()
    crs = _export_crs(state) if fmt == "gpkg" else None
    people = roster_people()
    with _LOCK:
        plan = current_plan()
        micro = current_micro()
    made = grid_levels_export(
        plan,
        micro,
        people=people,
        show_personal=show,
        estimated=bool(is_estimate(state.project.demand)),
        project_name=state.project.name,
    )
    stem = f"grids_网格_{_safe_name(state.project.name)}"
    with tempfile.TemporaryDirectory(prefix="linli-export-") as tmp:
        if fmt == "gpkg":
            path = write_styled_gpkg(made.layers, Path(tmp) / "grids.gpkg", crs=crs)
            mimetype = "application/geopackage+sqlite3"
            suffix = "" if crs is None or crs.choice == "wgs84" else f"_{crs.choice}"
        else:
            path = write_xlsx(made.sheets, Path(tmp) / "grids.xlsx")
            mimetype, suffix = FORMATS["xlsx"], ""
        data = path.read_bytes()
    return _download(data, f"{stem}{suffix}.{fmt}", mimetype)
