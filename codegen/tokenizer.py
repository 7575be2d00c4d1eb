"""Byte-level BPE for code with CodeGeeX's whitespace tokens and language tags.

    python -m codegen.tokenizer train (--functions CSV | --files DIR...) --out tokenizer.json
    python -m codegen.tokenizer encode --tokenizer tokenizer.json "def f():"
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from codesearch_common.fsutil import atomic_open

EOS = "<|endoftext|>"
# CodeGeeX prefixes each sample with its language in the language's comment syntax.
LANGUAGE_TAGS = {
    "python": "# language: Python\n",
    "java": "// language: Java\n",
    "javascript": "// language: JavaScript\n",
    "go": "// language: Go\n",
    "cpp": "// language: C++\n",
    "c": "// language: C\n",
    "rust": "// language: Rust\n",
}
_SPACE_RUN = re.compile(r" {2,}")


@dataclass
class TokenizerConfig:
    """How to train the BPE: merge budget, rare-pair cut-off, longest whitespace token."""

    vocab_size: int = 4096
    min_frequency: int = 2
    max_whitespace: int = 10  # runs of 2..max_whitespace spaces are single tokens (CodeGeeX)


def language_tag(language: str) -> str:
    """Return the comment line that announces `language` (unknown names use `#`)."""
    return LANGUAGE_TAGS.get(language.lower(), f"# language: {language}\n")


class CodeTokenizer:
    """Encode/decode text byte for byte; wraps a `tokenizers.Tokenizer`."""

    def __init__(self, tok: Tokenizer):
        if tok.token_to_id(EOS) is None:
            raise ValueError(f"tokenizer has no {EOS} token")
        # A literal "<|endoftext|>" in source code is text, not a document boundary.
        tok.encode_special_tokens = True
        self._tok = tok
        self.eos_id: int = tok.token_to_id(EOS)

    @property
    def vocab_size(self) -> int:
        """Return the number of token ids, whitespace tokens included."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Return the token ids of `text`."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Encode many texts in parallel (Rust threads)."""
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        """Return the text of `ids`, dropping EOS."""
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=True)

    def tag(self, language: str) -> str:
        """Return the language tag line that starts every sample of `language`."""
        return language_tag(language)

    def encode_sample(self, code: str, language: str) -> list[int]:
        """Return the ids of a training document: language tag + code (no EOS)."""
        return self.encode(language_tag(language) + code)

    def save(self, path: str | Path) -> None:
        """Write the tokenizer JSON atomically."""
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write(self._tok.to_str(pretty=False))

    @classmethod
    def from_file(cls, path: str | Path) -> "CodeTokenizer":
        """Load a tokenizer written by `save`."""
        if not Path(path).is_file():
            raise ValueError(f"{path}: no tokenizer file")
        return cls(Tokenizer.from_file(str(path)))


def _pieces(texts: Iterable[str]) -> Iterator[str]:
    # Space runs become whitespace tokens at encode time (added tokens are split off before
    # pre-tokenization), so BPE should learn merges only for the text between them.
    for t in texts:
        yield from _SPACE_RUN.split(t)


def train_tokenizer(texts: Iterable[str], cfg: TokenizerConfig | None = None) -> CodeTokenizer:
    """Train a byte-level BPE on `texts` and add the whitespace-run tokens."""
    cfg = cfg or TokenizerConfig()
    if cfg.max_whitespace < 2:
        raise ValueError("max_whitespace must be at least 2")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    n_ws = cfg.max_whitespace - 1
    trainer = trainers.BpeTrainer(
        vocab_size=max(cfg.vocab_size - n_ws, 257), min_frequency=cfg.min_frequency,
        special_tokens=[EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False)
    tok.train_from_iterator(_pieces(texts), trainer)
    # Longest first is not needed for correctness (matching is leftmost-longest) but keeps ids tidy.
    tok.add_tokens([AddedToken(" " * n, normalized=False) for n in range(cfg.max_whitespace, 1, -1)])
    return CodeTokenizer(tok)


def train_from_samples(samples, cfg: TokenizerConfig | None = None) -> CodeTokenizer:
    """Train on corpus samples, language tags included."""
    return train_tokenizer((language_tag(s.language) + s.code for s in samples), cfg)


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m codegen.tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a BPE on a functions.csv and/or source folders")
    t.add_argument("--functions", help="functions.csv from `python -m preprocess extract`")
    t.add_argument("--files", nargs="+", default=[], metavar="DIR", help="source folders or files")
    t.add_argument("--out", required=True, help="tokenizer JSON to write")
    t.add_argument("--vocab-size", type=int, default=TokenizerConfig.vocab_size)
    t.add_argument("--min-frequency", type=int, default=TokenizerConfig.min_frequency)
    t.add_argument("--max-whitespace", type=int, default=TokenizerConfig.max_whitespace)
    e = sub.add_parser("encode", help="print the tokens of a text")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("text")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the tokenizer CLI."""
    args = _parse(argv)
    try:
        if args.cmd == "train":
            from codegen.data import load_samples
            if not args.functions and not args.files:
                raise ValueError("give --functions CSV and/or --files DIR...")
            samples = load_samples(args.functions, args.files)
            cfg = TokenizerConfig(args.vocab_size, args.min_frequency, args.max_whitespace)
            tok = train_from_samples(samples, cfg)
            tok.save(args.out)
            print(json.dumps({"out": args.out, "vocab_size": tok.vocab_size, "samples": len(samples)}))
        else:
            tok = CodeTokenizer.from_file(args.tokenizer)
            ids = tok.encode(args.text)
            print(json.dumps({"ids": ids, "tokens": [tok.decode([i]) for i in ids]}))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
