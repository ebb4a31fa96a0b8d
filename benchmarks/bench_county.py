"""The web app on a synthetic county (issue 17): start, memory, page weight, panning, candidates.

Usage::

    python -m benchmarks.bench_county [--nodes 50000 150000 300000] [--markdown FILE]

For each size a county is written by :mod:`benchmarks.county` (cached in ``benchmarks/.county``)
and served by ``linli serve`` in its own process, as a planner starts it:

* **cold start**: an empty cache folder (the street network read from the ``.osm.pbf``, the
  first page's service areas built); **warm start**: the same command again.  Time from the
  command to the first page answered; the server's resident memory then (RSS) and its peak.
* **page**: the map page in headless Chromium (Playwright, Debian's chromium): bytes the
  browser downloads until the page is ready (``LINLI.ready``: its layers for the window
  drawn) and the time to that; then **panning**: eight pans and zooms over the county, the
  time until each redraw's layer requests have answered (median and max).
* **candidate**: ``POST /api/evaluate`` for 20 points on the network (server time, p95); then
  20 drags in a plan of 10 candidates, each ``/api/evaluate`` for the moved candidate and
  ``/api/evaluate-plan`` for the whole plan, as the page sends them (server times summed, p95).

Targets (issue 17, at 300,000 nodes): warm start under 10 s, memory under 1.5 GB, under 2 MB
before the first view is interactive, interactive in under 3 s, candidate p95 under 200 ms
with a plan of 10 candidates.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.county import run_sizes, write_county

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(project: Path, cache: Path, instance: Path) -> tuple[subprocess.Popen, str, float, int]:
    """Start ``linli serve``; returns (process, base URL, seconds to the first page, peak RSS so far)."""
    import psutil

    port = _free_port()
    env = dict(os.environ, LINLI_CACHE_DIR=str(cache))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "linli"),
            "serve",
            "--project",
            str(project),
            "--port",
            str(port),
            "--instance",
            str(instance),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watch = psutil.Process(proc.pid)
    base = f"http://127.0.0.1:{port}/"
    peak = 0
    while True:
        peak = max(peak, watch.memory_info().rss)
        try:
            with urllib.request.urlopen(base, timeout=900) as response:
                response.read()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("server died") from None
            time.sleep(0.2)
    return proc, base, time.perf_counter() - start, peak


def _rss(proc: subprocess.Popen) -> int:
    import psutil

    return psutil.Process(proc.pid).memory_info().rss


def _anonymous(proc: subprocess.Popen) -> int:
    """Bytes of the resident memory that are the process's own (not pages of mapped files, such as
    the street cells' cache, which the system may drop); 0 where ``/proc`` does not say."""
    try:
        text = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * 1024
    return 0


