"""Load test: a planning office on the production server, on loopback.

Usage::

    python -m benchmarks.bench_load [--planners 20] [--seconds 120] [--markdown FILE]

Starts the server exactly as the README does (``python -m webapp --project demo``,
waitress) on a free port, then runs ``--planners`` simulated planners (threads, each
with its own session and CSRF token) for ``--seconds``.  Each planner loops over a
mix of what a planner does, with 0.2-1.0 s of thinking between actions: open the map
page, fetch layer GeoJSON, drop or drag a candidate center, save their plan (with the
version they hold), and now and then upload a small town polygon.  Every response is
timed and its status kept; the server's resident memory is sampled every 2 s.

Targets (issue 9): zero 5xx; p95 under 300 ms for saves, 500 ms for candidate
service areas, 1 s for layer GeoJSON; resident memory growth under 10 % over the run
(from the end of the first quarter, after warm-up, to the end).

``--hostile`` (issue 19) adds a hostile client beside the planners, in its own process (as another
machine would be: it shares the two cores, not the planners' client's interpreter lock): comparisons of drawn areas
at the vertex cap (two threads, one session) and of outlines too detailed to compare, a flood of
placement jobs (each from a fresh session, so only the total cap holds it), bodies announced at
100 MB on small routes, and 200 half-open connections held open (re-opened when the server
closes them).  The planners' targets must hold meanwhile; the hostile client's answers are
counted by status (429/503/413 expected, never 5xx other than the 503 of admission control).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
SEED = 20_261_126
#: Candidate sites and the town polygon lie inside the demo (central Helsinki).
WEST, SOUTH, EAST, NORTH = 24.932, 60.160, 24.955, 60.176
TARGETS_MS = {"save": 300.0, "candidate": 500.0, "layer": 1000.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _town(rng: random.Random) -> bytes:
    x, y = rng.uniform(WEST, EAST - 0.004), rng.uniform(SOUTH, NORTH - 0.003)
    ring = [[x, y], [x + 0.004, y], [x + 0.004, y + 0.003], [x, y + 0.003], [x, y]]
    feature = {
        "type": "Feature",
        "properties": {"名称": "测试镇"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode("utf-8")


class Planner(threading.Thread):
    """One simulated planner."""

    def __init__(self, base: str, k: int, until: float, log: list) -> None:
        super().__init__(daemon=True)
        self.base, self.k, self.until, self.log = base, k, until, log
        self.rng = random.Random(SEED + k)
        self.session = requests.Session()

    def call(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        start = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.log.append((kind, (time.perf_counter() - start) * 1000, 599, type(exc).__name__))
            return None
        self.log.append((kind, (time.perf_counter() - start) * 1000, response.status_code, ""))
        return response

    def run(self) -> None:
        token = self.session.get(self.base + "/api/csrf", timeout=30).json()["token"]
        self.session.headers["X-CSRF-Token"] = token
        plan = self.call("save", "POST", "/api/plans", json={"name": f"规划师 {self.k} 的方案"}).json()
        version = plan["version"]
        features: list[dict] = []
        functions = ["medical", "food", "leisure", "services"]
        while time.monotonic() < self.until:
            roll = self.rng.random()
            if roll < 0.10:
                self.call("page", "GET", f"/?function={self.rng.choice(functions)}")
            elif roll < 0.35:
                layer = self.rng.choice(["times", "service_areas", "gaps", "facilities", "boundary"])
                self.call("layer", "GET", f"/api/layers/{layer}?function={self.rng.choice(functions)}")
            elif roll < 0.70:
                point = [self.rng.uniform(WEST, EAST), self.rng.uniform(SOUTH, NORTH)]
                geometry = {"type": "Point", "coordinates": point}
                response = self.call("candidate", "POST", "/api/evaluate", json={"geometry": geometry})
                if response is not None and response.status_code == 200 and len(features) < 8:
                    features.append({"kind": "candidate", "name": f"候选 {len(features)}", "geometry": geometry})
            elif roll < 0.95:
                response = self.call(
                    "save", "PUT", f"/api/plans/{plan['id']}", json={"version": version, "features": features}
                )
                if response is not None and response.status_code == 200:
                    version = response.json()["version"]
            else:
                files = {"file": ("镇界.geojson", _town(self.rng), "application/geo+json")}
                data = {"kind": "town", "version": str(version)}
                response = self.call("upload", "POST", f"/api/plans/{plan['id']}/upload", files=files, data=data)
                if response is not None and response.status_code == 200:
                    body = response.json()
                    version = body["version"]
                    features = [
                        {"kind": f["kind"], "name": f["name"], "geometry": f["geometry"]}
                        for f in body["features"]
                        if f["kind"] == "candidate"
                    ]
                    features += [
                        {"kind": f["kind"], "name": f["name"], "geometry": f["geometry"]}
                        for f in body["features"]
                        if f["kind"] == "town"
                    ][-2:]
            time.sleep(self.rng.uniform(0.2, 1.0))


def _cap_polygon(n: int) -> dict:
    """A drawn area of ``n`` vertices (a wavy circle at the vertex cap when n = 19,999)."""
    import math

    cx, cy = (WEST + EAST) / 2, (SOUTH + NORTH) / 2
    ring = [
        [
            cx + 0.006 * (1 + 0.1 * math.sin(40 * a)) * math.cos(a),
            cy + 0.003 * (1 + 0.1 * math.sin(40 * a)) * math.sin(a),
        ]
        for a in (2 * math.pi * i / n for i in range(n))
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _comb(teeth: int) -> dict:
    """A valid outline whose 2 m teeth survive simplification: refused by the comparison cap."""
    x0, y0, w = (WEST + EAST) / 2 - teeth * 4e-5, (SOUTH + NORTH) / 2, 2e-5
    ring = []
    for k in range(teeth):
        x = x0 + 2 * k * 2 * w
        ring += [[x, y0], [x, y0 + 0.003], [x + 2 * w, y0 + 0.003], [x + 2 * w, y0]]
    end = x0 + teeth * 4 * w
    ring += [[end, y0], [end, y0 - 0.001], [x0, y0 - 0.001], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


#: The hostile client's own address: another machine on the office network (loopback aliases
#: 127.0.0.0/8 all reach the server), so per-address limits tell it from the planners.
HOSTILE_ADDRESS = "127.0.0.2"
#: The half-open connections come from a third machine, so that the connection cap per address
#: does not also shield the server from the first one's comparisons and jobs.
SLOW_ADDRESS = "127.0.0.3"


class _FromHostile(requests.adapters.HTTPAdapter):
    """Connections made from :data:`HOSTILE_ADDRESS`."""

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (HOSTILE_ADDRESS, 0)
        super().init_poolmanager(*args, **kwargs)


def _hostile_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromHostile())
    return session


class Hostile(threading.Thread):
    """One strand of the hostile client: ``what`` is compare, jobs, bodies or slow."""

    def __init__(self, base: str, what: str, until: float, log: list, session: requests.Session | None = None):
        super().__init__(daemon=True)
        self.base, self.what, self.until, self.log = base, what, until, log
        self.session = session or _hostile_session()

    def _token(self, session: requests.Session) -> None:
        session.headers["X-CSRF-Token"] = session.get(self.base + "/api/csrf", timeout=30).json()["token"]

    def _post(self, kind: str, session: requests.Session, path: str, body: dict | bytes) -> None:
        start = time.perf_counter()
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        try:
            status = session.post(self.base + path, data=data, headers=headers, timeout=60).status_code
        except requests.RequestException:
            status = 599
        self.log.append((kind, (time.perf_counter() - start) * 1000, status, "hostile"))

    def run(self) -> None:
        host, port = self.base.removeprefix("http://").split(":")
        if self.what == "compare":
            if "X-CSRF-Token" not in self.session.headers:
                self._token(self.session)
            # Serialised once: the load client's own time goes to the planners' threads.
            big = json.dumps({"area": _cap_polygon(19_999)}).encode()
            comb = json.dumps({"area": _comb(1_500)}).encode()
            while time.monotonic() < self.until:
                self._post("hostile compare", self.session, "/api/compare", big)
                self._post("hostile compare", self.session, "/api/compare", comb)
        elif self.what == "jobs":
            while time.monotonic() < self.until:
                fresh = _hostile_session()
                try:
                    self._token(fresh)
                except (requests.RequestException, ValueError, KeyError):
                    self.log.append(("hostile job", 0.0, 599, "hostile"))
                    time.sleep(0.05)
                    continue
                self._post("hostile job", fresh, "/api/jobs", {"kind": "placement", "params": {}})
                time.sleep(0.05)
        elif self.what == "bodies":
            head = (
                f"POST /api/evaluate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                "Content-Length: 100000000\r\n\r\n"
            ).encode()
            while time.monotonic() < self.until:
                start = time.perf_counter()
                try:
                    with socket.create_connection(
                        (host, int(port)), timeout=30, source_address=(HOSTILE_ADDRESS, 0)
                    ) as sock:
                        sock.sendall(head)
                        status = int(sock.recv(4096).split(b" ", 2)[1])
                except (OSError, ValueError, IndexError):
                    status = 599
                self.log.append(("hostile body", (time.perf_counter() - start) * 1000, status, "hostile"))
                time.sleep(0.1)
        else:  # slow: 200 half-open connections, re-opened when the server closes them
            held: list[socket.socket] = []
            while time.monotonic() < self.until:
                alive = []
                for sock in held:
                    try:
                        sock.setblocking(False)
                        if sock.recv(1) == b"":  # closed by the server
                            sock.close()
                            continue
                    except BlockingIOError:
                        pass  # still open
                    except OSError:
                        sock.close()
                        continue
                    try:
                        sock.setblocking(True)
                        sock.send(b"X")  # one more byte of a header that never ends
                        alive.append(sock)
                    except OSError:
                        sock.close()
                held = alive
                self.log.append(("hostile slow", 0.0, len(held), "hostile"))
                while len(held) < 200:
                    try:
                        sock = socket.create_connection((host, int(port)), timeout=5, source_address=(SLOW_ADDRESS, 0))
                        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
                        held.append(sock)
                    except OSError:
                        break
                time.sleep(5.0)
            for sock in held:
                sock.close()


def _hostile_client(base: str, seconds: float, out) -> None:
    """The hostile client's strands in their own process; their log is put on ``out`` at the end.

    At the lowest CPU priority (nice 19): on a real network the hostile client's own work (building
    and sending its requests) is done by its machine, not the server's; on this two-core machine
    it gets the cycles the server and the planners leave, and the report counts what it sent.
    """
    os.nice(19)
    until = time.monotonic() + seconds
    log: list = []
    shared = _hostile_session()  # two comparison strands in one session: the per-client cap
    strands = [Hostile(base, "compare", until, log, shared) for _ in range(2)]
    strands += [Hostile(base, what, until, log) for what in ("jobs", "bodies", "slow")]
    for strand in strands:
        strand.start()
    for strand in strands:
        strand.join()
    out.put(log)


def run(planners: int, seconds: float, hostile: bool = False) -> dict:
    """Start the server, run the planners (and the hostile client), stop the server; the measurements."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "webapp",
                "--project",
                "demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--instance",
                instance,
                "--threads",
                "8",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if requests.get(base + "/api/csrf", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.2)
            proc = psutil.Process(server.pid)
            log: list = []
            start = time.monotonic()
            until = start + seconds
            threads: list[threading.Thread] = [Planner(base, k, until, log) for k in range(planners)]
            hostile_proc = None
            if hostile:  # another process, as another machine would be: it shares the cores, not the GIL
                context = multiprocessing.get_context("spawn")
                hostile_log_queue = context.Queue()
                hostile_proc = context.Process(target=_hostile_client, args=(base, seconds, hostile_log_queue))
                hostile_proc.start()
            cpu_start = sum(proc.cpu_times()[:2])
            for t in threads:
                t.start()
            rss = []
            while any(t.is_alive() for t in threads):
                rss.append((time.monotonic() - start, proc.memory_info().rss / 1e6))
                time.sleep(2.0)
            for t in threads:
                t.join()
            server_cpu_s = sum(proc.cpu_times()[:2]) - cpu_start
            if hostile_proc is not None:
                log += hostile_log_queue.get(timeout=120)
                hostile_proc.join(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    by_kind = defaultdict(list)
    statuses: defaultdict = defaultdict(lambda: defaultdict(int))
    hostile_log = [row for row in log if row[3] == "hostile"]
    log = [row for row in log if row[3] != "hostile"]
    for kind, ms, status, _ in log:
        statuses[kind][status] += 1
        if status < 500:
            by_kind[kind].append(ms)
    hostile_statuses: defaultdict = defaultdict(lambda: defaultdict(int))
    hostile_ms = defaultdict(list)
    for kind, ms, status, _ in hostile_log:
        if kind == "hostile slow":
            hostile_statuses[kind]["max held by the server"] = max(
                hostile_statuses[kind]["max held by the server"], status
            )
            continue
        hostile_statuses[kind][status] += 1
        hostile_ms[kind].append(ms)
    warm = [m for t, m in rss if t >= seconds / 4] or [rss[-1][1]]
    return {
        "planners": planners,
        "seconds": seconds,
        "requests": len(log),
        "errors_5xx": sum(n for s in statuses.values() for code, n in s.items() if code >= 500),
        "kinds": {
            kind: {
                "n": len(ms),
                "p50": float(np.percentile(ms, 50)),
                "p95": float(np.percentile(ms, 95)),
                "max": float(max(ms)),
                "statuses": dict(statuses[kind]),
            }
            for kind, ms in sorted(by_kind.items())
        },
        "hostile": {
            kind: {
                "statuses": dict(hostile_statuses[kind]),
                "p50": float(np.percentile(hostile_ms[kind], 50)) if hostile_ms[kind] else 0.0,
                "max": float(max(hostile_ms[kind])) if hostile_ms[kind] else 0.0,
            }
            for kind in sorted(hostile_statuses)
        },
        "server_cpu_s": server_cpu_s,
        "rss_start_mb": warm[0],
        "rss_end_mb": rss[-1][1],
        "rss_peak_mb": max(m for _, m in rss),
        "rss_growth_pct": 100.0 * (rss[-1][1] - warm[0]) / warm[0],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print (or write) the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_load")
    parser.add_argument("--planners", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--hostile", action="store_true", help="a hostile client beside the planners (issue 19)")
    args = parser.parse_args(argv)
    result = run(args.planners, args.seconds, args.hostile)
    names = {
        "page": "map page",
        "layer": "layer GeoJSON",
        "candidate": "candidate service areas + delta",
        "save": "plan save",
        "upload": "small upload",
    }
    lines = [
        f"{result['planners']} planners, {result['seconds']:.0f} s, {result['requests']} requests, "
        f"{result['errors_5xx']} responses 5xx; server RSS {result['rss_start_mb']:.0f} MB after warm-up -> "
        f"{result['rss_end_mb']:.0f} MB at the end ({result['rss_growth_pct']:+.1f} %), "
        f"peak {result['rss_peak_mb']:.0f} MB; the server used {result['server_cpu_s']:.0f} s of CPU "
        f"(user + system) in the {result['seconds']:.0f} s.",
        "",
        "| request | n | p50 ms | p95 ms | max ms | target p95 | met | statuses |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for kind, row in result["kinds"].items():
        target = TARGETS_MS.get(kind)
        met = "" if target is None else ("yes" if row["p95"] < target else "NO")
        lines.append(
            f"| {names.get(kind, kind)} | {row['n']} | {row['p50']:.0f} | {row['p95']:.0f} | {row['max']:.0f} | "
            f"{'' if target is None else f'< {target:.0f}'} | {met} | {row['statuses']} |"
        )
    lines.append(
        f"| resident memory growth | | | | | < 10 % | {'yes' if result['rss_growth_pct'] < 10 else 'NO'} | "
        f"{result['rss_growth_pct']:+.1f} % |"
    )
    lines.append(f"| 5xx responses | | | | | 0 | {'yes' if result['errors_5xx'] == 0 else 'NO'} | |")
    if result["hostile"]:
        lines += ["", "Hostile client (its answers, by status):", "", "| strand | n | p50 ms | max ms | statuses |"]
        lines.append("|---|---:|---:|---:|---|")
        for kind, row in result["hostile"].items():
            n = sum(v for k, v in row["statuses"].items() if not str(k).startswith("max held"))
            lines.append(f"| {kind} | {n} | {row['p50']:.0f} | {row['max']:.0f} | {row['statuses']} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
