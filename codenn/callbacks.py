"""Trainer callbacks: progress bar, TensorBoard, JSON history, best-model saving. The loop knows none of them."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from .hooks import Callback


class ProgressCallback(Callback):
    """A tqdm bar per epoch and one summary line per validation."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar = enabled, None

    def on_epoch_start(self, trainer):
        s = trainer.state
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=s.batch_in_epoch, unit="step",
                        desc=f"epoch {s.epoch + 1}/{trainer.cfg.epochs}", disable=not self.enabled, leave=False)

    def on_step_end(self, trainer, logs):
        if self.bar is not None:
            self.bar.update()
            if "loss" in logs:
                self.bar.set_postfix(loss=f"{logs['loss']:.4f}", lr=f"{logs['lr']:.2e}")

    def on_eval_end(self, trainer, metrics):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        s = trainer.state
        flag = " (best)" if s.improved else ""
        tqdm.write(f"epoch {s.epoch}: step {s.step}, valid MRR {metrics['mrr']:.4f}, "
                   f"SR@1/5/10 {metrics['sr@1']:.3f}/{metrics['sr@5']:.3f}/{metrics['sr@10']:.3f}{flag}")

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()


class ScalarMeter(Callback):
    """Average the step scalars between logs and measure examples/s; subclasses write them somewhere."""

    def __init__(self, every: int):
        self.every = max(1, every)
        self._reset()

    def _reset(self):
        self.sums, self.count, self.examples, self.t0 = {}, 0, 0, time.perf_counter()

    def on_epoch_start(self, trainer):
        self._reset()  # evaluation time must not count against throughput

    def on_step_end(self, trainer, logs):
        for k in ("loss", "grad_norm"):
            self.sums[k] = self.sums.get(k, 0.0) + logs[k]
        self.count += 1
        self.examples += logs["examples"]
        if self.count >= self.every:
            dt = max(time.perf_counter() - self.t0, 1e-9)
            scalars = {f"train/{k}": v / self.count for k, v in self.sums.items()}
            scalars["train/lr"] = logs["lr"]
            scalars["train/examples_per_s"] = self.examples / dt
            self.write(trainer.state.step, scalars)
            self._reset()

    def write(self, step: int, scalars: dict[str, float]) -> None:
        raise NotImplementedError


class TensorBoardCallback(ScalarMeter):
    """Training loss, learning rate, gradient norm, examples/s, validation metrics and a projector sample."""

    def __init__(self, logdir: str | Path, every: int = 20, projector: Callable | None = None):
        super().__init__(every)
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(logdir))
        self.projector = projector  # () -> (vectors (N, D), labels list[str]) for the current model

    def write(self, step, scalars):
        for k, v in scalars.items():
            self.writer.add_scalar(k, v, step)

    def on_eval_end(self, trainer, metrics):
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and k != "n":
                self.writer.add_scalar(f"valid/{k.replace('@', '_at_')}", v, trainer.state.step)
        self.writer.flush()

    def on_train_end(self, trainer):
        if self.projector is not None and trainer.state.step > 0:
            vectors, labels = self.projector()
            self.writer.add_embedding(torch.as_tensor(vectors), metadata=labels,
                                      global_step=trainer.state.step, tag="code_vectors")
        self.writer.close()


class HistoryCallback(Callback):
    """Append one JSON line per validation (step, epoch, metrics) to a file, for scripts."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_eval_end(self, trainer, metrics):
        s = trainer.state
        rec = {"epoch": s.epoch, "step": s.step, "improved": s.improved, "time": time.time(), **metrics}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


class BestModelCallback(Callback):
    """Call save(model) whenever validation MRR improves."""

    def __init__(self, save: Callable[[torch.nn.Module], None]):
        self.save = save

    def on_eval_end(self, trainer, metrics):
        if trainer.state.improved:
            self.save(trainer.raw_model)
