"""LoRA fine-tuning via `peft`: low-rank adapters on chosen Linears, base frozen, merged to serve.

    python -m codegen.lora --model data/codegen --files my/project --out data/codegen-lora \\
        --rank 8 --alpha 16 --targets query,value --max-steps 200

The output folder is a plain model folder (merged weights + config + tokenizer) that
`python -m codegen.sample --model` reads; the adapter alone is kept in adapter.safetensors.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save as st_save

from codesearch_common.fsutil import atomic_open


@dataclass
class LoraSettings:
    """Adapter shape: rank r, scale alpha / r, dropout, and the Linear names to adapt."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ("query", "value")  # also: key, dense, dense_h_to_4h, dense_4h_to_h


def apply_lora(model: nn.Module, s: LoraSettings) -> nn.Module:
    """Wrap `model` with trainable LoRA adapters (base parameters frozen); returns a PeftModel."""
    from peft import LoraConfig, get_peft_model  # heavy (pulls transformers): import on use

    if s.rank < 1 or not s.targets:
        raise ValueError("LoRA needs rank >= 1 and at least one target module")
    cfg = LoraConfig(r=s.rank, lora_alpha=s.alpha, lora_dropout=s.dropout,
                     target_modules=list(s.targets), bias="none")
    return get_peft_model(model, cfg)


def trainable_names(model: nn.Module) -> list[str]:
    """Return the names of parameters that receive gradients."""
    return [n for n, p in model.named_parameters() if p.requires_grad]


def adapter_state(peft_model: nn.Module) -> dict[str, torch.Tensor]:
    """Return only the adapter weights (what fine-tuning produced)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().contiguous().cpu() for k, v in get_peft_model_state_dict(peft_model).items()}


def merge_lora(peft_model: nn.Module) -> nn.Module:
    """Fold W + (alpha / r) B A into each adapted Linear and return the plain base model."""
    return peft_model.merge_and_unload()


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m codegen.lora", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="base model folder (codegen.train output)")
    p.add_argument("--functions", help="fine-tuning corpus CSV")
    p.add_argument("--files", nargs="+", default=[], help="fine-tuning source folders/files")
    p.add_argument("--out", required=True, help="folder for the merged model + adapter")
    p.add_argument("--rank", type=int, default=LoraSettings.rank)
    p.add_argument("--alpha", type=float, default=LoraSettings.alpha)
    p.add_argument("--dropout", type=float, default=LoraSettings.dropout)
    p.add_argument("--targets", default=",".join(LoraSettings.targets), help="comma-separated Linear names")
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--valid-fraction", type=float, default=0.1)
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the LoRA fine-tuning CLI."""
    args = _parse(argv)
    try:
        if not args.functions and not args.files:
            raise ValueError("give --functions CSV and/or --files PATH...")
        report = run(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


def run(args) -> dict:
    """Fine-tune, report held-out perplexity before/after, write the merged folder."""
    from codegen import checkpoint
    from codegen.data import encode_and_pack, load_samples, split
    from codegen.evaluate import perplexity
    from codegen.trainer import TrainConfig, Trainer

    model, tok = checkpoint.load_model(args.model, args.device)
    train_s, held_s = split(load_samples(args.functions, args.files), args.valid_fraction)
    train = encode_and_pack(tok, train_s, model.config.n_ctx, seed=0)
    valid = encode_and_pack(tok, held_s, model.config.n_ctx, seed=0)
    before = perplexity(model, valid, args.batch_size, args.device)["perplexity"]
    settings = LoraSettings(args.rank, args.alpha, args.dropout,
                            tuple(t.strip() for t in args.targets.split(",") if t.strip()))
    peft_model = apply_lora(model, settings)
    tcfg = TrainConfig(max_steps=args.max_steps, batch_size=args.batch_size, lr_max=args.lr,
                       lr_min=args.lr / 10, warmup_steps=min(10, args.max_steps), weight_decay=0.0,
                       eval_interval=10**9, ckpt_interval=10**9)
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    Trainer(tcfg, peft_model, train, valid, args.device).run()
    adapter = adapter_state(peft_model)
    merged = merge_lora(peft_model)
    after = perplexity(merged, valid, args.batch_size, args.device)["perplexity"]
    out = Path(args.out)
    checkpoint.save_model(out, merged, {"lora": dataclasses.asdict(settings), "base": str(args.model)})
    tok.save(out / checkpoint.TOKENIZER)
    with atomic_open(out / "adapter.safetensors", "wb") as f:
        f.write(st_save(adapter))
    return {"out": str(out), "trainable_params": n_train, "base_params": merged.num_params(),
            "valid_perplexity_before": before, "valid_perplexity_after": after}


if __name__ == "__main__":
    sys.exit(main())
