"""Dataset stage: clean, deduplicate, split by repository, build vocabularies, write HDF5."""
from __future__ import annotations

import ast
import hashlib
import json
import multiprocessing as mp
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from codesearch_common.fsutil import atomic_dir
from .csvio import read_functions
from .hdf5 import write_field
from .reader import FIELDS
from .allowlist import repo_allowed
from .text import SUBWORD_FILE, FieldTokenizer, Vocab, tokenize_desc

SPLITS = ("train", "valid", "test")


@dataclass
class DatasetConfig:
    """Rules of the dataset stage."""

    vocab_size: int = 10_000          # per field, specials included
    min_name_len: int = 3
    split_ratios: tuple = (0.8, 0.1, 0.1)
    split_salt: str = "codesearch-v1"  # changes the repository -> split assignment
    subword: str | None = None          # a `tokenizers` JSON file: every field in shared subword pieces
    workers: int = max(1, min(2, os.cpu_count() or 1))
    top_packages_only: bool = True     # registry packages past the top 1,000 are held out (preprocess.allowlist)
    progress: bool = True


@dataclass
class DatasetStats:
    """Counts for the end-of-run summary and stats.json."""

    functions: int = 0
    documented: int = 0
    dropped: Counter = field(default_factory=Counter)
    pairs: dict = field(default_factory=dict)
    repos: dict = field(default_factory=dict)
    pairs_by_language: dict = field(default_factory=dict)   # split -> language -> training pairs

    def summary(self) -> str:
        per = ", ".join(f"{s} {self.pairs.get(s, 0):,} ({self.repos.get(s, 0)} repos)" for s in SPLITS)
        drops = ", ".join(f"{n:,} {why}" for why, n in sorted(self.dropped.items()))
        langs = Counter()
        for per_split in self.pairs_by_language.values():
            langs.update(per_split)
        by_lang = f" (by language: {', '.join(f'{k} {v:,}' for k, v in sorted(langs.items()))})" if len(langs) > 1 else ""
        return (f"{self.functions:,} searchable functions, {self.documented:,} documented; "
                f"training pairs: {per}{by_lang}; dropped from training: {drops or 'none'}")


def trainable_reason(row: dict, cfg: DatasetConfig) -> str | None:
    """Why a function is not a training pair, or None when it is one."""
    name = row["name"].rsplit(".", 1)[-1]   # a method's own name, not its class
    if name.startswith("__") and name.endswith("__"):
        return "dunder names"
    if len(name.strip("_")) < cfg.min_name_len:
        return "short names"
    if not tokenize_desc(row["desc"]):
        return "no description"
    if cfg.top_packages_only and not repo_allowed(row["repo"]):
        return "packages outside the top 1,000"
    return None


