"""WGS84 <-> GCJ-02 <-> BD-09: inverses under 0.5 m across China, nothing moved abroad."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo.errors import InputDataError
from geo.io.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
# Hui'an county town, Anxi, Yongchun, and points across China (Harbin, Urumqi,
# Lhasa, Sanya, Beijing, Shanghai, Kunming) plus a grid over the whole country.
NAMED = np.array(
    [
        (118.797, 25.031),
        (118.186, 25.056),
        (118.294, 25.321),
        (126.63, 45.75),
        (87.62, 43.83),
        (91.13, 29.65),
        (109.51, 18.25),
        (116.397, 39.909),
        (121.47, 31.23),
        (102.71, 25.04),
    ]
)
GRID = np.stack(np.meshgrid(np.arange(74.0, 135.0, 2.5), np.arange(18.0, 54.0, 2.5)), axis=-1).reshape(-1, 2)
POINTS = np.concatenate([NAMED, GRID])


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def test_gcj02_offset_is_hundreds_of_metres_in_china():
    lon, lat = wgs84_to_gcj02(POINTS[:, 0], POINTS[:, 1])
    shift = _metres(POINTS[:, 0], POINTS[:, 1], lon, lat)
    # The published offsets are 100-700 m; in Quanzhou about 570 m (DATA.md).
    assert shift.min() > 50 and shift.max() < 1000
    assert _metres(118.797, 25.031, *wgs84_to_gcj02(118.797, 25.031)) == pytest.approx(570, abs=100)


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (gcj02_to_bd09, bd09_to_gcj02), (wgs84_to_bd09, bd09_to_wgs84)],
)
def test_inverse_under_half_a_metre(forward, inverse):
    lon, lat = inverse(*forward(POINTS[:, 0], POINTS[:, 1]))
    assert _metres(POINTS[:, 0], POINTS[:, 1], lon, lat).max() < 0.5
    # Also the other way round.
    lon, lat = forward(*inverse(POINTS[:, 0], POINTS[:, 1]))
    assert _metres(POINTS[:, 0], POINTS[:, 1], lon, lat).max() < 0.5


def test_points_outside_china_are_not_shifted():
    abroad = np.array([(24.94, 60.17), (-0.13, 51.5), (139.69, 35.69), (151.2, -33.87)])
    assert not in_china(abroad[:, 0], abroad[:, 1]).any()
    lon, lat = wgs84_to_gcj02(abroad[:, 0], abroad[:, 1])
    assert np.array_equal(lon, abroad[:, 0]) and np.array_equal(lat, abroad[:, 1])
    lon, lat = gcj02_to_wgs84(abroad[:, 0], abroad[:, 1])
    assert np.array_equal(lon, abroad[:, 0]) and np.array_equal(lat, abroad[:, 1])


def test_to_wgs84_by_name():
    gcj = wgs84_to_gcj02(118.797, 25.031)
    bd = wgs84_to_bd09(118.797, 25.031)
    for system, (lon, lat) in (
        ("gcj02", gcj),
        ("GCJ-02", gcj),
        ("bd09", bd),
        ("wgs84", (118.797, 25.031)),
        ("cgcs2000", (118.797, 25.031)),
    ):
        out = to_wgs84(lon, lat, system)
        assert _metres(118.797, 25.031, *out) < 0.5, system
    with pytest.raises(InputDataError, match="gcj02"):
        to_wgs84(118.8, 25.0, "mars")


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [
        # Reference values published by independent implementations of the algorithm.
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
        ((116.396135, 39.891082), (116.40237600938156, 39.89248436758296)),
    ],
)
def test_forward_matches_published_reference_values(wgs, gcj):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert float(lon) == pytest.approx(gcj[0], abs=1e-8)
    assert float(lat) == pytest.approx(gcj[1], abs=1e-8)


def test_bd09_matches_published_reference_value():
    _, lat = gcj02_to_bd09(116.404, 39.915)
    assert float(lat) == pytest.approx(39.92133699351021, abs=1e-8)
