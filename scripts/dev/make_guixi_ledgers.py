"""Write the made-up county ledgers of the Guixi demo (data/study_areas/guixi), as a town office would.

The streets are real (OpenStreetMap, ODbL); the facilities and compounds are MADE UP for the demo
(演示用虚构数据): each is placed 12-25 m beside a real walkable street of the extract, its true
position (WGS84) written to tests/data/ledgers/guixi_truth.csv and its ledger position in GCJ-02
(as picked in Amap), 6 decimals.  The ledgers have what county files have: a title row, an office
line, a two-row header under a merged 坐标 cell, 户数 written as ``120户`` or in full-width digits, a
合计 row, sign-off rows, everyday category names and one category no vocabulary knows (快递驿站).

Run: ``.venv/bin/python scripts/dev/make_guixi_ledgers.py`` (deterministic, seed 16).
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import shapely
from openpyxl.styles import Alignment, Font

from geo.io.coords import wgs84_to_gcj02
from geo.network.graph import load_network

ROOT = Path(__file__).resolve().parents[2]
AREA = ROOT / "data" / "study_areas" / "guixi"
TRUTH = ROOT / "tests" / "data" / "ledgers" / "guixi_truth.csv"

#: (id prefix, category as the office writes it, name)
FACILITIES = [
    ("LL", "邻里中心", "雄石邻里中心"),
    ("LL", "邻里中心", "东门邻里中心"),
    ("DQ", "党群服务中心", "建设路社区党群服务中心"),
    ("BM", "便民服务中心", "花园街道便民服务中心"),
    ("YL", "诊所", "仁和诊所"),
    ("YL", "卫生院", "城区中心卫生院"),
    ("YL", "社区卫生服务中心", "雄石社区卫生服务中心"),
    ("YL", "社区卫生服务站", "东门社区卫生服务站"),
    ("YL", "村卫生室", "流口村卫生室"),
    ("YL", "邻里医站", "建设路邻里医站"),
    ("YL", "医疗保健服务;诊所", "康宁门诊"),
    ("YE", "幼儿园", "贵溪市第一幼儿园"),
    ("YE", "幼儿园", "阳光幼儿园"),
    ("YE", "托育", "小树苗托育中心"),
    ("YE", "幼托", "启明幼托"),
    ("LN", "养老院", "贵溪市社会福利院"),
    ("LN", "日间照料中心", "花园社区日间照料中心"),
    ("LN", "居家养老服务站", "东门居家养老服务站"),
    ("LN", "长者食堂", "雄石长者食堂"),
    ("LN", "老年食堂", "建设路老年食堂"),
    ("SA", "农贸市场", "城东农贸市场"),
    ("SA", "菜市场", "南门菜市场"),
    ("SA", "社区食堂", "花园社区食堂"),
    ("WH", "文化活动站", "东门文化活动站"),
    ("WH", "近邻学堂", "雄石近邻学堂"),
    ("WH", "文化活动站", "建设路文化活动站"),
    ("SB", "近邻警室", "花园近邻警室"),
    ("SB", "警务室", "东门警务室"),
    ("SB", "暖心驿站", "建设路暖心驿站"),
    ("SB", "金融网点服务站", "农商银行金融网点服务站"),
    ("QT", "快递驿站", "东门快递驿站"),
    ("QT", "快递驿站", "花园快递驿站"),
]
COMMUNITIES = ["雄石社区", "东门社区", "花园社区", "建设路社区", "南门社区"]
N_COMPOUNDS = 28


def _sites(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` WGS84 points 12-25 m beside real walkable streets, spread by a stratified draw over edges."""
    net = load_network(AREA / "guixi.osm", cache_dir=None)
    geoms = net.edge_geometry
    lengths = np.asarray(net.edge_length_m, dtype=float)
    ok = np.flatnonzero(lengths > 60)
    weights = lengths[ok] / lengths[ok].sum()
    picks = rng.choice(ok, size=n, replace=False, p=weights)
    points = []
    for e in picks:
        line = geoms[e]
        a = line.interpolate(0.45, normalized=True)
        b = line.interpolate(0.55, normalized=True)
        dx, dy = b.x - a.x, b.y - a.y
        norm = np.hypot(dx, dy) or 1.0
        offset = rng.uniform(12, 25) * rng.choice([-1, 1])
        mid = line.interpolate(0.5, normalized=True)
        points.append(shapely.Point(mid.x - dy / norm * offset, mid.y + dx / norm * offset))
    wgs = gpd.GeoSeries(points, crs=net.crs).to_crs(4326)
    return np.column_stack([wgs.x.to_numpy(), wgs.y.to_numpy()])


