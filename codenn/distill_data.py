"""Teacher targets of a dataset split: MiniLM's vectors of each pair's code head and of its description.

Encoding tens of thousands of functions takes minutes on a CPU, so targets are written in chunks
(`{kind}-{settings}/NNNNN.npz`, each atomically, each vector beside its text's hash) and a rerun
continues where a killed one stopped; changed settings never reuse another's vectors.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from codesearch_common.fsutil import atomic_open
from preprocess.csvio import read_functions
from .code_teacher import CodeTeacher, TeacherConfig

CHUNK = 2048


def split_texts(data_dir: Path, functions_csv: Path, split: str) -> tuple[list[str], list[str]]:
    """(code, desc) texts of a split's pairs, in the dataset's order (`{split}.ids.json`)."""
    ids_path = data_dir / f"{split}.ids.json"
    if not ids_path.exists():
        raise FileNotFoundError(f"{ids_path} is missing: run `make dataset` first")
    ids = [int(i) for i in json.loads(ids_path.read_text(encoding="utf-8"))]
    wanted = set(ids)
    by_id = {}
    for row in read_functions(functions_csv):
        i = int(row["id"])
        if i in wanted:
            by_id[i] = (row.get("code") or "", row.get("desc") or "")
    missing = wanted - set(by_id)
    if missing:
        raise ValueError(f"{len(missing)} {split} ids are not in {functions_csv} (first: {min(missing)}): "
                         "was the dataset built from another functions.csv?")
    return [by_id[i][0] for i in ids], [by_id[i][1] for i in ids]


def settings_key(cfg: TeacherConfig) -> str:
    """A hash of the settings that change the vectors (threads do not)."""
    settings = {k: v for k, v in cfg.to_dict().items() if k != "threads"}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def load_cache(folder: Path) -> dict[bytes, np.ndarray]:
    """Every vector cached so far, by its text's key."""
    found = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as z:
            found.update(zip((bytes(k) for k in z["keys"]), z["x"]))
    return found


def teacher_vectors(texts: Sequence[str], teacher: CodeTeacher, cache_dir: Path, tag: str,
                    progress: bool = True) -> np.ndarray:
    """(N, 384) teacher vectors of texts; new ones are encoded in chunks into cache_dir (resumable).

    The cache is keyed by each text's hash under the teacher's settings, so a rebuilt dataset
    (another split, a few more packages) encodes only the texts it has not seen.
    """
    folder = cache_dir / f"{tag}-{settings_key(teacher.cfg)}"
    folder.mkdir(parents=True, exist_ok=True)
    keys = [text_key(t) for t in texts]
    cached = load_cache(folder)
    todo = list({k: i for i, k in enumerate(keys) if k not in cached}.values())
    n_old = len(list(folder.glob("*.npz")))
    with tqdm(total=len(todo), desc=f"teacher {tag}", unit="text", disable=not progress or not todo) as bar:
        for c in range(0, len(todo), CHUNK):
            idx = todo[c : c + CHUNK]
            x = teacher.encode([texts[i] for i in idx])
            with atomic_open(folder / f"{n_old + c // CHUNK:05d}.npz", "wb") as f:
                np.savez(f, keys=np.array([keys[i] for i in idx], dtype="S16"), x=x)
            cached.update(zip((keys[i] for i in idx), x))
            bar.update(len(idx))
    if not texts:
        return np.zeros((0, teacher.dim), np.float32)
    return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)


def split_targets(data_dir: Path, functions_csv: Path, split: str, teacher: CodeTeacher,
                  cache_dir: Path, limit: int | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """{"code": (N, 384), "desc": (N, 384)} teacher vectors of a split's first `limit` pairs."""
    codes, descs = split_texts(data_dir, functions_csv, split)
    if limit is not None:
        codes, descs = codes[:limit], descs[:limit]
    # one cache per kind of text, shared by the splits: a function that changes split is not re-encoded
    return {"code": teacher_vectors(codes, teacher, cache_dir, "code", progress),
            "desc": teacher_vectors(descs, teacher, cache_dir, "desc", progress)}
