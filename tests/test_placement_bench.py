"""The placement benchmark runs end to end on a small city (numbers, never times)."""

from __future__ import annotations

import sys
import time

import numpy as np

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


def test_plain_mip_merge_rows_sums_weights_of_equal_candidate_sets():
    from benchmarks.peer_mip import merge_rows

    # points 0 and 2 reach candidates {1, 3}; point 1 reaches {1}; point 3 has zero weight
    demand = np.array([2, 0, 1, 0, 2, 3])
    cand = np.array([3, 1, 1, 3, 1, 1])
    weight = np.array([2.0, 5.0, 7.0, 0.0])
    rows, cands, _t, w = merge_rows(demand, cand, weight)
    assert sorted(zip(w.tolist(), [tuple(cands[rows == r]) for r in range(w.size)], strict=True)) == [
        (5.0, (1,)),
        (9.0, (1, 3)),
    ]


def test_plain_mip_peer_killed_at_its_wall_clock_limit(tmp_path):
    # CBC checks its time limit only between nodes: the benchmark kills the peer's process group.
    t0 = time.perf_counter()
    r = bench_placement._run_killable([sys.executable, "-c", "import time; time.sleep(60)"], 1.0, str(tmp_path))
    assert r["status"] == "killed at 1 s" and np.isnan(r["objective"])
    assert time.perf_counter() - t0 < 10


def test_issue17_target_needs_the_proof_and_the_time():
    peers = {
        "CBC": {"status": "optimal", "objective": 10.0, "bound": 10.0, "time_s": 0.7},
        "HiGHS": {"status": "time_limit", "objective": 9.0, "bound": 12.0, "time_s": 60.0},
    }
    ours = {"status": "optimal", "objective": 10.0, "gap_pct": 0.0, "time_s": 0.5}
    assert bench_placement._vs_mip_peers(ours, peers, maximize=True)[0]
    assert not bench_placement._vs_mip_peers({**ours, "time_s": 0.8}, peers, maximize=True)[0]
    # no peer proves optimality: ours must be as good an answer with as narrow a gap
    stopped = {"HiGHS": peers["HiGHS"]}
    limited = {"status": "time_limit", "objective": 9.5, "gap_pct": 5.0, "time_s": 60.0}
    assert bench_placement._vs_mip_peers(limited, stopped, maximize=True)[0]
    assert not bench_placement._vs_mip_peers({**limited, "objective": 8.0}, stopped, maximize=True)[0]


def test_mclp_optimum_from_lp_rounding_is_the_peers_optimum():
    # p = 6 on this instance: the greedy + swaps answer is below the LP bound, the rounded
    # LP solution meets it, so the exact MCLP stops without a MIP: CBC must agree.
    inst = bench_placement.build_instance(2000, 400, 40, bench_placement.PMEDIAN_CUTOFF_S)
    ours = bench_placement.ours(inst, "mclp", "exact", 6, 30.0)
    assert ours["status"] == "optimal" and "lp_rounding" in ours["reduction"]
    assert "mip_rows" not in ours["reduction"]
    cbc = bench_placement.mip_peers(inst, "mclp", 6, 30.0)["CBC"]
    assert cbc["status"] == "optimal" and abs(cbc["objective"] - ours["objective"]) <= 1e-6 * ours["objective"]
