"""The speed benchmark's synthetic corpora and a tiny run of it (no timing is asserted)."""
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import speed
from benchmarks.benchfile import pool_records, read_bench
from benchmarks.speed_workers import LookupEncoder, noisy_copies, synthetic_records

FIXTURE = Path(__file__).parent / "fixtures" / "bench_tiny.jsonl"


def test_synthetic_records_are_distinct_copies_of_the_pool():
    pytest.importorskip("index.analysis")
    from index.analysis import code_hash
    records, _ = pool_records(read_bench(FIXTURE))
    out = list(synthetic_records(records, 3 * len(records) + 2))
    assert [r["id"] for r in out] == list(range(1, len(out) + 1))
    assert out[: len(records)] == [{**r, "id": i + 1} for i, r in enumerate(records)]
    assert len({code_hash(r["code"]) for r in out}) == len(out)      # nothing collapses as a near-duplicate
    copy = out[len(records)]
    assert copy["name"] == f"{records[0]['name']}_1" and f"def {copy['name']}(" in copy["code"]
    assert copy["tokens"] == records[0]["tokens"]


def test_noisy_copies_keep_originals_and_stay_near_them():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((10, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    x = noisy_copies(base, np.arange(30), seed=1)
    assert np.allclose(x[:10], base, atol=1e-6)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    cos = np.sum(x[10:] * base[np.arange(10, 30) % 10], axis=1)
    assert (cos > 0.7).all() and (cos < 0.9999).all()
    assert np.array_equal(x, noisy_copies(base, np.arange(30), seed=1))
    enc = LookupEncoder(base, "m")
    assert np.allclose(enc.encode_functions([{"id": 3}, {"id": 4}]), base[2:4], atol=1e-6)


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
