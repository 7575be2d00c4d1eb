"""The resumable checkpoint of a run: weights + trainer state in one folder, swapped in atomically."""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from codesearch_common.fsutil import atomic_dir
from .state import load_state, save_state

WEIGHTS = "model.safetensors"


class Checkpointer:
    """Write and read `folder/last` (the latest epoch's end, or where Ctrl-C stopped the run)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.last = self.folder / "last"

    def save(self, model_state: dict[str, torch.Tensor], trainer_state: dict) -> None:
        with atomic_dir(self.last) as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in model_state.items()}, str(tmp / WEIGHTS))
            save_state(trainer_state, tmp)

    def load(self) -> tuple[dict[str, torch.Tensor], dict] | None:
        """(model state, trainer state) of the last checkpoint, or None when there is none."""
        if not (self.last / WEIGHTS).exists():
            return None
        return load_file(str(self.last / WEIGHTS)), load_state(self.last)

    def describe(self) -> str:
        return str(self.last) if (self.last / WEIGHTS).exists() else f"none yet under {self.folder}"
