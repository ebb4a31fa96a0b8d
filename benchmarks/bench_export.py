"""Exports for meetings: one demo coverage layout, and a batch of 20 area maps in one interpreter.

    python -m benchmarks.bench_export [--areas 20] [--repeat 3] [--markdown FILE]

1. The demo project's coverage map of 病有所医 as an A4 landscape PNG (150 dpi), the
   way ``coverage_map`` and the web app's button make it: content + layout + write.
   Timed cold (the first layout of the process: font cache, Agg start-up) and warm
   (median of ``--repeat``).  Target: under 3 s.
2. ``scripts.export_map`` on ``--areas`` rectangles tiling the demo (a polygon file),
   PNG and PDF: the project and the map are computed once, then one page per area.
   Wall time of ``main()`` in this process, per map.
3. The other exports once each: GeoPackage, Shapefile zip, XLSX, standalone HTML.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

TARGET_LAYOUT_S = 3.0


def _tiles(path: Path, network, n: int) -> Path:
    nx = int(np.ceil(np.sqrt(n * 1.25)))
    ny = int(np.ceil(n / nx))
    x0, y0, x1, y1 = network.bounds
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(ny) for i in range(nx)][:n]
    frame = gpd.GeoDataFrame(
        {"编码": [f"A{k:02d}" for k in range(n)], "名称": [f"片区{k + 1}" for k in range(n)]},
        geometry=boxes,
        crs=network.crs,
    ).to_crs(4326)
    path.write_text(frame.to_json(ensure_ascii=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_export")
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)

    from geo import maps
    from geo.access.coverage import accessibility
    from geo.access.coverage_tables import coverage_table, gap_cells, standard_check
    from geo.io.export import write_gpkg, write_shapefile_zip, write_xlsx
    from geo.project import load_project
    from scripts import export_map

    rows = []
    start = time.perf_counter()
    project = load_project("demo")
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    gaps = gap_cells(acc, "medical")
    prep_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="linli-bench-") as tmp:
        out = Path(tmp)
        times = []
        for k in range(args.repeat + 1):
            t = time.perf_counter()
            maps.coverage_map(
                acc, "medical", out / f"c{k}.png", network=project.network, gaps=gaps, project_name=project.name
            )
            times.append(time.perf_counter() - t)
        cold, warm = times[0], statistics.median(times[1:])
        t = time.perf_counter()
        maps.coverage_map(acc, "medical", out / "c.pdf", network=project.network, gaps=gaps)
        pdf_s = time.perf_counter() - t
        rows.append(("demo coverage layout A4 PNG, first in process", cold, "< 3 s", cold < TARGET_LAYOUT_S))
        rows.append(("demo coverage layout A4 PNG, warm (median)", warm, "< 3 s", warm < TARGET_LAYOUT_S))
        rows.append(("demo coverage layout A4 PDF (fonts embedded)", pdf_s, "", True))

        areas = _tiles(out / "areas.geojson", project.network, args.areas)
        for fmt in ("png", "pdf"):
            t = time.perf_counter()
            code = export_map.main(
                [
                    "--project",
                    "demo",
                    "--map",
                    "coverage",
                    "--function",
                    "medical",
                    "--by",
                    str(areas),
                    "--format",
                    fmt,
                    "--out",
                    str(out / fmt),
                    "-q",
                ]
            )
            batch = time.perf_counter() - t
            n = len(list((out / fmt).glob(f"*.{fmt}")))
            assert code == 0 and n == args.areas, (code, n)
            rows.append(
                (
                    f"export_map: {n} area maps, {fmt.upper()} (load + compute + pages)",
                    batch,
                    f"{batch / n:.2f} s per map",
                    True,
                )
            )

        layers = {
            "设施": acc.facilities,
            "缺口": gaps,
            "需求点": acc.demand.drop(columns=["assumption"], errors="ignore"),
        }
        t = time.perf_counter()
        write_gpkg(layers, out / "a.gpkg")
        rows.append(("GeoPackage, 3 layers", time.perf_counter() - t, "", True))
        t = time.perf_counter()
        write_shapefile_zip({"facilities": acc.facilities, "gaps": gaps}, out / "a.zip")
        rows.append(("Shapefile zip, 2 layers", time.perf_counter() - t, "", True))
        t = time.perf_counter()
        write_xlsx({"汇总": coverage_table(acc), "达标": pd.DataFrame(standard_check(acc))}, out / "a.xlsx")
        rows.append(("XLSX, 2 sheets", time.perf_counter() - t, "", True))
        try:
            from webapp.i18n import texts
            from webapp.standalone import standalone_html
            from webapp.state import load_state

            state = load_state("demo")
            t = time.perf_counter()
            page = standalone_html(state, function="medical", texts=texts("zh"), title="demo")
            rows.append(
                (f"standalone HTML ({len(page) / 1e6:.1f} MB, assets inlined)", time.perf_counter() - t, "", True)
            )
        except ImportError:  # pragma: no cover - the web app is part of the repo
            pass

    lines = [
        f"Demo project loaded and coverage computed once: {prep_s:.1f} s (not in the figures below).",
        "",
        "| export | time (s) | note | ok |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {name} | {sec:.2f} | {note} | {'yes' if ok else 'NO'} |" for name, sec, note, ok in rows]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
