"""A generic trainer: AdamW, warm-up + cosine, clipping, AMP on CUDA, DDP, checkpoints, early stopping.

It knows nothing of logging (callbacks do that) nor of where the best model goes (a callback too).
"""
from __future__ import annotations

import math
import signal
import threading
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .checkpoint import Checkpointer
from .config import TrainConfig
from .distributed import DistInfo, barrier
from .hooks import Callback, CallbackList

Batch = dict[str, torch.Tensor]


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite."""


class Interrupted(RuntimeError):
    """Ctrl-C stopped the run after its checkpoint was saved."""


@dataclass
class TrainState:
    """Counters that a checkpoint carries so that --resume continues where the run stopped."""

    step: int = 0
    epoch: int = 0                # completed epochs
    batch_in_epoch: int = 0       # batches of the current epoch already trained on
    best: float = -math.inf       # best validation MRR so far
    bad_epochs: int = 0           # validations since the last improvement
    improved: bool = False        # whether the latest validation improved
    stop_reason: str = ""


def warmup_cosine(total: int, warmup: int, min_ratio: float) -> Callable[[int], float]:
    """LR multiplier: linear warm-up over `warmup` steps, then cosine decay to min_ratio at `total`."""
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        p = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))
    return f


class Trainer:
    """Train `model` (whose forward(batch) gives (code, desc)) with `loss_fn(code, desc)`."""

    def __init__(self, cfg: TrainConfig, model: nn.Module, loss_fn, train_data: Batch,
                 evaluate: Callable[[nn.Module], dict], checkpointer: Checkpointer | None = None,
                 callbacks: list[Callback] = (), dist: DistInfo = DistInfo(), device=torch.device("cpu")):
        self.cfg, self.loss_fn, self.data, self.evaluate = cfg, loss_fn, train_data, evaluate
        self.checkpointer, self.callbacks, self.dist, self.device = checkpointer, CallbackList(callbacks), dist, device
        self.n = len(next(iter(train_data.values())))
        self.steps_per_epoch = (self.n // dist.world_size) // cfg.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(f"the training split has {self.n} pairs: fewer than one batch of "
                             f"{cfg.batch_size} per process ({dist.world_size} processes); lower train.batch_size")
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.raw_model = model.to(device)
        self.model = DDP(model, device_ids=[device] if device.type == "cuda" else None) if dist.enabled else model
        # fused: one kernel over all parameters, ~5x faster than the per-tensor loop on CPU
        self.optimizer = torch.optim.AdamW(self.raw_model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                           fused=True)
        warm = max(1, round(cfg.warmup * self.total_steps))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, warmup_cosine(self.total_steps, warm, cfg.min_lr_ratio))
        self.amp = cfg.amp and device.type == "cuda"
        # fp16 + loss scaling: cuDNN's LSTM kernels all take fp16, not all take bf16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.state = TrainState()
        self._interrupt = False

    # ----- state -----
    def state_dict(self) -> dict:
        """Everything but the weights that resuming needs."""
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        gen = getattr(self.loss_fn, "generator", None)
        if gen is not None:
            rng["loss"] = gen.get_state()
        return {"trainer": asdict(self.state), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng,
                "world_size": self.dist.world_size}

    def load_state_dict(self, sd: dict, model_state: dict) -> None:
        self.raw_model.load_state_dict(model_state)
        self.optimizer.load_state_dict(sd["optimizer"])
        self.scheduler.load_state_dict(sd["scheduler"])
        if sd["scaler"]:
            self.scaler.load_state_dict(sd["scaler"])
        self.state = TrainState(**sd["trainer"])
        rng = sd["rng"]
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        if "loss" in rng and getattr(self.loss_fn, "generator", None) is not None:
            self.loss_fn.generator.set_state(rng["loss"])

    def resume(self) -> bool:
        """Load the last checkpoint if there is one; True when it did."""
        loaded = self.checkpointer.load() if self.checkpointer else None
        if loaded is None:
            return False
        model_state, sd = loaded
        if sd.get("world_size", 1) != self.dist.world_size:
            raise ValueError(f"the checkpoint was written by {sd.get('world_size')} processes, this run has "
                             f"{self.dist.world_size}: resume with the same number")
        self.load_state_dict(sd, model_state)
        return True

    # ----- data -----
    def epoch_batches(self, epoch: int) -> list[torch.Tensor]:
        """This process's batches of an epoch: a seeded shuffle, split evenly across processes."""
        g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        perm = torch.randperm(self.n, generator=g)
        local = perm[self.dist.rank :: self.dist.world_size]
        B = self.cfg.batch_size
        return [local[i * B : (i + 1) * B] for i in range(self.steps_per_epoch)]

    def gather(self, idx: torch.Tensor) -> Batch:
        return {k: v[idx].to(self.device, non_blocking=True) for k, v in self.data.items()}

    # ----- loop -----
    def train_step(self, batch: Batch) -> dict:
        """One optimisation step; return its scalars."""
        self.model.train()
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.amp):
            code, desc = self.model(batch)
            # objectives with targets beyond the pair (teacher vectors) read them from the batch
            loss = (self.loss_fn(code, desc, batch) if getattr(self.loss_fn, "wants_batch", False)
                    else self.loss_fn(code, desc))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        grad_norm = nn.utils.clip_grad_norm_(self.raw_model.parameters(), self.cfg.grad_clip)
        lr = self.scheduler.get_last_lr()[0]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        # one collective per step: the mean loss and whether any process was asked to stop
        flags = torch.stack([loss.detach().float(), torch.tensor(float(self._interrupt), device=loss.device)])
        if self.dist.enabled:
            torch.distributed.all_reduce(flags)
            flags[0] /= self.dist.world_size
        loss_v, stop = flags.tolist()
        return {"loss": loss_v, "grad_norm": float(grad_norm), "lr": lr, "stop": stop > 0,
                "examples": len(code) * self.dist.world_size}

    def fit(self) -> TrainState:
        """Train until the last epoch or early stopping; Ctrl-C saves a checkpoint and raises Interrupted."""
        s = self.state
        self.callbacks.on_train_start(self)
        restore = self._catch_sigint()
        try:
            while s.epoch < self.cfg.epochs and not s.stop_reason:
                self.callbacks.on_epoch_start(self)
                for idx in self.epoch_batches(s.epoch)[s.batch_in_epoch :]:
                    logs = self.train_step(self.gather(idx))
                    if not math.isfinite(logs["loss"]):
                        raise NonFiniteLoss(self._nan_message(logs["loss"]))
                    s.step += 1
                    s.batch_in_epoch += 1
                    self.callbacks.on_step_end(self, logs)
                    if logs["stop"]:
                        self.save_checkpoint()  # before stop_reason is set, so that --resume carries on
                        s.stop_reason = "interrupted"
                        raise Interrupted(f"interrupted at step {s.step}: checkpoint saved, continue with --resume")
                s.epoch += 1
                s.batch_in_epoch = 0
                self.end_epoch()
            if not s.stop_reason:
                s.stop_reason = "finished"
        finally:
            restore()
        self.callbacks.on_train_end(self)
        return s

    def end_epoch(self) -> None:
        """Validate, keep the best, checkpoint, and decide on early stopping."""
        s = self.state
        metrics = self.evaluate(self.raw_model)
        s.improved = metrics["mrr"] > s.best + 1e-9
        if s.improved:
            s.best, s.bad_epochs = metrics["mrr"], 0
        else:
            s.bad_epochs += 1
        if s.bad_epochs >= self.cfg.patience:
            s.stop_reason = f"early stop: no better validation MRR for {s.bad_epochs} epochs"
        self.callbacks.on_eval_end(self, metrics)
        self.save_checkpoint()

    def save_checkpoint(self) -> None:
        if self.checkpointer is not None and self.dist.is_main:
            self.checkpointer.save(self.raw_model.state_dict(), self.state_dict())
        barrier(self.dist)

    def _nan_message(self, value: float) -> str:
        s = self.state
        where = self.checkpointer.describe() if self.checkpointer else "no checkpoint"
        return (f"loss became {value} at step {s.step + 1} (epoch {s.epoch + 1}): stopping; the last good "
                f"checkpoint is kept ({where}); lower train.lr or train.grad_clip and --resume")

    def _catch_sigint(self) -> Callable[[], None]:
        """First Ctrl-C: finish the step, save, stop. A second one: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            if self._interrupt:
                raise KeyboardInterrupt
            self._interrupt = True

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, previous)
