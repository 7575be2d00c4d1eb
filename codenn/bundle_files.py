"""The model directory's file names, format and identity: what a reader needs without torch."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

FORMAT = "codenn-model/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FIELDS = ("name", "apiseq", "tokens", "desc")


def vocab_file(field: str) -> str:
    return f"vocab.{field}.json"


def read_raw_config(model_dir: str | Path) -> dict:
    """The config JSON of a model directory (with a clear error when it is not one)."""
    path = Path(model_dir) / CONFIG
    if not path.exists():
        raise FileNotFoundError(f"{model_dir} is not a model directory ({CONFIG} is missing): run `make train` first")
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown model format {raw.get('format')!r} (expected {FORMAT})")
    return raw


def weights_identity(model_dir: str | Path) -> str:
    """A stable identity of the trained model: the SHA-256 of its weights file (first 16 hex digits)."""
    h = hashlib.sha256()
    with open(Path(model_dir) / WEIGHTS, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "codenn-" + h.hexdigest()[:16]
