"""A county's ledgers into a loaded project: read them against its streets, preview, put them in.

The web page and the scripts call the same two steps: :func:`read_project_ledger` reads a facility
or compound ledger with the project's network (coordinate system detected or checked), its
boundary (far rows reported) and the county's category table; :func:`project_with_ledger` returns
the project with that ledger in place of its facilities or residents (in the project's CRS,
clipped like a project file's ledgers).  :func:`ledger_preview` is what the page shows before
the planner commits: the first rows as read, the columns recognised, the system and its evidence,
the categories not known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.access.compounds import COMPOUND_FIELDS, residents_from_compounds
from geo.access.facilities import LEDGER_FIELDS, read_facility_ledger
from geo.errors import InputDataError
from geo.io.crs import WGS84
from geo.project import Project, clip_to_study_area
from geo.workflows.analysis import study_area_wgs84

__all__ = ["LEDGER_PARTS", "ledger_preview", "project_with_ledger", "read_project_ledger"]

#: The ledgers a project takes: part -> (Chinese name, the fields a planner may assign to columns).
LEDGER_PARTS = {
    "facilities": ("设施台账", ("lon", "lat", "pair", *LEDGER_FIELDS)),
    "compounds": ("小区台账", ("lon", "lat", "pair", *COMPOUND_FIELDS)),
}
#: Rows shown in a preview.
PREVIEW_ROWS = 10


def _check_part(part: str) -> None:
    if part not in LEDGER_PARTS:
        raise InputDataError(f"台账种类 {part!r} 无效，可选: {', '.join(LEDGER_PARTS)} (unknown ledger kind)")


def read_project_ledger(
    project: Project,
    part: str,
    path: Path,
    *,
    original_name: str | None = None,
    system: str | None = "auto",
    columns: Mapping[str, str] | None = None,
    category_map: Mapping[str, str] | Path | None = None,
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """A facility (``part="facilities"``) or compound (``"compounds"``) ledger read for ``project``.

    Returns the reader's frame (WGS84, ``attrs["report"]``); see
    :func:`geo.access.facilities.read_facility_ledger` and
    :func:`geo.access.compounds.residents_from_compounds` for the rules and errors.
    """
    _check_part(part)
    study_area = study_area_wgs84(project) if project.boundary is not None else None
    if part == "facilities":
        return read_facility_ledger(
            Path(path),
            original_name=original_name,
            system=system,
            network=project.network,
            standard=project.standard,
            study_area=study_area,
            category_map=category_map,
            columns=columns,
            sheet=sheet,
        )
    return residents_from_compounds(
        Path(path),
        original_name=original_name,
        system=system,
        network=project.network,
        study_area=study_area,
        columns=columns,
        sheet=sheet,
    )


def ledger_preview(frame: gpd.GeoDataFrame, part: str, *, rows: int = PREVIEW_ROWS) -> dict:
    """JSON-ready preview of a read ledger: report, first rows (WGS84, 6 decimals), the fields."""
    _check_part(part)
    report = frame.attrs["report"]
    shown = frame.head(rows).to_crs(WGS84)
    xy = np.column_stack([shown.geometry.x.to_numpy(), shown.geometry.y.to_numpy()]) if len(shown) else np.empty((0, 2))
    keep = [c for c in shown.columns if c != shown.geometry.name]
    records = []
    for k, record in enumerate(shown[keep].to_dict("records")):
        clean = {c: (None if isinstance(v, float) and not np.isfinite(v) else v) for c, v in record.items()}
        clean["经度"], clean["纬度"] = round(float(xy[k, 0]), 6), round(float(xy[k, 1]), 6)
        records.append(clean)
    return {
        "part": part,
        "part_zh": LEDGER_PARTS[part][0],
        "fields": list(LEDGER_PARTS[part][1]),
        "headers": [*report.columns.values(), *report.attributes],
        "report": report.as_dict(),
        "report_text": report.to_text(),
        "rows": records,
        "count": len(frame),
    }


def project_with_ledger(project: Project, part: str, frame: gpd.GeoDataFrame) -> Project:
    """``project`` with ``frame`` (from :func:`read_project_ledger`) as its facilities or residents."""
    _check_part(part)
    crs = project.network.crs
    facilities, demand = project.facilities, project.demand
    if part == "facilities":
        facilities = frame.to_crs(crs)
    else:
        demand = frame.to_crs(crs)
    if project.boundary is not None:
        facilities, demand = clip_to_study_area(facilities, demand, project.boundary)
    reports = {**project.reports, ("facilities" if part == "facilities" else "demand"): frame.attrs["report"]}
    return dataclasses.replace(project, facilities=facilities, demand=demand, reports=reports)
