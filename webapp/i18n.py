"""Interface texts: Chinese by default, English available (``?lang=en``, remembered in a cookie)."""

from __future__ import annotations

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
        "zh": "方案已被他人修改，您的更改未保存。请重新加载方案后再修改。",
        "en": "Someone else changed this plan; your changes were not saved. Reload the plan and edit again.",
    },
    "saved": {"zh": "已保存", "en": "Saved"},
    "deleted": {"zh": "已删除（可撤销）", "en": "Deleted (can be undone)"},
    "compare": {"zh": "与计算的服务范围比较", "en": "Compare with the computed service area"},
    "kind_area": {"zh": "规划服务范围", "en": "Planned service area"},
    "kind_town": {"zh": "乡镇界", "en": "Town boundary"},
    "kind_grid": {"zh": "网格调整", "en": "Grid edit"},
    "legend_time": {"zh": "步行到最近设施（分钟）", "en": "Walk to the nearest facility (min)"},
    "legend_rings": {"zh": "服务范围", "en": "Service areas"},
    "language": {"zh": "English", "en": "中文"},
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
}


def texts(lang: str) -> dict[str, str]:
    """All texts in one language (falls back to Chinese)."""
    lang = lang if lang in LANGUAGES else "zh"
    return {key: value[lang] for key, value in TEXTS.items()}