def _title(ws, text: str, width: int) -> None:
    ws.append([text])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")


def main() -> None:
    rng = np.random.default_rng(16)
    sites = _sites(len(FACILITIES) + N_COMPOUNDS, rng)
    glon, glat = wgs84_to_gcj02(sites[:, 0], sites[:, 1])
    truth = []

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "设施台账"
    header = ["序号", "设施编号", "设施名称", "设施类别", "所属社区", "地址", "经度", "纬度", "备注"]
    _title(ws, "贵溪市城区公共服务设施台账（演示用虚构数据）", len(header))
    ws.append(["填报单位：城区街道办（演示）", "", "", "", "", "", "填报日期：2026年11月"])
    ws.append(header)
    counters: dict[str, int] = {}
    for k, (prefix, category, name) in enumerate(FACILITIES):
        counters[prefix] = counters.get(prefix, 0) + 1
        fid = f"GX-{prefix}-{counters[prefix]:03d}"
        community = COMMUNITIES[k % len(COMMUNITIES)]
        number = str(k + 1) if k % 7 else chr(0xFF10 + (k + 1) % 10) if k + 1 < 10 else str(k + 1)
        ws.append(
            [number, fid, name, category, community, f"{community}（演示地址）", f"{glon[k]:.6f}", f"{glat[k]:.6f}", ""]
        )
        truth.append(["facility", fid, name, category, f"{sites[k, 0]:.7f}", f"{sites[k, 1]:.7f}", "", "", "", ""])
    ws.append([])
    ws.append([])
    ws.append(["填表人：张某某", "", "", "审核人：李某某"])
    wb.save(AREA / "设施台账.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "小区台账"
    upper = [
        "序号",
        "小区名称",
        "所属社区",
        "户数",
        "人口",
        "60岁以上人口",
        "0-6岁人口",
        "党员数",
        "是否成立党支部",
        "物业公司",
        "业委会",
        "坐标",
        "",
    ]
    lower = ["", "", "", "", "", "", "", "", "", "", "", "经度", "纬度"]
    _title(ws, "贵溪市城区住宅小区基本情况台账（演示用虚构数据）", len(upper))
    ws.append(upper)
    ws.append(lower)
    for c in range(1, 12):
        ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
    ws.merge_cells(start_row=2, start_column=12, end_row=2, end_column=13)
    total_h = total_p = 0
    for j in range(N_COMPOUNDS):
        k = len(FACILITIES) + j
        households = int(rng.integers(80, 900))
        residents = round(households * rng.uniform(2.4, 3.1))
        elderly = round(residents * rng.uniform(0.12, 0.24))
        children = round(residents * rng.uniform(0.04, 0.08))
        total_h += households
        total_p += residents
        written = (
            f"{households}户"
            if j % 5 == 1
            else "".join(chr(0xFF10 + int(d)) for d in str(households))
            if j % 5 == 3
            else households
        )
        name = f"{COMMUNITIES[j % len(COMMUNITIES)][:2]}{['花园', '新村', '小区', '家园', '苑'][j % 5]}{j + 1}期"
        ws.append(
            [
                j + 1,
                name,
                COMMUNITIES[j % len(COMMUNITIES)],
                written,
                residents,
                elderly,
                children,
                int(rng.integers(3, 60)),
                "是" if j % 3 else "否",
                "演示物业公司" if j % 2 else "无",
                "已成立" if j % 4 == 0 else "未成立",
                f"{glon[k]:.6f}",
                f"{glat[k]:.6f}",
            ]
        )
        truth.append(
            [
                "compound",
                str(j + 1),
                name,
                "",
                f"{sites[k, 0]:.7f}",
                f"{sites[k, 1]:.7f}",
                str(households),
                str(residents),
                str(elderly),
                str(children),
            ]
        )
    ws.append(["合计", "", "", total_h, total_p])
    ws.append([])
    ws.append(["填表人：王某某", "", "", "审核人：赵某某", "", "", "联系电话：（略）"])
    wb.save(AREA / "小区台账.xlsx")

    TRUTH.parent.mkdir(parents=True, exist_ok=True)
    with open(TRUTH, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "kind",
                "id",
                "name",
                "category",
                "lon_wgs84",
                "lat_wgs84",
                "households",
                "residents",
                "elderly",
                "children",
            ]
        )
        writer.writerows(truth)


if __name__ == "__main__":
    main()
