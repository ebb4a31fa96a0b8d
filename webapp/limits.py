"""The server holds against hostile or careless use: trusted hosts, admission control, server limits.

* **Host header** (docs/bad-inputs.md, issue 19): a request whose ``Host`` is not one the
  office configured (``LINLI_ALLOWED_HOSTS``, default the loopback names and the bind
  address) is refused with 400 before anything else runs, so a DNS-rebinding page cannot
  use the app as its own origin.  The app issues no absolute redirects, so an untrusted
  Host is never echoed.
* **Admission control**: each expensive kind of request (comparisons, candidate
  evaluations, exports, uploads) has a bounded number of places.  A request waits up to
  :data:`ADMISSION_WAIT_S` for a place, else 503 with ``Retry-After``; one client
  (session, else address) with :data:`PER_CLIENT` requests of a kind holding or waiting for
  places gets 429 at once, and so does an address past its bytes per minute of comparisons
  (:data:`BYTES_PER_MIN`: the work of a comparison grows with its drawing).  A flood
  of one kind cannot take every worker thread from the planners' other requests.
* **Server limits** (:func:`server_options`): waitress's connection limit, idle timeout
  and body size, so a hundred half-open connections do not lock everyone out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
import threading
import time
from collections import Counter, deque

from flask import Flask, abort, current_app, g, jsonify, request, session
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import Error, RequestEntityTooLarge

from geo.errors import InputDataError

logger = logging.getLogger(__name__)

__all__ = ["ADMISSION", "Admission", "allowed_hosts", "init_app", "job_owner", "make_server", "server_options"]

#: Places per kind of expensive request (all clients together), and the endpoints of each.
#: Four waitress threads serve the app: a full kind leaves the others room.
ADMISSION: dict[str, tuple[int, tuple[str, ...]]] = {
    "compare": (1, ("api.compare",)),
    "evaluate": (6, ("api.evaluate",)),
    "plan": (2, ("api.evaluate_plan_sites", "api.candidate_rings_of_sites", "programme.programme_view")),
    "export": (
        1,
        ("exports.*", "programme.programme_map", "orgweb.orgchart_file", "orgweb.grid_levels_file"),  # h-micro2
    ),
    "upload": (
        1,
        (
            "api.upload_to_plan",
            "api.preview_ledger",
            "api.apply_ledger_upload",
            "api.create_project",
            "gridimport.*",
            "rosterweb.roster_upload",
        ),
    ),  # grids imported and compared in the grids panel, and rosters, are uploads too
}
#: Requests of one kind that one client may have holding or waiting for a place (beyond: 429 at
#: once).  Above one where the page itself sends several together: a plan's evaluation beside its
#: rings, every moved candidate evaluated after an edit.
PER_CLIENT = {"compare": 2, "evaluate": 8, "plan": 4, "export": 2, "upload": 2}
#: Bytes of request body one client address may send to a kind per minute (beyond: 429): the work
#: of a comparison grows with its drawing, so a drawing at the vertex cap (about 0.8 MB) may come
#: five times a minute, a hand-drawn one (a few kB) hundreds of times.
BYTES_PER_MIN = {"compare": 4 * 1024 * 1024}
#: Seconds a request waits for a place before it is refused (503).
ADMISSION_WAIT_S = 10.0
#: Seconds the page is told to wait before trying again.
RETRY_AFTER_S = 5

#: Host names always trusted: the machine itself.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class Admission:
    """Bounded places per kind of request, and who holds them."""

    def __init__(self, sizes: dict[str, int], per_client: dict[str, int]) -> None:
        self._places = {kind: threading.BoundedSemaphore(size) for kind, size in sizes.items()}
        self._per_client = per_client
        self._held: Counter[tuple[str, str]] = Counter()
        self._sent: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()
        #: Requests refused so far, by kind and status (for the load benchmark and the log).
        self.refused: Counter[tuple[str, int]] = Counter()

    def _past_budget(self, sent: deque[tuple[float, int]], kind: str, nbytes: int, per_min: int, now: float) -> bool:
        """Drop what is older than a minute from ``sent``; whether ``nbytes`` more passes ``per_min``
        (a first request always fits); counted as refused when it does.  Called under the lock."""
        while sent and sent[0][0] < now - 60.0:
            sent.popleft()
        if sent and sum(n for _, n in sent) + nbytes > per_min:
            self.refused[kind, 429] += 1
            return True
        return False

    def spend(self, kind: str, address: str, nbytes: int, per_min: int) -> bool:
        """Count ``nbytes`` of body against the address's minute of ``kind``; False when over."""
        now = time.monotonic()
        with self._lock:
            sent = self._sent.setdefault((kind, address), deque())
            if self._past_budget(sent, kind, nbytes, per_min, now):
                return False
            sent.append((now, nbytes))
            return True

    def over(self, kind: str, address: str, nbytes: int, per_min: int) -> bool:
        """Whether ``nbytes`` more of ``kind`` from ``address`` would pass its minute's budget (nothing counted)."""
        now = time.monotonic()
        with self._lock:
            sent = self._sent.get((kind, address))
            return bool(sent) and self._past_budget(sent, kind, nbytes, per_min, now)

    def enter(self, kind: str, client: str, wait_s: float) -> int:
        """Take a place of ``kind`` for ``client``: 0, or the status refusing it (429 or 503)."""
        with self._lock:
            if self._held[kind, client] >= self._per_client.get(kind, 1):
                self.refused[kind, 429] += 1
                return 429
            self._held[kind, client] += 1
        if not self._places[kind].acquire(timeout=wait_s):
            with self._lock:
                self._held[kind, client] -= 1
                self.refused[kind, 503] += 1
            return 503
        return 0

    def leave(self, kind: str, client: str) -> None:
        """Give the place back."""
        self._places[kind].release()
        with self._lock:
            self._held[kind, client] -= 1
            if self._held[kind, client] <= 0:
                del self._held[kind, client]


