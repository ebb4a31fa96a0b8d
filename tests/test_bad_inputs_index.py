"""The bad-input rules (docs/bad-inputs.md), case by case, to the tests that cover it.

Each case names the tests that send it through a real entry point (loader, script,
API, server start).  This file fails when a named test disappears or is renamed, so
the index cannot silently rot; cases not covered yet are listed in ``NOT_YET`` with
the reason, and a case may not be in both.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: Case -> "file.py::test_function" of the tests that cover it.
INDEX: dict[str, list[str]] = {
    "U1": [
        "test_uploads.py::test_file_over_max_bytes_is_too_large",
        "test_webapp_api.py::test_upload_over_the_size_limit",
        "test_webapp_api.py::test_request_body_limit",
        "test_limits.py::test_large_body_on_a_small_route_is_refused_before_it_is_read",
        "test_webapp_rosters.py::test_a_roster_over_the_upload_limit_is_a_413",  # h-roster (issue 20)
        "test_webapp_gridimport.py::test_a_file_over_the_upload_limit_is_a_413_and_no_file_is_a_422",  # h-gridimp
    ],
    "U2": [
        "test_uploads.py::test_chinese_original_name_kept_only_as_metadata",
        "test_webapp_api.py::test_upload_a_town_polygon_with_a_chinese_name",
    ],
    "U3": [
        "test_uploads.py::test_zip_with_unsafe_member_is_refused",
        "test_uploads.py::test_zip_with_nul_byte_member_is_refused",
        "test_fuzz_api.py::test_uploaded_archives_never_fail_with_5xx",
    ],
    "U4": ["test_uploads.py::test_zip_bomb_ratio_is_refused", "test_uploads.py::test_zip_over_unpacked_cap_is_refused"],
    "U5": [
        "test_uploads.py::test_shapefile_missing_shx_and_prj_names_them",
        "test_uploads.py::test_shapefile_missing_prj_is_not_assumed_wgs84",
        "test_uploads.py::test_several_shapefiles_are_listed",
        "test_uploads.py::test_shapefile_in_folder_with_upper_case_extensions",
    ],
    "U6": [
        "test_uploads.py::test_gbk_dbf_without_cpg_is_decoded",
        "test_text_inputs.py::test_a_cpg_that_lies_is_refused",
        "test_text_inputs.py::test_a_damaged_dbf_is_refused",
    ],
    "U7": [
        "test_limits.py::test_workbook_past_the_row_cap_is_refused_while_streaming",
        "test_limits.py::test_table_past_the_cell_cap_is_refused_at_the_cap",
        "test_uploads.py::test_csv_encodings_and_headers",
        "test_uploads.py::test_csv_swapped_columns",
        "test_uploads.py::test_csv_bad_rows_reported_by_line",
        "test_uploads.py::test_csv_dms_coordinates_are_parsed",
        # h-prog (issue 21): the programme ledger's statuses, dates and phases, by line
        "test_programme.py::test_bad_rows_of_the_ledger_are_reported_by_line",
        "test_programme.py::test_the_script_refuses_a_ledger_with_bad_rows",
        "test_grid_list_import.py::test_gbk_csv_with_full_width_names_and_one_row_per_grid",
        "test_grid_list_import.py::test_messy_workbook_gives_grids_with_areas_and_lines_of_unmatched",
        "test_roster_addresses.py::test_members_placed_by_compound_address_and_coordinates",
    ],
    "U8": [
        "test_uploads.py::test_web_map_systems_converted_to_wgs84",
        "test_webapp_api.py::test_upload_gcj02_candidates_are_converted",
        "test_search.py::test_gcj02_coordinate_comes_back_at_its_wgs84_point",
        "test_grid_adopt.py::test_a_geojson_drawn_on_amap_is_converted_to_wgs84",  # h-gridimp (issue 20)
    ],
    "U9": [
        "test_uploads.py::test_gauss_kruger_swapped_axes",
        "test_uploads.py::test_gauss_kruger_with_zone_prefix_labelled_4549",
        "test_uploads.py::test_far_from_study_area",
    ],
    "U10": ["test_uploads.py::test_geojson_legacy_crs_member_is_ignored"],
    "U11": [
        "test_uploads.py::test_vrt_named_geojson_is_refused_without_echo",
        "test_webapp_api.py::test_bad_uploads_change_nothing",
    ],
    "U12": [
        "test_uploads.py::test_wfs_descriptor_is_refused",
        "test_no_network_on_import.py::test_importing_geo_and_scripts_opens_no_connection",
    ],
    "U13": [
        "test_uploads.py::test_geopackage_with_trigger_is_refused_without_change",
        "test_uploads.py::test_geopackage_layer_that_is_a_recursive_view_is_refused_before_gdal",
        "test_uploads.py::test_geopackage_layer_that_is_a_virtual_table_is_refused",
        "test_uploads.py::test_sqlite_that_is_not_a_geopackage",
    ],
    "U14": [
        "test_bad_network_data.py::test_u14_xml_with_doctype_is_refused",
        "test_uploads.py::test_kml_with_doctype_is_refused",
        "test_text_inputs.py::test_xlsx_members_with_a_doctype_in_any_encoding_are_refused",
    ],
    "U15": [
        "test_bad_network_data.py::test_u15_graphml_that_is_not_graphml",
        "test_bad_network_data.py::test_n6_bad_edge_lengths_in_graphml",
    ],
    "U16": [
        "test_uploads.py::test_empty_file",
        "test_uploads.py::test_zero_features",
        "test_uploads.py::test_points_where_polygon_expected",
        "test_uploads.py::test_four_d_coordinates_are_dropped_to_2d",
        # h-roster (issue 20): a roster imported in the grids panel
        "test_webapp_rosters.py::test_bad_roster_files_are_refused_in_chinese_and_nothing_is_kept",
        "test_webapp_rosters.py::test_no_file_and_who_may_import",
        # h-gridimp (issue 20): existing grids imported in the grids panel
        "test_webapp_gridimport.py::test_bad_files_are_refused_in_chinese_and_nothing_changes",
    ],
    "G1": ["test_webapp_api.py::test_bad_geometry_is_refused", "test_fuzz_api.py::test_evaluate_never_fails_with_5xx"],
    "G2": ["test_webapp_api.py::test_bad_geometry_is_refused"],
    "G3": [
        "test_webapp_api.py::test_bad_geometry_is_refused",
        "test_webapp_api.py::test_wrong_content_type_and_missing_csrf",
    ],
    "G4": ["test_webapp_api.py::test_open_ring_and_vertex_cap", "test_fuzz_api.py::test_compare_never_fails_with_5xx"],
    "G5": ["test_webapp_api.py::test_bow_tie_refused_or_repaired"],
    "G6": [
        "test_webapp_api.py::test_bad_geometry_is_refused",
        "test_webapp_api.py::test_upload_far_away_and_stale",
        "test_search.py::test_coordinate_order_by_range_and_china",
        "test_search.py::test_outside_the_study_area_is_returned_but_flagged",
        "test_webapp_api.py::test_bad_scenes_are_clear_errors",
    ],
    "G7": [
        "test_webapp_api.py::test_bad_geometry_is_refused",
        "test_webapp_api.py::test_bad_plan_saves_change_nothing",
        "test_webapp_programme.py::test_bad_programmes_are_refused_naming_what",  # h-prog (issue 21)
    ],
    "G8": [
        "test_webapp_api.py::test_open_ring_and_vertex_cap",
        "test_limits.py::test_polygon_at_the_vertex_cap_is_compared_after_simplifying",
        "test_limits.py::test_outline_that_stays_too_detailed_is_refused_with_the_cap",
        "test_limits.py::test_repair_is_bounded",
    ],
    "G9": [
        "test_webapp_api.py::test_plan_lifecycle",
        "test_webapp_api.py::test_facility_names_are_escaped",
        "test_text_inputs.py::test_every_csv_in_a_shapefile_zip_is_formula_safe",
    ],
    "G10": [
        "test_webapp_api.py::test_stale_save_is_a_conflict",
        "test_browser.py::test_stale_save_shows_the_conflict_message",
        "test_consistency.py::test_a_save_answers_with_the_version_it_wrote",
        "test_consistency.py::test_api_delete_refuses_a_malformed_version_guard",
    ],
    "G11": ["test_webapp_api.py::test_wrong_content_type_and_missing_csrf"],
    "G12": ["test_webapp_api.py::test_unknown_and_non_integer_ids"],
    # h-acct (issue 19)
    "G13": [
        "test_jobs_owner.py::test_only_the_owner_or_an_administrator_reads_or_cancels_a_job",
        "test_jobs_owner.py::test_a_job_submitted_through_the_api_is_its_users",
    ],
    "G14": [
        "test_proxy.py::test_a_spoofed_forwarded_for_changes_nothing_by_default",
        "test_proxy.py::test_trusted_proxies_give_the_client_address",
    ],
    "G15": [
        "test_forget_person.py::test_a_person_needs_a_name_and_phone_or_an_id",
        "test_forget_person.py::test_the_admin_removes_a_person_from_everything_stored",
        "test_forget_files.py::test_a_file_that_cannot_be_read_is_refused_and_left_alone",  # h-acct2
        "test_forget_files.py::test_the_admin_reaches_every_kind_and_a_failure_changes_nothing",
    ],
    "G16": [  # h-gridweb (issue 20)
        "test_webapp_grids.py::test_bad_lines_are_refused_with_the_reason",
        "test_webapp_grids.py::test_a_block_clicked_on_the_map_moves_to_the_neighbour",
        "test_webapp_grids.py::test_grids_live_in_the_plan_store_with_history_and_restore",
        "test_webapp_grids.py::test_two_servers_on_one_store_a_stale_edit_gets_409_with_what_changed",
        "test_store.py::test_concurrent_grid_edits_exactly_one_wins",
        "test_routes_permissions.py::test_a_planner_of_another_area_cannot_edit_these_grids",
        # h-gridimp (issue 20): imported grids or a merged proposal adopted
        "test_webapp_gridimport.py::test_adopt_makes_one_undoable_version_audited_and_stale_is_409",
        "test_webapp_gridimport.py::test_only_a_planner_whose_area_holds_the_grids_adopts_them",
        "test_webapp_gridimport.py::test_codes_that_cannot_be_adopted_are_reported_then_refused",
        "test_grid_adopt.py::test_grids_that_cannot_be_adopted_are_refused",
    ],
    "C1": [
        "test_script_service_areas.py::test_bad_arguments_exit_2",
        "test_script_coverage.py::test_bad_arguments_exit_2",
        # h-deliver (issue 21): the export CRS
        "test_export_crs.py::test_an_unknown_choice_is_refused_with_the_choices",
        "test_export_crs.py::test_a_zone_not_of_the_area_is_refused_naming_the_right_one",
        "test_export_crs.py::test_service_areas_script_crs",
        "test_export_crs.py::test_web_unknown_or_impossible_crs_is_a_422",
        # h-orgweb (issue 20): the organisation chart's format and ?personal=
        "test_orgweb.py::test_unknown_format_or_personal_value_is_a_422",
        # h-linkweb (issue 20): the "1+10" linkage's k and radius
        "test_webapp_linkweb.py::test_bad_settings_are_422",
    ],
    "C2": [
        "test_script_service_areas.py::test_output_equal_to_input_is_refused",
        "test_script_service_areas.py::test_demo_to_geopackage",
    ],
    "C3": ["test_bad_network_data.py::test_missing_network_file_and_connection_string"],
    "C4": [
        "test_script_service_areas.py::test_demo_to_geopackage",
        "test_script_coverage.py::test_demo_writes_every_output",
        "test_uploads.py::test_chinese_path_and_browser_fakepath",
    ],
    "C5": [
        "test_webapp_api.py::test_serving_beyond_loopback_needs_a_key",
        "test_webapp_api.py::test_secret_key_is_generated_once_and_private",
    ],
    "C6": [
        "test_webapp_api.py::test_store_in_wal_mode_and_unusable_folder",
        "test_webapp_api.py::test_server_refuses_an_unusable_plan_store",
    ],
    "C7": [  # h-rural (issue 21)
        "test_life_circle.py::test_area_types_and_their_bad_words",
        "test_life_circle.py::test_project_area_type_and_a_bad_one",
        "test_life_circle.py::test_unit_file_with_an_area_type_column",
        "test_life_circle.py::test_web_export_takes_the_planners_standard",
        "test_life_circle.py::test_town_level_is_reached_by_electric_bicycle_or_a_chosen_speed",
        "test_life_circle.py::test_bad_rural_standard_fields",
    ],
    "C8": [  # h-acct (issue 19)
        "test_limits.py::test_bad_connection_cap_is_refused_at_start",
        "test_proxy.py::test_bad_trusted_proxies_refused",
        "test_proxy.py::test_trusted_proxies_from_the_environment_and_the_serve_command",
    ],
    "N1": ["test_bad_network_data.py::test_n1_ways_referencing_missing_nodes"],
    "N2": [
        "test_bad_network_data.py::test_n2_coordinates_out_of_range",
        "test_bad_network_data.py::test_n2_graphml_with_bad_latitude",
    ],
    "N3": ["test_bad_network_data.py::test_n3_only_walkable_highways_become_edges"],
    "N4": ["test_bad_network_data.py::test_n4_empty_file", "test_bad_network_data.py::test_n4_truncated_pbf"],
    "N5": ["test_bad_network_data.py::test_n5_facility_on_disconnected_island"],
    "N6": ["test_bad_network_data.py::test_n6_bad_edge_lengths_in_graphml"],
    "N7": ["test_network.py::test_speed_floor_for_zero_speed_class"],
    "N9": [
        "test_network.py::test_clip_to_study_area_plus_buffer",
        "test_project.py::test_residents_are_clipped_to_the_boundary_facilities_to_its_margin",
    ],
    "N8": ["test_bad_network_data.py::test_n8_projected_graph_queried_with_degrees"],
    "F1": ["test_faults.py::test_saves_killed_at_random_points_leave_old_or_new"],
    "F2": [
        "test_faults.py::test_disk_full_during_a_save_loses_nothing_and_recovers",
        "test_faults_more.py::test_a_real_full_disk_during_a_geopackage_export",
        "test_faults_more.py::test_the_job_store_on_a_real_full_disk",
    ],
    "F3": [
        "test_faults.py::test_two_planners_saving_at_once_one_wins",
        "test_consistency.py::test_a_read_is_one_version",
    ],
    "F4": [
        "test_faults.py::test_a_job_interrupted_by_a_restart_is_marked_failed",
        "test_faults.py::test_placement_job_through_the_api",
        "test_browser.py::test_placement_runs_in_the_background_and_shows_its_sites",
    ],
    "F5": [
        "test_browser.py::test_map_renders_with_no_request_leaving_the_machine",
        "test_no_network_on_import.py::test_importing_geo_and_scripts_opens_no_connection",
    ],
}

#: Cases without a dedicated test yet, and why.
NOT_YET: dict[str, str] = {}


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("case", sorted(INDEX))
def test_every_indexed_test_exists(case):
    for ref in INDEX[case]:
        file, function = ref.split("::")
        assert function in _functions(TESTS / file), f"{case}: {ref} not found"


def test_the_catalogue_is_complete():
    cases = [f"U{k}" for k in range(1, 17)] + [f"G{k}" for k in range(1, 17)]
    cases += [f"C{k}" for k in range(1, 9)] + [f"N{k}" for k in range(1, 10)] + [f"F{k}" for k in range(1, 6)]
    assert set(INDEX) | set(NOT_YET) == set(cases)
    assert not set(INDEX) & set(NOT_YET)


def test_the_rules_page_lists_the_same_tests():
    """docs/bad-inputs.md is the project's own page of these rules: it names each case's tests."""
    page = (TESTS.parent / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ") and "::" in line}
    for case, refs in INDEX.items():
        assert case in rows, f"{case} missing from docs/bad-inputs.md"
        for ref in refs:
            assert f"`{ref}`" in rows[case], f"{case}: {ref} not on docs/bad-inputs.md"
