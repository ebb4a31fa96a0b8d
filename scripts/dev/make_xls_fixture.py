"""Write tests/data/ledgers/乡镇设施台账.xls, an Excel 97-2003 ledger (merged title row, sign-off row).

Needs xlwt, which Linli itself does not: ``pip install --target /tmp/xlwtpkg xlwt``, then
``PYTHONPATH=.:/tmp/xlwtpkg .venv/bin/python scripts/dev/make_xls_fixture.py``.  Positions are WGS84
points near Hui'an written in GCJ-02 (:func:`geo.io.coords.wgs84_to_gcj02`).
"""

from pathlib import Path

import xlwt

OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "ledgers" / "乡镇设施台账.xls"
#: (name, category, WGS84 lon, lat).
ROWS = [
    ("螺城镇卫生院", "卫生院", 118.7953, 25.0301),
    ("城南村卫生室", "村卫生室", 118.8012, 25.0266),
    ("螺城镇中心幼儿园", "幼儿园", 118.7988, 25.0342),
]


def main(gcj) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("设施")
    ws.write_merge(0, 0, 0, 4, "螺城镇公共服务设施台账（演示）")
    for c, text in enumerate(["设施名称", "设施类别", "经度", "纬度", "备注"]):
        ws.write(1, c, text)
    for r, (name, category, lon, lat) in enumerate(ROWS, start=2):
        glon, glat = gcj(lon, lat)
        ws.write(r, 0, name)
        ws.write(r, 1, category)
        ws.write(r, 2, float(glon))
        ws.write(r, 3, float(glat))
    ws.write(len(ROWS) + 3, 0, "填表人：张某某")
    book.save(str(OUT))


if __name__ == "__main__":
    from geo.io.coords import wgs84_to_gcj02

    main(wgs84_to_gcj02)
