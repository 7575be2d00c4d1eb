"""Ship a fine-tuned teacher small: only the layers it trained, in fp16, over the packaged base.

`codenn/pretrained/teacher-NAME/` holds `layers.safetensors` (the trained parameters by their name
in the base BertModel) and `manifest.json` (base, training data with every package and version,
settings, figures). Loading starts from the packaged all-MiniLM-L6-v2 and overwrites those tensors.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"
LAYERS = "layers.safetensors"
MANIFEST = "manifest.json"


def tuned_dir(name: str) -> Path:
    """The folder of a shipped fine-tune, or a clear error."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"teacher weights {name!r}: expected the name of a fine-tune in {PRETRAINED}")
    folder = PRETRAINED / f"teacher-{name}"
    if not (folder / LAYERS).exists():
        raise FileNotFoundError(f"teacher weights {name!r} are not shipped: {folder / LAYERS} is missing")
    return folder


def trained_tensors(model, frozen_layers: int) -> dict:
    """{name: fp16 tensor} of the base BertModel's parameters above the frozen layers."""
    bert = model[0].auto_model
    keep = {}
    for name, p in bert.named_parameters():
        if name.startswith("embeddings."):
            continue
        if name.startswith("encoder.layer."):
            if int(name.split(".")[2]) < frozen_layers:
                continue
        keep[name] = p.detach().to("cpu").half().contiguous()
    return keep


def export_tuned(model, frozen_layers: int, out: Path, manifest: dict) -> Path:
    """Write layers.safetensors and manifest.json into out (each through a temporary name)."""
    from safetensors.torch import save_file
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (LAYERS + ".tmp")
    save_file(trained_tensors(model, frozen_layers), str(tmp))
    os.replace(tmp, out / LAYERS)
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)
    return out


def apply_tuned(model, name: str) -> None:
    """Overwrite the base model's tensors with the shipped fine-tune's (back to fp32)."""
    from safetensors.torch import load_file
    tensors = load_file(str(tuned_dir(name) / LAYERS))
    bert = model[0].auto_model
    missing = set(tensors) - set(dict(bert.named_parameters()))
    if missing:
        raise ValueError(f"teacher weights {name!r} name tensors the base model lacks: {sorted(missing)[:3]}")
    bert.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
