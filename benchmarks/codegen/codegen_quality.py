"""Held-out perplexity of a trained generator, and what int8 quantization costs and saves.

    python -m benchmarks.codegen.codegen_quality --model data/codegen
    python -m benchmarks.codegen.codegen_quality --model data/codegen --files /path/to/other/code
    python -m benchmarks.codegen.codegen_quality --memory-only codegeex-13b   # shapes only (meta device)

Prints one JSON object: fp32 and int8 perplexity on the run's held-out files (same split as
training), the change in percent, Linear-weight bytes before/after (fp32 and an fp16 reference),
and evaluation wall time for both.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from codegen.checkpoint import load_model
from codegen.config import get_config
from codegen.model import CodeGeeX
from codegen.evaluate import heldout_segments, perplexity
from codegen.quantize import quantize_model


def memory_only(config: str) -> dict:
    """Quantize a named config on the meta device: Linear-weight bytes without allocating them."""
    with torch.device("meta"):
        model = CodeGeeX(get_config(config))
        params = model.num_params()
        memory = quantize_model(model)
    gib = 2 ** 30
    return {"config": config, "params": params, "linear_layers": memory["linear_layers"],
            "linear_weight_gib_fp32": round(memory["linear_weight_bytes_before"] / gib, 3),
            "linear_weight_gib_fp16_reference": round(memory["linear_weight_bytes_before"] / 2 / gib, 3),
            "linear_weight_gib_int8": round(memory["linear_weight_bytes_after"] / gib, 3),
            "reduction_vs_fp32": round(memory["reduction"], 3)}


def main(argv=None) -> None:
    """Evaluate fp32, quantize, evaluate int8, print the comparison."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.codegen.codegen_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="data/codegen")
    p.add_argument("--functions")
    p.add_argument("--files", nargs="+", default=[])
    p.add_argument("--max-segments", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--memory-only", metavar="CONFIG", help="only the memory figures of a named config")
    args = p.parse_args(argv)
    if args.memory_only:
        print(json.dumps(memory_only(args.memory_only), indent=2))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load_model(args.model)
    segs = heldout_segments(args.model, tok, model.config.n_ctx, args.functions, args.files)
    if args.max_segments:
        segs = segs[:args.max_segments]
    params = model.num_params()
    t0 = time.perf_counter()
    fp32 = perplexity(model, segs)
    t1 = time.perf_counter()
    memory = quantize_model(model)
    t2 = time.perf_counter()
    int8 = perplexity(model, segs)
    t3 = time.perf_counter()
    print(json.dumps({
        "model": args.model, "params": params, "heldout_segments": len(segs),
        "heldout_tokens": fp32["tokens"],
        "fp32_loss": round(fp32["loss"], 4), "fp32_perplexity": round(fp32["perplexity"], 3),
        "int8_loss": round(int8["loss"], 4), "int8_perplexity": round(int8["perplexity"], 3),
        "perplexity_change_pct": round(100 * (int8["perplexity"] / fp32["perplexity"] - 1), 3),
        "linear_layers": memory["linear_layers"],
        "linear_weight_bytes_fp32": memory["linear_weight_bytes_before"],
        "linear_weight_bytes_fp16_reference": memory["linear_weight_bytes_before"] // 2,
        "linear_weight_bytes_int8": memory["linear_weight_bytes_after"],
        "reduction_vs_fp32": round(memory["reduction"], 3),
        "reduction_vs_fp16": round(memory["reduction"] / 2, 3),
        "eval_seconds_fp32": round(t1 - t0, 2), "quantize_seconds": round(t2 - t1, 3),
        "eval_seconds_int8": round(t3 - t2, 2)}, indent=2))


if __name__ == "__main__":
    main()
