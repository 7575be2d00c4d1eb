"""`make train`: train CODEnn on a dataset folder into a model folder.

python -m codenn.train --data data/dataset --out data/model --config cpu [--set train.lr=1e-3] [--resume]
torchrun --nproc_per_node 2 -m codenn.train ...   (DistributedDataParallel: nccl on GPUs, gloo on CPU)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from codesearch_common.fsutil import atomic_open
from preprocess.reader import CodeSearchDataset
from preprocess.text import Vocab
from . import bundle
from .callbacks import BestModelCallback, HistoryCallback, ProgressCallback, TensorBoardCallback
from .checkpoint import Checkpointer
from .config import PRESETS, RunConfig, build_config, parse_override, set_value, validated
from .distributed import DistInfo, setup, teardown
from .evaluate import encode_pairs, split_arrays, split_metrics, validation_metrics
from .factory import build_model, make_loss
from .init import init_bag_model
from .trainer import Interrupted, NonFiniteLoss, Trainer
from .vocab import shared_remaps

RUN_CONFIG = "run_config.json"
FLAGS = {"epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr", "seed": "train.seed",
         "device": "train.device", "loss": "loss.kind", "threads": "train.threads"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m codenn.train", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="dataset folder (make dataset)")
    p.add_argument("--out", required=True, help="model folder: weights, config, vocabularies, checkpoints, TensorBoard events")
    p.add_argument("--config", default="cpu", choices=sorted(PRESETS), help="preset (default: cpu)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value, e.g. --set model.pool=mean (repeatable)")
    p.add_argument("--functions", help="functions.csv the dataset was built from (loss.kind=distill reads "
                   "each pair's code for the teacher; default: DATA/../functions.csv)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--loss", choices=("inbatch", "margin", "distill"))
    p.add_argument("--threads", type=int)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-test", action="store_true", help="skip the test-split evaluation at the end")
    return p.parse_args(argv)


def resolve_config(args: argparse.Namespace, out: Path) -> RunConfig:
    """The preset (or, with --resume, the run's saved config) with --set and explicit flags on top."""
    overrides = [parse_override(o) for o in args.set]
    overrides += [(key, getattr(args, flag)) for flag, key in FLAGS.items() if getattr(args, flag) is not None]
    saved = out / RUN_CONFIG
    if args.resume and saved.exists():
        cfg = RunConfig.from_dict(json.loads(saved.read_text(encoding="utf-8")))
        for key, value in overrides:
            set_value(cfg, key, value)
        return validated(cfg)
    return build_config(args.config, dict(overrides))


def pairs_by_language(data_dir: Path) -> dict:
    """Training pairs per split and language, as the dataset step counted them (for the model's manifest)."""
    try:
        stats = json.loads((Path(data_dir) / "stats.json").read_text(encoding="utf-8"))["stats"]
    except (OSError, ValueError, KeyError):
        return {}
    return stats.get("pairs_by_language") or {s: {"python": n} for s, n in stats.get("pairs", {}).items()}


def load_vocabs(data_dir: Path) -> dict[str, Vocab]:
    vocabs = {}
    for field in bundle.FIELDS:
        path = data_dir / bundle.vocab_file(field)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `make dataset` first")
        vocabs[field] = Vocab.load(path)
    return vocabs


def fit_vocabularies(cfg: RunConfig, vocabs: dict[str, Vocab]) -> dict | None:
    """Set cfg.model's vocabulary sizes; return the field -> shared id tables when embeddings are shared."""
    for field, v in vocabs.items():
        setattr(cfg.model, f"n_{field}", len(v))
    if cfg.model.share_embeddings and cfg.model.arch == "lstm":  # the bag model has its own shared vocabulary
        cfg.model.n_shared, remaps = shared_remaps(vocabs)
        return remaps
    return None


def projector_sample(model, arrays: dict, name_vocab: Vocab, size: int, seed: int):
    """() -> (code vectors, function-name labels) of a fixed random sample of validation functions."""
    n = len(arrays["name"])
    idx = torch.from_numpy(np.random.default_rng(seed).permutation(n)[: min(size, n)])
    sample = {k: v[idx] for k, v in arrays.items()}
    labels = ["_".join(name_vocab.decode(row[:ln].tolist())) or "<empty>"
              for row, ln in zip(sample["name"], sample["name_len"])]

    def make():
        _, xb = encode_pairs(model, sample)
        return xb, labels
    return make


def prepare_out(out: Path, data: Path, cfg: RunConfig, resume: bool) -> Checkpointer:
    """Create the model folder, copy the vocabularies, record the resolved config; a fresh run clears old state."""
    out.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpointer(out / "checkpoints")
    if not resume:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        shutil.rmtree(out / "tb", ignore_errors=True)
        # stale weights next to fresh vocabularies would be a model that silently mis-reads its input
        for name in ("history.jsonl", "metrics.json", bundle.WEIGHTS, bundle.CONFIG):
            (out / name).unlink(missing_ok=True)
    bundle.copy_vocabs(data, out)
    with atomic_open(out / RUN_CONFIG, "w", encoding="utf-8") as f:
        json.dump(cfg.to_dict(), f, indent=2)
    return ckpt


def auto_threads() -> int:
    """This process's share of the idle cores (at least 1).

    OpenMP threads spin while they wait for each other: on cores that other jobs keep busy, two
    threads ran 5-10x slower than one here, while on an idle machine two beat one.
    """
    cores = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, int((os.cpu_count() or 1) - busy)))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(args: argparse.Namespace) -> int:
    """Run one training job; return the process exit status."""
    t0 = time.perf_counter()
    data, out = Path(args.data), Path(args.out)
    if not data.is_dir():
        raise FileNotFoundError(f"{data} is not a folder: run `make dataset` first")
    cfg = resolve_config(args, out)
    remaps = fit_vocabularies(cfg, load_vocabs(data))
    torch.set_num_threads(cfg.train.threads or auto_threads())
    dist_info, device = setup(cfg.train.device)
    try:
        return run(args, cfg, data, out, dist_info, device, t0, remaps)
    finally:
        teardown()


