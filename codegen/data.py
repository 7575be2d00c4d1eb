"""Code corpus for the generator: read samples, split held-out files, pack token streams."""
from __future__ import annotations

import csv
import os
import random
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch

EXTENSIONS = {
    ".py": "python", ".java": "java", ".js": "javascript", ".go": "go",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".rs": "rust",
}
MAX_FILE_BYTES = 1 << 20  # generated or vendored blobs above this teach the model little


@dataclass(frozen=True)
class Sample:
    """One training document: source text, its language, and the file it came from."""

    code: str
    language: str
    source: str  # repo/path: the unit kept on one side of the train/held-out split


def read_functions_csv(path: str | os.PathLike) -> Iterator[Sample]:
    """Yield one sample per row of the extractor's functions.csv (columns repo, path, language, code)."""
    csv.field_size_limit(sys.maxsize)  # function bodies can exceed the 128 KiB default
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"repo", "path", "language", "code"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            if row["code"].strip():
                yield Sample(row["code"], row["language"] or "python", f"{row['repo']}/{row['path']}")


def read_source_files(roots: Iterable[str | os.PathLike]) -> Iterator[Sample]:
    """Yield one sample per source file (by extension) under each root, in sorted order."""
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise ValueError(f"{root}: no such file or folder")
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in paths:
            lang = EXTENSIONS.get(p.suffix)
            if lang is None or p.stat().st_size > MAX_FILE_BYTES:
                continue
            try:
                text = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # not text we can train on
            if text.strip():
                yield Sample(text, lang, str(p))


def load_samples(functions: str | None = None, files: Iterable[str] = ()) -> list[Sample]:
    """Read every sample from a functions.csv and/or source folders."""
    samples: list[Sample] = []
    if functions:
        if not Path(functions).is_file():
            raise ValueError(f"{functions}: no such file (run `make extract` or pass --files DIR)")
        samples.extend(read_functions_csv(functions))
    samples.extend(read_source_files(files))
    if not samples:
        raise ValueError("no code samples found in the given inputs")
    return samples


def is_heldout(sample: Sample, fraction: float) -> bool:
    """Put a file on the held-out side iff its stable hash falls in the first `fraction`."""
    return zlib.crc32(sample.source.encode("utf-8")) % 10_000 < fraction * 10_000


def split(samples: list[Sample], fraction: float) -> tuple[list[Sample], list[Sample]]:
    """Split by source file, deterministically; never leave either side empty."""
    train = [s for s in samples if not is_heldout(s, fraction)]
    held = [s for s in samples if is_heldout(s, fraction)]
    if fraction > 0 and (not held or not train):
        # Too few files for the hash to split: fall back to the last sample held out.
        train, held = samples[:-1], samples[-1:]
    return train, held


def pack(docs: list[list[int]], seq_len: int, eos_id: int, seed: int = 0) -> torch.Tensor:
    """Shuffle documents, join them with EOS and cut the stream into (N, seq_len + 1) segments.

    Each row gives inputs row[:-1] and next-token targets row[1:]; the tail that does not fill a
    whole segment is dropped, unless there is less than one segment, which is then EOS-padded.
    """
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    stream: list[int] = []
    for i in order:
        stream.extend(docs[i])
        stream.append(eos_id)
    width = seq_len + 1
    if len(stream) < width:
        stream.extend([eos_id] * (width - len(stream)))
    n = len(stream) // width
    return torch.tensor(stream[: n * width], dtype=torch.long).view(n, width)


def cap_chars(samples: list[Sample], max_chars: int, seed: int = 0) -> list[Sample]:
    """Keep a seeded random subset of whole samples totalling at most `max_chars` (0: keep all)."""
    if max_chars <= 0:
        return samples
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)
    kept, total = [], 0
    for i in order:
        if total + len(samples[i].code) > max_chars and kept:
            continue
        kept.append(i)
        total += len(samples[i].code)
    return [samples[i] for i in sorted(kept)]


def split_and_cap(samples: list[Sample], valid_fraction: float, max_chars: int,
                  seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split by file, then cap training text at max_chars and held-out text pro rata."""
    train, held = split(samples, valid_fraction)
    return (cap_chars(train, max_chars, seed),
            cap_chars(held, int(max_chars * valid_fraction), seed))


def encode_and_pack(tok, samples: list[Sample], seq_len: int, seed: int) -> torch.Tensor:
    """Tokenize language-tagged samples with `tok` and pack them into (N, seq_len + 1) segments."""
    docs = tok.encode_batch([tok.tag(s.language) + s.code for s in samples])
    return pack(docs, seq_len, tok.eos_id, seed)
