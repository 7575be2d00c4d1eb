"""Trainer callbacks: TensorBoard scalars, checkpoints, final metrics (rank 0 only)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from codegen import checkpoint
from codesearch_common.fsutil import atomic_open


class TensorBoardLogger:
    """Write loss, perplexity, lr and tokens/s to TensorBoard event files in `log_dir`."""

    def __init__(self, log_dir: str | Path):
        from torch.utils.tensorboard import SummaryWriter  # tensorboard is heavy; import on use

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_step(self, trainer, loss: float, lr: float, tokens_per_s: float) -> None:
        s = trainer.step
        self.writer.add_scalar("train/loss", loss, s)
        self.writer.add_scalar("train/perplexity", math.exp(min(loss, 50.0)), s)
        self.writer.add_scalar("train/lr", lr, s)
        self.writer.add_scalar("train/tokens_per_s", tokens_per_s, s)
        self.writer.add_scalar("train/tokens_seen", trainer.tokens_seen, s)

    def on_eval(self, trainer, metrics: dict) -> None:
        self.writer.add_scalar("valid/loss", metrics["loss"], trainer.step)
        self.writer.add_scalar("valid/perplexity", metrics["perplexity"], trainer.step)
        self.writer.flush()

    def on_end(self, trainer, metrics: dict) -> None:
        if metrics:
            self.on_eval(trainer, metrics)
        self.writer.close()


class Checkpointer:
    """Save the sampling folder (weights, config) and the resumable state on each checkpoint."""

    def __init__(self, out: str | Path, extra_config: dict):
        self.out, self.extra = Path(out), extra_config

    def on_checkpoint(self, trainer) -> None:
        checkpoint.save_model(self.out, trainer.raw_model, self.extra)
        checkpoint.save_state(self.out, trainer.state_dict())


class MetricsWriter:
    """Write the final held-out metrics to metrics.json and remember them."""

    def __init__(self, out: str | Path):
        self.path = Path(out) / "metrics.json"
        self.metrics: dict = {}

    def on_end(self, trainer, metrics: dict) -> None:
        self.metrics = {"step": trainer.step, "tokens_seen": trainer.tokens_seen,
                        "valid_loss": metrics.get("loss"), "valid_perplexity": metrics.get("perplexity")}
        with atomic_open(self.path, "w", encoding="utf-8") as f:
            json.dump(self.metrics, f, indent=2)
