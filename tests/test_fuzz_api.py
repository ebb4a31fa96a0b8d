"""Property-based tests of the API (hypothesis): whatever geometry or archive is posted,
no 5xx, and a rejected save leaves the plan store unchanged.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp import create_app

LON = st.floats(min_value=24.925, max_value=24.960)
LAT = st.floats(min_value=60.160, max_value=60.178)
ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([0, -0.0, 1e308, -1e308, 181, -91, 360]),
)
ANY_SCALAR = st.one_of(ANY_NUMBER, st.text(max_size=8), st.none(), st.booleans())
POSITION = st.one_of(
    st.tuples(LON, LAT).map(list),  # plausible
    st.tuples(LAT, LON).map(list),  # swapped
    st.lists(ANY_SCALAR, min_size=0, max_size=4),  # anything
)
RING = st.one_of(
    st.lists(st.tuples(LON, LAT).map(list), min_size=3, max_size=12).map(lambda r: [*r, r[0]]),  # closed
    st.lists(POSITION, min_size=0, max_size=8),  # open, short, garbage
)
GEOMETRY = st.one_of(
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": POSITION}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(RING, min_size=0, max_size=3)}),
    st.fixed_dictionaries(
        {"type": st.just("MultiPolygon"), "coordinates": st.lists(st.lists(RING, max_size=2), max_size=2)}
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["LineString", "Circle", "GeometryCollection", "", None]), "coordinates": POSITION}
    ),
    st.dictionaries(st.text(max_size=5), ANY_SCALAR, max_size=3),
    ANY_SCALAR,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app({"TESTING": True, "instance_path": tmp_path_factory.mktemp("fuzz")})
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = client.get("/api/csrf").get_json()["token"]
    return client


def _raw(obj) -> str:
    # allow_nan=True: NaN/Infinity tokens are sent as a careless client would (G1).
    return json.dumps(obj, allow_nan=True)


@FUZZ
@given(geometry=GEOMETRY)
def test_evaluate_never_fails_with_5xx(client, geometry):
    response = client.post("/api/evaluate", data=_raw({"geometry": geometry}), content_type="application/json")
    assert response.status_code in (200, 400, 413, 422), response.get_json()
    assert "Traceback" not in response.get_data(as_text=True)


@FUZZ
@given(area=GEOMETRY, repair=st.booleans())
def test_compare_never_fails_with_5xx(client, area, repair):
    body = _raw({"area": area, "repair": repair})
    response = client.post("/api/compare", data=body, content_type="application/json")
    assert response.status_code in (200, 400, 413, 422), response.get_json()


@FUZZ
@given(geometry=GEOMETRY, kind=st.sampled_from(["area", "candidate", "town", "grid", "x"]), name=ANY_SCALAR)
def test_rejected_saves_change_nothing(client, geometry, kind, name):
    plan = client.post("/api/plans", json={"name": "模糊测试"}).get_json()
    body = _raw({"version": 1, "features": [{"kind": kind, "name": name, "geometry": geometry}]})
    response = client.put(f"/api/plans/{plan['id']}", data=body, content_type="application/json")
    assert response.status_code in (200, 400, 413, 422), response.get_json()
    stored = client.get(f"/api/plans/{plan['id']}").get_json()
    if response.status_code == 200:
        assert stored["version"] == 2 and len(stored["features"]) == 1
    else:
        assert stored["version"] == 1 and stored["features"] == []


MEMBER = st.tuples(
    st.sampled_from(["a.shp", "a.shx", "a.dbf", "a.prj", "../x.shp", "/abs.shp", "d/", "b.SHP", "a.cpg", "z.txt"]),
    st.binary(max_size=64),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(MEMBER, max_size=6), raw=st.binary(max_size=200), as_zip=st.booleans())
def test_uploaded_archives_never_fail_with_5xx(client, members, raw, as_zip):
    plan = client.post("/api/plans", json={"name": "压缩包"}).get_json()
    if as_zip:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # duplicate member names are part of the attack
            for name, data in members:
                zf.writestr(name, data)
        data, filename = buffer.getvalue(), "道路.zip"
    else:
        data, filename = raw, "图层.geojson"
    response = client.post(
        f"/api/plans/{plan['id']}/upload",
        data={"file": (io.BytesIO(data), filename), "kind": "town", "version": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 413, 422), response.get_json()
    stored = client.get(f"/api/plans/{plan['id']}").get_json()
    assert stored["version"] == (2 if response.status_code == 200 else 1)
