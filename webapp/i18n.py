"""Interface texts: Chinese by default, English available (``?lang=en``, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Mapping

from geo.access.standards import FUNCTIONS_EN, Standard
from geo.settings import TravelProfile

LANGUAGES = ("zh", "en")

#: Leaflet.draw's texts in Chinese (``L.drawLocal``; its own English is the default).
DRAW_TEXTS_ZH: dict = {
    "draw": {
        "toolbar": {
            "actions": {"title": "取消绘制", "text": "取消"},
            "finish": {"title": "完成绘制", "text": "完成"},
            "undo": {"title": "删除最后一个点", "text": "删除最后一点"},
            "buttons": {
                "polyline": "画线",
                "polygon": "画服务范围（多边形）",
                "rectangle": "画矩形",
                "circle": "画圆",
                "marker": "放置候选邻里中心",
                "circlemarker": "放置圆点",
            },
        },
        "handlers": {
            "circle": {"tooltip": {"start": "按住并拖动画圆。"}, "radius": "半径"},
            "circlemarker": {"tooltip": {"start": "点击地图放置圆点。"}},
            "marker": {"tooltip": {"start": "点击地图放置候选点。"}},
            "polygon": {
                "tooltip": {
                    "start": "点击开始绘制。",
                    "cont": "点击继续绘制。",
                    "end": "点击第一个点闭合图形。",
                }
            },
            "polyline": {
                "error": "<strong>错误：</strong>边线不能相交！",
                "tooltip": {"start": "点击开始画线。", "cont": "点击继续画线。", "end": "点击最后一个点结束。"},
            },
            "rectangle": {"tooltip": {"start": "按住并拖动画矩形。"}},
            "simpleshape": {"tooltip": {"end": "松开鼠标完成绘制。"}},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {
                "save": {"title": "保存修改", "text": "保存"},
                "cancel": {"title": "取消编辑，放弃全部修改", "text": "取消"},
                "clearAll": {"title": "清除全部图形", "text": "全部清除"},
            },
            "buttons": {
                "edit": "编辑图形",
                "editDisabled": "没有可编辑的图形",
                "remove": "删除图形",
                "removeDisabled": "没有可删除的图形",
            },
        },
        "handlers": {
            "edit": {"tooltip": {"text": "拖动节点或标记进行编辑。", "subtext": "点击“取消”撤销修改。"}},
            "remove": {"tooltip": {"text": "点击要删除的图形。"}},
        },
    },
}

TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh": "邻里 15分钟便民服务区规划", "en": "Linli 15-minute service area planning"},
    "search_title": {"zh": "查找与定位", "en": "Search and go to"},
    "search_label": {"zh": "名称、编码或坐标", "en": "Name, code or coordinate"},
    "search_placeholder": {
        "zh": "设施、小区、社区、网格、道路，或 118.95, 25.03",
        "en": "Facility, compound, community, grid, street, or 118.95, 25.03",
    },
    "search_system": {"zh": "坐标系", "en": "Coordinate system"},
    "search_wgs84": {"zh": "WGS84 / CGCS2000（GPS、天地图）", "en": "WGS84 / CGCS2000 (GPS, Tianditu)"},
    "search_gcj02": {"zh": "GCJ-02（高德、腾讯拾取）", "en": "GCJ-02 (picked in Amap or Tencent maps)"},
    "search_go": {"zh": "查找", "en": "Search"},
    "search_clear": {"zh": "清除", "en": "Clear"},
    "search_searching": {"zh": "查找中…", "en": "Searching…"},
    "search_none": {"zh": "没有找到“{q}”", "en": "Nothing found for “{q}”"},
    "search_found": {
        "zh": "找到 {n} 处：回车前往第一处，方向键或 Tab 逐个浏览",
        "en": "{n} found: Enter goes to the first, arrow keys or Tab go through them",
    },
    "search_coordinate": {"zh": "坐标", "en": "Coordinate"},
    "search_swapped": {"zh": "按纬度在前读取", "en": "read as latitude first"},
    "search_converted": {"zh": "已由 GCJ-02 转换为 WGS84", "en": "converted from GCJ-02 to WGS84"},
    "search_outside": {
        "zh": "该坐标在研究区之外，请检查数字和坐标系",
        "en": "This coordinate lies outside the study area: check the numbers and the coordinate system",
    },
    "search_place": {"zh": "在此放置候选点", "en": "Place a candidate here"},
    "search_placed": {"zh": "已在此放置候选点（未保存）", "en": "Candidate placed here (not saved)"},
    "search_hint": {
        "zh": "只在本机查找本项目自己的数据，不联网。",
        "en": "Searches only this project's own data, on this machine; nothing goes online.",
    },
    "lang": {"zh": "zh", "en": "en"},
    "plans": {"zh": "方案", "en": "Plans"},
    "ledgers": {"zh": "导入台账", "en": "Ledgers"},
    "ledger_facilities": {"zh": "设施台账", "en": "Facility ledger"},
    "ledger_compounds": {"zh": "小区台账", "en": "Compound ledger"},
    "system_auto": {"zh": "坐标系：按路网自动判定", "en": "Coordinates: detected from the streets"},
    "preview": {"zh": "预览", "en": "Preview"},
    "load_ledger": {"zh": "载入分析", "en": "Load into the analysis"},
    "ledger_hint": {
        "zh": "支持 XLSX、XLS、CSV（UTF-8 或 GBK）；表头上方的标题行、表尾的填表人/审核人行自动跳过。",
        "en": "XLSX, XLS or CSV (UTF-8 or GBK); title rows above the header and sign-off rows are skipped.",
    },
    # Issue 18: the ledgers, new study area, exports, assumptions, map layers and tooltips.
    "ledger_kind": {"zh": "台账种类", "en": "Ledger kind"},
    "coord_system": {"zh": "坐标系", "en": "Coordinate system"},
    "system_wgs84": {"zh": "WGS84 / CGCS2000（GPS、天地图）", "en": "WGS84 / CGCS2000 (GPS, Tianditu)"},
    "system_gcj02": {"zh": "GCJ-02（高德、腾讯拾取）", "en": "GCJ-02 (picked in Amap or Tencent Maps)"},
    "system_bd09": {"zh": "BD-09（百度拾取）", "en": "BD-09 (picked in Baidu Maps)"},
    "ledger_report": {"zh": "读取报告", "en": "Reading report"},
    "ledger_pick_file": {"zh": "请先选择台账文件", "en": "Choose a ledger file first"},
    "ledger_columns_hint": {
        "zh": "指定各列的含义后重新预览：",
        "en": "Say what each column holds, then preview again:",
    },
    "ledger_auto": {"zh": "（自动）", "en": "(automatic)"},
    "ledger_unknown_hint": {
        "zh": "以下类别未识别（未读入）；选择其服务功能后重新预览：",
        "en": "These categories were not recognised (not read in); choose their service function and preview again:",
    },
    "ledger_category_rows": {"zh": "{name}（{n} 行）", "en": "{name} ({n} rows)"},
    "ledger_leave_out": {"zh": "不计入", "en": "Leave out"},
    "ledger_all_functions": {"zh": "全部功能（邻里中心）", "en": "All functions (neighborhood center)"},
    "ledger_reading": {"zh": "正在读取台账……", "en": "Reading the ledger…"},
    "ledger_applying": {"zh": "正在载入并重新计算覆盖……", "en": "Loading it and computing the coverage again…"},
    "ledger_loaded": {"zh": "已载入：{summary}。正在刷新地图……", "en": "Loaded: {summary}. Refreshing the map…"},
    "field_lon": {"zh": "经度", "en": "Longitude"},
    "field_lat": {"zh": "纬度", "en": "Latitude"},
    "field_pair": {"zh": "坐标（经度,纬度）", "en": "Coordinates (longitude,latitude)"},
    "field_id": {"zh": "编号", "en": "ID"},
    "field_name": {"zh": "名称", "en": "Name"},
    "field_category": {"zh": "类别", "en": "Category"},
    "field_functions": {"zh": "服务功能", "en": "Service functions"},
    "field_community": {"zh": "所属社区", "en": "Community"},
    "field_address": {"zh": "地址", "en": "Address"},
    "field_households": {"zh": "户数", "en": "Households"},
    "field_residents": {"zh": "人口", "en": "Residents"},
    "field_elderly": {"zh": "60岁以上人口", "en": "Residents aged 60 and over"},
    "field_children": {"zh": "0-6岁人口", "en": "Children aged 0-6"},
    "upload_pick_plan": {"zh": "请先选择或新建一个方案", "en": "Choose or create a plan first"},
    "upload_pick_file": {"zh": "请先选择要上传的文件", "en": "Choose a file to upload first"},
    "uploading": {"zh": "正在上传……", "en": "Uploading…"},
    "upload_progress": {"zh": "正在上传文件…… {done} / {total} MB", "en": "Uploading the files… {done} / {total} MB"},
    "upload_failed": {"zh": "上传失败", "en": "Upload failed"},
    "upload_added": {"zh": "已加入 {n} 个要素（{crs}）", "en": "Added {n} features ({crs})"},
    "np_name": {"zh": "名称", "en": "Name"},
    "np_name_example": {"zh": "如：惠安县城区", "en": "e.g. Hui'an county town"},
    "np_boundary": {"zh": "边界", "en": "Boundary"},
    "np_builtin": {"zh": "{name}（内置边界）", "en": "{name} (built-in boundary)"},
    "np_no_builtin": {"zh": "上传边界文件 / 不设边界", "en": "Upload a boundary file / no boundary"},
    "np_boundary_file": {"zh": "边界文件（可选）", "en": "Boundary file (optional)"},
    "np_network": {
        "zh": "路网 OpenStreetMap（.osm.pbf / .osm，必填）",
        "en": "Streets from OpenStreetMap (.osm.pbf / .osm, required)",
    },
    "np_facilities": {
        "zh": "设施台账（可选；不传则取路网文件中的设施）",
        "en": "Facility ledger (optional; without it, the facilities in the street file)",
    },
    "np_compounds": {
        "zh": "小区台账（可选；不传则按建筑估算人口）",
        "en": "Compound ledger (optional; without it, residents estimated from the buildings)",
    },
    "np_functions": {
        "zh": "扩展功能 1+6+X（可选，以顿号分隔）",
        "en": "Extra functions 1+6+X (optional, separated by commas)",
    },
    "np_functions_example": {"zh": "如：安有所护、快递物流", "en": "e.g. safety, parcel delivery"},
    "np_categories": {
        "zh": "类别对照表（可选，CSV：类别,服务功能,设施类型）",
        "en": "Category table (optional, CSV with a category, a service function and a facility type column)",
    },
    "np_hint": {
        "zh": "台账坐标系按“导入台账”中的选择（默认按路网自动判定）。"
        "文件保存在服务器的 instance/projects/ 下，并生成项目文件 project.toml。",
        "en": "The ledgers' coordinate system is the one chosen under Ledgers (detected from the streets "
        "by default). The files are kept on the server under instance/projects/, with a project file project.toml.",
    },
    "np_pick_network": {"zh": "请选择路网文件（.osm.pbf 或 .osm）", "en": "Choose a street file (.osm.pbf or .osm)"},
    "np_built": {"zh": "已构建：{project}（{s} 秒）。正在打开……", "en": "Built: {project} ({s} s). Opening…"},
    "np_queued": {"zh": "排队等候", "en": "waiting in the queue"},
    "np_building": {
        "zh": "正在构建研究区：{stage}…… {pct}%，已用 {s} 秒",
        "en": "Building the study area: {stage}… {pct}%, {s} s so far",
    },
    "np_too_long": {
        "zh": "构建时间过长，请稍后刷新页面查看",
        "en": "The build is taking long; reload the page later to see it",
    },
    "exports": {"zh": "导出", "en": "Exports"},
    "paper": {"zh": "纸张", "en": "Paper"},
    "landscape": {"zh": "横向", "en": "landscape"},
    "portrait": {"zh": "纵向", "en": "portrait"},
    "export_html": {"zh": "离线地图 HTML", "en": "Offline map (HTML)"},
    "export_report": {"zh": "摘要报告 PDF", "en": "Summary report (PDF)"},
    "export_coverage": {"zh": "覆盖表 XLSX", "en": "Coverage table (XLSX)"},
    "export_plan_gpkg": {"zh": "方案 GeoPackage", "en": "Plan as GeoPackage"},
    "export_plan_zip": {"zh": "方案 Shapefile (zip)", "en": "Plan as Shapefile (zip)"},
    "per_resident": {"zh": "人", "en": "resident"},
    "persons_per_household": {"zh": "人/户", "en": "persons/household"},
    "layer_base": {"zh": "底图 (OSM)", "en": "Base map (OSM)"},
    "layer_boundary": {"zh": "研究区边界", "en": "Study area boundary"},
    "layer_units": {"zh": "分区 {level}", "en": "Units: {level}"},
    "layer_rings": {"zh": "服务范围 {function}", "en": "Service areas: {function}"},
    "layer_times": {"zh": "居民步行时间 {function}", "en": "Residents' walking time: {function}"},
    "layer_facilities": {"zh": "设施 {function} ({n})", "en": "Facilities: {function} ({n})"},
    "layer_gaps": {"zh": "缺口 {function}", "en": "Gaps: {function}"},
    "layer_drawings": {"zh": "我的绘制", "en": "My drawings"},
    "legend_not_reached": {"zh": "未到达", "en": "Not reached"},
    "unit_code": {"zh": "编码", "en": "Code"},
    "ring_from": {"zh": "从 (分钟)", "en": "From (min)"},
    "ring_to": {"zh": "到 (分钟)", "en": "To (min)"},
    "ring_area": {"zh": "面积 (km²)", "en": "Area (km²)"},
    "tip_residents": {"zh": "人口 (人)", "en": "Residents"},
    "tip_walk": {"zh": "步行 (分钟)", "en": "Walk (min)"},
    "tip_nearest": {"zh": "最近设施", "en": "Nearest facility"},
    "gap_rank": {"zh": "排名", "en": "Rank"},
    "gap_uncovered": {"zh": "未覆盖人口 (人)", "en": "Residents not covered"},
    "tip_points": {
        "zh": "{n} 处居民点 · 人口 {residents} 人",
        "en": "{n} residential points · {residents} residents",
    },
    "tip_mean_walk": {"zh": "平均步行 {time} 分钟（可达 {pct}%）", "en": "Mean walk {time} min ({pct}% reached)"},
    "tip_point": {
        "zh": "人口 {residents} 人<br>步行 {time} 分钟<br>最近设施 {facility}",
        "en": "{residents} residents<br>Walk {time} min<br>Nearest facility: {facility}",
    },
    "zoom_in": {"zh": "放大", "en": "Zoom in"},
    "zoom_out": {"zh": "缩小", "en": "Zoom out"},
    "layers": {"zh": "图层", "en": "Layers"},
    "source": {"zh": "来源", "en": "Source"},
    "upload_to_plan": {"zh": "上传到方案", "en": "Upload into the plan"},
    "upload_hint": {
        "zh": "GeoJSON、GeoPackage、Shapefile（zip）、KML，或带经纬度的表格"
        "（坐标系按“导入台账”中的选择，自动时按路网判定）。",
        "en": "GeoJSON, GeoPackage, zipped Shapefile, KML, or a table with longitude/latitude "
        "(coordinate system as chosen under Ledgers; detected from the streets by default).",
    },
    "new_project": {"zh": "新建研究区", "en": "New study area"},
    "build_project": {"zh": "构建并打开", "en": "Build and open"},
    "unsaved_confirm": {
        "zh": "当前方案有未保存的修改（绘制、候选点、名称或备注），继续将丢失这些修改。仍要继续吗？",
        "en": "The plan on screen has unsaved changes (drawings, candidates, name or notes) "
        "that will be lost. Continue?",
    },
    "draft_found": {"zh": "发现上次未保存的草稿", "en": "An unsaved draft from last time"},
    "draft_items": {"zh": "个图形", "en": "shapes"},
    "draft_restore": {"zh": "恢复草稿", "en": "Restore it"},
    "draft_discard": {"zh": "丢弃", "en": "Discard"},
    "draft_restored": {"zh": "已恢复草稿（尚未保存）", "en": "Draft restored (not saved yet)"},
    "panel": {"zh": "面板", "en": "Panel"},
    "plan_eval": {"zh": "方案整体效果", "en": "The plan as a whole"},
    "plan_after": {"zh": "方案后覆盖率", "en": "Covered with the plan"},
    "plan_eval_info": {
        "zh": "{n} 个候选点共同计算，以现有设施为基准",
        "en": "{n} candidate sites together, existing facilities as the baseline",
    },
    # The scene (function, budget, travel profile) switched in place, and the plan per unit.
    "budget_custom": {"zh": "自定义", "en": "Custom"},
    "budget_custom_minutes": {"zh": "分钟数", "en": "Minutes"},
    "profile": {"zh": "出行方式", "en": "Travel mode"},
    "profile_walk": {"zh": "步行", "en": "Walking"},
    "profile_elderly": {"zh": "老年人步行", "en": "Elderly walking"},
    "profile_bike": {"zh": "自行车", "en": "Bicycle"},
    "profile_ebike": {"zh": "电动自行车", "en": "E-bike"},
    "assume_line": {
        "zh": "{profile} {speed} km/h，{budget} 分钟 ≈ {metres} m；{standard}；{floor} m²/人，{pph} 人/户",
        "en": "{profile} {speed} km/h, {budget} min ≈ {metres} m; {standard}; {floor} m² per resident, "
        "{pph} persons per household",
    },
    "switching": {"zh": "正在更新地图和数字…", "en": "Updating the map and figures…"},
    "people": {"zh": "人", "en": "residents"},
    "legend_gaps": {"zh": "覆盖缺口（未覆盖居民最多的格网）", "en": "Gaps (cells with most residents not covered)"},
    "layer_rings_chosen": {"zh": "服务范围（所选功能）", "en": "Service areas (chosen function)"},
    "layer_times_chosen": {"zh": "居民步行时间（所选功能）", "en": "Residents' walking time (chosen function)"},
    "layer_gaps_chosen": {"zh": "覆盖缺口（所选功能）", "en": "Coverage gaps (chosen function)"},
    "gap_tooltip": {
        "zh": "缺口第 {rank} 位：未覆盖 {uncovered} 人 / 人口 {population} 人",
        "en": "Gap no. {rank}: {uncovered} of {population} residents not covered",
    },
    "plan_units": {"zh": "各分区效果（所选功能）", "en": "By area unit (chosen function)"},
    "unit": {"zh": "分区", "en": "Area unit"},
    "level_town": {"zh": "乡镇（街道）", "en": "Town"},
    "level_community": {"zh": "社区（村）", "en": "Community"},
    "level_grid": {"zh": "网格", "en": "Grid"},
    "still_uncovered": {"zh": "仍未覆盖", "en": "Still not covered"},
    "cand_default_name": {"zh": "候选点 {k}", "en": "Candidate {k}"},
    "cand_name": {"zh": "候选点名称", "en": "Candidate name"},
    "cand_remove": {"zh": "移除此候选点", "en": "Remove this candidate"},
    "cand_card": {"zh": "{name} +{added} 人", "en": "{name} +{added} residents"},
    "cand_figures": {
        "zh": "{function}：新增覆盖 {added} 人，其中独有 {sole} 人",
        "en": "{function}: {added} residents newly covered, {sole} of them only by this candidate",
    },
    "budget_invalid": {"zh": "时间阈值应为 1-{max} 分钟", "en": "The budget must be 1-{max} minutes"},
    "snap_dist": {"zh": "距道路", "en": "to the street"},
    "plan_cands_caption": {
        "zh": "各候选点（所选功能）：新增 = 它单独新增的覆盖人口；独有 = 只有它覆盖、去掉它方案就失去的人口",
        "en": "Each candidate (chosen function): added = residents it alone newly covers; "
        "only it adds = residents the plan loses without it",
    },
    "compare_drawn": {"zh": "规划范围：{area}，{residents} 人", "en": "Drawn: {area}, {residents} residents"},
    "compare_computed": {
        "zh": "计算的服务范围（{minutes} 分钟）：{area}，{residents} 人",
        "en": "Computed ({minutes} min): {area}, {residents} residents",
    },
    "compare_not_reachable": {
        "zh": "规划但不可达：{area}，{residents} 人",
        "en": "Drawn, not reachable: {area}, {residents} residents",
    },
    "compare_not_drawn": {
        "zh": "可达但未规划：{area}，{residents} 人",
        "en": "Reachable, not drawn: {area}, {residents} residents",
    },
    "upload_kind": {"zh": "上传图层种类", "en": "Kind of layer uploaded"},
    "upload_file": {"zh": "图层文件", "en": "Layer file"},
    "export_map_coverage": {"zh": "覆盖", "en": "Coverage"},
    "export_map_service_areas": {"zh": "服务范围", "en": "Service areas"},
    "export_map_grids": {"zh": "网格", "en": "Grids"},
    "export_map_placement": {"zh": "选址", "en": "New centres"},
    "place_site_name": {"zh": "选址站点 #{rank}", "en": "New site #{rank}"},
    "legend_compare_not_reachable": {"zh": "规划但不可达", "en": "Drawn, not reachable"},
    "legend_compare_not_drawn": {"zh": "可达但未规划", "en": "Reachable, not drawn"},
    "cand_unsnapped": {"zh": "{name}：距道路过远，未计入", "en": "{name}: too far from the streets, not counted"},
    "cand_unsnapped_row": {
        "zh": "距步行道路超过 {m} m，未连通路网，不计入方案",
        "en": "More than {m} m from the walk network: not connected, not counted",
    },
    "legend_plan": {"zh": "方案候选点服务范围（紫色虚线）", "en": "Plan candidates' service areas (purple, dashed)"},
    "sole_share": {"zh": "独有新增", "en": "only it adds"},
    "legend_candidate": {"zh": "候选点服务范围（虚线）", "en": "Candidate's service area (dashed)"},
    "minutes_unit": {"zh": "分钟", "en": "min"},
    "place_site": {"zh": "站点（按新增覆盖排序）", "en": "Site (by residents added)"},
    "place_added": {"zh": "新增覆盖居民", "en": "Residents added"},
    "place_add": {"zh": "加入方案", "en": "Add to plan"},
    "place_to_plan": {"zh": "方案", "en": "Plan"},
    "place_add_all": {"zh": "全部加入方案", "en": "Add all to the plan"},
    "place_added_to_plan": {"zh": "已加入方案（未保存）", "en": "Added to the plan (not saved)"},
    "place_walk": {"zh": "平均步行", "en": "Mean walk"},
    "place_caption": {
        "zh": "新增覆盖居民：本功能现有设施和排在它前面的站点已覆盖之外，该站点在步行时间阈值内新覆盖的常住人口；"
        "独有覆盖居民：只有该站点覆盖（现有设施和其他新站点都覆盖不到）的常住人口；"
        "平均步行：由它服务的居民的平均步行时间。",
        "en": "Residents added: residents within the walking-time budget that this site covers beyond the "
        "function's existing facilities and the sites listed before it; sole residents: residents only this "
        "site covers (no existing facility or other new site does); mean walk: of the residents it serves.",
    },
    "delete_confirm": {
        "zh": "删除方案“{name}”？删除后可在本页撤销。",
        "en": "Delete the plan “{name}”? It can be undone on this page.",
    },
    "restored": {"zh": "已恢复方案", "en": "Restored plan"},
    "exporting": {"zh": "正在生成导出文件…", "en": "Preparing the export…"},
    "export_failed": {"zh": "导出失败", "en": "Export failed"},
    "export_done": {"zh": "已下载", "en": "Downloaded"},
    # -- the server holds (issue 19): answers without a message of their own (a proxy's, waitress's) --
    "error_busy": {"zh": "服务器繁忙，请稍后重试", "en": "The server is busy; please retry in a few seconds"},
    "error_too_large": {"zh": "请求内容过大", "en": "The request is too large"},
    "error_status": {"zh": "服务器错误（{status}）", "en": "Server error ({status})"},
    "new_plan": {"zh": "新建方案", "en": "New plan"},
    "save": {"zh": "保存", "en": "Save"},
    "delete": {"zh": "删除", "en": "Delete"},
    "undo_delete": {"zh": "撤销删除", "en": "Undo delete"},
    "clear_all": {"zh": "清除全部图形", "en": "Clear all drawings"},
    "clear_confirm": {
        "zh": "清除地图上本方案的全部 {n} 个候选点和图形？（保存前可撤销）",
        "en": "Remove all {n} candidates and drawings of this plan from the map? (can be undone until saved)",
    },
    "cleared": {"zh": "已清除全部图形（未保存）", "en": "All drawings cleared (not saved)"},
    "undo_clear": {"zh": "撤销清除", "en": "Undo clear"},
    "unclear_done": {"zh": "已恢复清除的图形", "en": "Cleared drawings restored"},
    "notes": {"zh": "备注", "en": "Notes"},
    "plan_name": {"zh": "方案名称", "en": "Plan name"},
    "candidate": {"zh": "候选邻里中心", "en": "Candidate center"},
    "newly_covered": {"zh": "新增覆盖人口", "en": "Newly covered residents"},
    "function": {"zh": "功能", "en": "Function"},
    "before": {"zh": "现状覆盖率", "en": "Covered before"},
    "after": {"zh": "新增后覆盖率", "en": "Covered after"},
    "assumptions": {"zh": "计算假设", "en": "Assumptions"},
    "walking_speed": {"zh": "步行速度", "en": "Walking speed"},
    "budget": {"zh": "步行时间阈值", "en": "Walking budget"},
    "residents": {"zh": "常住人口", "en": "Residents"},
    "standard": {"zh": "标准", "en": "Standard"},
    "draw_hint": {
        "zh": "用左侧工具绘制：标记 = 候选邻里中心；多边形 = 规划服务范围 / 乡镇界 / 网格调整",
        "en": "Draw on the left: marker = candidate center; polygon = planned service area / town / grid edit",
    },
    "conflict": {
        "zh": "方案已被他人修改（已有更新的版本），您的操作未生效；您的修改仍在地图上，尚未保存。",
        "en": "Someone else saved a newer version of this plan; nothing was changed, "
        "and your edits are still on the map, not saved.",
    },
    "conflict_title": {"zh": "方案已被他人修改", "en": "Someone else changed this plan"},
    "conflict_detail": {
        "zh": "“{name}”已有他人保存的新版本 v{theirs}（您打开的是 v{mine}）。您的修改仍在地图上，尚未保存。请选择：",
        "en": "“{name}” has a newer version, v{theirs}, saved by someone else (you opened v{mine}). "
        "Your edits are still on the map, not saved. Choose:",
    },
    "conflict_reload": {"zh": "重新加载对方版本（放弃我的修改）", "en": "Reload their version (discard my edits)"},
    "conflict_copy": {
        "zh": "另存为副本（保留我的修改，原方案不变）",
        "en": "Keep mine as a copy (the original stays as it is)",
    },
    "conflict_diff": {"zh": "查看差异", "en": "Show differences"},
    "conflict_later": {"zh": "稍后决定（关闭）", "en": "Decide later (close)"},
    "copy_suffix": {"zh": "（副本）", "en": " (copy)"},
    "reloaded_theirs": {
        "zh": "已加载他人保存的 v{version}；您的修改已放弃",
        "en": "Loaded their version v{version}; your edits were discarded",
    },
    "copy_saved": {
        "zh": "已另存为副本“{name}”（v{version}）；原方案未改动",
        "en": "Saved as a copy “{name}” (v{version}); the original is unchanged",
    },
    "diff_same_text": {"zh": "相同", "en": "the same"},
    "diff_changed_text": {"zh": "不同", "en": "changed"},
    "diff_theirs_is": {"zh": "对方：", "en": "theirs: "},
    "diff_only_theirs": {"zh": "仅在对方版本中：{n} 个", "en": "Only in their version: {n}"},
    "diff_only_mine": {"zh": "仅在我的版本中：{n} 个", "en": "Only in my version: {n}"},
    "diff_moved": {"zh": "位置或形状不同：{n} 个", "en": "Moved or reshaped: {n}"},
    "diff_same": {"zh": "相同：{n} 个", "en": "Unchanged: {n}"},
    "diff_more": {"zh": "等，另有 {n} 个", "en": "and {n} more"},
    "diff_map_note": {
        "zh": "地图上橙色虚线：对方版本中独有或位置不同的图形（关闭对话框后消失）；您的图形保持不变。",
        "en": "Orange dashed on the map: their shapes that are only theirs or placed differently "
        "(gone when the dialog closes); yours stay as they are.",
    },
    "unnamed": {"zh": "（未命名）", "en": "(unnamed)"},
    "restored_plan": {"zh": "已恢复方案“{name}”（v{version}）", "en": "Restored the plan “{name}” (v{version})"},
    "recycle_bin": {"zh": "回收站", "en": "Recycle bin"},
    "bin_empty": {"zh": "回收站是空的", "en": "The recycle bin is empty"},
    "bin_deleted_at": {"zh": "删除于", "en": "deleted"},
    "bin_restore": {"zh": "恢复", "en": "Restore"},
    "saved": {"zh": "已保存", "en": "Saved"},
    "deleted": {"zh": "已删除（可撤销）", "en": "Deleted (can be undone)"},
    "compare": {"zh": "与计算的服务范围比较", "en": "Compare with the computed service area"},
    "kind_area": {"zh": "规划服务范围", "en": "Planned service area"},
    "kind_town": {"zh": "乡镇界", "en": "Town boundary"},
    "kind_grid": {"zh": "网格调整", "en": "Grid edit"},
    "grids_title": {"zh": "网格", "en": "Grids"},
    "grids_show": {"zh": "在地图上显示网格", "en": "Show the grids on the map"},
    "grids_colour_by": {"zh": "着色", "en": "Colour by"},
    "grids_by_households": {"zh": "户数", "en": "Households"},
    "grids_by_coverage": {"zh": "当前功能的覆盖率", "en": "Coverage of the function shown"},
    "grids_legend_households": {"zh": "网格户数（户）", "en": "Households per grid"},
    "grids_legend_coverage": {
        "zh": "网格内步行可达居民占比（%，当前功能与时间）",
        "en": "Share of residents within the walk (%, function and budget shown)",
    },
    "grids_hint": {"zh": "点击网格查看详情", "en": "Click a grid for its card"},
    "grids_code": {"zh": "编码", "en": "Code"},
    "grids_name": {"zh": "名称", "en": "Name"},
    "grids_households": {"zh": "户数", "en": "Households"},
    "grids_residents": {"zh": "人口", "en": "Residents"},
    "grids_unit_households": {"zh": "户", "en": "households"},
    "grids_unit_people": {"zh": "人", "en": "people"},
    "grids_facilities": {"zh": "网格内设施", "en": "Facilities within"},
    "grids_branch": {"zh": "责任支部", "en": "Party branch"},
    "grids_member": {"zh": "网格员", "en": "Grid member"},
    "grids_centre_households": {"zh": "党员中心户", "en": "Party-member centre households"},
    "grids_none": {"zh": "（未填）", "en": "(not set)"},
    "grids_split": {"zh": "一分为二", "en": "Split in two"},
    "grids_merge": {"zh": "与相邻网格合并…", "en": "Merge with a neighbour…"},
    "grids_merge_pick": {"zh": "点击要合并的相邻网格", "en": "Click the neighbouring grid to merge"},
    "grids_undo": {"zh": "撤销", "en": "Undo"},
    "grids_checks": {"zh": "检查", "en": "Checks"},
    "grids_checks_ok": {
        "zh": "无问题：户数在上下限内，网格连片、无缝无叠",
        "en": "No problems: households within bounds, grids contiguous, no gaps or overlaps",
    },
    "grids_bounds": {"zh": "每格户数下限–上限", "en": "Households per grid, floor–ceiling"},
    "grids_edit_ms": {"zh": "编辑与检查用时", "en": "Edit and checks took"},
    "grids_issue_below_floor": {"zh": "户数低于下限", "en": "Households below the floor"},
    "grids_issue_above_ceiling": {"zh": "户数高于上限", "en": "Households above the ceiling"},
    "grids_issue_not_contiguous": {"zh": "网格不连片", "en": "Grid not contiguous"},
    "grids_issue_gap": {"zh": "有空隙", "en": "Gap"},
    "grids_issue_overlap": {"zh": "有重叠", "en": "Overlap"},
    "grids_issue_other": {"zh": "其他问题", "en": "Other problem"},
    "legend_time": {"zh": "步行到最近设施（分钟）", "en": "Walk to the nearest facility (min)"},
    "legend_rings": {"zh": "服务范围", "en": "Service areas"},
    "language": {"zh": "English", "en": "中文"},
    # accounts and roles (issue 19)
    "auth_login_title": {"zh": "登录", "en": "Sign in"},
    "auth_user": {"zh": "用户名", "en": "User name"},
    "auth_password": {"zh": "密码", "en": "Password"},
    "auth_login": {"zh": "登录", "en": "Sign in"},
    "auth_logout": {"zh": "退出登录", "en": "Sign out"},
    "auth_logout_all": {"zh": "退出所有设备", "en": "Sign out everywhere"},
    "auth_signed_in_as": {"zh": "当前用户", "en": "Signed in as"},
    "auth_admin": {"zh": "用户与审计", "en": "Users and audit"},
    "auth_users": {"zh": "用户", "en": "Users"},
    "auth_role": {"zh": "角色", "en": "Role"},
    "auth_role_admin": {"zh": "县级管理员", "en": "County administrator"},
    "auth_role_planner": {"zh": "规划员", "en": "Planner"},
    "auth_role_viewer": {"zh": "查看者", "en": "Viewer"},
    "auth_scope": {
        "zh": "区域代码（县 6 位 / 乡镇 9 位 / 社区 12 位）",
        "en": "Area code (county 6 / town 9 / community 12 digits)",
    },
    "auth_state": {"zh": "状态", "en": "State"},
    "auth_active": {"zh": "启用", "en": "Active"},
    "auth_disabled": {"zh": "已停用", "en": "Disabled"},
    "auth_disable": {"zh": "停用", "en": "Disable"},
    "auth_enable": {"zh": "启用", "en": "Enable"},
    "auth_save": {"zh": "保存", "en": "Save"},
    "auth_create": {"zh": "新建用户", "en": "Create user"},
    "auth_new_password": {"zh": "新密码（至少 10 个字符）", "en": "New password (10 characters or more)"},
    "auth_reset_password": {"zh": "重设密码", "en": "Reset password"},
    "auth_audit": {"zh": "审计日志（最近 200 条）", "en": "Audit log (latest 200)"},
    "auth_audit_at": {"zh": "时间 (UTC)", "en": "Time (UTC)"},
    "auth_audit_action": {"zh": "操作", "en": "Action"},
    "auth_audit_object": {"zh": "对象", "en": "Object"},
    "auth_audit_ip": {"zh": "地址", "en": "Address"},
    "auth_export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "auth_export_xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "auth_back": {"zh": "返回地图", "en": "Back to the map"},
    "no_plan": {"zh": "（未选方案）", "en": "(no plan)"},
    "plan_missing": {"zh": "链接中的方案不存在或已删除", "en": "The linked plan does not exist or was deleted"},
    "server_time": {"zh": "服务器用时", "en": "Server time"},
    "placement": {"zh": "邻里中心选址", "en": "Place neighborhood centers"},
    "new_centers": {"zh": "新中心数", "en": "New centers"},
    "place_run": {"zh": "计算选址", "en": "Compute"},
    "job_running": {"zh": "计算中…", "en": "Computing…"},
    "cand_source": {"zh": "候选点来源", "en": "Candidate sites"},
    "cand_network": {"zh": "路网节点（每 200 m 一个）", "en": "Network nodes (one per 200 m)"},
    "cand_plan": {"zh": "已保存方案中的候选点", "en": "Saved plan's candidate sites"},
    "cand_both": {"zh": "两者", "en": "Both"},
    "save_plan_first": {
        "zh": "请先保存方案：选址使用已保存方案中的候选点",
        "en": "Save the plan first: placement uses the saved plan's candidate sites",
    },
    "job_gave_up": {
        "zh": "等待超时，服务器未完成任务；请稍后重试",
        "en": "Gave up waiting: the server did not finish the job; try again later",
    },
    "job_lost": {"zh": "与服务器的连接中断", "en": "Lost the connection to the server"},
    "place_model": {"zh": "选址模型", "en": "Placement model"},
    "place_model_mclp": {"zh": "最大覆盖 MCLP", "en": "Maximal covering (MCLP)"},
    "place_model_pmedian": {"zh": "总步行时间最小 p-median", "en": "Least total walking time (p-median)"},
    "place_model_lscp": {"zh": "最少中心全覆盖 LSCP", "en": "Fewest centers covering all (LSCP)"},
    "place_cancel": {"zh": "取消计算", "en": "Cancel"},
    "place_cancelling": {"zh": "正在取消…", "en": "Cancelling…"},
    "place_cancelled": {"zh": "已取消计算，可重新计算", "en": "Computation cancelled; you can run it again"},
    "place_queued": {"zh": "排队等候其他任务", "en": "Waiting for another job to finish"},
    "place_progress": {"zh": "选址计算进度", "en": "Placement progress"},
    "place_sole": {"zh": "独有覆盖居民", "en": "Sole residents"},
    "place_covered": {
        "zh": "覆盖 {after} / {total} 人（步行 {min} 分钟内，以现有设施为基准）",
        "en": "{after} of {total} residents covered (within {min} min walk, existing facilities as the baseline)",
    },
    "place_fewer": {
        "zh": "只选出 {n} 处：再多的站点不再增加覆盖",
        "en": "Only {n} sites chosen: more would cover no one else",
    },
    "persons_unit": {"zh": "人", "en": "residents"},
    "legend_placement": {"zh": "选址站点（编号为排序）", "en": "Placement sites (numbered by rank)"},
    "legend_placement_ring": {
        "zh": "{min} 分钟步行服务范围（橙色虚线）",
        "en": "{min}-min walking service area (orange dashed)",
    },
    "export_placement_job": {
        "zh": "选址图导出的是最近一次计算（任务 #{id}）的站点和参数",
        "en": "The placement map exports the last run (job #{id}): its sites and parameters",
    },
    "np_cancel": {"zh": "取消构建", "en": "Cancel the build"},
    "np_cancelled": {"zh": "已取消构建", "en": "Build cancelled"},
    # --- h-deliver (issue 21): export coordinate system, a plan's candidates printed ---
    "deliver_crs": {"zh": "导出坐标系", "en": "Export CRS"},
    "deliver_crs_wgs84": {"zh": "WGS84 经纬度 (EPSG:4326)", "en": "WGS84 lon/lat (EPSG:4326)"},
    "deliver_crs_cgcs2000": {"zh": "CGCS2000 经纬度 (EPSG:4490)", "en": "CGCS2000 lon/lat (EPSG:4490)"},
    "deliver_crs_gk": {
        "zh": "CGCS2000 高斯-克吕格 3 度带（不含带号，如 4549）",
        "en": "CGCS2000 Gauss-Kruger 3-degree zone, no zone prefix (e.g. 4549)",
    },
    "deliver_crs_gk_zone": {
        "zh": "CGCS2000 高斯-克吕格 3 度带（含带号，如 4528）",
        "en": "CGCS2000 Gauss-Kruger 3-degree zone, zone prefix (e.g. 4528)",
    },
    "deliver_crs_note": {
        "zh": "分带按研究区中心选择；WGS84 与 CGCS2000 按地图精度视为相同（不做基准转换）",
        "en": "Zone chosen from the study area's centre; WGS84 and CGCS2000 treated as identical at map accuracy",
    },
    "deliver_plan_print": {"zh": "方案候选中心 打印图", "en": "Plan candidates: print map"},
    "deliver_plan_table": {"zh": "候选中心新增覆盖表", "en": "Candidates' added coverage (XLSX)"},
    "deliver_plan_csv": {"zh": "候选中心坐标 CSV", "en": "Candidates' coordinates (CSV)"},
    "deliver_title_block": {
        "zh": "图签（留空则用项目设置，仍无则打印空线）",
        "en": "Title block (empty: the project's setting, else a blank line)",
    },
    "deliver_organisation": {"zh": "编制单位", "en": "Organisation"},
    "deliver_author": {"zh": "编制人", "en": "Prepared by"},
    "deliver_reviewer": {"zh": "审核人", "en": "Reviewed by"},
    "deliver_approval": {"zh": "审图号", "en": "Map approval no."},
}


def function_labels(functions: Mapping[str, str], lang: str) -> dict[str, str]:
    """Function key -> name in ``lang``: the six in English in English, a project's own
    "1+6+X" functions (no English name) and everything in Chinese by their Chinese name."""
    if lang != "en":
        return dict(functions)
    return {key: FUNCTIONS_EN.get(key, zh) for key, zh in functions.items()}


def profile_label(profile: TravelProfile, lang: str) -> str:
    """A travel profile's name in ``lang`` (Chinese when it has no English one)."""
    return (profile.label_en or profile.label_zh) if lang == "en" else profile.label_zh


def standard_label(standard: Standard, lang: str) -> str:
    """A standard's code and title in ``lang`` (the code alone in English when it has no English title)."""
    title = standard.title_en if lang == "en" else standard.title_zh
    return f"{standard.code} {title}".strip()


def texts(lang: str) -> dict[str, str]:
    """All texts in one language (falls back to Chinese)."""
    lang = lang if lang in LANGUAGES else "zh"
    return {key: value[lang] for key, value in TEXTS.items()}
