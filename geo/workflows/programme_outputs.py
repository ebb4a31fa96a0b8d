"""The building programme as workbook sheets for officials: Chinese headers, dates as text, no keys.

:func:`programme_sheets` turns a :class:`geo.workflows.programme.Programme`, its lateness,
progress and coverage by phase into the sheets 说明, 中心进度, 站点, 目标进度, 分期覆盖
(``scripts/programme.py`` writes them with :func:`geo.io.export.write_xlsx`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from geo.access.centres import SITE_ROLES
from geo.io.crs import WGS84
from geo.workflows.outputs import official_table
from geo.workflows.programme import Programme

__all__ = ["HEADERS_ZH", "programme_sheets"]

#: Chinese headers of the programme's tables.
HEADERS_ZH = {
    "centre": "中心名称",
    "kind_zh": "类型",
    "sites": "站点数",
    "functions_zh": "服务功能",
    "status_zh": "状态",
    "target_date": "目标日期",
    "phase": "期次",
    "lateness_zh": "进度",
    "days_left": "距目标日期 (天)",
    "days_late": "逾期 (天)",
    "site": "站点名称",
    "role_zh": "站点角色",
    "stage": "阶段",
    "function_zh": "功能",
    "budget_min": "时间阈值 (分钟)",
    "population": "人口",
    "covered_before": "现状覆盖人口",
    "newly_covered": "新增覆盖人口",
    "covered_after": "覆盖人口",
    "uncovered_after": "未覆盖人口",
    "covered_pct_before": "现状覆盖率 (%)",
    "covered_pct_after": "覆盖率 (%)",
    "target": "目标",
    "by": "期限",
    "count": "目标个数",
    "open": "已建成",
    "construction": "在建",
    "approved": "已批复",
    "planned": "规划",
    "scheduled": "期限前计划完成",
    "gap": "尚差",
    "overdue": "逾期中心",
    "verdict_zh": "判断",
    "town_reach": "镇级中心可达口径",
}
ROLES_ZH = dict(SITE_ROLES)


PROGRESS_TAIL = ("scheduled", "gap", "overdue", "verdict_zh")
COVERAGE_TAIL = ("newly_covered", "covered_after", "uncovered_after", "covered_pct_after")


def town_reach_notes(coverage: pd.DataFrame | None) -> list[str]:
    """What the hubs' town centres in ``coverage`` are judged by (mode, speed, minutes, clause), once each."""
    if coverage is None or "town_reach" not in coverage.columns:
        return []
    return [
        f"中心辐射的镇级中心按{n}；服务站点与其他中心按所选出行方式与时间阈值"
        for n in dict.fromkeys(coverage["town_reach"])
        if n
    ]


def programme_sheets(
    programme: Programme,
    late: pd.DataFrame,
    progress_table: pd.DataFrame,
    coverage: pd.DataFrame | None,
    *,
    notes: Sequence[tuple[str, str]] = (),
) -> dict[str, pd.DataFrame]:
    """The programme as workbook sheets with Chinese headers: 说明, 中心进度, 站点, 目标进度, 分期覆盖.

    ``notes`` are (item, value) rows of the 说明 sheet (date, assumptions, file read).
    """
    centres = late.assign(
        target_date=[d.isoformat() if d is not None else "未定" for d in late["target_date"]],
        days_left=late["days_left"].astype("Float64"),
    )
    sites = programme.centres.sites.to_crs(WGS84)
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    site_table = pd.DataFrame(
        {
            "centre": sites["centre"].to_numpy(object),
            "site": sites["site"].to_numpy(object),
            "role_zh": [ROLES_ZH[r] for r in sites["role"]],
            "functions_zh": sites["functions_zh"].to_numpy(object),
            "经度 (WGS84)": np.round(xy[:, 0], 6),
            "纬度 (WGS84)": np.round(xy[:, 1], 6),
        }
    )
    sheets = {
        "说明": pd.DataFrame(list(notes), columns=["项目", "内容"]),
        "中心进度": official_table(
            centres,
            [
                "centre",
                "kind_zh",
                "sites",
                "functions_zh",
                "status_zh",
                "phase",
                "target_date",
                "lateness_zh",
                "days_left",
                "days_late",
            ],
            headers=HEADERS_ZH,
        ),
        "站点": site_table.rename(columns=HEADERS_ZH),
    }
    if len(progress_table):
        shown = progress_table.assign(by=[d.isoformat() for d in progress_table["by"]])
        sheets["目标进度"] = official_table(
            shown,
            [*("target", "by", "count", "open", "construction", "approved", "planned"), *PROGRESS_TAIL],
            headers=HEADERS_ZH,
        )
    if coverage is not None:
        # A hub's town centre is judged in the town circle's mode: each line says so (issue 21).
        town = ["town_reach"] if town_reach_notes(coverage) else []
        sheets["分期覆盖"] = official_table(
            coverage,
            [*("stage", "function_zh", "budget_min", "population", "covered_before"), *COVERAGE_TAIL, *town],
            headers=HEADERS_ZH,
        )
        for note in town_reach_notes(coverage):
            sheets["说明"].loc[len(sheets["说明"])] = ["镇级中心可达口径", note]
    return sheets
