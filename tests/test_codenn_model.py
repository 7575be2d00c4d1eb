"""CODEnn encoders, joint embedder, losses and config overrides."""
import math

import pytest
import torch
import torch.nn.functional as F

from codenn.config import build_config
from codenn.loss import JointLoss, LossConfig, in_batch_loss, margin_ranking_loss, wrong_partner
from codenn.model import BOWEncoder, JointEmbedder, ModelConfig, SeqEncoder

CFG = ModelConfig(n_name=30, n_apiseq=40, n_tokens=50, n_desc=60, emb_size=16, lstm_hidden=8, bow_hidden=12)


def random_batch(B=5, seed=0, empty=()):
    """A reader-style batch with random lengths; fields in `empty` have length 0 everywhere."""
    g = torch.Generator().manual_seed(seed)
    batch = {}
    for field, n, T in (("name", CFG.n_name, 6), ("apiseq", CFG.n_apiseq, 10), ("tokens", CFG.n_tokens, 12), ("desc", CFG.n_desc, 9)):
        lens = torch.zeros(B, dtype=torch.int64) if field in empty else torch.randint(1, T + 1, (B,), generator=g)
        ids = torch.randint(4, n, (B, T), generator=g)
        ids[torch.arange(T)[None, :] >= lens[:, None]] = 0
        batch[field], batch[f"{field}_len"] = ids, lens
    return batch


@pytest.mark.parametrize("pool", ["max", "mean", "last"])
def test_seq_encoder_shape_and_padding_invariance(pool):
    torch.manual_seed(0)
    enc = SeqEncoder(20, ModelConfig(emb_size=16, lstm_hidden=8, pool=pool)).eval()
    x = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0], [4, 5, 6, 7, 8]])
    lens = torch.tensor([3, 2, 5])
    out = enc(x, lens)
    assert out.shape == (3, 16)
    # each row as if it were alone and unpadded: packing and pooling ignore the padded steps
    for i, n in enumerate(lens.tolist()):
        torch.testing.assert_close(out[i : i + 1], enc(x[i : i + 1, :n], lens[i : i + 1]))
    assert out.abs().max() <= 1.0  # tanh output


def test_bow_encoder_shape_and_order_free():
    torch.manual_seed(0)
    enc = BOWEncoder(20, CFG).eval()
    x = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    out = enc(x, torch.tensor([3, 2]))
    assert out.shape == (2, CFG.dim)
    flipped = enc(torch.tensor([[7, 6, 5, 0], [9, 8, 0, 0]]), torch.tensor([3, 2]))
    torch.testing.assert_close(out, flipped)


def test_joint_embedder_shapes():
    model = JointEmbedder(CFG)
    code, desc = model(random_batch(B=7))
    assert code.shape == desc.shape == (7, CFG.dim)


def test_empty_sequences_give_finite_vectors_and_gradients():
    model = JointEmbedder(CFG)
    batch = random_batch(B=6, empty=("apiseq",))
    batch["desc_len"][0] = 0
    batch["desc"][0] = 0
    batch["name_len"][1] = 0
    batch["name"][1] = 0
    code, desc = model(batch)
    assert torch.isfinite(code).all() and torch.isfinite(desc).all()
    assert desc[0].abs().sum() == 0  # an empty description is the zero vector
    loss = in_batch_loss(code, desc, 20.0) + margin_ranking_loss(code, desc, desc.roll(1, 0), 0.05)
    loss.backward()
    assert math.isfinite(loss.item())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_initialisation():
    model = JointEmbedder(CFG)
    for enc in (model.name_enc, model.api_enc, model.desc_enc):
        assert enc.emb.weight[0].abs().sum() == 0
        H = enc.lstm.hidden_size
        for gate in enc.lstm.weight_hh_l0.chunk(4, dim=0):  # orthogonal recurrences
            torch.testing.assert_close(gate @ gate.T, torch.eye(H), atol=1e-5, rtol=0)
        assert (enc.lstm.bias_ih_l0[H : 2 * H] == 1).all()
    w = model.tok_enc.fc1.weight  # He init before the ReLU: Var = 2 / fan_in
    assert abs(w.var().item() - 2 / w.shape[1]) < 0.5 * 2 / w.shape[1]


def test_margin_loss_matches_reference():
    g = torch.Generator().manual_seed(1)
    code, good, bad = (torch.randn(8, 5, generator=g) for _ in range(3))
    ref = sum(max(0.0, 0.05 - F.cosine_similarity(code[i], good[i], 0).item()
                  + F.cosine_similarity(code[i], bad[i], 0).item()) for i in range(8)) / 8
    assert margin_ranking_loss(code, good, bad, 0.05).item() == pytest.approx(ref, abs=1e-6)


