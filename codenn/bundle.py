"""The model directory: weights (safetensors) + config JSON + vocabularies, enough to rebuild the model alone."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from codesearch_common.fsutil import atomic_open
from .bundle_files import CONFIG, FIELDS, FORMAT, WEIGHTS, read_raw_config, vocab_file, weights_identity  # noqa: F401
from .config import DataConfig
from preprocess.text import SUBWORD_FILE
from .factory import build_model
from .model import ModelConfig

def copy_vocabs(data_dir: str | Path, model_dir: str | Path) -> None:
    """Copy the dataset's vocabularies into the model directory (atomically, each)."""
    names = [vocab_file(field) for field in FIELDS]
    if (Path(data_dir) / SUBWORD_FILE).exists():  # the subword tokenizer travels with its vocabulary
        names.append(SUBWORD_FILE)
    else:
        (Path(model_dir) / SUBWORD_FILE).unlink(missing_ok=True)
    for name in names:
        src = Path(data_dir) / name
        if not src.exists():
            raise FileNotFoundError(f"{src} is missing: run `make dataset` first")
        with atomic_open(Path(model_dir) / name, "wb") as f, open(src, "rb") as g:
            shutil.copyfileobj(g, f)


def save_model(model: torch.nn.Module, model_dir: str | Path, data_cfg: DataConfig, meta: dict | None = None) -> None:
    """Write the weights and the config (model sizes, sequence lengths, provenance) into model_dir."""
    model_dir = Path(model_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(state, model_dir / WEIGHTS, metadata={"format": FORMAT})
    config = {
        "format": FORMAT,
        "model": dataclasses.asdict(model.cfg),
        "data": dataclasses.asdict(data_cfg),
        "normalized": False,
        "meta": meta or {},
    }
    with atomic_open(model_dir / CONFIG, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    """safetensors writes by path: write a temporary sibling, then rename it over path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_config(model_dir: str | Path) -> tuple[ModelConfig, DataConfig, dict]:
    """Model and data configs of a model directory (with a clear error when it is not one)."""
    raw = read_raw_config(model_dir)
    return ModelConfig(**raw["model"]), DataConfig(**raw["data"]), raw


def load_model(model_dir: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the model of a model directory, in eval mode."""
    model_cfg, _, _ = read_config(model_dir)
    model = build_model(model_cfg)
    weights = Path(model_dir) / WEIGHTS
    if not weights.exists():
        raise FileNotFoundError(f"{weights} is missing")
    model.load_state_dict(load_file(str(weights)))
    return model.to(device).eval()
