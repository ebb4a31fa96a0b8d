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
