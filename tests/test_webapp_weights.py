"""The web panel's coverage counted over a chosen group (issue 20): /api/summary?weight=, the page's select."""

from __future__ import annotations

import pytest

from webapp import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # Guixi's made-up compound ledger carries 60岁以上人口 and 0-6岁人口 per compound.
    app = create_app({"TESTING": True, "PROJECT": "guixi", "instance_path": tmp_path_factory.mktemp("i")})
    return app.test_client()


def test_summary_counted_over_the_elderly(client):
    plain = client.get("/api/summary").get_json()
    aged = client.get("/api/summary?weight=elderly").get_json()
    assert aged["weight"] == "elderly"
    by_group = {r["group"]: r for r in plain["coverage"]}
    for row in aged["coverage"]:
        assert row["basis"] == "elderly"
        # every function counted over the elderly: fewer than the residents the others counted
        before = by_group[row["group"]]
        if before["basis"] == "residents":  # 老有所养 / 幼有所育 were counted over their age group already
            assert row["population"] < before["population"]
        assert 0 <= row["covered"] <= row["population"]
    elderly_total = {r["population"] for r in aged["coverage"]}
    assert len(elderly_total) == 1  # one population for every function


def test_unknown_weight_is_a_422_in_chinese(client):
    response = client.get("/api/summary?weight=hardship")  # the ledger counts no 困难群众
    assert response.status_code == 422
    assert "不可用" in response.get_json()["error"]


def test_the_page_offers_the_weights_the_demand_has(client):
    page = client.get("/?lang=zh").get_data(as_text=True)
    assert 'id="org-weight-select"' in page
    assert '<option value="elderly">老年人口</option>' in page
    assert 'value="hardship"' not in page
