"""Tokenizers shared by training and query time, and the vocabulary type."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_WORD = re.compile(r"[A-Za-z0-9]+")
# receivers that say nothing about what a call does
_API_RECEIVERS = {"self", "cls", "super"}


def split_identifier(identifier: str) -> list[str]:
    """Split `parseHTTPResponse_v2` into ['parse', 'http', 'response', 'v', '2']."""
    return [p.lower() for p in _CAMEL.findall(identifier)]


def tokenize_name(name: str) -> list[str]:
    """Tokenize a function name on camelCase and underscores."""
    return split_identifier(name)


def tokenize_apiseq(apiseq: str) -> list[str]:
    """Tokenize a space-separated sequence of dotted calls, one token per call."""
    out = []
    for call in apiseq.split():
        parts = [p for p in call.split(".") if p]
        while len(parts) > 1 and parts[0] in _API_RECEIVERS:
            parts = parts[1:]
        if parts:
            out.append(".".join(parts[-2:]).lower())
    return out


def tokenize_tokens(tokens: str) -> list[str]:
    """Tokenize the space-separated identifier tokens column."""
    return tokens.split()


def tokenize_desc(text: str) -> list[str]:
    """Tokenize a description or a query into lower-cased words, identifiers split."""
    out = []
    for word in _WORD.findall(text):
        out.extend(split_identifier(word))
    return out


class Vocab:
    """A token <-> id mapping with <pad>=0, <s>=1, </s>=2, <unk>=3."""

    def __init__(self, itos: list[str]):
        if tuple(itos[:4]) != SPECIALS:
            raise ValueError("a vocabulary must start with <pad>, <s>, </s>, <unk>")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, sequences: Iterable[list[str]], max_size: int = 10_000, min_count: int = 1) -> "Vocab":
        """Keep the `max_size` most frequent tokens (ties broken alphabetically, so it is deterministic)."""
        counts = Counter(t for seq in sequences for t in seq)
        ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(list(SPECIALS) + ranked[: max(0, max_size - len(SPECIALS))])

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        stoi = json.loads(Path(path).read_text(encoding="utf-8"))
        itos = [None] * len(stoi)
        for t, i in stoi.items():
            itos[i] = t
        return cls(itos)

    def to_json(self) -> str:
        return json.dumps(self.stoi, ensure_ascii=False, indent=0)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids if i != PAD]

    def __len__(self) -> int:
        return len(self.itos)


SUBWORD_FILE = "subword.json"


class FieldTokenizer:
    """Tokenize the four fields with the word tokenizers above, or into shared subword pieces.

    Subword mode (a Hugging Face `tokenizers` WordPiece/BPE file named subword.json beside the
    vocabularies) splits every field into the same pieces, so queries and docstrings share one
    tokenizer and unseen words are not all <unk>.
    """

    def __init__(self, subword=None):
        self.subword = subword
        if subword is not None:
            subword.no_truncation()
            subword.no_padding()

    @classmethod
    def load(cls, folder: str | Path) -> "FieldTokenizer":
        path = Path(folder) / SUBWORD_FILE
        if not path.exists():
            return cls()
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def words(self, field: str, text: str) -> list[str]:
        """The field's word-level tokens (identifiers split, lower-cased)."""
        text = text or ""
        if field == "apiseq":
            toks = tokenize_apiseq(text)
            return toks if self.subword is None else [w for call in toks for w in tokenize_desc(call)]
        return {"name": tokenize_name, "tokens": tokenize_tokens, "desc": tokenize_desc}[field](text)

    def tokenize(self, field: str, text: str) -> list[str]:
        words = self.words(field, text)
        if self.subword is None or not words:
            return words
        return self.subword.encode(" ".join(words), add_special_tokens=False).tokens

    def tokenize_batch(self, field: str, texts: list[str]) -> list[list[str]]:
        if self.subword is None:
            return [self.tokenize(field, t) for t in texts]
        words = [" ".join(self.words(field, t)) for t in texts]
        return [e.tokens for e in self.subword.encode_batch(words, add_special_tokens=False)]
