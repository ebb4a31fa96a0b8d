"""Management grids (网格): units, generation and codes, checks, edits with undo, the organisation tree.

Where a user starts:

* units — :func:`street_blocks` (blocks cut by the walk network), :func:`units_from_polygons`
  (a planner's compounds), :func:`units_with_households` (households from buildings or a ledger);
* :func:`generate_grids` — grids of a floor-to-ceiling number of households inside each parent,
  coded parent code + sequence, returning a :class:`GridPlan`;
* :func:`check_plan` — every violation as an :class:`Issue`;
* :func:`edit` / :func:`apply_edit` / :func:`undo` — move, split, merge, set, renumber;
* :func:`grids_gdf`, :func:`plan_to_dict` / :func:`plan_from_dict` — the plan as a table and as JSON;
* :func:`organisation_table`, :func:`organisation_diagram` — county -> town -> community -> grid;
* :func:`generate_levels`, :func:`micro_grids`, :func:`check_levels`, :func:`levels_table` — micro-grids
  (微网格/网点) inside the grids; :func:`read_grids` / :func:`check_grids` — existing grids checked;
  :func:`compare_systems` / :func:`merge_systems` — several grid systems compared and merged (多网合一);
* :func:`read_grid_list` / :func:`grids_from_list` — grids kept as a list of codes and compounds;
  :func:`organisation_nodes` / :func:`organisation_chart` — the "支部建在网格" chart down to the
  micro-grids; :func:`party_coverage` — compound party coverage per community/town/county.
"""

from geo.grids.blocks import street_blocks, unit_adjacency, units_from_polygons, units_with_households
from geo.grids.compare import Comparison, compare_systems, merge_systems
from geo.grids.edits import EditResult, apply_edit, edit, undo
from geo.grids.imports import check_grids, grids_from_list, read_grid_list, read_grids
from geo.grids.levels import LevelPlan, building_plots, check_levels, generate_levels, levels_table, micro_grids
from geo.grids.linkage import (
    Linkage,
    LinkagePairs,
    greedy_linkage,
    grid_codes_at,
    linkage_by_grid,
    linkage_pairs,
    solve_linkage,
)
from geo.grids.orgchart import organisation_chart, organisation_nodes
from geo.grids.output import grid_coverage, grids_gdf, plan_from_dict, plan_to_dict
from geo.grids.partition import generate_grids
from geo.grids.party import party_coverage
from geo.grids.plan import GridEditError, GridPlan, Issue, check_plan
from geo.grids.rosters import RosterCheck, check_roster, compound_key, read_roster
from geo.grids.tree import organisation_diagram, organisation_table

__all__ = [
    "Comparison",
    "EditResult",
    "GridEditError",
    "GridPlan",
    "Issue",
    "LevelPlan",
    "apply_edit",
    "building_plots",
    "check_grids",
    "check_levels",
    "check_plan",
    "compare_systems",
    "edit",
    "generate_grids",
    "generate_levels",
    "grid_coverage",
    "grids_gdf",
    "levels_table",
    "merge_systems",
    "micro_grids",
    "organisation_diagram",
    "organisation_table",
    "plan_from_dict",
    "plan_to_dict",
    "read_grids",
    "street_blocks",
    "undo",
    "unit_adjacency",
    "units_from_polygons",
    "units_with_households",
]
__all__ += ["Linkage", "LinkagePairs", "greedy_linkage", "grid_codes_at", "linkage_by_grid", "linkage_pairs"]
__all__ += ["solve_linkage"]
__all__ += ["RosterCheck", "check_roster", "compound_key", "read_roster"]
__all__ += ["grids_from_list", "organisation_chart", "organisation_nodes", "party_coverage", "read_grid_list"]
