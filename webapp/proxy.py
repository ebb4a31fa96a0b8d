"""Behind a reverse proxy: the client's real address, opt-in (``LINLI_TRUSTED_PROXIES=N``).

By default the app takes the address a request comes from (``REMOTE_ADDR``) and ignores any
``X-Forwarded-*`` header: a client could write them to escape the per-address caps or to
put another address in the audit log.  Behind ``N`` proxies the office sets
``LINLI_TRUSTED_PROXIES=N`` and werkzeug's ``ProxyFix`` takes the address from the ``N``-th
last ``X-Forwarded-For`` value (the one the outermost trusted proxy wrote), and the scheme
and host from ``X-Forwarded-Proto`` / ``X-Forwarded-Host``: the login throttle, the job and
comparison caps and the audit log then see the planner's address, not the proxy's.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from geo.errors import InputDataError

__all__ = ["MAX_TRUSTED_PROXIES", "trust_proxies"]

#: More proxies than this in front of one office server is a mistake in the setting.
MAX_TRUSTED_PROXIES = 5


def trusted_proxies(value: object) -> int:
    """The ``TRUSTED_PROXIES`` setting as a count 0-5 (None or "" is 0); :class:`InputDataError` otherwise."""
    if value is None or value == "":
        return 0
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or int(text) > MAX_TRUSTED_PROXIES:
        raise InputDataError(
            f"LINLI_TRUSTED_PROXIES={text[:20]!r} 无效：应为 0-{MAX_TRUSTED_PROXIES} 的整数（应用前的反向代理层数） "
            f"(LINLI_TRUSTED_PROXIES must be the number of reverse proxies in front, 0-{MAX_TRUSTED_PROXIES})"
        )
    return int(text)


def trust_proxies(app: Flask) -> int:
    """Wrap ``app.wsgi_app`` in ``ProxyFix`` when ``TRUSTED_PROXIES`` is 1 or more; returns the count."""
    n = trusted_proxies(app.config.get("TRUSTED_PROXIES"))
    app.config["TRUSTED_PROXIES"] = n
    if n:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=1, x_host=1)  # type: ignore[method-assign]
    return n
