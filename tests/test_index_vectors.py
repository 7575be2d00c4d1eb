"""FAISS vectors: exact search equals brute-force numpy, HNSW recall, filtered search, removal, kinds."""
import faiss
import numpy as np
import pytest

from index import vectors
from index.vectors import VectorConfig


def seeded(n=2000, d=32, nq=20, seed=0):
    rng = np.random.default_rng(seed)
    xb = vectors.normalize(rng.standard_normal((n, d)))
    xq = vectors.normalize(rng.standard_normal((nq, d)))
    ids = np.sort(rng.choice(10 * n, n, replace=False)).astype(np.int64)  # sparse ids, as after removals
    return xb, xq, ids


def brute(xb, ids, xq, k):
    """Reference: inner products by numpy, fully sorted (ties: lower id first)."""
    S = xq @ xb.T
    I = np.stack([np.lexsort((ids, -s))[:k] for s in S])
    return np.take_along_axis(S, I, 1), ids[I]


def test_normalize_unit_rows_and_zero_rows_stay_zero():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [np.inf, 1.0]], np.float32)
    y = vectors.normalize(x)
    assert np.allclose(y[0], [0.6, 0.8]) and not y[1].any() and np.isfinite(y).all()


def test_flat_search_equals_brute_force():
    xb, xq, ids = seeded()
    index = vectors.build(xb, ids, VectorConfig())
    assert vectors.kind_of(index) == "flat"
    D, I = vectors.search(index, xq, 10)
    Dref, Iref = brute(xb, ids, xq, 10)
    np.testing.assert_array_equal(I, Iref)
    np.testing.assert_allclose(D, Dref, rtol=1e-5, atol=1e-6)


def test_kind_follows_size_and_config():
    cfg = VectorConfig(flat_max=100, hnsw_max=1000)
    assert vectors.choose_kind(100, cfg) == "flat" and vectors.choose_kind(101, cfg) == "hnsw"
    assert vectors.choose_kind(1000, cfg) == "hnsw" and vectors.choose_kind(1001, cfg) == "ivfpq"
    assert vectors.choose_kind(10, VectorConfig(kind="hnsw")) == "hnsw"
    with pytest.raises(ValueError, match="vectors.kind"):
        VectorConfig(kind="lsh")


def test_hnsw_recall_against_exact():
    xb, xq, ids = seeded(n=3000, nq=50)
    index = vectors.build(xb, ids, VectorConfig(flat_max=1000, hnsw_m=16))
    assert vectors.kind_of(index) == "hnsw"
    _, I = vectors.search(index, xq, 10, vectors.search_params(index, VectorConfig()))
    _, Iref = brute(xb, ids, xq, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(I, Iref)])
    assert recall >= 0.95


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_filtered_search_with_selector_equals_brute_force_on_the_allowed(kind):
    xb, xq, ids = seeded(n=1500)
    index = vectors.build(xb, ids, VectorConfig(kind=kind))
    allowed = ids[::2]
    sel = faiss.IDSelectorBatch(allowed)
    params = vectors.search_params(index, VectorConfig(), sel, fraction=0.5)
    _, I = vectors.search(index, xq, 10, params)
    mask = np.isin(ids, allowed)
    _, Iref = brute(xb[mask], ids[mask], xq, 10)
    assert np.isin(I, allowed).all()
    agree = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(I, Iref)])
    assert agree == 1.0 if kind == "flat" else agree >= 0.9


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_reconstruct_by_row_id(kind):
    xb, _, ids = seeded(n=500)
    index = vectors.build(xb, ids, VectorConfig(kind=kind, hnsw_m=8))
    np.testing.assert_allclose(vectors.reconstruct(index, ids[[5, 0, 7]]), xb[[5, 0, 7]])
    got_ids, got = vectors.reconstruct_all(index)
    np.testing.assert_allclose(got[np.argsort(got_ids)], xb)


def test_reconstruct_and_remove_flat():
    xb, _, ids = seeded(n=500)
    index = vectors.build(xb, ids, VectorConfig())
    assert vectors.remove(index, ids[:100]) and index.ntotal == 400
    got_ids, got = vectors.reconstruct_all(index)
    order = np.argsort(got_ids)
    np.testing.assert_array_equal(got_ids[order], ids[100:])
    np.testing.assert_allclose(got[order], xb[100:])


def test_hnsw_cannot_remove_so_the_caller_keeps_tombstones():
    xb, _, ids = seeded(n=300)
    index = vectors.build(xb, ids, VectorConfig(kind="hnsw"))
    assert not vectors.remove(index, ids[:10]) and index.ntotal == 300


def test_ivfpq_builds_searches_and_removes(tmp_path):
    xb, xq, ids = seeded(n=1500, d=32)
    cfg = VectorConfig(kind="ivfpq", pq_m=8, pq_nbits=5, ivf_nprobe=64)
    index = vectors.build(xb, ids, cfg)
    assert vectors.kind_of(index) == "ivfpq"
    vectors.save(index, tmp_path / "v.faiss")
    index = vectors.load(tmp_path / "v.faiss")
    _, I = vectors.search(index, xq, 10, vectors.search_params(index, cfg))
    _, Iref = brute(xb, ids, xq, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(I, Iref)]) >= 0.3  # PQ is lossy
    assert sorted(vectors.all_ids(index)) == sorted(ids)
    vectors.remove(index, ids[:500])
    assert index.ntotal == 1000 and not np.isin(vectors.search(index, xq, 50)[1], ids[:500]).any()
    assert vectors.reconstruct(index, ids[600:602]).shape == (2, 32)


def test_ivfpq_refuses_what_it_cannot_train():
    xb, _, ids = seeded(n=100, d=32)
    with pytest.raises(ValueError, match="flat"):
        vectors.build(xb, ids, VectorConfig(kind="ivfpq", pq_m=8, pq_nbits=8))
    with pytest.raises(ValueError, match="divide"):
        vectors.build(xb, ids, VectorConfig(kind="ivfpq", pq_m=7))


def test_save_and_load_round_trip(tmp_path):
    xb, xq, ids = seeded(n=400)
    index = vectors.build(xb, ids, VectorConfig(kind="hnsw"))
    vectors.save(index, tmp_path / "v.faiss")
    again = vectors.load(tmp_path / "v.faiss")
    assert vectors.kind_of(again) == "hnsw"
    np.testing.assert_array_equal(vectors.search(index, xq, 5)[1], vectors.search(again, xq, 5)[1])
    assert [p.name for p in tmp_path.iterdir()] == ["v.faiss"]  # no temporary left behind
