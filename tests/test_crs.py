"""The automatic metric CRS: the UTM zone computed equals the one PROJ's database gives."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from geo.io.crs import metric_crs


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(118.96, 25.03, 32650), (117.9, 25.0, 32650), (24.94, 60.17, 32635), (-0.1, 51.5, 32630), (151.2, -33.9, 32756)],
)
def test_utm_zone_of_known_places(lon, lat, epsg):
    assert metric_crs(np.array([lon]), np.array([lat])).to_epsg() == epsg


def test_utm_zone_equals_the_proj_database():
    rng = np.random.default_rng(7)
    for lon, lat in zip(rng.uniform(-179.5, 179.5, 60), rng.uniform(-79.0, 83.0, 60), strict=True):
        info = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
        assert metric_crs(np.array([lon]), np.array([lat])).to_epsg() == int(info[0].code)
