"""Generic LM training loop: AdamW, warm-up + cosine, autocast, accumulation, DDP; callbacks log."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping; the model shape lives in ModelConfig."""

    max_steps: int = 300
    batch_size: int = 16  # segments per micro-batch per process
    grad_accum: int = 1  # micro-batches per optimizer step
    lr_max: float = 2e-3
    lr_min: float = 2e-4
    warmup_steps: int = 20
    decay_steps: int = 0  # n_decay of the cosine; 0 means max_steps - warmup_steps
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    dtype: str = "auto"  # auto (bf16 on GPUs that have it, else fp16; fp32 on CPU) | fp32 | bf16 | fp16
    eval_interval: int = 100
    eval_segments: int = 64  # held-out segments per periodic evaluation (all at the end)
    log_interval: int = 10
    ckpt_interval: int = 100
    seed: int = 1337


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then lr_min + 0.5 (lr_max - lr_min)(1 + cos(pi n / n_decay)), then lr_min."""
    if step < cfg.warmup_steps:
        return cfg.lr_max * (step + 1) / cfg.warmup_steps
    n_decay = cfg.decay_steps or max(cfg.max_steps - cfg.warmup_steps, 1)
    n = min(step - cfg.warmup_steps, n_decay)
    return cfg.lr_min + 0.5 * (cfg.lr_max - cfg.lr_min) * (1 + math.cos(math.pi * n / n_decay))


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """Pick the autocast dtype; fp32 means autocast off."""
    if name == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    table = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name not in table:
        raise ValueError(f"dtype must be auto, fp32, bf16 or fp16, got {name!r}")
    return table[name]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy, softmax in fp32."""
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not biases, LayerNorms); frozen params skipped."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr_max, betas=(cfg.beta1, cfg.beta2))


class Trainer:
    """Train a `model(idx) -> logits` on packed (N, T + 1) segments; callbacks observe events."""

    def __init__(self, cfg: TrainConfig, model: nn.Module, train: torch.Tensor,
                 valid: torch.Tensor | None = None, device: str | torch.device = "cpu",
                 rank: int = 0, world_size: int = 1):
        self.cfg, self.model, self.device = cfg, model, torch.device(device)
        self.raw_model = getattr(model, "module", model)  # unwrap DDP
        self.train, self.valid = train, valid
        self.rank, self.world_size = rank, world_size
        self.dtype = resolve_dtype(cfg.dtype, self.device)
        self.optimizer = make_optimizer(self.raw_model, cfg)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.step = 0
        self.tokens_seen = 0
        self.train_seconds = 0.0  # wall time inside train_step, for tokens/s without eval or I/O
        self.callbacks: list = []

    def add_callback(self, cb) -> None:
        """Register an object with optional on_step / on_eval / on_checkpoint / on_end methods."""
        self.callbacks.append(cb)

    def _emit(self, event: str, **info) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, event, None)
            if fn is not None:
                fn(self, **info)

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _batch(self, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Stateless draw seeded by (step, micro-batch, rank): a resumed run sees the same batches.
        g = torch.Generator().manual_seed(self.cfg.seed + 1_000_003 * self.step + 7919 * micro + self.rank)
        rows = torch.randint(len(self.train), (self.cfg.batch_size,), generator=g)
        seg = self.train[rows].to(self.device, non_blocking=True)
        return seg[:, :-1], seg[:, 1:]

    def train_step(self) -> float:
        """Run one optimizer step (grad_accum micro-batches); return the mean loss."""
        t0 = time.perf_counter()
        self.model.train()
        lr = lr_at(self.step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for micro in range(self.cfg.grad_accum):
            x, y = self._batch(micro)
            last = micro == self.cfg.grad_accum - 1
            # DDP: all-reduce gradients only on the last micro-batch.
            sync = contextlib.nullcontext() if last or self.world_size == 1 else self.model.no_sync()
            with sync:
                with self._autocast():
                    loss = lm_loss(self.model(x), y) / self.cfg.grad_accum
                self.scaler.scale(loss).backward()
            total += loss.item()
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.raw_model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens_seen += self.cfg.grad_accum * self.cfg.batch_size * x.size(1) * self.world_size
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.train_seconds += time.perf_counter() - t0
        return total

    @torch.no_grad()
    def evaluate(self, max_segments: int = 0) -> dict:
        """Return held-out mean loss and perplexity over the first `max_segments` (0: all)."""
        segs = self.valid if not max_segments else self.valid[:max_segments]
        loss = evaluate_loss(self.raw_model, segs, self.cfg.batch_size, self.device, self._autocast)
        return {"loss": loss, "perplexity": math.exp(loss)}

    def run(self, progress: bool = True) -> None:
        """Train from the current step to max_steps, calling back on log/eval/checkpoint/end."""
        from tqdm import tqdm

        bar = tqdm(total=self.cfg.max_steps, initial=self.step, disable=not progress or self.rank,
                   desc="train", unit="step")
        t0, tok0 = time.perf_counter(), self.tokens_seen
        while self.step < self.cfg.max_steps:
            loss = self.train_step()
            bar.update(1)
            if self.step % self.cfg.log_interval == 0 or self.step == self.cfg.max_steps:
                dt = time.perf_counter() - t0
                tps = (self.tokens_seen - tok0) / dt if dt > 0 else 0.0
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tps:.0f}")
                self._emit("on_step", loss=loss, lr=lr_at(self.step - 1, self.cfg), tokens_per_s=tps)
                t0, tok0 = time.perf_counter(), self.tokens_seen
            if self.valid is not None and self.step % self.cfg.eval_interval == 0:
                self._emit("on_eval", metrics=self.evaluate(self.cfg.eval_segments))
            if self.step % self.cfg.ckpt_interval == 0 or self.step == self.cfg.max_steps:
                self._emit("on_checkpoint")
        bar.close()
        final = self.evaluate() if self.valid is not None else {}
        self._emit("on_end", metrics=final)

    def state_dict(self) -> dict:
        """Return everything needed to resume: weights, optimizer, scaler, counters."""
        return {"model": self.raw_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "step": self.step,
                "tokens_seen": self.tokens_seen}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state written by `state_dict`."""
        self.raw_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.tokens_seen = state["step"], state["tokens_seen"]


@torch.no_grad()
def evaluate_loss(model: nn.Module, segments: torch.Tensor, batch_size: int,
                  device: str | torch.device = "cpu", autocast=contextlib.nullcontext) -> float:
    """Return the token-weighted mean next-token loss of `model` over (N, T + 1) segments."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(segments), batch_size):
        seg = segments[i:i + batch_size].to(device)
        x, y = seg[:, :-1], seg[:, 1:]
        with autocast():
            logits = model(x)
        total += F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / max(count, 1)
