"""Sample completions from any Hugging Face causal LM stored in a local folder (the `hf` extra).

Sampling uses transformers' own `generate` (its KV cache and batching for every architecture) with
a stopping criterion that ends each row as soon as the harness's stop rule says the function is
complete; codegen.sample's string stops cannot express "the brace that closes the function".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

StopRule = Callable[[str], bool]


@dataclass
class HFConfig:
    """Where and how to run the model."""

    device: str = "cpu"
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    batch_size: int = 16  # rows decoded together; n samples are drawn in ceil(n / batch_size) calls
    trust_remote_code: bool = False


def is_hf_folder(path: str | Path) -> bool:
    """Return whether `path` holds a Hugging Face model (config.json with a model_type)."""
    cfg = Path(path) / "config.json"
    try:
        return "model_type" in json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False


def _import_transformers():
    try:
        import transformers
    except ImportError as e:
        raise RuntimeError("Hugging Face models need transformers: pip install '.[hf]'") from e
    return transformers


class HFCompleter:
    """Complete prompts with a local Hugging Face causal LM."""

    def __init__(self, model_dir: str | Path, config: HFConfig | None = None):
        import torch

        tf = _import_transformers()
        self.config = cfg = config or HFConfig()
        if not is_hf_folder(model_dir):
            raise ValueError(f"{model_dir}: not a Hugging Face model folder (no config.json model_type)")
        dtype = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
        self.tokenizer = tf.AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True, trust_remote_code=cfg.trust_remote_code)
        self.model = tf.AutoModelForCausalLM.from_pretrained(
            model_dir, local_files_only=True, dtype=dtype, trust_remote_code=cfg.trust_remote_code)
        self.model.to(cfg.device).eval()
        mc = self.model.config
        self.context_length = (getattr(mc, "max_position_embeddings", None) or getattr(mc, "n_positions", None)
                               or getattr(mc, "n_ctx", None))
        eos = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else mc.eos_token_id
        self.eos_id = eos[0] if isinstance(eos, list) else eos
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_id

    def _prompt_ids(self, prompt: str, max_new: int) -> list[int]:
        """Encode `prompt`, left-truncated so that prompt + new tokens fit the context."""
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not ids:
            bos = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.eos_id
            ids = [bos if bos is not None else 0]
        if self.context_length:
            room = self.context_length - max_new
            if room < 1:
                raise ValueError(f"max_new_tokens={max_new} does not fit the context of {self.context_length}")
            ids = ids[-room:]
        return ids

    def complete(self, prompt: str, n: int, *, temperature: float = 0.8, top_p: float = 0.95,
                 max_new_tokens: int = 256, stop: StopRule | None = None, seed: int = 0) -> list[str]:
        """Return n sampled continuations of `prompt` (temperature 0: greedy, n identical)."""
        import torch

        tf = _import_transformers()
        ids = self._prompt_ids(prompt, max_new_tokens)
        start = len(ids)
        tok = self.tokenizer

        class _Stop(tf.StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = [bool(stop) and stop(tok.decode(row[start:], skip_special_tokens=True))
                        for row in input_ids.tolist()]
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        torch.manual_seed(seed)
        greedy = temperature <= 0
        out: list[str] = []
        while len(out) < n:
            rows = 1 if greedy else min(self.config.batch_size, n - len(out))
            x = torch.tensor([ids] * rows, dtype=torch.long, device=self.config.device)
            kw = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=temperature,
                                                             top_p=top_p, top_k=0)
            with torch.no_grad():
                seqs = self.model.generate(
                    input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=max_new_tokens,
                    pad_token_id=self.pad_id, eos_token_id=self.eos_id,
                    stopping_criteria=tf.StoppingCriteriaList([_Stop()]), **kw)
            texts = [tok.decode(s[start:], skip_special_tokens=True) for s in seqs.tolist()]
            out.extend(texts * (n if greedy else 1))
        return out[:n]
