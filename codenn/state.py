"""Save nested training state (optimizer, scheduler, RNG) without pickle: tensors to safetensors, the rest to JSON."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

_TENSOR = "__tensor__"
_TUPLE = "__tuple__"


def flatten(obj, tensors: dict[str, torch.Tensor], path: str = "s"):
    """Return a JSON-able skeleton of obj; its tensors move into `tensors` under their path."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().cpu().contiguous().clone()
        return {_TENSOR: path}
    if isinstance(obj, dict):
        # JSON keys are strings: keep each key's type so that int keys (optimizer state) come back as ints
        return {"__dict__": [[k, flatten(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {_TUPLE: [flatten(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot save a {type(obj).__name__} in training state at {path}")


def unflatten(skel, tensors: dict[str, torch.Tensor]):
    """Inverse of flatten."""
    if isinstance(skel, dict):
        if _TENSOR in skel:
            return tensors[skel[_TENSOR]]
        if _TUPLE in skel:
            return tuple(unflatten(v, tensors) for v in skel[_TUPLE])
        return {k: unflatten(v, tensors) for k, v in skel["__dict__"]}
    if isinstance(skel, list):
        return [unflatten(v, tensors) for v in skel]
    return skel


def save_state(obj, folder: str | Path, stem: str = "state") -> None:
    """Write obj as folder/{stem}.safetensors + folder/{stem}.json (the folder is expected to be fresh)."""
    tensors: dict[str, torch.Tensor] = {}
    skel = flatten(obj, tensors)
    save_file(tensors, str(Path(folder) / f"{stem}.safetensors"))
    (Path(folder) / f"{stem}.json").write_text(json.dumps(skel), encoding="utf-8")


def load_state(folder: str | Path, stem: str = "state"):
    """Read what save_state wrote."""
    tensors = load_file(str(Path(folder) / f"{stem}.safetensors"))
    skel = json.loads((Path(folder) / f"{stem}.json").read_text(encoding="utf-8"))
    return unflatten(skel, tensors)
