"""The speed benchmark's synthetic corpora and a tiny run of it (no timing is asserted)."""
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.speed import speed

FIXTURE = Path(__file__).parent / "fixtures" / "bench_tiny.jsonl"


def test_peer_replica_vectors_keep_originals_and_stay_near_them():
    pytest.importorskip("benchmarks.scale.index_latency")
    from benchmarks.speed.speed_workers import replica_vectors
    rng = np.random.default_rng(0)
    base = rng.standard_normal((10, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    x = np.concatenate(list(replica_vectors(base, 30, chunk=7)))
    assert x.shape == (30, 16)
    assert np.allclose(x[:10], base, atol=1e-6)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    cos = np.sum(x[10:] * base[np.arange(10, 30) % 10], axis=1)
    assert (cos > 0.8).all() and (cos < 0.9999).all()
    assert np.array_equal(x, np.concatenate(list(replica_vectors(base, 30, chunk=100))))


def test_tiny_run_reports_a_size_and_skips_one_over_the_time_cap(capsys):
    pytest.importorskip("index.searcher")
    rc = speed.main(["--bench", str(FIXTURE), "--model", "hashing", "--sizes", "40,1000000000", "--sample", "4",
                     "--queries", "3", "--no-minilm", "--quiet", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["rows"]
    assert rows["index build s (4 functions)"]["ours"] > 0
    assert rows["preprocess functions/s"]["ours"] > 0
    p50, p99 = rows["query p50/p99 ms (40)"]["ours"]
    assert 0 < p50 <= p99
    assert rows["resident MiB (40)"]["ours"] > 10
    assert list(rows["index build s (synthetic corpus)"]) == ["40"]
    assert rows["query p50/p99 ms (1,000,000,000)"] == {}
    assert any(n.startswith("1,000,000,000 functions skipped: building would take") for n in out["notes"])
    assert "MiniLM peer skipped: --no-minilm" in out["notes"]
    assert "| query p50/p99 ms (40) |" in speed.markdown(out)


def test_bad_arguments_exit_2(capsys):
    assert speed.main(["--sizes", "10,x"]) == 2
    assert speed.main(["--model", "/nonexistent/model"]) == 2
    assert "no trained model" in capsys.readouterr().err


def test_busy_machine_slice_keeps_the_first_rows_and_counts_the_documented(tmp_path):
    from benchmarks.speed.busy_machine import write_slice
    from preprocess.csvio import read_functions, write_functions
    rows = [{"id": i, "repo": "r", "start_line": 1, "end_line": 1, "name": f"f{i}", "code": f"def f{i}(): pass", "desc": "Do it." if i % 3 == 0 else ""}
            for i in range(10)]
    write_functions(tmp_path / "all.csv", rows)
    assert write_slice(tmp_path / "all.csv", 7, tmp_path / "slice.csv") == {"functions": 7, "documented": 3}
    assert [int(r["id"]) for r in read_functions(tmp_path / "slice.csv")] == list(range(7))
