"""webapp.traffic: background work waits for a quiet moment between planners' requests."""

from __future__ import annotations

import threading
import time

from webapp.traffic import Traffic


def test_quiet_only_after_the_last_request_has_rested():
    traffic = Traffic()
    assert traffic.wait_quiet(0.05, limit_s=1.0)  # nothing ever came
    traffic.begin()
    # A request in flight: not quiet, however long one waits (here up to the limit).
    start = time.monotonic()
    assert not traffic.wait_quiet(0.01, limit_s=0.2)
    assert time.monotonic() - start >= 0.2
    done = []

    def background():
        done.append(traffic.wait_quiet(0.1, limit_s=5.0))
        done.append(time.monotonic())

    worker = threading.Thread(target=background)
    worker.start()
    time.sleep(0.1)
    ended = time.monotonic()
    traffic.end()
    worker.join(5.0)
    assert done[0] is True
    assert done[1] - ended >= 0.1  # it waited the quiet time after the request ended
    traffic.end()  # an unmatched end (a request refused before it was counted) does not go below zero
    traffic.begin()
    assert not traffic.wait_quiet(0.01, limit_s=0.05)


def test_the_app_counts_its_requests(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "EAGER_LOAD": False, "instance_path": tmp_path / "inst"})
    traffic = app.extensions["linli.traffic"]
    with app.test_client() as client:
        client.get("/api/csrf")
    assert traffic._active == 0 and traffic._last > 0