def run(args, cfg: RunConfig, data: Path, out: Path, dist_info: DistInfo, device, t0: float, remaps=None) -> int:
    seed_everything(cfg.train.seed)
    max_lens = cfg.data.max_lens()
    train_arrays = split_arrays(CodeSearchDataset(data, "train", max_lens))
    valid_arrays = split_arrays(CodeSearchDataset(data, "valid", max_lens))
    if len(valid_arrays.get("desc", [])) == 0:
        raise ValueError(f"{data}: the valid split is empty; the trainer selects its model on it")
    main = dist_info.is_main
    ckpt = prepare_out(out, data, cfg, args.resume) if main else Checkpointer(out / "checkpoints")
    if dist_info.enabled:
        torch.distributed.barrier()  # every process sees the cleared folder before anyone writes to it
    model = build_model(cfg.model)
    if remaps is not None:
        model.set_remaps(remaps)
    if cfg.model.arch == "bag":
        init_bag_model(model, cfg.model, train_arrays, data)
    loss_fn = make_loss(cfg.loss, torch.Generator().manual_seed(cfg.train.seed + dist_info.rank))
    meta = {"data": str(data), "train_pairs": len(train_arrays["desc"]), "loss": cfg.loss.kind,
            "pairs_by_language": pairs_by_language(data)}
    evaluate = lambda m: validation_metrics(m, valid_arrays, cfg.train.eval_batch_size)
    meta_of = lambda m: meta
    if cfg.loss.kind == "distill":
        from .distill_train import attach_targets, asymmetric_metrics, static_shift
        attach_targets(train_arrays, valid_arrays, data, functions_csv(args, data), cfg.teacher,
                       progress=not args.no_progress)
        evaluate = lambda m: asymmetric_metrics(m, valid_arrays, cfg.train.eval_batch_size)
        meta["index_teacher"] = cfg.teacher.to_dict()
        meta_of = lambda m: {**meta, "static_shift": static_shift(m, train_arrays, cfg.train.eval_batch_size)}
    callbacks = []
    if main:
        name_vocab = Vocab.load(out / bundle.vocab_file("name"))
        projector = projector_sample(model, valid_arrays, name_vocab, cfg.train.projector_size, cfg.train.seed)
        callbacks = [ProgressCallback(not args.no_progress),
                     TensorBoardCallback(out / "tb", cfg.train.log_every,
                                         projector if cfg.train.projector_size > 0 else None),
                     HistoryCallback(out / "history.jsonl"),
                     BestModelCallback(lambda m: bundle.save_model(m, out, cfg.data, meta_of(m)))]
    trainer = Trainer(cfg.train, model, loss_fn, train_arrays, evaluate, ckpt, callbacks, dist_info, device)
    if args.resume:
        if trainer.resume():
            say(main, f"resuming at step {trainer.state.step} (epoch {trainer.state.epoch + 1}, "
                      f"batch {trainer.state.batch_in_epoch})")
        else:
            say(main, f"no checkpoint under {out / 'checkpoints'}: starting afresh")
    say(main, f"{model.num_parameters():,} parameters, {len(train_arrays['desc']):,} training pairs, "
              f"{trainer.steps_per_epoch} steps/epoch x {cfg.train.epochs} epochs on {device}"
              f"{f' x {dist_info.world_size} processes' if dist_info.enabled else ''}, loss {cfg.loss.kind}")
    try:
        state = trainer.fit()
    except NonFiniteLoss as e:
        return fail(main, str(e), 1)
    except Interrupted as e:
        return fail(main, str(e), 130)
    say(main, f"{state.stop_reason} at step {state.step}; best valid MRR {state.best:.4f}; model in {out}")
    if main and not args.no_test:
        report_test(out, data, cfg, time.perf_counter() - t0, functions_csv(args, data), not args.no_progress)
    return 0


