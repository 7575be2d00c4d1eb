"""The trainer on a seeded synthetic task: learning, checkpoints, --resume, Ctrl-C, NaN, DDP, the model folder."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import codenn
from codenn import bundle
from codenn.callbacks import Callback
from codenn.checkpoint import Checkpointer
from codenn.config import build_config
from codenn.evaluate import split_arrays, validation_metrics
from codenn.loss import JointLoss
from codenn.metrics import mrr, whole_split_ranks
from codenn.model import JointEmbedder
from codenn.synthetic import synthetic_records, write_synthetic_dataset
from codenn.train import fit_vocabularies, load_vocabs, main as train_main
from codenn.trainer import Interrupted, NonFiniteLoss, Trainer
from preprocess.reader import CodeSearchDataset

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["model.emb_size=32", "model.lstm_hidden=32", "model.bow_hidden=64", "train.batch_size=64",
         "train.lr=5e-3", "train.threads=1", "train.projector_size=50", "train.log_every=5"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; give the setting back to the rest of the suite."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("synth") / "dataset", n_train=1280, seed=0)


def cli(data, out, *extra):
    args = ["--data", str(data), "--out", str(out), "--no-progress"]
    for s in SMALL:
        args += ["--set", s]
    return train_main(args + list(extra))


def make_trainer(data, out, epochs=3, loss_fn=None, callbacks=()):
    cfg = build_config("cpu", SMALL + [f"train.epochs={epochs}", "train.patience=10"])
    arrays = {s: split_arrays(CodeSearchDataset(data, s)) for s in ("train", "valid")}
    torch.manual_seed(cfg.train.seed)
    model = new_model(cfg, data)
    return Trainer(cfg.train, model, loss_fn or JointLoss(cfg.loss), arrays["train"],
                   lambda m: validation_metrics(m, arrays["valid"]), Checkpointer(out / "checkpoints"), list(callbacks))


def new_model(cfg, data):
    remaps = fit_vocabularies(cfg, load_vocabs(data))
    model = JointEmbedder(cfg.model)
    if remaps is not None:
        model.set_remaps(remaps)
    return model


class Recorder(Callback):
    def __init__(self, interrupt_at=None):
        self.losses, self.interrupt_at = [], interrupt_at

    def on_step_end(self, trainer, logs):
        self.losses.append(logs["loss"])
        if trainer.state.step == self.interrupt_at:
            trainer._interrupt = True  # what the SIGINT handler does


def test_learns_synthetic_task_and_model_folder_suffices(data, tmp_path):
    out = tmp_path / "model"
    test = split_arrays(CodeSearchDataset(data, "test"))
    rng = np.random.default_rng(0)
    random_mrr = mrr(whole_split_ranks(rng.normal(size=(100, 64)), rng.normal(size=(100, 64))))
    assert random_mrr < 0.1
    assert cli(data, out, "--epochs", "4") == 0
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert history[-1]["mrr"] >= 0.9 and history[0]["step"] == 20
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["whole"]["mrr"] >= 0.9 and metrics["pool1000"]["n"] == 100
    # the folder alone rebuilds the model: vocabularies, config and weights are all there
    enc = codenn.load(out)
    assert enc.dim == 64 and enc.identity.startswith("codenn-") and enc.identity == codenn.load(out).identity
    recs = synthetic_records(data, "test")
    xb, xq = enc.encode_functions(recs), enc.encode_queries([r["desc"] for r in recs])
    assert xb.dtype == xq.dtype == np.float32 and xb.shape == xq.shape == (100, 64)
    assert mrr(whole_split_ranks(xq, xb)) >= 0.9
    # string records go through the same tokenizers and vocabularies as the dataset's ids
    torch.testing.assert_close(torch.from_numpy(xb), enc.encode_code(test), rtol=0, atol=1e-6)
    # the TensorBoard run has scalars and a projector sample
    assert list((out / "tb").glob("events.out.tfevents.*")) and (out / "tb" / "projector_config.pbtxt").exists()


def test_untrained_model_is_near_random(data):
    torch.manual_seed(0)
    m = validation_metrics(new_model(build_config("cpu", SMALL), data), split_arrays(CodeSearchDataset(data, "valid")))
    assert m["mrr"] < 0.1


def test_loss_decreases(data, tmp_path):
    rec = Recorder()
    make_trainer(data, tmp_path, epochs=2, callbacks=[rec]).fit()
    first, last = np.mean(rec.losses[:5]), np.mean(rec.losses[-5:])
    assert last < 0.5 * first


def test_checkpoint_reloads_to_identical_embeddings(data, tmp_path):
    trainer = make_trainer(data, tmp_path, epochs=1)
    trainer.fit()
    model = trainer.raw_model.eval()
    batch = split_arrays(CodeSearchDataset(data, "test"))
    with torch.no_grad():
        code, desc = model.encode_code(batch), model.encode_desc(batch["desc"], batch["desc_len"])
    bundle.save_model(model, tmp_path, build_config("cpu").data)
    for f in bundle.FIELDS:
        (tmp_path / f"vocab.{f}.json").write_bytes((data / f"vocab.{f}.json").read_bytes())
    enc = codenn.load(tmp_path)
    assert torch.equal(enc.encode_code(batch), code)
    assert torch.equal(enc.model.encode_desc(batch["desc"], batch["desc_len"]), desc)
    # and the resumable checkpoint holds the same weights
    again = make_trainer(data, tmp_path, epochs=1)
    assert again.resume() and again.state.step == trainer.state.step
    with torch.no_grad():
        assert torch.equal(again.raw_model.eval().encode_code(batch), code)


def test_interrupt_then_resume_continues_identically(data, tmp_path):
    ref = make_trainer(data, tmp_path / "ref", epochs=2)
    ref.fit()
    steps = ref.state.step
    first = make_trainer(data, tmp_path / "run", epochs=2, callbacks=[Recorder(interrupt_at=7)])
    with pytest.raises(Interrupted):
        first.fit()
    second = make_trainer(data, tmp_path / "run", epochs=2)
    # the flag raised during step 7 is seen by all processes at the end of the next step
    assert second.resume() and second.state.step == 8 and second.state.batch_in_epoch == 8
    second.fit()
    assert second.state.step == steps and second.state.epoch == 2
    # same data order, RNG and optimizer state: the resumed run ends where the uninterrupted one does
    for (k, a), b in zip(ref.raw_model.state_dict().items(), second.raw_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=k)


def test_resume_cli_continues_step_count(data, tmp_path):
    out = tmp_path / "model"
    assert cli(data, out, "--epochs", "1", "--no-test") == 0
    assert cli(data, out, "--epochs", "2", "--resume", "--no-test") == 0
    steps = [json.loads(line)["step"] for line in (out / "history.jsonl").read_text().splitlines()]
    assert steps == [20, 40]
    _, state = Checkpointer(out / "checkpoints").load()
    assert state["trainer"]["step"] == 40 and state["trainer"]["epoch"] == 2


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data, tmp_path):
    good = JointLoss(build_config("cpu").loss)
    calls = {"n": 0}

    def flaky(code, desc):
        calls["n"] += 1
        loss = good(code, desc)
        return loss * float("nan") if calls["n"] == 25 else loss  # step 25 is in epoch 2

    trainer = make_trainer(data, tmp_path, epochs=3, loss_fn=flaky)
    with pytest.raises(NonFiniteLoss, match="loss became nan at step 25"):
        trainer.fit()
    _, state = Checkpointer(tmp_path / "checkpoints").load()
    assert state["trainer"]["step"] == 20 and state["trainer"]["epoch"] == 1


def test_cli_rejects_bad_input(data, tmp_path, capsys):
    assert cli(data, tmp_path / "m", "--set", "model.layers=2") == 2
    assert "unknown config key 'model.layers'" in capsys.readouterr().err
    assert cli(tmp_path / "missing", tmp_path / "m") == 2
    assert "make dataset" in capsys.readouterr().err


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_gloo(data, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "codenn.train", "--data", str(data), "--out", str(out),
           "--epochs", "1", "--no-progress", "--no-test"]
    for s in SMALL:
        cmd += ["--set", s]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "x 2 processes" in proc.stdout
    _, state = Checkpointer(out / "checkpoints").load()
    assert state["world_size"] == 2 and state["trainer"]["step"] == 10  # 1280 pairs / 2 processes / 64
    assert (out / bundle.WEIGHTS).exists()
