"""Run the whole benchmark suite: ``python -m benchmarks.run`` (``make bench``).

Each benchmark writes its Markdown table to ``benchmarks/results/`` (not committed);
the figures quoted in ``benchmarks/README.md`` come from these files.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import (
    bench_batch,
    bench_coverage,
    bench_export,
    bench_grids,
    bench_placement,
    bench_polygons,
    bench_reach,
    bench_webapp,
)

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    status = bench_reach.main(["--markdown", str(RESULTS / "reach.md")])
    status |= bench_polygons.main(["--markdown", str(RESULTS / "polygons.md")])
    status |= bench_coverage.main(["--markdown", str(RESULTS / "coverage.md")])
    status |= bench_grids.main(["--markdown", str(RESULTS / "grids.md")])
    status |= bench_webapp.main(["--markdown", str(RESULTS / "webapp.md")])
    status |= bench_export.main(["--markdown", str(RESULTS / "export.md")])
    status |= bench_placement.main(["--markdown", str(RESULTS / "placement.md")])
    status |= bench_batch.main(["--markdown", str(RESULTS / "batch.md")])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