def functions_csv(args: argparse.Namespace, data: Path) -> Path:
    """The functions.csv the dataset was built from: --functions, else the one beside the dataset folder."""
    return Path(args.functions) if args.functions else data.parent / "functions.csv"


def report_test(out: Path, data: Path, cfg: RunConfig, train_seconds: float, functions: Path | None = None,
                progress: bool = True) -> None:
    """Evaluate the best model on the test split (both protocols) into metrics.json.

    A distilled model is scored as the index uses it: static queries against the teacher's code vectors.
    """
    if not (data / "test.desc.h5").exists() or not (out / bundle.WEIGHTS).exists():
        return
    test = split_arrays(CodeSearchDataset(data, "test", cfg.data.max_lens()))
    if len(test["desc"]) == 0:
        return
    model = bundle.load_model(out)
    if cfg.loss.kind == "distill":
        from .distill_train import asymmetric_test
        res = asymmetric_test(model, data, functions, cfg.teacher, test, cfg.train.eval_batch_size, progress)
    else:
        res = split_metrics(model, test, cfg.train.eval_batch_size, seed=0)  # the pools benchmarks/ uses too
    res["wall_seconds"] = round(train_seconds, 1)
    with atomic_open(out / "metrics.json", "w", encoding="utf-8") as f:
        json.dump(res, f, indent=2)
    for proto in ("whole", "pool1000"):
        m = res[proto]
        print(f"test ({proto}, n={m['n']}): MRR {m['mrr']:.4f}, SR@1/5/10 "
              f"{m['sr@1']:.3f}/{m['sr@5']:.3f}/{m['sr@10']:.3f}, nDCG@10 {m['ndcg@10']:.4f}")


def say(main: bool, msg: str) -> None:
    if main:
        print(msg, flush=True)


def fail(main: bool, msg: str, code: int) -> int:
    if main:
        print(f"error: {msg}" if code != 130 else msg, file=sys.stderr, flush=True)
    return code


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return train(args)
    except KeyboardInterrupt:  # a second Ctrl-C: stop without saving
        print("interrupted twice: stopped without saving; --resume continues from the previous checkpoint",
              file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
