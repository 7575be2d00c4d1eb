"""The distractor set: pool ids kept, real functions first, seeded noisy copies beyond, deterministic."""
import numpy as np
import pytest

from benchmarks.scale.distractors import DistractorConfig, DistractorEncoder, build_set
from index.analysis import code_hash
from index.encoders import HashingEncoder
from index.synthetic import make_records
from preprocess.csvio import write_functions


@pytest.fixture
def pool():
    return [dict(r, id=i + 1) for i, r in enumerate(make_records(n_repos=2, per_repo=10, seed=1))]


@pytest.fixture
def functions(tmp_path, pool):
    """A functions.csv of 50 real functions, two of them copies of pool functions' code."""
    rows = make_records(n_repos=5, per_repo=10, seed=2, start_id=100)
    rows[3] = dict(rows[3], code=pool[0]["code"])
    rows[7] = dict(rows[7], code=pool[5]["code"] + "\n# a comment")   # the same near-duplicate key
    write_functions(tmp_path / "functions.csv", rows)
    return str(tmp_path / "functions.csv")


def test_real_functions_first_never_a_pool_duplicate_and_ids_continue(pool, functions):
    s = build_set(pool, DistractorConfig(n=30, functions=functions))
    recs = list(s.records())
    assert [r["id"] for r in recs] == list(range(1, 51)) and s.total == 50 and s.n_copies == 0
    assert recs[:20] == pool
    pool_keys = {code_hash(r["code"]) for r in pool}
    assert not any(code_hash(r["code"]) in pool_keys for r in recs[20:])
    assert all("~" not in r["repo"] for r in recs[20:])   # real functions, as read
    np.testing.assert_array_equal(s.origin, np.arange(51))


def test_copies_beyond_the_real_ones_point_to_their_originals(pool, functions):
    s = build_set(pool, DistractorConfig(n=130, functions=functions))
    assert len(s.real) == 48 and s.n_copies == 82 and s.total == 150
    recs = list(s.records())
    by_id = {r["id"]: r for r in recs}
    first = s.first_copy
    assert first == 69 and by_id[first]["repo"] == by_id[21]["repo"] + "~1"
    assert by_id[first + 48]["repo"] == by_id[21]["repo"] + "~2" and by_id[first + 48]["name"].endswith("_c2")
    assert s.origin[first] == 21 and s.origin[first + 48] == 21 and s.origin[149] == 21 + (149 - first) % 48
    assert len({code_hash(r["code"]) for r in recs}) == len(recs)   # copies do not collapse onto originals


def test_the_same_seed_gives_the_same_set_and_vectors_another_seed_does_not(pool, functions):
    def run(seed):
        s = build_set(pool, DistractorConfig(n=100, functions=functions, seed=seed))
        enc = DistractorEncoder(HashingEncoder(64), s)
        recs = list(s.records())
        for i in range(0, len(recs), 32):
            enc.encode_functions(recs[i: i + 32])
        return recs, enc.vectors()
    (a, (ia, xa)), (b, (ib, xb)), (c, (_, xc)) = run(0), run(0), run(1)
    assert a == b
    np.testing.assert_array_equal(ia, np.arange(1, 121))
    np.testing.assert_array_equal(xa, xb)
    assert not np.allclose(xa[-20:], xc[-20:])


def test_a_sample_of_the_real_functions_when_fewer_are_asked(pool, functions):
    picks = {seed: [r["name"] for r in build_set(pool, DistractorConfig(n=10, functions=functions, seed=seed)).real]
             for seed in (0, 1)}
    assert len(picks[0]) == 10 and picks[0] != picks[1]
    assert picks[0] == [r["name"] for r in build_set(pool, DistractorConfig(n=10, functions=functions)).real]


def test_copy_vectors_are_their_originals_plus_noise(pool, functions):
    s = build_set(pool, DistractorConfig(n=60, functions=functions, noise=0.3))
    enc = DistractorEncoder(HashingEncoder(64), s)
    recs = list(s.records())
    enc.encode_functions(recs[:68])
    x = enc.encode_functions(recs[68:])
    cos = np.sum(x * enc.xb[s.origin[[r["id"] for r in recs[68:]]]], axis=1)
    assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5) and (0.8 < cos).all() and (cos < 0.999).all()