def _page(base: str) -> dict:
    """Bytes until ready, time to ready, and redraw times of eight pans/zooms."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        received = {"bytes": 0}
        cdp.on(
            "Network.loadingFinished",
            lambda e: received.__setitem__("bytes", received["bytes"] + e["encodedDataLength"]),
        )
        start = time.perf_counter()
        page.goto(base, wait_until="load")
        # Polled (the page's CSP forbids the eval behind wait_for_function).
        while not page.evaluate("window.LINLI && window.LINLI.ready === true"):
            page.wait_for_timeout(20)
        ready_s = time.perf_counter() - start
        ready_bytes = received["bytes"]
        redraw = []
        moves = ["zoomIn", "zoomIn", "panE", "panS", "zoomIn", "panW", "zoomOut", "zoomOut"]
        for move in moves:
            t0 = time.perf_counter()
            page.evaluate(
                """(move) => new Promise((done) => {
                    const m = window.LINLI.map;
                    m.once('moveend', () => setTimeout(() => window.LINLI_VIEW.refresh().then(done), 0));
                    if (move === 'zoomIn') m.zoomIn(1, {animate: false});
                    else if (move === 'zoomOut') m.zoomOut(1, {animate: false});
                    else {
                        const s = m.getSize();
                        const d = {panE: [s.x / 2, 0], panS: [0, s.y / 2], panW: [-s.x / 2, 0]}[move];
                        m.panBy(d, {animate: false});
                    }
                })""",
                move,
            )
            redraw.append(time.perf_counter() - t0)
        total = received["bytes"]
        browser.close()
    return {
        "ready_s": ready_s,
        "ready_mb": ready_bytes / 1e6,
        "pan_median_s": statistics.median(redraw),
        "pan_max_s": max(redraw),
        "session_mb": total / 1e6,
    }


def _candidates(base: str, project: Path, n: int = 20, plan_size: int = 10) -> dict:
    """Server times (ms) of ``n`` candidate evaluations beside compounds of the ledger (fixed seed),
    then of ``n`` drags in a plan of ``plan_size``: each moves one candidate to a new point and sends
    what the page sends, ``/api/evaluate`` for it and ``/api/evaluate-plan`` for the whole plan."""
    import pandas as pd

    compounds = pd.read_csv(project.parent / "小区台账.csv", encoding="utf-8-sig")
    rows = compounds.sample(n=min(2 * n + plan_size, len(compounds)), random_state=20_261_205)
    points = [[lon + 0.0005, lat] for lon, lat in zip(rows["经度"], rows["纬度"], strict=True)]
    with urllib.request.urlopen(base + "api/csrf") as response:
        cookie = response.headers.get("Set-Cookie", "").split(";")[0]
        token = json.loads(response.read())["token"]

    def post(path: str, payload: dict) -> float:
        request = urllib.request.Request(
            base + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": token, "Cookie": cookie},
        )
        with urllib.request.urlopen(request, timeout=900) as response:
            return float(json.loads(response.read())["server_ms"])

    times = [post("api/evaluate", {"geometry": {"type": "Point", "coordinates": xy}}) for xy in points[:n]]
    plan = points[n : n + plan_size]
    rng = np.random.default_rng(20_261_205)
    drags = []
    for xy in points[n + plan_size :]:
        plan[int(rng.integers(plan_size))] = xy
        one = post("api/evaluate", {"geometry": {"type": "Point", "coordinates": xy}})
        drags.append(one + post("api/evaluate-plan", {"sites": [{"type": "Point", "coordinates": p} for p in plan]}))
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
        "n": len(times),
        "plan_p50_ms": statistics.median(drags),
        "plan_p95_ms": float(np.percentile(drags, 95)),
        "plan_n": len(drags),
    }


def bench(n_nodes: int, work: Path) -> dict:
    """Cold and warm start, memory, page and candidates for a county of ``n_nodes``."""
    project = write_county(None, n_nodes)
    cache = work / f"cache-{n_nodes}"
    shutil.rmtree(cache, ignore_errors=True)
    row: dict = {"nodes": n_nodes}
    proc, _base, row["cold_s"], row["cold_peak_gb"] = _serve(project, cache, work / f"i-{n_nodes}-cold")
    proc.terminate()
    proc.wait()
    proc, base, row["warm_s"], _peak = _serve(project, cache, work / f"i-{n_nodes}-warm")
    try:
        row["warm_rss_gb"] = _rss(proc) / 1e9
        row.update(_page(base))
        row.update({f"candidate_{k}": v for k, v in _candidates(base, project).items()})
        row["rss_after_gb"] = _rss(proc) / 1e9
        row["anon_after_gb"] = _anonymous(proc) / 1e9
    finally:
        proc.terminate()
        proc.wait()
    row["cold_peak_gb"] /= 1e9
    return row


def _row(r: dict) -> str:
    return (
        f"| {r['nodes']:,} | {r['cold_s']:.0f} | {r['cold_peak_gb']:.2f} | {r['warm_s']:.1f} "
        f"| {r['warm_rss_gb']:.2f} "
        f"| {r['ready_s']:.1f} | {r['ready_mb']:.2f} | {r['pan_median_s']:.2f} / {r['pan_max_s']:.2f} "
        f"| {r['candidate_p95_ms']:.0f} | {r['candidate_plan_p95_ms']:.0f} "
        f"| {r['rss_after_gb']:.2f} ({r['anon_after_gb']:.2f}) |"
    )


def main(argv: list[str] | None = None) -> int:
    header = [
        "| nodes | cold start s | cold peak GB | warm start s | RSS at first page GB | page ready s | MB before ready "
        "| pan redraw median / max s | candidate p95 ms | drag in a plan of 10 p95 ms "
        "| RSS after session GB (of it anonymous) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return run_sizes(
        argv,
        prog="python -m benchmarks.bench_county",
        description=__doc__.split("\n")[0],
        bench=bench,
        header=header,
        row=_row,
    )


if __name__ == "__main__":
    sys.exit(main())
