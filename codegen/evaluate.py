"""Held-out perplexity of a model folder, optionally after int8 quantization.

    python -m codegen.evaluate --model data/codegen            # the run's own held-out files
    python -m codegen.evaluate --model data/codegen --int8     # fp32 vs int8: memory, perplexity
    python -m codegen.evaluate --model data/codegen --files other/src   # held-out part of another corpus
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from codegen import checkpoint
from codegen.data import encode_and_pack, load_samples, split_and_cap
from codegen.trainer import evaluate_loss


def heldout_segments(folder: str | Path, tok, seq_len: int, functions: str | None = None,
                     files: list[str] | None = None) -> torch.Tensor:
    """Rebuild the held-out segments of a run (same split, cap and seed as training)."""
    saved = json.loads((Path(folder) / checkpoint.CONFIG).read_text(encoding="utf-8"))
    data, train, inputs = saved.get("data", {}), saved.get("train", {}), saved.get("inputs", {})
    if not functions and not files:
        functions, files = inputs.get("functions"), inputs.get("files", [])
    if not functions and not files:
        raise ValueError(f"{folder}: no recorded inputs; pass --functions or --files")
    samples = load_samples(functions, files)
    _, held = split_and_cap(samples, data.get("valid_fraction", 0.05), data.get("max_chars", 0),
                            train.get("seed", 1337))
    return encode_and_pack(tok, held, seq_len, train.get("seed", 1337))


def perplexity(model, segments: torch.Tensor, batch_size: int = 16, device="cpu") -> dict:
    """Return mean loss, perplexity and token count of `model` on (N, T + 1) segments."""
    loss = evaluate_loss(model, segments, batch_size, device)
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": segments[:, 1:].numel()}


def main(argv=None) -> int:
    """Run the evaluation CLI."""
    p = argparse.ArgumentParser(prog="python -m codegen.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder written by codegen.train")
    p.add_argument("--functions", help="corpus CSV (default: the one the run was trained on)")
    p.add_argument("--files", nargs="+", default=[], help="corpus folders (default: the run's)")
    p.add_argument("--int8", action="store_true", help="also evaluate the int8-quantized model")
    p.add_argument("--max-segments", type=int, default=0, help="evaluate at most N segments")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    try:
        model, tok = checkpoint.load_model(args.model, args.device)
        segs = heldout_segments(args.model, tok, model.config.n_ctx, args.functions, args.files)
        if args.max_segments:
            segs = segs[:args.max_segments]
        report = {"segments": len(segs), "fp32": perplexity(model, segs, args.batch_size, args.device)}
        if args.int8:
            from codegen.quantize import quantize_model
            report["memory"] = quantize_model(model)
            report["int8"] = perplexity(model, segs, args.batch_size, args.device)
            report["perplexity_change_pct"] = 100 * (
                report["int8"]["perplexity"] / report["fp32"]["perplexity"] - 1)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
