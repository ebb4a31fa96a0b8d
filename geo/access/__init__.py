"""Access to services: service areas, demand, facilities, standards, coverage, comparison.

Where a user starts:

* :func:`service_areas` — street-following service areas of snapped facilities (5/10/15 min);
* :func:`osm_facilities`, :func:`read_facility_ledger` — facilities by service function;
  :func:`residents_from_buildings`, :func:`residents_from_compounds` — where residents live;
* :func:`accessibility` — walking times from every resident to every function, then
  :func:`coverage_table`, :func:`gap_cells`, :func:`standard_check` (GB 50180-2018),
  :func:`life_circle_check` (each area by its own standard: GB 50180-2018 for towns' communities,
  TD/T 1062-2021 for villages), :func:`scenario_delta` (what a candidate site adds);
* :func:`compare_service_area` — a drawn service area against the computed one;
* :func:`load_standard`, :func:`standard_by_key` and :data:`FUNCTIONS` — the life-circle standards and the
  six functions;
* :func:`read_units` — area units (towns, communities, grids) coverage is counted by.
"""

from geo.access.compare import compare_service_area
from geo.access.compounds import residents_from_compounds
from geo.access.coverage import Accessibility, accessibility
from geo.access.coverage_tables import coverage_table, gap_cells, scenario_delta, standard_check
from geo.access.demand import residents_from_buildings
from geo.access.facilities import osm_facilities, read_facility_ledger
from geo.access.life_circle import life_circle_check
from geo.access.service_area import service_areas
from geo.access.standards import FUNCTIONS, Standard, load_standard, standard_by_key
from geo.access.units import read_units

__all__ = [
    "FUNCTIONS",
    "Accessibility",
    "Standard",
    "accessibility",
    "compare_service_area",
    "coverage_table",
    "gap_cells",
    "life_circle_check",
    "load_standard",
    "osm_facilities",
    "read_facility_ledger",
    "read_units",
    "residents_from_buildings",
    "residents_from_compounds",
    "scenario_delta",
    "service_areas",
    "standard_by_key",
    "standard_check",
]