def test_the_model_encodes_each_real_batch_once_with_a_cache(pool, functions, tmp_path):
    class Counting(HashingEncoder):
        calls = 0

        def encode_functions(self, records):
            Counting.calls += 1
            return super().encode_functions(records)
    s = build_set(pool, DistractorConfig(n=20, functions=functions))
    recs = list(s.records())
    first = DistractorEncoder(Counting(64), s, cache=tmp_path / "cache").encode_functions(recs)
    again = DistractorEncoder(Counting(64), s, cache=tmp_path / "cache").encode_functions(recs)
    assert Counting.calls == 1
    np.testing.assert_array_equal(first, again)


def test_copies_need_real_functions(pool, tmp_path):
    with pytest.raises(ValueError, match="real functions"):
        build_set(pool, DistractorConfig(n=5, functions=str(tmp_path / "missing.csv")))
    assert build_set(pool, DistractorConfig(n=0, functions=None)).total == 20


def test_scale_quality_end_to_end_ann_against_exact(tmp_path, functions, capsys):
    import json

    from benchmarks.benchfile import write_bench
    from benchmarks.scale.scale_quality import main
    from index.synthetic import NOUNS, VERBS
    rows = make_records(n_repos=3, per_repo=30, seed=3)
    write_bench(tmp_path / "b.jsonl", [{"id": f"q{i}", "code": r["code"], "language": "python",
                                         **({"query": f"{VERBS[i % 6]} {NOUNS[i % 5]}"} if i % 3 == 0 else {})}
                                        for i, r in enumerate(rows)])
    assert main(["--distractors", "400", "--bench", str(tmp_path / "b.jsonl"), "--model", "hashing",
                 "--functions", functions, "--workdir", str(tmp_path / "w"), "--depth", "50",
                 "--set", "vectors.flat_max=100", "--set", "vectors.hnsw_m=8"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["distractors"] == 400 and r["index_kind"] == "hnsw" and r["functions"] == 490
    assert r["real_distractors"] == 50 and r["copies"] == 350   # this pool shares no code with functions.csv
    assert 0 < r["exact_mrr"] <= 1 and 0 < r["ann_mrr"] <= 1 and 0 <= r["ann_s10"] <= 1
    assert r["recall_at_10"] is None or 0.5 <= r["recall_at_10"] <= 1
    assert not (tmp_path / "w" / "n400").exists()   # the index is removed unless --keep


def test_real_distractors_and_their_vectors_can_come_from_a_built_index(tmp_path, pool, functions):
    from index import vectors
    from index.build import build_index
    from index.manifest import IndexConfig
    from preprocess.csvio import read_functions
    build_index(list(read_functions(functions)), "hashing:64", tmp_path / "idx", IndexConfig(progress=False))
    s = build_set(pool, DistractorConfig(n=60, index=str(tmp_path / "idx")))
    from_csv = build_set(pool, DistractorConfig(n=60, functions=functions))
    assert [r["name"] for r in s.real] == [r["name"] for r in from_csv.real] and s.n_copies == 12
    enc = DistractorEncoder(HashingEncoder(64), s, spill=tmp_path / "spill")
    recs = list(s.records())
    for i in range(0, len(recs), 16):    # batches that straddle the pool's end and the copies' start
        enc.encode_functions(recs[i: i + 16])
    np.testing.assert_allclose(enc.xb[21:69], vectors.normalize(HashingEncoder(64).encode_functions(from_csv.real)),
                               atol=1e-6)   # what the index holds is what encoding them gives
    assert (tmp_path / "spill" / "vectors.npy").is_file() and enc.seen[1:].all()


def test_exact_search_over_the_candidate_union_equals_exact_search_over_everything():
    from benchmarks.scale.scale_quality import exact_candidates, exact_index
    from index import vectors
    rng = np.random.default_rng(0)
    xb = vectors.normalize(rng.standard_normal((5000, 16)))
    xq = vectors.normalize(rng.standard_normal((30, 16)))
    ids = np.arange(1, 5000)
    union = exact_candidates(xb, ids, xq, depth=20, chunk=700)
    assert len(union) < 30 * 20 + 1 and set(union) <= set(ids)
    full = exact_index(ids, xb[ids])
    part = exact_index(union, xb[union])
    np.testing.assert_array_equal(vectors.search(part, xq, 20)[1], vectors.search(full, xq, 20)[1])
