"""Train the CodeGeeX-style decoder on a code corpus; resumable; DDP under torchrun.

    python -m codegen.train --functions data/functions.csv --out data/codegen --config tiny
    python -m codegen.train --files /path/to/src --out runs/x --config tiny --max-steps 50
    torchrun --nproc_per_node 2 -m codegen.train --files src --out runs/x --config small

The run folder receives tokenizer.json, config.json, model.safetensors (enough to sample),
ckpt.pt (resume state), metrics.json and TensorBoard events. A folder that already holds
ckpt.pt is resumed unless --fresh is given.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass

from codegen.config import CONFIGS, ModelConfig, get_config
from codegen.trainer import TrainConfig


@dataclass
class DataConfig:
    """Corpus handling: tokenizer size, how much text to use, held-out share."""

    vocab_size: int = 4096
    max_chars: int = 0  # cap on training text (0: all); held-out gets valid_fraction of it
    valid_fraction: float = 0.05


# Per named model, the training and data defaults that make sense for its size.
PRESETS: dict[str, tuple[dict, dict]] = {
    "tiny": (dict(max_steps=300, batch_size=16, lr_max=2e-3, lr_min=2e-4, warmup_steps=20),
             dict(vocab_size=4096, max_chars=6_000_000)),
    "tiny-1k": (dict(max_steps=400, batch_size=4, lr_max=2e-3, lr_min=2e-4, warmup_steps=20),
                dict(vocab_size=4096, max_chars=6_000_000)),
    "small": (dict(max_steps=2000, batch_size=16, lr_max=1e-3, lr_min=1e-4, warmup_steps=100),
              dict(vocab_size=8192, max_chars=40_000_000)),
    "codegeex-100m": (dict(max_steps=5000, batch_size=16, lr_max=6e-4, lr_min=6e-5, warmup_steps=200),
                      dict(vocab_size=16384)),
    "codegeex-13b": (dict(max_steps=100_000, batch_size=1, lr_max=1e-4, lr_min=1e-5, warmup_steps=2000),
                     dict(vocab_size=52224)),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the CLI; TrainConfig and DataConfig fields become flags that override the preset."""
    p = argparse.ArgumentParser(prog="python -m codegen.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--functions", help="functions.csv written by the extractor")
    p.add_argument("--files", nargs="+", default=[], metavar="PATH", help="source folders or files")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--config", default="tiny", choices=sorted(CONFIGS), help="named model size")
    p.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                   help="override a ModelConfig field (repeatable), e.g. --model n_layer=4")
    p.add_argument("--tokenizer", help="use this tokenizer.json instead of training one")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    for cls in (TrainConfig, DataConfig):
        for f in dataclasses.fields(cls):
            p.add_argument(_flag(f.name), dest=f.name, type=type(f.default), default=None,
                           help=f"{cls.__name__}.{f.name} (preset or {f.default})")
    return p.parse_args(argv)


def _override(obj, args: argparse.Namespace, preset: dict):
    values = {**preset, **{f.name: getattr(args, f.name) for f in dataclasses.fields(obj)
                           if getattr(args, f.name) is not None}}
    return dataclasses.replace(obj, **values)


def parse_model_overrides(items: list[str]) -> dict:
    """Turn KEY=VALUE strings into typed ModelConfig overrides, rejecting unknown keys."""
    types = {f.name: type(f.default) for f in dataclasses.fields(ModelConfig)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in types:
            raise ValueError(f"--model {item!r}: expected KEY=VALUE with KEY in {', '.join(types)}")
        out[key] = value.lower() in ("1", "true", "yes") if types[key] is bool else types[key](value)
    return out


def resolve_configs(args) -> tuple[ModelConfig, TrainConfig, DataConfig]:
    """Combine preset, named model config and CLI overrides."""
    train_preset, data_preset = PRESETS[args.config]
    tcfg = _override(TrainConfig(), args, train_preset)
    dcfg = _override(DataConfig(), args, data_preset)
    mcfg = get_config(args.config, **parse_model_overrides(args.model))
    if not 0.0 < dcfg.valid_fraction < 1.0:
        raise ValueError("--valid-fraction must be between 0 and 1")
    if tcfg.max_steps < 0 or tcfg.batch_size < 1 or tcfg.grad_accum < 1:
        raise ValueError("--max-steps must be >= 0, --batch-size and --grad-accum >= 1")
    return mcfg, tcfg, dcfg


def main(argv=None) -> int:
    """Run the training CLI."""
    args = parse_args(argv)
    try:
        if not args.functions and not args.files:
            raise ValueError("give --functions CSV and/or --files PATH...")
        mcfg, tcfg, dcfg = resolve_configs(args)
        from codegen.run import run_training  # heavy imports after argument checks
        summary = run_training(args, mcfg, tcfg, dcfg)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if summary is not None:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
