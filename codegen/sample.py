"""Sample code completions: greedy, temperature, top-k, top-p, beam search; KV cache; stop strings.

Public API (the HumanEval-X harness calls this):

    from codegen.sample import generate
    completions = generate(model, tokenizer, prompts, n=5, strategy="sample", temperature=0.8,
                           top_p=0.95, max_new_tokens=256, stop=["\\ndef ", "\\nclass "], seed=0)
    # -> list (one per prompt) of n completion strings: the text after the prompt, cut before the
    #    first stop sequence, EOS dropped

Other keyword settings (SamplingConfig): top_k, num_beams, length_penalty, use_cache (default True),
stop_fn (a predicate on a completion's text: True ends that row early; the text is returned
uncut, for the caller to trim, e.g. at the brace that closes a function).

strategy: "greedy" (n identical copies), "sample" (temperature / top_k / top_p; the n samples of a
prompt are decoded together in one batch) or "beam" (num_beams >= n; the n best beams).

`model` may be any object with
    model(idx: LongTensor (B, T), kv_cache=cache_or_None) -> logits (B, T, V)   # float tensor
    model.new_kv_cache() -> cache      # only when use_cache=True; the model appends to it in
                                       # place and cache.select(index: LongTensor (B',)) keeps /
                                       # reorders / repeats batch rows
    model.context_length -> int        # optional: prompts are left-truncated to fit
With kv_cache=None the model must return logits for the whole sequence it is given.
`tokenizer` needs encode(str) -> list[int], decode(list[int]) -> str and `eos_id` (or
`eos_token_id`; None if there is no end token).

CLI:
    python -m codegen.sample --model data/codegen --prompt "def fibonacci(n):" --n 3 \\
        --strategy sample --temperature 0.8 --top-p 0.95 --max-new-tokens 64 --stop '\\ndef '
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Callable

import torch

from codegen.decoding import beam_search, sample_rows

STRATEGIES = ("greedy", "sample", "beam")


@dataclass
class SamplingConfig:
    """Decoding settings; `validate` rejects inconsistent combinations."""

    strategy: str = "greedy"
    n: int = 1
    temperature: float = 1.0
    top_k: int = 0  # 0: no top-k cut
    top_p: float = 1.0  # 1.0: no nucleus cut
    num_beams: int = 4
    length_penalty: float = 1.0
    max_new_tokens: int = 128
    stop: list[str] = field(default_factory=list)
    stop_fn: Callable[[str], bool] | None = None  # ends a row once it returns True on its text
    use_cache: bool = True
    seed: int | None = None

    def validate(self) -> None:
        """Raise ValueError on settings that cannot work."""
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.n < 1 or self.max_new_tokens < 1:
            raise ValueError("n and max_new_tokens must be at least 1")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0 (use strategy='greedy' for argmax)")
        if not 0.0 < self.top_p <= 1.0 or self.top_k < 0:
            raise ValueError("top_p must be in (0, 1] and top_k >= 0")
        if self.strategy == "beam" and self.num_beams < self.n:
            raise ValueError(f"beam search returns at most num_beams ({self.num_beams}) < n ({self.n})")


def truncate_at_stop(text: str, stop: list[str]) -> str:
    """Cut `text` before the earliest occurrence of any stop sequence."""
    cut = len(text)
    for s in stop:
        i = text.find(s) if s else -1
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def _device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def fit_prompt(ids: list[int], max_new: int, context: int | None, eos_id: int | None) -> list[int]:
    """Left-truncate prompt ids so prompt + generated tokens fit the context; never empty."""
    if not ids:
        if eos_id is None:
            raise ValueError("empty prompt and the tokenizer has no end token to start from")
        ids = [eos_id]  # EOS doubles as the start-of-document token, as in training
    if context is not None:
        room = context - max_new + 1  # the last generated token is never fed back
        if room < 1:
            raise ValueError(f"max_new_tokens={max_new} does not fit a context of {context}")
        ids = ids[-room:]
    return ids


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], n: int = 1, strategy: str = "greedy",
             **settings) -> list[list[str]]:
    """Return n completions per prompt (see the module docstring for the model contract)."""
    cfg = SamplingConfig(strategy=strategy, n=n, **settings)
    cfg.validate()
    device = _device(model)
    eos_id = getattr(tokenizer, "eos_id", getattr(tokenizer, "eos_token_id", None))
    context = getattr(model, "context_length", None)
    generator = None
    if cfg.seed is not None:
        generator = torch.Generator(device=device).manual_seed(cfg.seed)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        return [_complete(model, tokenizer, p, cfg, device, eos_id, context, generator)
                for p in prompts]
    finally:
        if was_training:
            model.train()


def _complete(model, tokenizer, prompt, cfg, device, eos_id, context, generator) -> list[str]:
    ids = fit_prompt(tokenizer.encode(prompt), cfg.max_new_tokens, context, eos_id)

    def should_stop(out: list[int]) -> bool:
        if not cfg.stop and cfg.stop_fn is None:
            return False
        text = tokenizer.decode(out)
        return any(s and s in text for s in cfg.stop) or bool(cfg.stop_fn and cfg.stop_fn(text))

    common = dict(max_new=cfg.max_new_tokens, eos_id=eos_id, should_stop=should_stop,
                  use_cache=cfg.use_cache, device=device)
    if cfg.strategy == "beam":
        seqs = beam_search(model, ids, cfg.num_beams, cfg.n, length_penalty=cfg.length_penalty,
                           **common)
    elif cfg.strategy == "greedy":
        seqs = sample_rows(model, ids, 1, greedy=True, **common) * cfg.n  # all n are identical
    else:
        seqs = sample_rows(model, ids, cfg.n, greedy=False, temperature=cfg.temperature,
                           top_k=cfg.top_k, top_p=cfg.top_p, generator=generator, **common)
    return [truncate_at_stop(tokenizer.decode(s), cfg.stop) for s in seqs]


def _unescape(s: str) -> str:
    return s.replace("\\n", "\n").replace("\\t", "\t")


def main(argv=None) -> int:
    """Run the sampling CLI."""
    p = argparse.ArgumentParser(prog="python -m codegen.sample", description="Sample code completions.")
    p.add_argument("--model", required=True, help="model folder written by codegen.train")
    p.add_argument("--prompt", action="append", default=[], help="prompt text (repeatable)")
    p.add_argument("--prompt-file", action="append", default=[], help="file whose text is a prompt")
    p.add_argument("--language", help="prepend the language tag, e.g. python")
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--strategy", default="sample", choices=STRATEGIES)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--num-beams", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--stop", action="append", default=[], help="stop string; \\n and \\t understood")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-cache", action="store_true", help="re-run the whole sequence each step")
    p.add_argument("--int8", action="store_true", help="quantize Linear weights to int8 first")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = p.parse_args(argv)
    try:
        from codegen.checkpoint import load_model
        from codegen.tokenizer import language_tag

        prompts = list(args.prompt)
        for path in args.prompt_file:
            with open(path, encoding="utf-8") as f:
                prompts.append(f.read())
        if not prompts:
            raise ValueError("give --prompt TEXT or --prompt-file PATH")
        if args.language:
            prompts = [language_tag(args.language) + q for q in prompts]
        model, tok = load_model(args.model, args.device)
        if args.int8:
            from codegen.quantize import quantize_model
            quantize_model(model)
        outs = generate(model, tok, prompts, n=args.n, strategy=args.strategy,
                        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                        num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                        stop=[_unescape(s) for s in args.stop], use_cache=not args.no_cache,
                        seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"prompt": q, "completions": c} for q, c in zip(prompts, outs)], indent=2))
    else:
        for q, comps in zip(prompts, outs):
            for i, c in enumerate(comps):
                print(f"=== completion {i + 1}/{len(comps)} ===\n{q}{c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
