"""Run configuration: each component's dataclass, named presets, and checked `section.key=value` overrides."""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field

from .code_teacher import TeacherConfig
from .loss import LossConfig
from .model import ModelConfig


@dataclass
class DataConfig:
    """Fixed sequence lengths the reader pads or truncates to (the DeepCS defaults)."""

    name_len: int = 6
    apiseq_len: int = 30
    tokens_len: int = 50
    desc_len: int = 30

    def max_lens(self) -> dict[str, int]:
        return {"name": self.name_len, "apiseq": self.apiseq_len, "tokens": self.tokens_len, "desc": self.desc_len}


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping of one training run."""

    epochs: int = 10
    batch_size: int = 128          # per process; DDP's global batch is world_size times this
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.05           # fraction of all steps spent warming up linearly
    min_lr_ratio: float = 0.05     # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0
    amp: bool = True               # mixed precision, CUDA only (ignored on CPU)
    patience: int = 3              # epochs without a better validation MRR before stopping
    seed: int = 42
    eval_batch_size: int = 1024
    log_every: int = 20            # steps between scalar logs
    projector_size: int = 500      # code vectors sent to TensorBoard's projector (0: none)
    threads: int = 0               # torch CPU threads (0: auto, the idle cores' count, at least 1)
    device: str = "auto"           # auto | cpu | cuda

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("train.epochs must be >= 1 and train.batch_size >= 2")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"train.device must be auto, cpu or cuda, not {self.device!r}")


@dataclass
class RunConfig:
    """Everything a training run needs besides its data and output folders."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)   # loss.kind=distill only

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        cfg = cls()
        for section, values in d.items():
            for key, value in values.items():
                set_value(cfg, f"{section}.{key}", value)
        return validated(cfg)


# `cpu`: `make demo` on 2 cores in under 10 minutes over ~50k pairs; `gpu`: large corpora.
PRESETS: dict[str, dict[str, object]] = {
    # `bag`: the shipped search model: subword bags started from MiniLM's piece embeddings
    # (needs a `preprocess dataset --subword` folder)
    "bag": {
        "model.arch": "bag", "model.init": "minilm", "model.emb_size": 384, "model.dropout": 0.0,
        "data.name_len": 12, "data.apiseq_len": 48, "data.tokens_len": 64, "data.desc_len": 32,
        "train.epochs": 2, "train.batch_size": 256, "train.lr": 3e-3, "train.weight_decay": 0.0,
        "train.warmup": 0.02, "train.patience": 2,
    },
    # `asym`: the shipped search model: the bag model's query side trained to find MiniLM's vectors of
    # code heads (which the index stores for documented functions), its code side to stand in for them
    "asym": {
        "model.arch": "bag", "model.init": "minilm", "model.emb_size": 384, "model.dropout": 0.0,
        "data.name_len": 12, "data.apiseq_len": 48, "data.tokens_len": 64, "data.desc_len": 32,
        # cosqa-dev neural MRR against int8 128-token teacher vectors, by the weight of the distillation
        # term: 0.437 (1), 0.446 (3), 0.453 (10), 0.460 (30); 10 with 24 epochs 0.470 (12: 0.467)
        "loss.kind": "distill", "loss.distill_weight": 10.0,
        "train.epochs": 24, "train.batch_size": 512, "train.lr": 3e-3, "train.weight_decay": 0.0,
        "train.warmup": 0.02, "train.patience": 4,
    },
    # shared embeddings: +0.07 test MRR and 1.6x the CoSQA MRR over separate tables (docs/search-model.md, CODEnn)
    "cpu": {
        "model.share_embeddings": True,
        "train.epochs": 4, "train.batch_size": 128, "train.lr": 2e-3,
    },
    "gpu": {
        "model.share_embeddings": True, "model.emb_size": 256, "model.lstm_hidden": 256, "model.bow_hidden": 512,
        "train.epochs": 30, "train.batch_size": 512, "train.lr": 1e-3, "train.patience": 4,
        "train.eval_batch_size": 4096, "train.log_every": 50, "train.projector_size": 2000,
    },
}


def set_value(cfg: RunConfig, dotted: str, value) -> None:
    """Set `section.key` to value (a string is parsed and coerced to the field's type)."""
    section, _, key = dotted.partition(".")
    sub = getattr(cfg, section, None) if section in {f.name for f in dataclasses.fields(cfg)} else None
    if sub is None or not key:
        raise KeyError(f"unknown config key {dotted!r}: sections are {', '.join(f.name for f in dataclasses.fields(cfg))}")
    fields = {f.name: f for f in dataclasses.fields(sub)}
    if key not in fields:
        raise KeyError(f"unknown config key {dotted!r}: {section} has {', '.join(fields)}")
    setattr(sub, key, coerce(value, type(getattr(sub, key)), dotted))


def coerce(value, typ: type, dotted: str):
    """Convert a CLI string (or a JSON value) to typ, or say clearly why it cannot be."""
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            if typ is not str:
                raise ValueError(f"{dotted}: cannot read {value!r} as {typ.__name__}") from None
            parsed = value  # a bare word: model.pool=mean
        value = parsed if typ is not str or isinstance(parsed, str) else value
    if typ is bool and isinstance(value, bool):
        return value
    if typ is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if typ is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ is str and isinstance(value, str):
        return value
    raise ValueError(f"{dotted} must be {typ.__name__}, not {value!r}")


def validated(cfg: RunConfig) -> RunConfig:
    """Re-run each section's checks after overrides."""
    for f in dataclasses.fields(cfg):
        sub = getattr(cfg, f.name)
        if hasattr(sub, "__post_init__"):
            sub.__post_init__()
    return cfg


def build_config(preset: str = "cpu", overrides: list[str] | dict | None = None) -> RunConfig:
    """The preset's config with `section.key=value` overrides applied and checked."""
    if preset not in PRESETS:
        raise KeyError(f"unknown config {preset!r}: choose one of {', '.join(PRESETS)}")
    cfg = RunConfig()
    for k, v in PRESETS[preset].items():
        set_value(cfg, k, v)
    items = overrides.items() if isinstance(overrides, dict) else (parse_override(o) for o in overrides or [])
    for k, v in items:
        set_value(cfg, k, v)
    return validated(cfg)


def parse_override(text: str) -> tuple[str, str]:
    """'train.lr=1e-3' -> ('train.lr', '1e-3')."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {text!r} is not of the form section.key=value")
    return key.strip(), value.strip()
