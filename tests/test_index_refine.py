"""IVF-PQ re-ranked by IndexRefine: exact search when the candidates cover the set, filters, tombstones."""
import faiss
import numpy as np
import pytest

from index import vectors
from index.vectors import VectorConfig
from tests.test_index_vectors import brute, seeded

N = 1500


def refined(refine: str, factor: int, **kw) -> tuple:
    """A refined IVF-PQ over a seeded set, its config, and the set."""
    xb, xq, ids = seeded(n=N, d=32)
    cfg = VectorConfig(kind="ivfpq", pq_m=8, pq_nbits=5, refine=refine, refine_factor=factor, **kw)
    index = vectors.build(xb, ids, cfg)
    return index, cfg, xb, xq, ids


def recall(I, Iref) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(I, Iref)]))


def test_flat_refine_equals_exact_search_when_its_candidates_cover_the_set():
    index, cfg, xb, xq, ids = refined("flat", factor=N // 10, ivf_nprobe=1000)   # k * r = N, every list probed
    assert vectors.kind_of(index) == "ivfpq" and vectors.refined(index)
    D, I = vectors.search(index, xq, 10, vectors.search_params(index, cfg))
    Dref, Iref = brute(xb, ids, xq, 10)
    np.testing.assert_array_equal(I, Iref)
    np.testing.assert_allclose(D, Dref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("refine, atol", [("fp16", 1e-3), ("sq8", 2e-2)])
def test_coded_refine_scores_match_exact_search_when_covering_the_set(refine, atol):
    index, cfg, xb, xq, ids = refined(refine, factor=N // 10, ivf_nprobe=1000)
    D, I = vectors.search(index, xq, 10, vectors.search_params(index, cfg))
    Dref, Iref = brute(xb, ids, xq, 10)
    np.testing.assert_allclose(D, Dref, atol=atol)   # rank by rank: only near-ties may swap
    assert recall(I, Iref) >= (1.0 if refine == "fp16" else 0.9)


def test_refine_recovers_what_product_quantization_loses():
    plain, cfg, xb, xq, ids = refined("none", factor=1, ivf_nprobe=64)
    index, rcfg, *_ = refined("sq8", factor=10, ivf_nprobe=64)
    _, Iref = brute(xb, ids, xq, 10)
    got = {name: recall(vectors.search(ix, xq, 10, vectors.search_params(ix, c))[1], Iref)
           for name, ix, c in (("pq", plain, cfg), ("refined", index, rcfg))}
    assert got["refined"] >= 0.9 and got["pq"] < 0.6, got   # 0.945 against 0.435 here


def test_a_selector_sees_row_ids_through_the_refine_stage():
    index, cfg, xb, xq, ids = refined("flat", factor=N // 10, ivf_nprobe=1000)
    allowed = ids[::3]
    params = vectors.search_params(index, cfg, faiss.IDSelectorBatch(allowed))
    _, I = vectors.search(index, xq, 10, params)
    mask = np.isin(ids, allowed)
    _, Iref = brute(xb[mask], ids[mask], xq, 10)
    np.testing.assert_array_equal(I, Iref)


def test_refined_index_keeps_tombstones_reloads_and_reconstructs(tmp_path):
    index, cfg, xb, xq, ids = refined("fp16", factor=8, ivf_nprobe=64)
    assert not vectors.remove(index, ids[:10]) and index.ntotal == N   # the caller keeps tombstones
    vectors.save(index, tmp_path / "v.faiss")
    back = vectors.load(tmp_path / "v.faiss")
    assert vectors.refined(back) and vectors.kind_of(back) == "ivfpq"
    p = vectors.search_params(index, cfg)
    np.testing.assert_array_equal(vectors.search(back, xq, 10, p)[1], vectors.search(index, xq, 10, p)[1])
    np.testing.assert_allclose(vectors.reconstruct(back, ids[[4, 2]]), xb[[4, 2]], atol=1e-3)
    got_ids, _ = vectors.reconstruct_all(back)
    np.testing.assert_array_equal(np.sort(got_ids), ids)


def test_streamed_build_equals_one_build():
    xb, xq, ids = seeded(n=N, d=32)
    cfg = VectorConfig(kind="ivfpq", pq_m=8, pq_nbits=5, refine="sq8", refine_factor=4, train_max=600)
    sink = vectors.VectorSink(cfg, 32)
    for i0 in range(0, N, 200):   # trains once 600 are held, on those 600
        sink.add(xb[i0: i0 + 200], ids[i0: i0 + 200])
    streamed = sink.finish()
    assert vectors.refined(streamed) and streamed.ntotal == N
    whole = vectors.build_ivfpq(xb[:600], cfg)   # trained on the same first 600
    whole.add_with_ids(xb, ids)
    p = vectors.search_params(whole, cfg)
    np.testing.assert_array_equal(vectors.search(streamed, xq, 10, p)[1], vectors.search(whole, xq, 10, p)[1])


AUTO = dict(flat_max=100, hnsw_max=1000, pq_m=8, pq_nbits=5, train_max=600)


@pytest.mark.parametrize("expected", [N, None])
def test_auto_turns_to_refined_ivfpq_past_hnsw_max_whether_or_not_the_total_is_known(expected):
    xb, xq, ids = seeded(n=N, d=32)
    sink = vectors.VectorSink(VectorConfig(**AUTO), 32, expected=expected)
    for i0 in range(0, N, 200):
        sink.add(xb[i0: i0 + 200], ids[i0: i0 + 200])
        if expected:   # known to be large: trains once train_max are held, then streams
            assert (sink.index is not None) == (i0 + 200 >= 600)
        else:          # unknown: holds until more than hnsw_max, then trains on a sample of them
            assert (sink.index is not None) == (i0 + 200 > 1000)
    index = sink.finish()
    assert vectors.kind_of(index) == "ivfpq" and vectors.refined(index) and index.ntotal == N
    assert faiss.downcast_index(index.index).k_factor == VectorConfig().refine_factor
    cfg = VectorConfig(**AUTO)
    D, I = vectors.search(index, xq, 10, vectors.search_params(index, cfg))
    assert recall(I, brute(xb, ids, xq, 10)[1]) >= 0.8   # SQ8 codes of random 32-d vectors swap near-ties


def test_auto_keeps_a_chosen_refine_and_small_sets_stay_flat():
    xb, _, ids = seeded(n=N, d=32)
    cfg = VectorConfig(**AUTO, refine="fp16")
    assert vectors.kind_config("ivfpq", cfg).refine == "fp16"
    assert vectors.kind_config("ivfpq", VectorConfig(kind="ivfpq")).refine == "none"   # asked for plain IVF-PQ
    sink = vectors.VectorSink(VectorConfig(**AUTO), 32, expected=80)
    sink.add(xb[:80], ids[:80])
    assert vectors.kind_of(sink.finish()) == "flat"


def test_unknown_refine_is_refused():
    with pytest.raises(ValueError, match="vectors.refine"):
        VectorConfig(refine="pq4")
    with pytest.raises(ValueError, match="vectors.auto_refine"):
        VectorConfig(auto_refine="pq4")
    with pytest.raises(ValueError, match="refine_factor"):
        VectorConfig(refine="sq8", refine_factor=0)


def test_a_refined_index_serves_the_searcher_like_exact_search_and_removes_by_tombstones(tmp_path):
    from index.build import build_index
    from index.manifest import IndexConfig
    from index.searcher import Searcher
    from index.synthetic import NOUNS, VERBS, make_records
    from index.update import remove_repos
    records = make_records(n_repos=6, per_repo=60)
    build_index(records, "hashing", tmp_path / "flat", IndexConfig(progress=False))
    cfg = IndexConfig(progress=False).override(["vectors.kind=ivfpq", "vectors.pq_m=8", "vectors.pq_nbits=5",
                                                "vectors.refine=flat", "vectors.refine_factor=100",
                                                "vectors.ivf_nprobe=1000"])
    build_index(records, "hashing", tmp_path / "ivf", cfg)
    remove_repos(tmp_path / "ivf", ["org/repo2"])
    exact, ann = Searcher.open(tmp_path / "flat"), Searcher.open(tmp_path / "ivf")
    try:
        assert vectors.refined(ann.scorers["neural"].index)
        for q in [f"{v} {n}" for v in VERBS[:4] for n in NOUNS[:4]]:
            want = [h.id for h in exact.search(q, k=10, mode="neural").hits if h.repo != "org/repo2"][:5]
            got = ann.search(q, k=10, mode="neural").hits
            assert [h.id for h in got][:5] == want and all(h.repo != "org/repo2" for h in got)
            assert [h.id for h in ann.search(q, k=5, mode="neural", repo="org/repo3").hits] == \
                [h.id for h in exact.search(q, k=5, mode="neural", repo="org/repo3").hits]
    finally:
        exact.close()
        ann.close()
