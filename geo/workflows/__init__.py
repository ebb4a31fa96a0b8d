"""One pipeline per analysis (load -> routing graph -> accessibility -> result) that every face calls.

The scripts, the batch tasks and the web app's state parse their inputs, call one function
here and write or render what it returns:

* :func:`load_analysis` — a project, its routing graph and (optionally) the walking times
  from every resident to every function: the :class:`Analysis` all the others start from;
* :func:`analyse_coverage` — coverage tables, the standard check and gap cells;
  :func:`check_standard` — the check alone;
* :func:`function_service_areas` — the service areas of each function's facilities;
* :func:`placement_candidates` and :func:`plan_centres` — sites for new centres and one
  solved, explained plan;
* :func:`grid_units` and :func:`project_grids` — management grids of a project;
* :func:`read_project_ledger`, :func:`ledger_preview`, :func:`project_with_ledger` — a county's
  facility or compound ledger read against the project's streets, previewed, put in;
* :func:`chinese_frame` and :func:`official_table` — output tables and layers with Chinese
  headers and values (:mod:`geo.workflows.outputs`);
* :func:`write_project` — a new study area's project file from a planner's files;
* :func:`weigh_analysis` — coverage and placement weighed by a demand column (高龄/空巢/困难群众
  counts from the ledger or a list of individuals);
* :func:`project_map` — one kind of print map (:data:`MAP_BUILDERS`, a registry by kind:
  computed here, drawn by :mod:`geo.maps`).

Metres and seconds inside, the network's projected CRS; inputs in WGS84 are said so.

Inside: :mod:`geo.workflows.analysis` (the analyses) and :mod:`geo.workflows.maps` (print maps).
"""

from geo.workflows.analysis import (
    CANDIDATE_SOURCES,
    Analysis,
    CandidateEffect,
    CoverageResult,
    FacilityAreas,
    FunctionAreas,
    analyse_coverage,
    analysis_units,
    candidate_rings,
    check_standard,
    check_standard_note,
    evaluate_candidate,
    facility_service_areas,
    function_service_areas,
    grid_units,
    load_analysis,
    placement_candidates,
    plan_centres,
    project_grids,
    study_area,
    study_area_wgs84,
)
from geo.workflows.ledgers import LEDGER_PARTS, ledger_preview, project_with_ledger, read_project_ledger
from geo.workflows.maps import MAP_BUILDERS, ProjectMap, project_map
from geo.workflows.outputs import chinese_frame, is_estimate, official_table
from geo.workflows.projects import BUNDLED_COUNTIES, BUNDLED_COUNTIES_EN, safe_file_name, write_project
from geo.workflows.weights import WeightedAnalysis, weigh_analysis

__all__ = [
    "BUNDLED_COUNTIES",
    "BUNDLED_COUNTIES_EN",
    "CANDIDATE_SOURCES",
    "LEDGER_PARTS",
    "MAP_BUILDERS",
    "Analysis",
    "CandidateEffect",
    "CoverageResult",
    "FacilityAreas",
    "FunctionAreas",
    "ProjectMap",
    "WeightedAnalysis",
    "analyse_coverage",
    "analysis_units",
    "candidate_rings",
    "check_standard",
    "check_standard_note",
    "chinese_frame",
    "evaluate_candidate",
    "facility_service_areas",
    "function_service_areas",
    "grid_units",
    "is_estimate",
    "ledger_preview",
    "load_analysis",
    "official_table",
    "placement_candidates",
    "plan_centres",
    "project_grids",
    "project_map",
    "project_with_ledger",
    "read_project_ledger",
    "safe_file_name",
    "study_area",
    "study_area_wgs84",
    "weigh_analysis",
    "write_project",
]