def test_in_batch_loss_matches_reference():
    g = torch.Generator().manual_seed(2)
    code, desc = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    sims = [[F.cosine_similarity(code[i], desc[j], 0).item() * 20 for j in range(6)] for i in range(6)]
    row = -sum(sims[i][i] - math.log(sum(math.exp(s) for s in sims[i])) for i in range(6)) / 6
    col = -sum(sims[i][i] - math.log(sum(math.exp(sims[j][i]) for j in range(6))) for i in range(6)) / 6
    assert in_batch_loss(code, desc, 20.0).item() == pytest.approx((row + col) / 2, rel=1e-5)


def test_wrong_partner_never_picks_itself():
    g = torch.Generator().manual_seed(3)
    for B in (2, 3, 17):
        for _ in range(20):
            p = wrong_partner(B, g)
            assert sorted(p.tolist()) == list(range(B))
            assert (p != torch.arange(B)).all()


def test_margin_loss_gives_no_gradient_when_separated():
    """Random wrong descriptions far from the code contribute nothing (why the paper's loss stalls)."""
    code = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    desc = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = JointLoss(LossConfig(kind="margin"))(code, desc)
    loss.backward()
    assert loss.item() == 0 and code.grad.abs().sum() == 0


def test_config_overrides_are_checked():
    cfg = build_config("cpu", ["model.pool=mean", "train.lr=1e-4", "loss.kind=margin"])
    assert (cfg.model.pool, cfg.train.lr, cfg.loss.kind) == ("mean", 1e-4, "margin")
    with pytest.raises(KeyError, match="unknown config key"):
        build_config("cpu", ["model.n_layers=3"])
    with pytest.raises(KeyError, match="unknown config key"):
        build_config("cpu", ["optim.lr=3"])
    with pytest.raises(ValueError, match="must be int"):
        build_config("cpu", ["train.epochs=2.5"])
    with pytest.raises(ValueError, match="pool"):
        build_config("cpu", ["model.pool=median"])
    with pytest.raises(KeyError, match="unknown config"):
        build_config("tpu")


def test_shared_embeddings_give_one_vector_per_word():
    from codenn.vocab import shared_remaps
    from preprocess.text import SPECIALS, Vocab
    vocabs = {"name": Vocab(list(SPECIALS) + ["read", "json"]), "apiseq": Vocab(list(SPECIALS) + ["json.load"]),
              "tokens": Vocab(list(SPECIALS) + ["path", "json"]), "desc": Vocab(list(SPECIALS) + ["json", "read", "a"])}
    n, remaps = shared_remaps(vocabs)
    assert n == 4 + len({"read", "json", "json.load", "path", "a"})
    assert remaps["desc"][:4].tolist() == [0, 1, 2, 3]
    json_ids = {int(remaps[f][vocabs[f].stoi["json"]]) for f in ("name", "tokens", "desc")}
    assert len(json_ids) == 1
    cfg = ModelConfig(n_name=6, n_apiseq=5, n_tokens=6, n_desc=7, emb_size=8, lstm_hidden=4, bow_hidden=8,
                      share_embeddings=True, n_shared=n)
    model = JointEmbedder(cfg).eval()
    model.set_remaps(remaps)
    assert model.name_enc.emb is None and model.shared_emb.num_embeddings == n
    # "json" alone as a name and as a description goes through the same embedding row
    e = model.shared_emb
    name_in = e(model.ids("name", torch.tensor([[vocabs["name"].stoi["json"]]])))
    desc_in = e(model.ids("desc", torch.tensor([[vocabs["desc"].stoi["json"]]])))
    assert torch.equal(name_in, desc_in)
    code, desc = model(random_batch_for(vocabs))
    assert code.shape == desc.shape == (2, 8) and torch.isfinite(code).all()


def random_batch_for(vocabs):
    batch = {}
    for f, v in vocabs.items():
        batch[f] = torch.tensor([[len(v) - 1, 4, 0], [4, 0, 0]])
        batch[f"{f}_len"] = torch.tensor([2, 1])
    return batch


def test_model_folder_round_trip_keeps_shared_remaps(tmp_path):
    from codenn import bundle
    from codenn.config import DataConfig
    cfg = ModelConfig(n_name=30, n_apiseq=40, n_tokens=50, n_desc=60, emb_size=8, lstm_hidden=4, bow_hidden=8,
                      share_embeddings=True, n_shared=100)
    model = JointEmbedder(cfg).eval()
    g = torch.Generator().manual_seed(0)
    model.set_remaps({f: torch.randint(4, 100, (getattr(cfg, f"n_{f}"),), generator=g)
                      for f in ("name", "apiseq", "tokens", "desc")})
    bundle.save_model(model, tmp_path, DataConfig())
    again = bundle.load_model(tmp_path)
    batch = random_batch(B=4)
    assert torch.equal(model(batch)[0], again(batch)[0]) and torch.equal(model(batch)[1], again(batch)[1])
    assert torch.equal(again.remap_desc, model.remap_desc)