def normalised_code_hash(code: str, language: str = "python") -> str:
    """Hash of the function's syntax tree without its docstring: formatting and comments don't count.

    Other languages hash their whitespace-normalised code (the doc comment is part of it).
    """
    if language != "python":
        return hashlib.sha1(" ".join(code.split()).encode()).hexdigest()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return hashlib.sha1(" ".join(code.split()).encode()).hexdigest()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha1(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def _code_hash(code_and_language: tuple[str, str]) -> str:
    return normalised_code_hash(*code_and_language)


def assign_splits(pair_counts: dict[str, int], cfg: DatasetConfig) -> dict[str, str]:
    """Map each repository to one split so that pairs fall ~8:1:1; deterministic for a salt.

    Repositories go largest first (ties by salted hash) to the split furthest below its share,
    so a few big repositories cannot leave a split nearly empty.
    """
    def key(repo: str) -> tuple[int, str]:
        return -pair_counts[repo], hashlib.sha1(f"{cfg.split_salt}:{repo}".encode()).hexdigest()

    total = sum(pair_counts.values())
    filled = dict.fromkeys(SPLITS, 0)
    out = {}
    for repo in sorted(pair_counts, key=key):
        split = max(SPLITS, key=lambda s: cfg.split_ratios[SPLITS.index(s)] * total - filled[s])
        out[repo] = split
        filled[split] += pair_counts[repo]
    return out


def tokenize_rows(rows: list[dict], tok: FieldTokenizer) -> dict[str, list[list[str]]]:
    """Tokens of each field for each row."""
    return {f: tok.tokenize_batch(f, [r[f] for r in rows]) for f in FIELDS}


def build_dataset(functions_path: str | Path, out_dir: str | Path, cfg: DatasetConfig | None = None) -> DatasetStats:
    """Read functions.csv and write the HDF5 splits, vocabularies and stats into out_dir (atomically)."""
    cfg = cfg or DatasetConfig()
    stats = DatasetStats()
    rows = list(tqdm(read_functions(functions_path), desc="read", unit="fn", disable=not cfg.progress, mininterval=1))
    if not rows:
        raise ValueError(f"{functions_path} holds no functions: nothing to build a dataset from")
    stats.functions = len(rows)
    stats.documented = sum(1 for r in rows if r["desc"])
    candidates = []
    for r in rows:
        reason = trainable_reason(r, cfg)
        if reason:
            stats.dropped[reason] += 1
        else:
            candidates.append(r)
    splits = assign_splits(Counter(r["repo"] for r in candidates), cfg)
    with mp.get_context("fork").Pool(cfg.workers) as pool:
        hashes = list(tqdm(pool.imap(_code_hash, ((r["code"], r.get("language") or "python") for r in candidates),
                                     chunksize=64),
                           total=len(candidates), desc="dedup", unit="fn", disable=not cfg.progress, mininterval=1))
    by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
    seen: set[str] = set()
    # train first: a duplicate across splits is kept in train and dropped from valid/test (no leakage)
    order = sorted(range(len(candidates)), key=lambda i: (SPLITS.index(splits[candidates[i]["repo"]]), i))
    for i in order:
        if hashes[i] in seen:
            stats.dropped["duplicates"] += 1
            continue
        seen.add(hashes[i])
        by_split[splits[candidates[i]["repo"]]].append(candidates[i])
    for s in SPLITS:
        by_split[s].sort(key=lambda r: r["id"])
        stats.pairs[s] = len(by_split[s])
        stats.repos[s] = len({r["repo"] for r in by_split[s]})
        stats.pairs_by_language[s] = dict(sorted(Counter(r.get("language") or "python" for r in by_split[s]).items()))
    tok = FieldTokenizer()
    if cfg.subword:
        from tokenizers import Tokenizer

        tok = FieldTokenizer(Tokenizer.from_file(cfg.subword))
    tokens = {split: tokenize_rows(split_rows, tok) for split, split_rows in [*by_split.items(), ("use", rows)]}
    if cfg.subword:  # one vocabulary over the pieces of every field, so all fields share embeddings
        shared = Vocab.build((seq for f in FIELDS for seq in tokens["train"][f]), cfg.vocab_size)
        vocabs = dict.fromkeys(FIELDS, shared)
    else:
        vocabs = {f: Vocab.build(tokens["train"][f], cfg.vocab_size) for f in FIELDS}
    with atomic_dir(out_dir) as tmp:
        if cfg.subword:
            tok.subword.save(str(tmp / SUBWORD_FILE))
        for f, v in vocabs.items():
            (tmp / f"vocab.{f}.json").write_text(v.to_json(), encoding="utf-8")
        for split, split_rows in [*by_split.items(), ("use", rows)]:
            for f in FIELDS:
                write_field(tmp / f"{split}.{f}.h5", [vocabs[f].encode(t) for t in tokens[split][f]])
            (tmp / f"{split}.ids.json").write_text(json.dumps([r["id"] for r in split_rows]), encoding="utf-8")
        meta = {"config": {k: v for k, v in asdict(cfg).items() if k not in ("workers", "progress")},
                "stats": {**asdict(stats), "dropped": dict(sorted(stats.dropped.items()))},
                "repos": {s: sorted({r["repo"] for r in by_split[s]}) for s in SPLITS}}
        (tmp / "stats.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    return stats
