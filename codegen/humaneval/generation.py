"""Generate HumanEval(-X) samples with a model: ours (codegen.train folders) or any Hugging Face LM."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from tqdm import tqdm

from codegen import rag
from codegen.humaneval import languages as langs
from codegen.humaneval.data import Sample

# CodeGeeX's Python end words: the function is over once one of these starts a line.
PY_STOPS = ["\ndef ", "\nclass ", "\nif ", "\n#", "\nprint(", "\nassert ", "\n@"]
# The tags codegen.tokenizer trains with, by our language names.
_TAG_NAMES = {"humaneval": "python", "python": "python", "cpp": "cpp", "java": "java",
              "js": "javascript", "go": "go", "rust": "rust"}


@dataclass
class GenerationConfig:
    """Sampling settings for the generate mode."""

    n: int = 200
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 256
    seed: int = 0
    device: str = "cpu"
    backend: str = "auto"  # auto | local | hf
    language_tag: bool | None = None  # None: on for our models (trained with tags), off for hf


class Completer(Protocol):
    """Anything that returns n continuations of a prompt."""

    def complete(self, prompt: str, n: int, *, temperature: float, top_p: float,
                 max_new_tokens: int, stop: Callable[[str], bool] | None, seed: int) -> list[str]:
        """Return n continuations (text after the prompt)."""


class LocalCompleter:
    """Sample from a codegen.train model folder through codegen.sample.generate."""

    def __init__(self, model_dir: str | Path, device: str = "cpu"):
        from codegen.checkpoint import load_model

        self.model, self.tokenizer = load_model(model_dir, device)
        self.stops: list[str] = []

    def complete(self, prompt: str, n: int, *, temperature: float = 0.8, top_p: float = 0.95,
                 max_new_tokens: int = 256, stop: Callable[[str], bool] | None = None,
                 seed: int = 0) -> list[str]:
        """Return n completions; string stops end Python early, other languages run to the limit."""
        from codegen.sample import generate

        if temperature <= 0:
            return generate(self.model, self.tokenizer, [prompt], n=n, strategy="greedy",
                            max_new_tokens=max_new_tokens, stop=self.stops, seed=seed)[0]
        return generate(self.model, self.tokenizer, [prompt], n=n, strategy="sample",
                        temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                        stop=self.stops, seed=seed)[0]


def load_completer(model_dir: str | Path, cfg: GenerationConfig):
    """Load the model in `model_dir` with the configured (or detected) backend."""
    from codegen.hf import HFCompleter, HFConfig, is_hf_folder

    if not Path(model_dir).is_dir():
        raise ValueError(f"{model_dir}: model folder not found")
    backend = cfg.backend
    if backend == "auto":
        backend = "hf" if is_hf_folder(model_dir) else "local"
    if backend == "hf":
        return HFCompleter(model_dir, HFConfig(device=cfg.device)), backend
    if backend == "local":
        return LocalCompleter(model_dir, cfg.device), backend
    raise ValueError(f"unknown backend {backend!r}; choose auto, local or hf")


def stop_rule(lang: str, ctx: str) -> Callable[[str], bool]:
    """Return a predicate that is true once a completion of `ctx` has ended its function."""
    return lambda text: langs.is_complete(text, lang, ctx)


def model_prompt(ctx: str, lang: str, tag: bool, retriever: rag.Retriever | None,
                 rag_cfg: rag.RagConfig | None) -> str:
    """Return what the model sees: [language tag] [retrieved snippets] problem prompt."""
    prompt = ctx
    if retriever is not None and rag_cfg is not None and rag_cfg.k > 0:
        prompt = rag.augment(ctx, lang, retriever, rag_cfg)
    if tag:
        from codegen.tokenizer import language_tag

        prompt = language_tag(_TAG_NAMES[lang]) + prompt
    return prompt


def uses_language_tag(cfg: GenerationConfig, backend: str) -> bool:
    """Whether prompts start with a language tag: as configured, else only for our own models."""
    return cfg.language_tag if cfg.language_tag is not None else backend == "local"


def generate_samples(problems: dict[str, dict], lang: str, completer, cfg: GenerationConfig,
                     backend: str = "local", retriever: rag.Retriever | None = None,
                     rag_cfg: rag.RagConfig | None = None, progress: bool = True) -> list[Sample]:
    """Return cfg.n truncated completions per problem, in problem order."""
    tag = uses_language_tag(cfg, backend)
    if isinstance(completer, LocalCompleter):
        completer.stops = PY_STOPS if lang in ("python", "humaneval") else []
    samples = []
    for task_id, problem in tqdm(problems.items(), desc=f"generate {lang}", disable=not progress,
                                 leave=False):
        ctx = langs.context(problem, lang)
        prompt = model_prompt(ctx, lang, tag, retriever, rag_cfg)
        seed = cfg.seed + zlib.crc32(task_id.encode())  # per task: reproducible in any subset
        texts = completer.complete(prompt, cfg.n, temperature=cfg.temperature, top_p=cfg.top_p,
                                   max_new_tokens=cfg.max_new_tokens, stop=stop_rule(lang, ctx),
                                   seed=seed)
        samples.extend(Sample(task_id, langs.truncate(t, lang, ctx)) for t in texts)
    return samples
