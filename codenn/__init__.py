"""CODEnn: the joint code/description embedding, its trainer and its metrics. `codenn.load(model_dir)`."""
from __future__ import annotations


def load(model_dir, device="cpu"):
    """Rebuild a trained model from its directory alone (see codenn.encoder.CodeEncoder)."""
    from .encoder import load as _load  # lazy: `import codenn` stays cheap
    return _load(model_dir, device)
