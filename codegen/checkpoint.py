"""Model folders: weights + config + tokenizer, enough to rebuild and sample; resumable state."""
from __future__ import annotations

import io
import json
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from codegen.config import ModelConfig
from codegen.model import CodeGeeX
from codegen.tokenizer import CodeTokenizer
from codesearch_common.fsutil import atomic_open

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
STATE = "ckpt.pt"  # optimizer, step and RNG: only needed to resume training


def save_model(out: str | Path, model: CodeGeeX, extra: dict | None = None) -> None:
    """Write weights and config.json (model config + `extra`, e.g. the train config) atomically."""
    out = Path(out)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_open(out / WEIGHTS, "wb") as f:
        f.write(st_save(tensors))
    with atomic_open(out / CONFIG, "w", encoding="utf-8") as f:
        json.dump({"model": model.config.to_dict(), **(extra or {})}, f, indent=2)


def save_state(out: str | Path, state: dict) -> None:
    """Write the resumable training state (torch pickle) atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    with atomic_open(Path(out) / STATE, "wb") as f:
        f.write(buf.getvalue())


def load_state(out: str | Path, device: str | torch.device = "cpu") -> dict | None:
    """Return the saved training state, or None when the folder has none."""
    path = Path(out) / STATE
    if not path.is_file():
        return None
    return torch.load(path, map_location=device, weights_only=False)


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> tuple[CodeGeeX, CodeTokenizer]:
    """Rebuild the model (eval mode) and its tokenizer from a model folder."""
    folder = Path(folder)
    for name in (WEIGHTS, CONFIG, TOKENIZER):
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: not a codegen model folder (missing {name})")
    cfg = ModelConfig.from_dict(json.loads((folder / CONFIG).read_text(encoding="utf-8"))["model"])
    with torch.device("meta"):
        model = CodeGeeX(cfg)  # no wasted random init: every tensor comes from the file
    state = st_load((folder / WEIGHTS).read_bytes())
    model.load_state_dict(state, assign=True)
    return model.to(device).eval(), CodeTokenizer.from_file(folder / TOKENIZER)
