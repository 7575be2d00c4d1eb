"""(query, code) training pairs for the code-search teacher, from a dataset's splits.

The dataset already splits by repository (no repository on two sides); on top of that a function
whose normalised code also sits in another split is dropped from training, so the same function is
never on both sides of train/valid. Each pair's query is one of its typed forms
(`preprocess.query_forms`), chosen by a seeded hash so that reruns build the same data.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from preprocess.csvio import read_functions
from preprocess.dataset import normalised_code_hash
from preprocess.query_forms import query_forms


@dataclass
class PairsConfig:
    """Which split, how many pairs, how many typed forms per function, the seed."""

    split: str = "train"
    limit: int = 0              # 0: every pair of the split
    forms_per_function: int = 1  # typed forms per function (each one pair); the docstring itself is form 0
    seed: int = 0


@dataclass
class Pair:
    query: str
    code: str
    function_id: int
    repo: str
    language: str


def split_rows(data_dir: Path, functions_csv: Path, splits: tuple[str, ...]) -> dict[str, list[dict]]:
    """The functions.csv rows of each split's pairs, in the dataset's order."""
    ids = {s: [int(i) for i in json.loads((data_dir / f"{s}.ids.json").read_text(encoding="utf-8"))]
           for s in splits}
    where = {i: s for s, rows in ids.items() for i in rows}
    found: dict[int, dict] = {}
    for row in read_functions(functions_csv):
        i = int(row["id"])
        if i in where:
            found[i] = row
    missing = set(where) - set(found)
    if missing:
        raise ValueError(f"{len(missing)} dataset ids are not in {functions_csv}: rebuild the dataset")
    return {s: [found[i] for i in rows] for s, rows in ids.items()}


def _rank(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "big")


def chosen_forms(row: dict, cfg: PairsConfig) -> list[str]:
    """`forms_per_function` typed forms of a row's docstring, picked by seeded hash (docstring first)."""
    forms = query_forms(row.get("desc") or "", row.get("name") or "", row.get("language") or "python")
    if len(forms) <= cfg.forms_per_function:
        return forms
    rest = sorted(forms[1:], key=lambda f: _rank(cfg.seed, f"{row['id']}:{f}"))
    # with one form a function gets its docstring or a rewrite, half and half
    if cfg.forms_per_function == 1:
        return [forms[0] if _rank(cfg.seed, str(row["id"])) % 2 else rest[0]]
    return [forms[0]] + rest[: cfg.forms_per_function - 1]


def build_pairs(data_dir: Path, functions_csv: Path, cfg: PairsConfig,
                other_splits: tuple[str, ...] = ("valid", "test")) -> list[Pair]:
    """The split's pairs with typed queries; functions whose code appears in `other_splits` left out."""
    splits = (cfg.split,) + tuple(s for s in other_splits if s != cfg.split)
    rows = split_rows(Path(data_dir), Path(functions_csv), splits)
    elsewhere = {normalised_code_hash(r["code"], r.get("language") or "python")
                 for s in splits[1:] for r in rows[s]}
    mine = sorted(rows[cfg.split], key=lambda r: _rank(cfg.seed, str(r["id"])))
    out: list[Pair] = []
    for r in mine:
        if cfg.limit and len(out) >= cfg.limit:
            break
        if not (r.get("code") or "").strip():
            continue
        if normalised_code_hash(r["code"], r.get("language") or "python") in elsewhere:
            continue
        for q in chosen_forms(r, cfg):
            out.append(Pair(q, r["code"], int(r["id"]), r["repo"], r.get("language") or "python"))
    return out[: cfg.limit] if cfg.limit else out


def pair_parser(prog: str, description: str, out_help: str, config, defaults: dict):
    """The command line both teacher commands share: data, functions, out, pair counts and config's fields."""
    import argparse
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--data", type=Path, required=True, help="dataset folder (make dataset)")
    ap.add_argument("--functions", type=Path, required=True, help="functions.csv the dataset was built from")
    ap.add_argument("--out", type=Path, required=True, help=out_help)
    ap.add_argument("--limit", type=int, default=defaults.get("limit", 0), help="training pairs (0: all)")
    ap.add_argument("--valid-limit", type=int, default=defaults.get("valid_limit", 1000),
                    help="valid pairs for early stopping")
    ap.add_argument("--forms", type=int, default=defaults.get("forms", 1),
                    help="typed query forms per function (the docstring first)")
    for f, v in vars(config()).items():
        ap.add_argument(f"--{f.replace('_', '-')}", type=type(v), default=v)
    ap.add_argument("--no-progress", action="store_true")
    return ap


def missing_inputs(args) -> str | None:
    """The error for a dataset or functions.csv that does not exist, or None."""
    for p in (args.data, args.functions):
        if not p.exists():
            return f"error: {p} does not exist (run make dataset)"
    return None


def config_of(args, config):
    """The config dataclass built from the command line's fields of the same names (pair_parser added them)."""
    return config(**{f: getattr(args, f) for f in vars(config())})


def packages_of(pairs: list[Pair]) -> dict[str, int]:
    """Pairs per repository, for the model's manifest."""
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p.repo] = counts.get(p.repo, 0) + 1
    return dict(sorted(counts.items()))
