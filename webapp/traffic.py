"""Planners first: background work waits while requests are being answered.

The server warms its caches in a thread after it starts (the other functions' maps, the
base map's detail levels).  That work is pure Python for seconds at a time and shares the
interpreter with the request threads: a candidate dragged meanwhile took 300-600 ms instead
of 80.  :class:`Traffic` counts the requests in flight; background work calls
:meth:`Traffic.wait_quiet` between its steps and goes on only once no request has come for a
moment.
"""

from __future__ import annotations

import threading
import time

from flask import Flask

__all__ = ["QUIET_S", "Traffic", "init_app"]

#: Seconds without a request before background work takes its next step.
QUIET_S = 1.0


class Traffic:
    """Requests in flight and the time the last one ended."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active = 0
        self._last = 0.0

    def begin(self) -> None:
        """A request starts."""
        with self._changed:
            self._active += 1

    def end(self) -> None:
        """A request has been answered (or failed)."""
        with self._changed:
            self._active = max(0, self._active - 1)
            self._last = time.monotonic()
            self._changed.notify_all()

    def wait_quiet(self, quiet_s: float = QUIET_S, *, limit_s: float = 600.0) -> bool:
        """Block until no request is in flight and none has ended for ``quiet_s`` seconds.

        Returns False if that took longer than ``limit_s`` (the caller goes on regardless: a
        server that is never quiet still finishes its warm-up, later).
        """
        deadline = time.monotonic() + limit_s
        with self._changed:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return False
                if self._active == 0 and now - self._last >= quiet_s:
                    return True
                wait = quiet_s - (now - self._last) if self._active == 0 else quiet_s
                self._changed.wait(timeout=max(0.01, min(wait, deadline - now)))


def init_app(app: Flask) -> Traffic:
    """Count the app's requests; the counter is ``app.extensions["linli.traffic"]``."""
    traffic = Traffic()
    app.extensions["linli.traffic"] = traffic
    app.before_request(traffic.begin)
    app.teardown_request(lambda _exc: traffic.end())
    return traffic
