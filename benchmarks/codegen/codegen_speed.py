"""Speed of the code generator: training tokens/s (+ MFU on GPU) and sampling tokens/s.

    python -m benchmarks.codegen.codegen_speed train --config tiny --steps 20
    python -m benchmarks.codegen.codegen_speed train --config codegeex-100m --device cuda --dtype bf16 \\
        --batch-size 16 --seq-len 1024 --steps 30          # MFU against --peak-tflops (or a guess)
    python -m benchmarks.codegen.codegen_speed sample --config tiny --new-tokens 96 --n 1 4

Random token ids stand in for data: speed does not depend on what the tokens say.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import time

import torch

from codegen.config import ModelConfig, get_config
from codegen.decoding import sample_rows
from codegen.model import CodeGeeX
from codegen.trainer import TrainConfig, lm_loss, make_optimizer, resolve_dtype

# Dense bf16/fp16 tensor-core peaks (no sparsity), TFLOP/s.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def flops_per_token(cfg: ModelConfig, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward = 3x forward), PaLM-style accounting."""
    c, layers = cfg.n_embd, cfg.n_layer + 1  # the top query layer has a block's shape
    matmul = 2 * (4 * c * c + 2 * cfg.mlp_ratio * c * c)  # q, k, v, dense + the two MLP matrices
    attention = 2 * 2 * seq_len * c  # QK^T and AV, full (unmasked) square as in PaLM's MFU
    logits = 2 * c * cfg.vocab_size
    return 3 * (layers * (matmul + attention) + logits)


def guess_peak_tflops(device: torch.device) -> float | None:
    """Look the GPU's name up in PEAK_TFLOPS (None when unknown or on CPU)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_train(args) -> dict:
    """Time optimizer steps of a freshly initialised model on random tokens."""
    device = torch.device(args.device)
    cfg = get_config(args.config)
    if args.seq_len:
        cfg = dataclasses.replace(cfg, n_ctx=args.seq_len)
    torch.manual_seed(0)
    model = CodeGeeX(cfg).to(device)
    if args.compile:
        model = torch.compile(model)
    tcfg = TrainConfig(dtype=args.dtype)
    dtype = resolve_dtype(args.dtype, device)
    opt = make_optimizer(model, tcfg)
    amp = (contextlib.nullcontext() if dtype == torch.float32
           else torch.autocast(device_type=device.type, dtype=dtype))
    data = torch.randint(0, cfg.vocab_size, (args.batch_size, cfg.n_ctx + 1), device=device)
    x, y = data[:, :-1], data[:, 1:]

    def step():
        with amp:
            loss = lm_loss(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    dt = time.perf_counter() - t0
    tokens_per_s = args.steps * args.batch_size * cfg.n_ctx / dt
    achieved = tokens_per_s * flops_per_token(cfg, cfg.n_ctx)
    peak = args.peak_tflops or guess_peak_tflops(device)
    return {"bench": "train", "config": args.config, "params": sum(p.numel() for p in model.parameters()),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "threads": torch.get_num_threads(), "dtype": str(dtype).replace("torch.", ""),
            "batch_size": args.batch_size, "seq_len": cfg.n_ctx, "steps": args.steps,
            "tokens_per_s": round(tokens_per_s, 1), "achieved_tflops": round(achieved / 1e12, 4),
            "mfu": round(achieved / (peak * 1e12), 4) if peak else None}


@torch.no_grad()
def bench_sample(args) -> list[dict]:
    """Time sampling of exactly --new-tokens tokens per row, with and without the KV cache."""
    device = torch.device(args.device)
    cfg = get_config(args.config)
    torch.manual_seed(0)
    model = CodeGeeX(cfg).to(device).eval()
    prompt = torch.randint(0, cfg.vocab_size, (args.prompt_tokens,)).tolist()
    if args.prompt_tokens + args.new_tokens > cfg.n_ctx + 1:
        raise SystemExit(f"prompt + new tokens exceed the context of {cfg.n_ctx}")
    rows = []
    for n in args.n:
        for use_cache in (True, False):
            g = torch.Generator(device=device).manual_seed(0)
            _sync(device)
            t0 = time.perf_counter()
            outs = sample_rows(model, prompt, n, args.new_tokens, None, lambda out: False, use_cache,
                               device, greedy=False, temperature=1.0, generator=g)
            _sync(device)
            dt = time.perf_counter() - t0
            made = sum(len(o) for o in outs)
            rows.append({"bench": "sample", "config": args.config, "n": n, "kv_cache": use_cache,
                         "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens,
                         "threads": torch.get_num_threads(), "seconds": round(dt, 3),
                         "tokens_per_s": round(made / dt, 1)})
    return rows


def main(argv=None) -> None:
    """Run one benchmark and print JSON lines."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.codegen.codegen_speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--config", default="tiny")
    t.add_argument("--device", default="cpu")
    t.add_argument("--dtype", default="auto")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--seq-len", type=int, default=0, help="override n_ctx")
    t.add_argument("--steps", type=int, default=20)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--compile", action="store_true")
    t.add_argument("--peak-tflops", type=float, default=0.0)
    s = sub.add_parser("sample")
    s.add_argument("--config", default="tiny")
    s.add_argument("--device", default="cpu")
    s.add_argument("--prompt-tokens", type=int, default=32)
    s.add_argument("--new-tokens", type=int, default=96)
    s.add_argument("--n", type=int, nargs="+", default=[1, 4])
    for sp in (t, s):
        sp.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = bench_train(args) if args.cmd == "train" else bench_sample(args)
    for r in results if isinstance(results, list) else [results]:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
