"""Retrieval metrics against brute-force references."""
import numpy as np
import pytest

from codenn.metrics import (cosine_ranks, evaluate_pairs, mrr, ndcg_at, normalize, pool_ranks, ranks_from_scores,
                            success_at, summarize, whole_split_ranks)


def brute_force_ranks(S, gold):
    """Position of the gold item in a full descending sort, ties resolved in its favour."""
    out = []
    for i, row in enumerate(S):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j != gold[i]))
        out.append(order.index(gold[i]) + 1)
    return np.array(out)


def test_ranks_equal_full_sort():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(40, 25)).round(1)  # rounding makes ties
    gold = rng.integers(0, 25, 40)
    np.testing.assert_array_equal(ranks_from_scores(S, gold), brute_force_ranks(S, gold))


def test_cosine_ranks_batched_equals_unbatched():
    rng = np.random.default_rng(1)
    xq, xb = rng.normal(size=(37, 8)), rng.normal(size=(50, 8))
    gold = rng.integers(0, 50, 37)
    S = normalize(xq) @ normalize(xb).T
    np.testing.assert_array_equal(cosine_ranks(xq, xb, gold, bs=7), brute_force_ranks(S, gold))


def test_metric_definitions():
    rng = np.random.default_rng(2)
    ranks = rng.integers(1, 30, 200)
    assert mrr(ranks) == pytest.approx(sum(1 / r for r in ranks) / len(ranks))
    for k in (1, 5, 10):
        assert success_at(ranks, k) == pytest.approx(sum(r <= k for r in ranks) / len(ranks))
    # nDCG@10 with one relevant document: DCG of the ranked list over the ideal DCG (= 1)
    dcg = [sum((1.0 if pos == r else 0.0) / np.log2(pos + 1) for pos in range(1, 11)) for r in ranks]
    assert ndcg_at(ranks, 10) == pytest.approx(np.mean(dcg))
    s = summarize(ranks)
    assert set(s) == {"mrr", "sr@1", "sr@5", "sr@10", "ndcg@10", "n"} and s["n"] == 200


def test_perfect_and_random_retrieval():
    rng = np.random.default_rng(3)
    xb = rng.normal(size=(300, 16))
    assert mrr(whole_split_ranks(xb + 0.01 * rng.normal(size=xb.shape), xb)) == 1.0
    r = whole_split_ranks(rng.normal(size=(300, 16)), xb)
    expected = np.mean(1 / np.arange(1, 301))  # uniform rank over the pool
    assert abs(mrr(r) - expected) < 0.05


def test_pool_protocol():
    rng = np.random.default_rng(4)
    xq, xb = rng.normal(size=(2500, 8)), rng.normal(size=(2500, 8))
    r = pool_ranks(xq, xb, pool_size=1000, seed=0)
    assert len(r) == 2000 and r.min() >= 1 and r.max() <= 1000  # remainder dropped, ranks within a pool
    np.testing.assert_array_equal(r, pool_ranks(xq, xb, pool_size=1000, seed=0))
    # a split smaller than a pool is one pool: equal to the whole-split protocol up to order
    small = pool_ranks(xq[:300], xb[:300], pool_size=1000)
    assert sorted(small) == sorted(whole_split_ranks(xq[:300], xb[:300]))
    res = evaluate_pairs(xq, xb, pool_size=1000)
    assert res["pool1000"]["n"] == 2000 and res["whole"]["n"] == 2500
    # a bigger pool is harder: random vectors rank lower among 2,500 than among 1,000
    assert res["whole"]["mrr"] < res["pool1000"]["mrr"]
