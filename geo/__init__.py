"""Linli core: walking networks, service areas, coverage, placement, grids, exports, maps.

Framework-free: no Flask, no Folium, no command-line parsing, no environment
variables here; the faces (``webapp/``, ``scripts/``, the ``linli`` command) parse,
validate and pass values in.  ``import geo`` imports nothing heavy: a user imports the
subpackage that does the work.

What a user calls, by room:

- ``geo.workflows`` -- one call per analysis: ``load_analysis("demo")`` then
  ``analyse_coverage``, ``function_service_areas``, ``evaluate_candidate``,
  ``placement_candidates`` + ``plan_centres``, ``project_grids``, ``project_map``
- ``geo.project.load_project`` -- a study area: boundary, walk network, facilities, residents
- ``geo.network.load_network``, ``snap_points`` -- the walk graph and points on it
- ``geo.access.service_areas`` -- street-following walking service areas
- ``geo.access.accessibility``, ``coverage_table``, ``gap_cells``,
  ``standard_check`` -- who reaches what within how many minutes
- ``geo.placement.place_centers``, ``solve_mclp``/``solve_pmedian``/``solve_lscp`` -- where new centres go
- ``geo.grids.generate_grids``, ``check_plan`` -- management grids (网格)
- ``geo.io.read_upload`` -- planners' files; ``geo.io.write_gpkg``, ``write_table`` -- files, written atomically
- ``geo.maps`` -- print layouts and reports (PNG/PDF)
- ``geo.settings`` -- every documented default; ``geo.errors`` -- the error hierarchy
"""
