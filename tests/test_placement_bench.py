"""The placement benchmark runs end to end on a small city (numbers, never times)."""

from __future__ import annotations

from benchmarks import bench_placement


def test_bench_placement_small(tmp_path):
    out = tmp_path / "placement.md"
    code = bench_placement.main(
        [
            "--nodes",
            "2000",
            "--demand",
            "400",
            "--candidates",
            "40",
            "--p",
            "4",
            "--skip-peer",
            "--time-limit-s",
            "10",
            "--markdown",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "| 40 | mclp | ours exact | optimal |" in text
    assert "| 40 | lscp | ours exact | optimal |" in text
    assert "target (issue 6)" in text


def test_plain_mip_peers_prove_our_optima():
    # The peers of issue 17 (the textbook MIP on merged rows, CBC and HiGHS) must agree
    # with our exact solvers, or the speed comparison means nothing.
    inst = bench_placement.build_instance(2000, 400, 40, bench_placement.PMEDIAN_CUTOFF_S)
    for model in ("mclp", "lscp", "pmedian"):
        ours = bench_placement.ours(inst, model, "exact", 4, 30.0)
        peers = bench_placement.mip_peers(inst, model, 4, 30.0)
        assert set(peers) == {"CBC", "HiGHS"}
        for name, r in peers.items():
            assert r["status"] == "optimal", (model, name, r)
            assert abs(r["objective"] - ours["objective"]) <= 1e-6 * max(1.0, abs(ours["objective"])), (model, name)
            assert 0 < r["rows"] <= 400
