"""One error handler: ``geo`` errors and HTTP errors to status codes with JSON bodies.

API requests (``/api/...``) get ``{"error": message, "status": code}``; pages get a
short HTML page.  No traceback, no server path ever reaches the browser; unexpected
errors are logged with their traceback and answered with a generic 500.
"""

from __future__ import annotations

import errno
import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo.errors import CRSError, DiskFullError, GeoError, InputDataError, NetworkUnavailableError
from geo.io.drawn import GeometryTooLargeError
from geo.io.uploads import UploadTooLargeError
from webapp.jobs import JobForbiddenError, QueueFullError
from webapp.plans import NotFoundError, StaleVersionError, StoreFullError, StoreUnavailableError

logger = logging.getLogger(__name__)

#: geo error -> HTTP status (most specific first).
STATUS = (
    (UploadTooLargeError, 413),
    (GeometryTooLargeError, 413),
    (QueueFullError, 429),
    (JobForbiddenError, 403),  # h-acct: another user's job
    (NotFoundError, 404),
    (StaleVersionError, 409),
    (StoreFullError, 507),
    (DiskFullError, 507),
    (StoreUnavailableError, 503),
    (NetworkUnavailableError, 503),
    (CRSError, 422),
    (InputDataError, 422),
    (GeoError, 422),
)


class BadRequestError(InputDataError):
    """Malformed request JSON (HTTP 400)."""


def status_of(exc: Exception) -> int:
    """HTTP status of a geo error."""
    if isinstance(exc, BadRequestError):
        return 400
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def _respond(message: str, status: int, **extra):
    if request.path.startswith("/api/"):
        body = {"error": message, "status": status, **extra}
        return jsonify(body), status
    return render_template("error.html", message=message, status=status), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(GeoError)
    def _geo(exc: GeoError):
        status = status_of(exc)
        extra = {"current_version": exc.current} if isinstance(exc, StaleVersionError) else {}
        extra.update(getattr(exc, "payload", {}))  # what the page needs to ask (candidates, column names)
        if status >= 500:
            logger.warning("%s: %s", type(exc).__name__, exc)
        response = _respond(str(exc), status, **extra)
        if isinstance(exc, QueueFullError):  # the page (and any client) is told when to retry
            response[0].headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {
            404: "页面或资源不存在 (not found)",
            405: "不支持的请求方法 (method not allowed)",
            413: "请求内容过大 (request body too large)",
            415: "请求应为 application/json (expected a JSON body)",
        }
        message = exc.description if exc.code in (400, 403, 409, 412, 415, 422) and exc.description else None
        return _respond(message or messages.get(exc.code, exc.name), exc.code or 500)

    @app.errorhandler(OSError)
    def _os(exc: OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            logger.warning("disk full on %s %s", request.method, request.path)
            return _respond(
                "磁盘已满，文件未生成；请清理磁盘后重试 (disk full: nothing was written; free space and retry)", 507
            )
        logger.exception("I/O error on %s %s", request.method, request.path)
        return _respond("服务器读写错误，已记录 (server I/O error; it has been logged)", 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return _respond("服务器内部错误，已记录 (internal error; it has been logged)", 500)
