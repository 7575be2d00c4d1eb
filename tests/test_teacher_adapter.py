"""The query-side adapter over frozen teacher vectors: it learns a map the data hold, and keeps the best epoch."""
import numpy as np

from codenn.teacher_tune.adapter import AdapterConfig, apply, load_adapter, mrr, save_adapter, train_adapter


def rotated_pairs(n: int, d: int, seed: int, strength: float = 2.0):
    """Codes on the unit sphere; queries are their noisy images under one fixed linear distortion."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n, d)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    mix = np.eye(d, dtype=np.float32) + strength * np.random.default_rng(99).standard_normal((d, d)).astype(np.float32) / np.sqrt(d)
    q = c @ mix + 0.3 * rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
    return q / np.linalg.norm(q, axis=1, keepdims=True), c


def test_the_adapter_learns_the_distortion_and_lifts_valid_mrr():
    q_tr, c_tr = rotated_pairs(3000, 16, 0)
    q_va, c_va = rotated_pairs(500, 16, 1)
    a, b, fit = train_adapter(q_tr, c_tr, q_va, c_va, AdapterConfig(epochs=15, batch_size=256, lr=5e-3,
                                                                     l2_to_identity=0.0), progress=False)
    before, after = mrr(q_va, c_va), mrr(apply(q_va, a, b), c_va)
    assert abs(fit["history"][0]["valid_mrr"] - before) < 1e-6   # epoch 0: the stock teacher
    assert before < 0.4 and after > 0.8, (before, after)
    assert fit["best"]["valid_mrr"] == max(r["valid_mrr"] for r in fit["history"])


def test_an_adapter_that_never_beats_the_stock_teacher_is_the_identity():
    # the queries already equal their codes: no epoch can do better than the untrained map
    _, c = rotated_pairs(600, 16, 2)
    a, b, fit = train_adapter(c, c, c[:200], c[:200], AdapterConfig(epochs=3, batch_size=128, patience=2),
                              progress=False)
    assert fit["best"]["epoch"] == 0 and not a.any() and not b.any()
    assert np.allclose(apply(c, a, b), c, atol=1e-6)


def test_a_saved_adapter_loads_back_and_maps_the_same(tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((8, 8)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    save_adapter(tmp_path / "ad", a, b, {"train_pairs": 1})
    a2, b2 = load_adapter(tmp_path / "ad")
    q = rng.standard_normal((5, 8)).astype(np.float32)
    assert np.array_equal(apply(q, a, b), apply(q, a2, b2))
    out = apply(q, a, b)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
