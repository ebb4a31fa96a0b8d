"""The server holds (issue 19): Host header, request bodies, half-open connections, comparison cost.

Real waitress servers in threads and real sockets for the connection and body limits; the
Flask test client on the demo project for the Host check and the comparison.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
import tracemalloc

import pytest
import shapely

from geo import settings
from geo.access.compare import simplify_drawn
from geo.errors import InputDataError
from geo.io import sheets
from geo.io.drawn import parse_json
from geo.io.uploads import read_upload
from webapp import create_app
from webapp.limits import CONNECTION_LIMIT, MAX_CONNECTIONS_PER_ADDRESS, allowed_hosts, host_name, make_server

# Central Helsinki (the demo extract), WGS84.
CENTER = [24.9400, 60.1700]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("instance")})


@pytest.fixture()
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory):
    """A real waitress server with the app's limits (no project loaded: /api/csrf answers at once)."""
    app = create_app({"instance_path": tmp_path_factory.mktemp("bare"), "EAGER_LOAD": False})
    server = make_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_port
    server.close()


def _ask(port: int, raw: bytes, timeout_s: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


# ---------------------------------------------------------------------------- Host header


def test_dns_rebinding_host_is_refused(client):
    response = client.get("/api/csrf", headers={"Host": "evil.example"})
    assert response.status_code == 400
    body = response.get_json()
    assert "LINLI_ALLOWED_HOSTS" in body["error"] and "不受信任的主机名" in body["error"]
    assert "evil.example" not in response.get_data(as_text=True)
    page = client.get("/", headers={"Host": "evil.example:8000"})
    assert page.status_code == 400 and "evil.example" not in page.get_data(as_text=True)
    assert client.get("/api/csrf", headers={"Host": "localhost:8000"}).status_code == 200
    assert client.get("/api/csrf", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/csrf", headers={"Host": "[::1]:8000"}).status_code == 200


def test_configured_and_bound_hosts_are_trusted():
    hosts = allowed_hosts({"ALLOWED_HOSTS": "linli.county.gov.cn, 10.1.2.3", "BIND_HOST": "192.168.1.5"})
    assert {"linli.county.gov.cn", "10.1.2.3", "192.168.1.5", "localhost", "127.0.0.1", "::1"} <= hosts
    assert "evil.example" not in hosts
    assert allowed_hosts({"ALLOWED_HOSTS": ["a.example"]}) >= {"a.example"}
    assert host_name("LinLi.Example:8000") == "linli.example"
    assert host_name("[::1]:80") == "::1"
    assert host_name("::1") == "::1"


def test_host_setting_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_ALLOWED_HOSTS", "planning.example")
    app = create_app({"TESTING": True, "instance_path": tmp_path / "i", "EAGER_LOAD": False})
    assert app.test_client().get("/api/csrf", headers={"Host": "planning.example"}).status_code == 200
    assert app.test_client().get("/api/csrf", headers={"Host": "other.example"}).status_code == 400


# ------------------------------------------------------------------------- slow clients, bodies


def test_half_open_connections_do_not_lock_everyone_out(bare_server):
    """150 connections from another machine that send half a request and wait: a planner's
    request is still answered, and beyond its first 32 the other machine's connections are
    closed at once (no channel, no buffer, nothing for the server's loop to look after)."""
    held, closed = [], 0
    try:
        for _ in range(150):
            sock = socket.create_connection(("127.0.0.1", bare_server), timeout=10, source_address=("127.0.0.2", 0))
            sock.sendall(b"GET /api/csrf HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: never ends
            held.append(sock)
        answer = _ask(bare_server, b"GET /api/csrf HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        time.sleep(1.0)  # the server has accepted (or closed) them all
        for sock in held:
            sock.setblocking(False)
            try:
                closed += sock.recv(1) == b""
            except BlockingIOError:
                pass  # held open: waiting for the rest of its request
            except ConnectionResetError:
                closed += 1
    finally:
        for sock in held:
            sock.close()
    assert closed == 150 - MAX_CONNECTIONS_PER_ADDRESS
    assert CONNECTION_LIMIT >= 300


def test_a_client_reconnecting_without_pause_is_closed_at_the_door(tmp_path):
    """A client that opens a new connection after every answer, faster than 20 a second after a
    burst of 60, has the surplus closed on accept (its request never read); another address is
    answered meanwhile, and the client itself again after a pause."""
    app = create_app({"instance_path": tmp_path, "EAGER_LOAD": False})
    server = make_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    ask = b"GET /api/csrf HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    def once(source: str) -> bool:
        with socket.create_connection(
            ("127.0.0.1", server.effective_port), timeout=10, source_address=(source, 0)
        ) as sock:
            try:
                sock.sendall(ask)
                return sock.recv(65536).startswith(b"HTTP/1.1 200")
            except (ConnectionResetError, BrokenPipeError):
                return False

    try:
        answered = sum(once("127.0.0.4") for _ in range(150))
        assert 60 <= answered < 150
        assert once("127.0.0.5")  # another machine
        time.sleep(1.5)
        assert once("127.0.0.4")  # the bucket refills
    finally:
        server.close()


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "３２", "100000", True])
def test_bad_connection_cap_is_refused_at_start(tmp_path, value):
    with pytest.raises(InputDataError, match="LINLI_MAX_CONNECTIONS_PER_ADDRESS"):
        create_app({"instance_path": tmp_path, "EAGER_LOAD": False, "MAX_CONNECTIONS_PER_ADDRESS": value})


def test_the_connection_cap_can_be_lifted_for_an_office_behind_one_address(tmp_path):
    """0 lifts the cap (planners reaching the server through one NAT address): 40 connections stay."""
    app = create_app({"instance_path": tmp_path, "EAGER_LOAD": False, "MAX_CONNECTIONS_PER_ADDRESS": "0"})
    server = make_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    held = []
    try:
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", server.effective_port), timeout=10)
            sock.sendall(b"GET /api/csrf HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(sock)
        time.sleep(1.0)
        for sock in held:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)  # none closed
    finally:
        for sock in held:
            sock.close()
        server.close()


def test_large_body_on_a_small_route_is_refused_before_it_is_read(bare_server):
    """Content-Length of 100 MB on /api/evaluate: 413 from the headers alone (no byte of body sent)."""
    head = (
        b"POST /api/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    assert _ask(bare_server, head).startswith(b"HTTP/1.1 413")
    chunked = (
        b"POST /api/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"100000\r\n" + b" " * 0x100000 + b"\r\n"  # 1 MiB chunks, 17 of them: past the 16 MiB cap
    with socket.create_connection(("127.0.0.1", bare_server), timeout=20) as sock:
        sock.sendall(chunked)
        try:
            for _ in range(17):
                sock.sendall(piece)
        except OSError:
            pass  # the server may close as soon as the cap is passed
        assert sock.recv(65536).startswith(b"HTTP/1.1 413")


def test_study_area_upload_may_be_large(bare_server):
    """The project upload keeps its large cap: 100 MB announced is not refused from the headers."""
    head = (
        b"POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", bare_server), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(65536)  # the server waits for the body instead of answering 413


def test_comparison_past_the_address_budget_is_refused_before_its_body_is_read(tmp_path):
    """An address past its bytes per minute of comparisons gets 429 from the headers (body never sent).

    A client that ignores Retry-After and sends its 0.8 MB drawing again costs the server a header.
    Another address is still heard (the server waits for its body).
    """
    app = create_app({"instance_path": tmp_path, "EAGER_LOAD": False})
    server = make_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        budget = app.config["ADMISSION_BYTES_PER_MIN"]["compare"]
        assert app.extensions["linli.admission"].spend("compare", "127.0.0.1", budget, budget)
        head = (
            b"POST /api/compare HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 800000\r\n\r\n"
        )
        answer = _ask(server.effective_port, head)
        assert answer.startswith(b"HTTP/1.1 429")
        assert b"Retry-After: 5" in answer
        with socket.create_connection(
            ("127.0.0.1", server.effective_port), timeout=10, source_address=("127.0.0.2", 0)
        ) as sock:
            sock.sendall(head)
            sock.settimeout(1.0)
            with pytest.raises(TimeoutError):
                sock.recv(65536)  # another address: its body is awaited, not refused
    finally:
        server.close()


# ------------------------------------------------------------------------------ comparison cost


def _circle(n: int, radius_deg: float = 0.002) -> list[list[float]]:
    ring = [
        [
            CENTER[0] + 2 * radius_deg * math.cos(2 * math.pi * i / n),
            CENTER[1] + radius_deg * math.sin(2 * math.pi * i / n),
        ]
        for i in range(n)
    ]
    return [*ring, ring[0]]


def _comb(teeth: int, width_deg: float = 4e-5) -> list[list[float]]:
    """A valid outline of ``4 * teeth`` vertices whose teeth (about 2 m wide) survive a 1 m simplification."""
    x0, y0 = CENTER[0] - teeth * width_deg, CENTER[1]
    ring = []
    for k in range(teeth):
        x = x0 + 2 * k * width_deg
        ring += [[x, y0], [x, y0 + 0.003], [x + width_deg, y0 + 0.003], [x + width_deg, y0]]
    end = x0 + 2 * teeth * width_deg
    ring += [[end, y0], [end, y0 - 0.001], [x0, y0 - 0.001], [x0, y0]]
    return ring


def test_polygon_at_the_vertex_cap_is_compared_after_simplifying(client):
    """The cap-size outline is simplified at 1 m before the overlays: far fewer vertices are compared."""
    ring = _circle(settings.MAX_DRAWN_VERTICES - 1)
    response = client.post(
        "/api/compare",
        json={"area": {"type": "Polygon", "coordinates": [ring]}, "center": {"type": "Point", "coordinates": CENTER}},
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["simplify_m"] == settings.COMPARE_SIMPLIFY_M == 1.0
    assert data["drawn_vertices"] <= settings.MAX_COMPARE_VERTICES < len(ring)


def test_outline_that_stays_too_detailed_is_refused_with_the_cap(client):
    ring = _comb(1_500)  # 6,004 vertices, each tooth wider than the 1 m tolerance
    response = client.post("/api/compare", json={"area": {"type": "Polygon", "coordinates": [ring]}})
    assert response.status_code == 413
    message = response.get_json()["error"]
    assert f"{settings.MAX_COMPARE_VERTICES:,}" in message and "simplify" in message


def test_simplify_drawn_counts_in_metres():
    square = shapely.Polygon([(0, 0), (500, 0), (500, 500), (0, 500)])
    dense = shapely.segmentize(square, 0.5)  # 4,000 vertices on straight edges
    assert shapely.get_num_coordinates(simplify_drawn(dense)) == 5
    assert simplify_drawn(dense).area == pytest.approx(square.area)


def test_repair_is_bounded(client):
    """A self-intersecting zigzag: repaired up to the repair cap, refused with a clear message above it."""

    def zigzag(n: int) -> list[list[float]]:
        ring = [[CENTER[0] - 0.004 + 0.008 * i / n, CENTER[1] + (0.002 if i % 2 else -0.002)] for i in range(n)]
        return [*ring, ring[0]]

    small = client.post(
        "/api/compare", json={"area": {"type": "Polygon", "coordinates": [zigzag(400)]}, "repair": True}
    )
    assert small.status_code == 200 and "已自动修复" in small.get_json()["note"]
    big = client.post(
        "/api/compare",
        json={"area": {"type": "Polygon", "coordinates": [zigzag(settings.MAX_REPAIR_VERTICES + 2)]}, "repair": True},
    )
    assert big.status_code == 413
    assert f"{settings.MAX_REPAIR_VERTICES:,}" in big.get_json()["error"]


# ----------------------------------------------------------------------------- table uploads


@pytest.fixture(scope="module")
def long_workbook(tmp_path_factory):
    """60,000 rows of facilities (1 MB as XLSX, about 80 MB once loaded whole by openpyxl)."""
    import openpyxl

    path = tmp_path_factory.mktemp("xlsx") / "台账.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(["名称", "经度", "纬度"])
    for i in range(60_000):
        sheet.append([f"设施{i}", 118.6 + i * 1e-6, 24.9 + i * 1e-6])
    book.save(path)
    return path


def test_workbook_past_the_row_cap_is_refused_while_streaming(long_workbook, monkeypatch):
    """Refused at the cap by a read-only pass (one row in memory), never loaded whole."""
    monkeypatch.setattr(sheets, "MAX_ROWS", 20_000)
    tracemalloc.start()
    try:
        with pytest.raises(InputDataError, match="超过 20000 行"):
            sheets.read_sheet(long_workbook, "台账.xlsx", "xlsx")
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert peak_mb < 30  # the whole-book load of these rows peaks near 80 MB


def test_table_past_the_cell_cap_is_refused_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "MAX_TABLE_CELLS", 50_000)
    path = tmp_path / "宽表.csv"
    header = ["名称", "经度", "纬度", *(f"备注{k}" for k in range(27))]
    lines = [",".join(header)] + [",".join([f"点{i}", "118.6", "24.9", *["x"] * 27]) for i in range(5_000)]
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputDataError, match="50,000 个单元格") as info:
        read_upload(path, expected="point")
    assert "split the file" in str(info.value)


def test_table_reading_has_a_time_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "MAX_TABLE_READ_S", 0.0)
    path = tmp_path / "点.csv"
    path.write_text("名称,经度,纬度\n" + "\n".join(f"点{i},118.6,24.9" for i in range(3_000)), encoding="utf-8")
    with pytest.raises(InputDataError, match="读取超过 0 秒"):
        read_upload(path, expected="point")


def test_json_depth_scan_skips_strings_and_refuses_the_deep():
    """Brackets inside strings do not nest; an unterminated string (a hostile body) is malformed JSON."""
    assert parse_json(json.dumps({"name": "[[[[" * 100})) == {"name": "[[[[" * 100}
    with pytest.raises(InputDataError, match="nested too deeply"):
        parse_json("[" * (settings.MAX_JSON_DEPTH + 1) + "]" * (settings.MAX_JSON_DEPTH + 1))
    with pytest.raises(InputDataError, match="malformed JSON"):
        parse_json('"\\' * 200_000)  # every quote escaped: one string to the end
