"""Wire a training run together: corpus -> tokenizer -> packed segments -> model -> Trainer."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist

from codegen import checkpoint
from codegen.callbacks import Checkpointer, MetricsWriter, TensorBoardLogger
from codegen.config import ModelConfig
from codegen.data import encode_and_pack, load_samples, split_and_cap
from codegen.model import CodeGeeX
from codegen.tokenizer import CodeTokenizer, TokenizerConfig, train_from_samples
from codegen.trainer import TrainConfig, Trainer


def _round_up(n: int, multiple: int = 64) -> int:
    return (n + multiple - 1) // multiple * multiple


def _barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def prepare_tokenizer(out: Path, train_samples, dcfg, given: str | None, resumed: bool,
                      rank: int, world: int) -> CodeTokenizer:
    """Reuse the run's tokenizer, copy a given one, or train one on the training split (rank 0)."""
    path = out / checkpoint.TOKENIZER
    if rank == 0 and not resumed:
        if given:
            tok = CodeTokenizer.from_file(given)
        else:
            tok = train_from_samples(train_samples, TokenizerConfig(vocab_size=dcfg.vocab_size))
        tok.save(path)
    _barrier(world)
    return CodeTokenizer.from_file(path)


def _clear_run(out: Path) -> None:
    # --fresh: stale resume state and old TensorBoard curves would mix with the new run.
    for p in list(out.glob("events.out.tfevents.*")) + [out / checkpoint.STATE]:
        p.unlink(missing_ok=True)


def resolve_device(name: str, local_rank: int) -> torch.device:
    """Map auto/cpu/cuda to a device (one GPU per torchrun process)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no GPU available")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device("cpu")


def run_training(args, mcfg: ModelConfig, tcfg: TrainConfig, dcfg) -> dict | None:
    """Train as the CLI asked; return a summary on rank 0 (None on other ranks)."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = resolve_device(args.device, int(os.environ.get("LOCAL_RANK", 0)))
    if world > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return _train(args, mcfg, tcfg, dcfg, device, rank, world)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _train(args, mcfg, tcfg, dcfg, device, rank, world):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.fresh and rank == 0:
        _clear_run(out)
    _barrier(world)
    state = checkpoint.load_state(out, "cpu")
    if state is not None:
        saved = json.loads((out / checkpoint.CONFIG).read_text(encoding="utf-8"))
        mcfg = ModelConfig.from_dict(saved["model"])  # the shape is fixed once training started
    samples = load_samples(args.functions, args.files)
    train_s, held_s = split_and_cap(samples, dcfg.valid_fraction, dcfg.max_chars, tcfg.seed)
    tok = prepare_tokenizer(out, train_s, dcfg, args.tokenizer, state is not None, rank, world)
    if state is None:
        mcfg = dataclasses.replace(mcfg, vocab_size=_round_up(tok.vocab_size))
    elif tok.vocab_size > mcfg.vocab_size:
        raise ValueError(f"{out}: tokenizer and checkpoint disagree on the vocabulary")
    train = encode_and_pack(tok, train_s, mcfg.n_ctx, tcfg.seed)
    valid = encode_and_pack(tok, held_s, mcfg.n_ctx, tcfg.seed)

    torch.manual_seed(tcfg.seed)
    model = CodeGeeX(mcfg).to(device)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    trainer = Trainer(tcfg, net, train, valid, device, rank, world)
    if state is not None:
        trainer.load_state_dict(state)
    metrics = MetricsWriter(out)
    if rank == 0:
        inputs = {"functions": args.functions and os.path.abspath(args.functions),
                  "files": [os.path.abspath(f) for f in args.files]}
        extra = {"train": dataclasses.asdict(tcfg), "data": dataclasses.asdict(dcfg),
                 "preset": args.config, "inputs": inputs}
        trainer.add_callback(TensorBoardLogger(out))
        trainer.add_callback(Checkpointer(out, extra))
        trainer.add_callback(metrics)
    start_step, start_tokens = trainer.step, trainer.tokens_seen
    trainer.run(progress=not args.no_progress)
    if rank != 0:
        return None
    return {"out": str(out), "device": str(device), "world_size": world,
            "params": model.num_params(), "vocab_size": mcfg.vocab_size,
            "train_segments": len(train), "valid_segments": len(valid), "seq_len": mcfg.n_ctx,
            "steps_run": trainer.step - start_step,
            "train_tokens_per_s": round((trainer.tokens_seen - start_tokens)
                                        / max(trainer.train_seconds, 1e-9), 1),
            **metrics.metrics}
