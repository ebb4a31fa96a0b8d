"""A coordinate a planner typed, read as a WGS84 point: ``118.95, 25.03``, ``25.03，118.95``, DMS.

Two numbers (comma, full-width comma, semicolon, slash or space between) or two degree values
with hemisphere letters (``118°57'00"E 25°01'48"N``, ``东经118°57′ 北纬25°01′``), in the chosen
system: ``wgs84`` (= CGCS2000 at map scale) or ``gcj02`` (picked in Amap / Tencent maps),
converted to WGS84 with :mod:`geo.io.coords`.  Without hemisphere letters the order is judged
by range: a value beyond ±90 is the longitude; otherwise the order that falls in the study
area, then the order that falls in China, then the order as typed (longitude first, as Amap
copies it).  A point outside the study area is returned but flagged.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import shapely

from geo.errors import InputDataError
from geo.io.coords import gcj02_to_wgs84, in_china

__all__ = ["CHINA_LONLAT_BOX", "SEARCH_SYSTEMS", "Coordinate", "parse_coordinate"]

#: Coordinate systems a typed coordinate may be in (CGCS2000 equals WGS84 at map scale).
SEARCH_SYSTEMS = {"wgs84": "WGS84 / CGCS2000", "gcj02": "GCJ-02（高德、腾讯）"}
#: A rough box of China's land (degrees: west, south, east, north), to tell lon from lat.
CHINA_LONLAT_BOX = (73.0, 3.0, 136.0, 54.0)


@dataclass(frozen=True)
class Coordinate:
    """A typed coordinate read as a WGS84 point.

    Attributes
    ----------
    lon, lat
        WGS84 degrees (converted from ``system``).
    typed_lon, typed_lat
        The degrees as typed, in ``system``, in longitude / latitude order.
    system
        ``wgs84`` or ``gcj02``.
    swapped
        The numbers were typed latitude first.
    inside
        The point lies in the study area.
    """

    lon: float
    lat: float
    typed_lon: float
    typed_lat: float
    system: str
    swapped: bool
    inside: bool

    @property
    def note_zh(self) -> str:
        """What a planner should know about the point (Chinese with the English beside it)."""
        if self.inside:
            return ""
        return "该坐标在研究区之外，请检查坐标和坐标系 (the coordinate lies outside the study area)"

    def to_dict(self) -> dict:
        """JSON-ready, coordinates to 1e-7 degree (~1 cm)."""
        return {
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "typed_lon": self.typed_lon,
            "typed_lat": self.typed_lat,
            "system": self.system,
            "swapped": self.swapped,
            "inside": self.inside,
            "note": self.note_zh,
        }


_NUMBER = r"[-+]?\d+(?:\.\d+)?"
#: Two plain numbers separated by a comma, semicolon, slash or white space.
_PAIR = re.compile(rf"^\s*({_NUMBER})\s*(?:[,;/]\s*|\s+)({_NUMBER})\s*$")
#: One degrees-minutes-seconds value, with its hemisphere letter before it (``N25°01'48"``,
#: ``北纬25°01′``) or after it (``118°57'00"E``); one style per text, after NFKC.
_DEGREES = (
    r"(?P<deg>\d+(?:\.\d+)?)\s*(?:°|度)\s*"
    r"(?:(?P<min>\d+(?:\.\d+)?)\s*(?:'|′|分)\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:\"|''|″|′′|秒)\s*)?"
)
_LETTER_FIRST = re.compile(r"(?P<pre>[NSEW]|东经|西经|北纬|南纬)\s*" + _DEGREES, re.IGNORECASE)
_LETTER_AFTER = re.compile(_DEGREES + r"(?P<post>[NSEW])", re.IGNORECASE)
_STARTS_WITH_LETTER = re.compile(r"^\s*(?:[NSEW]|东经|西经|北纬|南纬)", re.IGNORECASE)
_HEMISPHERE = {"n": ("lat", 1), "s": ("lat", -1), "e": ("lon", 1), "w": ("lon", -1)}
_HEMISPHERE.update({"北纬": ("lat", 1), "南纬": ("lat", -1), "东经": ("lon", 1), "西经": ("lon", -1)})


def _clean_coordinate_text(query: str) -> str:
    text = unicodedata.normalize("NFKC", query).strip()
    return text.replace("，", ",").replace("、", ",").replace("；", ";")


def _dms(text: str) -> tuple[float, float] | None:
    """``(lon, lat)`` of a text of two hemisphere-marked degree values, else ``None``."""
    found: dict[str, float] = {}
    rest = text
    letter_first = _STARTS_WITH_LETTER.match(text) is not None
    for match in (_LETTER_FIRST if letter_first else _LETTER_AFTER).finditer(text):
        letter = match.group("pre" if letter_first else "post").lower()
        if letter not in _HEMISPHERE:
            return None
        axis, sign = _HEMISPHERE[letter]
        minutes, seconds = float(match.group("min") or 0), float(match.group("sec") or 0)
        if minutes >= 60 or seconds >= 60 or axis in found:
            return None
        found[axis] = sign * (float(match.group("deg")) + minutes / 60 + seconds / 3600)
        rest = rest.replace(match.group(0), " ", 1)
    if set(found) != {"lon", "lat"} or re.sub(r"[\s,;/]", "", rest):
        return None
    return found["lon"], found["lat"]


def _valid(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0


def _in_box(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def parse_coordinate(
    query: str, *, system: str = "wgs84", study_area_wgs84: shapely.Geometry | None = None
) -> Coordinate | None:
    """A typed coordinate as a WGS84 point, or ``None`` when the text is no coordinate.

    Parameters
    ----------
    query
        What the planner typed: two numbers (either order; comma, full-width comma, semicolon,
        slash or space between) or two degree values with hemisphere letters (N/S/E/W, 北纬/东经).
    system
        ``wgs84`` (= CGCS2000) or ``gcj02`` (Amap, Tencent), the system the numbers are in.
    study_area_wgs84
        The study area (WGS84): decides an ambiguous order and whether the point is inside.

    Raises
    ------
    InputDataError
        Unknown ``system``; two numbers that are no longitude/latitude in either order.
    """
    if system not in SEARCH_SYSTEMS:
        raise InputDataError(
            f"坐标系 system={system!r} 无效，可选: {', '.join(SEARCH_SYSTEMS)} (unknown coordinate system)"
        )
    text = _clean_coordinate_text(query)
    pair = _PAIR.match(text)
    swapped = False
    if pair is not None:
        a, b = float(pair.group(1)), float(pair.group(2))
        if not (math.isfinite(a) and math.isfinite(b)):
            return None
        orders = [o for o in ((a, b, False), (b, a, True)) if _valid(o[0], o[1])]
        if not orders:
            raise InputDataError(
                f"坐标 {a:g}, {b:g} 超出范围：经度应在 -180..180、纬度应在 -90..90 度 "
                "(the numbers are no longitude/latitude in either order)"
            )
        lon, lat, swapped = _pick_order(orders, study_area_wgs84)
    else:
        dms = _dms(text)
        if dms is None:
            return None
        lon, lat = dms
        if not _valid(lon, lat):
            raise InputDataError(
                f"坐标 {text[:40]} 超出范围：经度应在 -180..180、纬度应在 -90..90 度 (coordinate out of range)"
            )
    typed_lon, typed_lat = lon, lat
    if system == "gcj02":
        x, y = gcj02_to_wgs84(lon, lat)
        lon, lat = float(x), float(y)
    inside = study_area_wgs84 is None or bool(study_area_wgs84.covers(shapely.Point(lon, lat)))
    return Coordinate(
        lon=lon,
        lat=lat,
        typed_lon=typed_lon,
        typed_lat=typed_lat,
        system=system,
        swapped=swapped,
        inside=inside,
    )


def _pick_order(
    orders: list[tuple[float, float, bool]], study_area_wgs84: shapely.Geometry | None
) -> tuple[float, float, bool]:
    """Of the valid (lon, lat, swapped) readings: the one in the study area, in China, or as typed."""
    if len(orders) == 1:
        return orders[0]
    if study_area_wgs84 is not None:
        inside = [o for o in orders if study_area_wgs84.covers(shapely.Point(o[0], o[1]))]
        if len(inside) == 1:
            return inside[0]
    china = [o for o in orders if _in_box(o[0], o[1], CHINA_LONLAT_BOX) and bool(in_china(o[0], o[1]))]
    if len(china) == 1:
        return china[0]
    return orders[0]