def _kind_of(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    for kind, (_, endpoints) in current_app.config["ADMISSION"].items():
        for name in endpoints:
            if endpoint == name or (name.endswith(".*") and endpoint.startswith(name[:-1])):
                return kind
    return None


def client_key() -> str:
    """Who is asking: the session's token if it has one, else the address."""
    token = session.get("csrf") if current_app.secret_key else None
    return f"s:{token}" if token else f"a:{request.remote_addr}"


def job_owner() -> str:
    """Whose job this is, for the queue's caps: ``"<address>|<session>"`` as digests (no token kept)."""

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    return f"{digest(str(request.remote_addr))}|{digest(client_key())}"


def _busy(status: int):
    if status == 429:
        message = (
            "您的同类请求过多，请等上一个完成后再试 "
            f"(too many requests of this kind from you; retry in {RETRY_AFTER_S} s)"
        )
    else:
        message = f"服务器繁忙，请 {RETRY_AFTER_S} 秒后重试 (server busy; retry in {RETRY_AFTER_S} s)"
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _admit():
    kind = _kind_of(request.endpoint)
    if kind is None:
        return None
    client = client_key()
    admission: Admission = current_app.extensions["linli.admission"]
    per_min = current_app.config["ADMISSION_BYTES_PER_MIN"].get(kind)
    if per_min and not admission.spend(kind, str(request.remote_addr), request.content_length or 0, per_min):
        logger.warning("%s refused 429 (bytes per minute) for %s", kind, request.remote_addr)
        return _busy(429)
    status = admission.enter(kind, client, float(current_app.config["ADMISSION_WAIT_S"]))
    if status:
        logger.warning("%s refused %d for %s on %s", kind, status, client[:10], request.path)
        return _busy(status)
    g.linli_admitted = (kind, client)
    return None


def _release(_exc: BaseException | None) -> None:
    held = g.pop("linli_admitted", None)
    if held is not None:
        current_app.extensions["linli.admission"].leave(*held)


# ---------------------------------------------------------------------------- hosts


def _split_hosts(value: object) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    return [str(item).strip().lower().strip("[]") for item in items if str(item).strip()]


def allowed_hosts(config: dict) -> frozenset[str]:
    """Host names (without port) the app answers: ``ALLOWED_HOSTS`` plus loopback and the bind address.

    ``ALLOWED_HOSTS`` (env ``LINLI_ALLOWED_HOSTS``) is a comma-separated list or a JSON list; ``*``
    trusts every host (only behind a reverse proxy that checks the host itself).  A wildcard
    bind address (``0.0.0.0``) adds the machine's own name.
    """
    hosts = set(LOOPBACK_HOSTS) | set(_split_hosts(config.get("ALLOWED_HOSTS")))
    bind = str(config.get("BIND_HOST") or "").strip("[]").lower()
    if bind:
        try:
            wildcard = ipaddress.ip_address(bind).is_unspecified
        except ValueError:
            wildcard = False
        if wildcard:
            name = socket.gethostname().lower()
            hosts |= {name, socket.getfqdn(name).lower()}
        else:
            hosts.add(bind)
    return frozenset(hosts)


def host_name(header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def _check_host():
    hosts = current_app.extensions["linli.hosts"]
    if "*" in hosts:
        return None
    sent = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME", "")
    if host_name(sent) in hosts:
        return None
    logger.warning("untrusted Host %r refused (%s %s)", sent[:80], request.method, request.path)
    message = (
        "不受信任的主机名，请用管理员配置的地址访问；管理员可在 LINLI_ALLOWED_HOSTS 中加入本机名称 "
        "(untrusted Host header: open the app at its configured address, or add the name to LINLI_ALLOWED_HOSTS)"
    )
    abort(400, description=message)


# ----------------------------------------------------------------------------- server


#: waitress settings: many idle connections cost only a socket each; an idle one is closed after
#: ``channel_timeout`` seconds (checked every ``cleanup_interval``).
CONNECTION_LIMIT = 500
CHANNEL_TIMEOUT_S = 30
CLEANUP_INTERVAL_S = 5
MAX_HEADER_BYTES = 64 * 1024


#: Paths whose bodies may be as large as ``MAX_PROJECT_UPLOAD`` (a study area's files); every
#: other body above ``MAX_CONTENT_LENGTH`` is refused (413) from its Content-Length, before
#: waitress reads (and spools to disk) any of it.
LARGE_BODY_PATHS = ("/api/projects",)


def server_options(app: Flask) -> dict:
    """Keyword arguments of ``waitress.create_server`` that bound connections, headers and bodies."""
    return {
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT_S,
        "cleanup_interval": CLEANUP_INTERVAL_S,
        "max_request_header_size": MAX_HEADER_BYTES,
        "asyncore_use_poll": True,  # select() stops at 1024 descriptors
        "max_request_body_size": max(int(app.config["MAX_CONTENT_LENGTH"]), int(app.config["MAX_PROJECT_UPLOAD"])),
    }


#: Paths whose bodies count against the address's bytes per minute of a kind (``BYTES_PER_MIN``):
#: an address past its budget is refused (429) from the headers, before waitress reads the body.
BUDGET_PATHS = {"/api/compare": "compare"}


class TooManyRequests(Error):
    """waitress's answer to a body refused from its headers because its address is over budget."""

    code = 429
    reason = "Too Many Requests"

    def to_response(self, ident=None):
        status, headers, body = super().to_response(ident)
        return status, [*headers, ("Retry-After", str(RETRY_AFTER_S))], body


def _limited_channel(
    small_bytes: int, admission: Admission | None = None, per_min: dict[str, int] | None = None
) -> type[HTTPChannel]:
    """A waitress channel whose parser refuses a large body on any path but the project upload.

    With ``admission``, a body on a :data:`BUDGET_PATHS` path from an address already past its
    bytes per minute is refused (429) from its headers: a client that ignores ``Retry-After``
    costs the server a header, not the drawing it sends again and again.
    """
    budgets = per_min or {}

    class Parser(HTTPRequestParser):
        address = ""

        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            cap = self.adj.max_request_body_size if self.path in LARGE_BODY_PATHS else small_bytes
            self.body_cap = cap
            if self.content_length > cap:
                self.error = RequestEntityTooLarge(f"exceeds max_body of {cap}")
                self.completed = True
                return
            kind = BUDGET_PATHS.get(self.path)
            if (
                admission is not None
                and kind in budgets
                and self.command == "POST"
                and admission.over(kind, self.address, self.content_length, budgets[kind])
            ):
                self.error = TooManyRequests(
                    f"同类请求过多，请 {RETRY_AFTER_S} 秒后重试 "
                    f"(too many requests of this kind; retry in {RETRY_AFTER_S} s)"
                )
                self.completed = True

        def received(self, data):
            consumed = super().received(data)
            if not self.completed and self.body_bytes_received > getattr(self, "body_cap", small_bytes):
                self.error = RequestEntityTooLarge("exceeds max_body")  # a chunked body past its cap
                self.completed = True
            return consumed

    class Channel(HTTPChannel):
        parser_class = Parser

        def __init__(self, server, sock, addr, adj, map=None):
            super().__init__(server, sock, addr, adj, map)
            address = str(addr[0]) if isinstance(addr, tuple) and addr else ""

            def parser(adj):
                request = Parser(adj)
                request.address = address
                return request

            self.parser_class = parser

    return Channel


#: Connections one client address may hold open at once; a browser opens six per host, a few
#: tabs of the app stay far below.  Beyond it a new connection is closed at once, before waitress
#: makes a channel for it: a hundred half-open connections from one machine cost the server
#: nothing beyond the first few (behind trusted proxies the proxy limits its clients instead).
MAX_CONNECTIONS_PER_ADDRESS = 32


def _connection_cap(value: object) -> int:
    """The ``MAX_CONNECTIONS_PER_ADDRESS`` setting as a count (0: no cap); :class:`InputDataError` otherwise."""
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or int(text) > CONNECTION_LIMIT:
        raise InputDataError(
            f"LINLI_MAX_CONNECTIONS_PER_ADDRESS={text[:20]!r} 无效：应为 0-{CONNECTION_LIMIT} 的整数（0 表示不限） "
            f"(must be a whole number 0-{CONNECTION_LIMIT}; 0: no cap)"
        )
    return int(text)


#: New connections one address may open per second, and at once (a token bucket): a page opens
#: a handful over keep-alive; a client that reconnects after every refusal (429, 413) a hundred
#: times a second is closed at the door, before its request is read.
NEW_CONNECTIONS_PER_S = 20.0
NEW_CONNECTIONS_BURST = 60.0


def _cap_connections_per_address(server: BaseWSGIServer, cap: int) -> None:
    """Close a new connection from an address that already holds ``cap`` open ones, or that
    opens connections faster than :data:`NEW_CONNECTIONS_PER_S` (after a burst)."""
    accept = server.accept
    buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, time); the main loop's own

    def capped_accept():
        accepted = accept()
        if accepted is None:
            return None
        conn, addr = accepted
        address = addr[0] if isinstance(addr, tuple) and addr else None
        if address is not None:
            now = time.monotonic()
            tokens, then = buckets.get(address, (NEW_CONNECTIONS_BURST, now))
            tokens = min(NEW_CONNECTIONS_BURST, tokens + (now - then) * NEW_CONNECTIONS_PER_S)
            if tokens < 1.0:
                buckets[address] = (tokens, now)
                conn.close()
                return None
            buckets[address] = (tokens - 1.0, now)
            if len(buckets) > 10_000:  # addresses long quiet are full again: forget them
                for key in [k for k, (_, t) in buckets.items() if now - t > 60.0]:
                    del buckets[key]
        held = sum(
            1
            for channel in list(server._map.values())
            if isinstance(channel, HTTPChannel) and isinstance(channel.addr, tuple) and channel.addr[0] == address
        )
        if address is not None and held >= cap:
            logger.warning("connection from %s refused: %d already open", address, held)
            conn.close()
            return None
        return accepted

    server.accept = capped_accept  # type: ignore[method-assign]


def make_server(app: Flask, *, host: str, port: int, threads: int = 4):
    """A waitress server for ``app`` with :func:`server_options` and the per-path body caps."""
    server = create_server(app, host=host, port=port, threads=threads, ident="linli", **server_options(app))
    # Behind trusted proxies every request comes from a proxy's address: the per-address budget is
    # then checked by the app on the forwarded address, not by waitress on the connection's.
    behind_proxies = bool(app.config.get("TRUSTED_PROXIES"))
    channel = _limited_channel(
        int(app.config["MAX_CONTENT_LENGTH"]),
        None if behind_proxies else app.extensions.get("linli.admission"),
        app.config.get("ADMISSION_BYTES_PER_MIN"),
    )
    for each in (server, *getattr(server, "map", {}).values()):
        if isinstance(each, BaseWSGIServer):
            each.channel_class = channel
            cap = int(app.config.get("MAX_CONNECTIONS_PER_ADDRESS", MAX_CONNECTIONS_PER_ADDRESS))
            if cap and not behind_proxies:
                _cap_connections_per_address(each, cap)
    return server


def init_app(app: Flask) -> None:
    """Check the Host first, then admit expensive requests; register before the CSRF check."""
    app.config["MAX_CONNECTIONS_PER_ADDRESS"] = _connection_cap(
        app.config.get("MAX_CONNECTIONS_PER_ADDRESS", MAX_CONNECTIONS_PER_ADDRESS)
    )
    app.config.setdefault("ADMISSION", ADMISSION)
    app.config.setdefault("ADMISSION_PER_CLIENT", PER_CLIENT)
    app.config.setdefault("ADMISSION_WAIT_S", ADMISSION_WAIT_S)
    app.config.setdefault("ADMISSION_BYTES_PER_MIN", BYTES_PER_MIN)
    app.extensions["linli.hosts"] = allowed_hosts(app.config)
    app.extensions["linli.admission"] = Admission(
        {kind: size for kind, (size, _) in app.config["ADMISSION"].items()}, app.config["ADMISSION_PER_CLIENT"]
    )
    app.before_request(_check_host)
    app.before_request(_admit)
    app.teardown_request(_release)
