"""CODEnn: the joint code/description embedding, its trainer and its metrics. `codenn.load(model_dir)`."""
from __future__ import annotations


def load(model_dir, device="cpu"):
    """Rebuild a trained model from its directory alone (see codenn.encoder.CodeEncoder)."""
    from .encoder import load as _load  # lazy: `import codenn` stays cheap
    return _load(model_dir, device)


def load_static(model_dir):
    """The model without torch where it allows: a bag model encodes queries and functions in numpy."""
    from .bundle_files import read_raw_config
    if read_raw_config(model_dir)["model"].get("arch") == "bag":
        from .static_query import StaticEncoder
        return StaticEncoder(model_dir)
    return load(model_dir)
