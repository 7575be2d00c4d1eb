"""Whole-pool ranks and metrics of the quality report, against ranks worked out by hand."""
import math

import numpy as np
import pytest

from benchmarks.ranking import scores_row, whole_pool_ranks


def test_ranks_count_items_scored_strictly_higher():
    S = np.array([[0.9, 0.1, 0.5, 0.3],      # gold 2: only 0.9 is higher -> 2
                  [0.2, 0.8, 0.4, 0.6],      # gold 1: best -> 1
                  [0.7, 0.6, 0.5, 0.4]])     # gold 3: three higher -> 4
    assert whole_pool_ranks(S, np.array([2, 1, 3])).tolist() == [2, 1, 4]


def test_ties_are_counted_in_the_querys_favour():
    S = np.array([[0.5, 0.5, 0.5, 0.1],      # gold 1 tied with two others: nothing strictly higher -> 1
                  [0.9, 0.3, 0.3, 0.3]])     # gold 3 tied with 1 and 2, below 0 -> 2
    assert whole_pool_ranks(S, np.array([1, 3])).tolist() == [1, 2]


def test_gold_absent_from_results_is_ranked_last():
    inf = np.inf
    S = np.array([[0.4, -inf, 0.2, -inf, -inf],   # gold 1 not returned, tied with other absent ones -> 5
                  [-inf, 0.3, np.nan, -inf, 0.1],  # NaN item never outranks; gold 4 below 0.3 -> 2
                  [-inf, -inf, -inf, -inf, -inf]])  # nothing returned at all -> 5
    assert whole_pool_ranks(S, np.array([1, 4, 0])).tolist() == [5, 2, 5]


def test_pool_of_one():
    ranks = whole_pool_ranks(np.array([[0.0], [-3.5]]), np.array([0, 0]))
    assert ranks.tolist() == [1, 1]
    assert scores_row(ranks) == {"MRR": 1.0, "SR@1": 1.0, "SR@5": 1.0, "SR@10": 1.0, "nDCG@10": 1.0}


def test_scores_from_hand_computed_ranks():
    row = scores_row(np.array([1, 2, 4, 11]))
    assert row["MRR"] == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 11) / 4)
    assert row["SR@1"] == pytest.approx(0.25)
    assert row["SR@5"] == pytest.approx(0.75)
    assert row["SR@10"] == pytest.approx(0.75)
    assert row["nDCG@10"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4)


def test_matches_a_full_sort_on_seeded_scores():
    rng = np.random.default_rng(0)
    S = rng.integers(0, 6, size=(40, 30)).astype(np.float32)   # coarse scores: many ties
    gold = rng.integers(0, 30, size=40)
    expected = []
    for row, g in zip(S, gold):
        order = sorted(range(30), key=lambda j: (-row[j], j != g))   # a stable sort, gold first among ties
        expected.append(order.index(g) + 1)
    assert whole_pool_ranks(S, gold).tolist() == expected


def test_rejects_gold_outside_the_pool():
    with pytest.raises(AssertionError):
        whole_pool_ranks(np.zeros((1, 3)), np.array([3]))
