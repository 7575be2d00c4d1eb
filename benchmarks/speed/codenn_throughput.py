"""CODEnn training throughput (examples/s) and encoding speed on this machine's CPU or GPU.

python -m benchmarks.speed.codenn_throughput --data data/dataset --config cpu --threads 1 2 [--steps 30]

Runs real optimisation steps (the trainer's own train_step: forward, loss, backward, clipping,
fused AdamW) over random training batches, after a few warm-up steps. The load average is printed
beside the figures: on a shared machine other jobs slow it down; examples per CPU-second is the
load-independent figure (one busy core).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from codenn.config import build_config
from codenn.evaluate import encode_pairs, split_arrays
from codenn.loss import JointLoss
from codenn.model import JointEmbedder
from codenn.train import fit_vocabularies, load_vocabs
from codenn.trainer import Trainer
from preprocess.reader import CodeSearchDataset


def measure(data: Path, preset: str, overrides: list[str], threads: int, steps: int, device: str) -> dict:
    torch.set_num_threads(threads)
    cfg = build_config(preset, overrides + [f"train.device={device}"])
    remaps = fit_vocabularies(cfg, load_vocabs(data))
    arrays = split_arrays(CodeSearchDataset(data, "train", cfg.data.max_lens()))
    dev = torch.device("cuda" if device == "cuda" else "cpu")
    torch.manual_seed(0)
    model = JointEmbedder(cfg.model)
    if remaps is not None:
        model.set_remaps(remaps)
    trainer = Trainer(cfg.train, model, JointLoss(cfg.loss), arrays,
                      evaluate=lambda m: {}, device=dev)
    batches = trainer.epoch_batches(0)
    warm = 3
    for i in range(warm):
        trainer.train_step(trainer.gather(batches[i]))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for i in range(warm, warm + steps):
        logs = trainer.train_step(trainer.gather(batches[i % len(batches)]))
        n += logs["examples"]
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    sample = {k: v[:4096] for k, v in arrays.items()}
    encode_pairs(trainer.raw_model, sample, cfg.train.eval_batch_size)
    enc_s = time.perf_counter() - t0
    return {"preset": preset, "device": str(dev), "threads": threads, "batch_size": cfg.train.batch_size,
            "params": trainer.raw_model.num_parameters(), "steps": steps,
            "train_examples_per_s": round(n / train_s, 1),
            # examples per CPU-second: what one idle core would do, whatever the machine's load
            "train_examples_per_cpu_s": round(n / cpu_s, 1), "encode_pairs_per_s": round(len(sample["desc"]) / enc_s, 1),
            "loadavg_1min": round(os.getloadavg()[0], 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/dataset")
    p.add_argument("--config", default="cpu")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=("cpu", "cuda"))
    p.add_argument("--json")
    args = p.parse_args(argv)
    try:
        rows = [measure(Path(args.data), args.config, args.set, t, args.steps, args.device) for t in args.threads]
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in rows:
        print(json.dumps(r))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
