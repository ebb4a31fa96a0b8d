"""Geometry drawn in the browser: parse and check GeoJSON before anything uses or stores it.

docs/bad-inputs.md G1-G8.  The policy is explicit:

* JSON text with ``NaN``/``Infinity`` tokens, malformed or too deeply nested is refused
  (:func:`parse_json`), never evaluated;
* a geometry must be a GeoJSON Point, Polygon or MultiPolygon (or LineString where
  asked) with numeric lon/lat positions in WGS84 (RFC 7946);
* rings must be closed and have at least 4 positions — an open ring is an error, not
  silently closed;
* a self-intersecting polygon (a bow-tie) is an error naming the place
  (``explain_validity``), unless the caller asks for ``repair=True``: then it is
  repaired with ``make_valid``, only the polygonal parts are kept, and the result says
  so;
* coordinates that look like lat/lon swapped, or lie far outside the study area, are
  an error ("坐标可能颠倒");
* at most ``settings.MAX_DRAWN_VERTICES`` positions and ``MAX_DRAWN_HOLES`` holes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops
from pyproj import Geod

from geo import settings
from geo.errors import CRSError, InputDataError

__all__ = ["BadNumberError", "DrawnGeometry", "GeometryTooLargeError", "parse_geometry", "parse_json", "parse_number"]

KINDS = {"point": ("Point",), "polygon": ("Polygon", "MultiPolygon"), "line": ("LineString",)}
_GEOD = Geod(ellps="WGS84")


class GeometryTooLargeError(InputDataError):
    """Too many vertices or holes (HTTP 413)."""


#: Whole JSON strings (skipped: brackets inside them do not nest; an unterminated one runs to the end,
#: in one step) and the brackets outside them.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _no_constants(token: str):
    raise InputDataError(f"JSON 中不允许 {token} (NaN/Infinity are not valid JSON numbers)")


class BadNumberError(InputDataError):
    """A number in well-formed JSON or a parameter that no analysis can take (HTTP 422)."""


#: A number as a person types it in ASCII: optional sign, digits, decimal point, exponent.
#: Python's own ``float``/``int`` also take Arabic-Indic "١٥", full-width "１５", "1_5" and
#: padding, silently; a request says its numbers in ASCII or is refused.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
#: More characters than any real parameter needs (a coordinate has 17 significant digits).
MAX_NUMBER_CHARS = 40


def parse_number(value: object, field: str) -> float:
    """A numeric request parameter (text or a JSON number) as a float.

    Raises
    ------
    InputDataError
        Not a number written in ASCII digits (``"１５"``, ``"١٥"``, ``"1_5"``, ``"abc"``), more
        than :data:`MAX_NUMBER_CHARS` characters, or not finite.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadNumberError(f"{field} 应为数字 ({field} must be a number)")
    if isinstance(value, str) and (len(value) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(value)):
        shown = value[:20] + ("…" if len(value) > 20 else "")
        raise BadNumberError(
            f"{field}={shown!r} 不是用阿拉伯数字 0-9 写的数（不超过 {MAX_NUMBER_CHARS} 个字符） "
            f"({field} must be a number in ASCII digits 0-9, at most {MAX_NUMBER_CHARS} characters)"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise BadNumberError(f"{field} 应为有限的数 ({field} must be a finite number)")
    return number


def _bounded_int(token: str) -> int:
    if len(token) > MAX_NUMBER_CHARS:
        raise BadNumberError(
            f"JSON 中的整数有 {len(token)} 位，超过 {MAX_NUMBER_CHARS} 位 (an integer with too many digits)"
        )
    return int(token)


def _bounded_float(token: str) -> float:
    number = float(token) if len(token) <= MAX_NUMBER_CHARS * 10 else math.inf
    if not math.isfinite(number):
        raise BadNumberError(f"JSON 中的数 {token[:20]}… 过长或超出范围 (a number too long or out of range)")
    return number


def parse_json(text: str | bytes) -> object:
    """Parse request JSON strictly: no NaN/Infinity, no absurd nesting (docs/bad-inputs.md G1-G3).

    Raises
    ------
    InputDataError
        Malformed JSON, NaN/Infinity tokens, or nesting deeper than
        ``settings.MAX_JSON_DEPTH``.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputDataError("请求不是 UTF-8 编码的 JSON (request body is not UTF-8 JSON)") from exc
    depth = 0
    deepest = 0
    # A cheap scan before the parser recurses: only brackets and whole strings are visited (a
    # character-by-character loop cost 0.15 s of interpreter time on a polygon at the vertex cap).
    for token in _JSON_TOKENS.finditer(text):
        ch = token.group()
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > settings.MAX_JSON_DEPTH:
                    raise InputDataError(f"JSON 嵌套超过 {settings.MAX_JSON_DEPTH} 层 (JSON nested too deeply)")
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_no_constants, parse_int=_bounded_int, parse_float=_bounded_float)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"JSON 格式错误，第 {exc.lineno} 行第 {exc.colno} 列 (malformed JSON: {exc.msg})") from exc
    except RecursionError as exc:
        raise InputDataError("JSON 嵌套过深 (JSON nested too deeply)") from exc


@dataclass(frozen=True)
class DrawnGeometry:
    """A checked geometry in WGS84, with what was done to it."""

    geometry: shapely.Geometry
    repaired: bool
    note: str


def _position(pos: object, where: str) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        raise InputDataError(f"{where}: 坐标应为 [经度, 纬度] (a position must be [lon, lat])")
    lon, lat = pos[0], pos[1]
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputDataError(f"{where}: 坐标 {value!r} 不是数字 (coordinates must be numbers, not strings)")
        if not math.isfinite(value):
            raise InputDataError(f"{where}: 坐标不是有限数 (coordinates must be finite)")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = "，坐标可能颠倒 (lat/lon swapped?)" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise CRSError(f"{where}: 坐标 [{lon}, {lat}] 超出经纬度范围{hint} (outside lon/lat ranges)")
    return float(lon), float(lat)


def _ring(ring: object, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, list | tuple):
        raise InputDataError(f"{where}: 环应为坐标数组 (a ring must be an array of positions)")
    pts = [_position(p, where) for p in ring]
    if len(pts) < 4:
        raise InputDataError(f"{where}: 环至少需要 4 个坐标（首尾相同） (a ring needs at least 4 positions)")
    if pts[0] != pts[-1]:
        raise InputDataError(f"{where}: 环未闭合，首尾坐标应相同 (ring is not closed: first and last positions differ)")
    return pts


def _count_positions(coords: object) -> int:
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return 1
    if isinstance(coords, list | tuple):
        return sum(_count_positions(c) for c in coords)
    return 0


def parse_geometry(
    obj: object,
    *,
    expected: str = "polygon",
    study_area: shapely.Geometry | None = None,
    repair: bool = False,
) -> DrawnGeometry:
    """Check a GeoJSON geometry (or Feature) posted from the browser.

    Parameters
    ----------
    obj
        Parsed JSON: a GeoJSON geometry, or a Feature holding one.
    expected
        ``"point"``, ``"polygon"`` or ``"line"``.
    study_area
        WGS84 polygon; the geometry must lie within ``settings.STUDY_AREA_MARGIN_M`` of it.
    repair
        Repair a self-intersecting polygon (keep its polygonal parts) instead of refusing it.

    Returns
    -------
    DrawnGeometry

    Raises
    ------
    InputDataError
        Unknown type, missing or non-numeric coordinates, open rings, self-intersection.
    GeometryTooLargeError
        Too many vertices or holes.
    CRSError
        Out-of-range or swapped coordinates, or far outside the study area.
    """
    if expected not in KINDS:
        raise InputDataError(f"expected={expected!r} 无效 (unknown geometry kind)")
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or "type" not in obj:
        raise InputDataError("缺少 GeoJSON 几何 (a GeoJSON geometry with a type is required)")
    kind = obj.get("type")
    if kind not in KINDS[expected]:
        raise InputDataError(
            f"几何类型 {kind!r} 不符，应为 {' / '.join(KINDS[expected])} (wrong or unknown geometry type)"
        )
    coords = obj.get("coordinates")
    if coords is None or (isinstance(coords, list | tuple) and not coords):
        raise InputDataError(f"{kind} 缺少坐标 coordinates (missing coordinates)")
    n = _count_positions(coords)
    if n > settings.MAX_DRAWN_VERTICES:
        raise GeometryTooLargeError(
            f"几何有 {n:,} 个顶点，超过上限 {settings.MAX_DRAWN_VERTICES:,} (too many vertices; simplify it)"
        )
    if kind == "Point":
        geom = shapely.Point(_position(coords, "点 point"))
    elif kind == "LineString":
        if not isinstance(coords, list | tuple) or len(coords) < 2:
            raise InputDataError("线至少需要 2 个坐标 (a line needs at least 2 positions)")
        geom = shapely.LineString([_position(p, "线 line") for p in coords])
    else:
        polygons = [coords] if kind == "Polygon" else coords
        if not isinstance(polygons, list | tuple):
            raise InputDataError("MultiPolygon 坐标格式错误 (malformed MultiPolygon)")
        parts = []
        holes = 0
        for k, rings in enumerate(polygons):
            if not isinstance(rings, list | tuple) or not rings:
                raise InputDataError(f"第 {k + 1} 个多边形没有环 (polygon without rings)")
            holes += len(rings) - 1
            checked = [_ring(r, f"第 {k + 1} 个多边形第 {j + 1} 个环 (ring {j + 1})") for j, r in enumerate(rings)]
            # Arrays, not lists of tuples: shapely copies a list point by point in Python.
            parts.append(shapely.Polygon(np.asarray(checked[0]), [np.asarray(r) for r in checked[1:]]))
        if holes > settings.MAX_DRAWN_HOLES:
            raise GeometryTooLargeError(f"多边形有 {holes} 个洞，超过上限 {settings.MAX_DRAWN_HOLES} (too many holes)")
        geom = parts[0] if kind == "Polygon" else shapely.MultiPolygon(parts)
    repaired = False
    note = ""
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not repair:
            raise InputDataError(
                f"多边形自相交或无效: {reason}；请修改图形，或选择自动修复 (invalid polygon: {reason})"
            )
        if n > settings.MAX_REPAIR_VERTICES:
            raise GeometryTooLargeError(
                f"自相交的多边形有 {n:,} 个顶点，超过自动修复上限 {settings.MAX_REPAIR_VERTICES:,}，请修改图形 "
                f"(too many vertices to repair automatically: {n:,} > {settings.MAX_REPAIR_VERTICES:,}; "
                f"fix the outline: {reason})"
            )
        # The "structure" method rebuilds the area from the rings (even-odd); its result is already
        # polygonal, so no union of the pieces is needed (that union grew with the square of the crossings).
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        polys = [g for g in shapely.get_parts(fixed) if g.geom_type == "Polygon" and not g.is_empty]
        if not polys:
            raise InputDataError(f"多边形无法修复为面 (cannot repair into a polygon: {reason})")
        geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
        repaired = True
        note = f"已自动修复自相交，仅保留面部分 (repaired: {reason})"
    if expected == "polygon":
        area_m2 = abs(_GEOD.geometry_area_perimeter(geom)[0])
        if area_m2 <= 0:
            raise InputDataError("多边形面积为 0 (polygon has zero area)")
    if study_area is not None:
        _check_near(geom, study_area)
    return DrawnGeometry(geometry=geom, repaired=repaired, note=note)


def _check_near(geom: shapely.Geometry, study_area: shapely.Geometry) -> None:
    if geom.intersects(study_area):
        return
    a = shapely.get_coordinates(shapely.point_on_surface(geom))[0]
    b = shapely.get_coordinates(shapely.point_on_surface(study_area))[0]
    nearest = shapely.ops.nearest_points(geom, study_area)
    _, _, dist_m = _GEOD.inv(nearest[0].x, nearest[0].y, nearest[1].x, nearest[1].y)
    if dist_m <= settings.STUDY_AREA_MARGIN_M:
        return
    swapped = shapely.Point(a[1], a[0])
    hint = "坐标可能颠倒 (lat/lon swapped?)" if swapped.distance(shapely.Point(b)) < 1.0 else "请检查坐标系"
    raise CRSError(
        f"图形距研究区 {dist_m / 1000:.1f} km，超出允许的 {settings.STUDY_AREA_MARGIN_M / 1000:g} km；{hint} "
        "(geometry is far outside the study area)"
    )
