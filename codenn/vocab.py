"""The union of the four field vocabularies, for a model whose fields share one embedding table."""
from __future__ import annotations

import torch

from preprocess.text import SPECIALS, Vocab


def shared_remaps(vocabs: dict[str, Vocab]) -> tuple[int, dict[str, torch.Tensor]]:
    """(union size, field -> (len(field vocab),) tensor of union ids); the specials keep ids 0-3.

    The same word in a description and in code (`json`, `read`) gets one id, so what the
    description side learns about it also moves the code side.
    """
    union: dict[str, int] = {t: i for i, t in enumerate(SPECIALS)}
    for field in sorted(vocabs):  # sorted: the same vocabularies always give the same union
        for t in vocabs[field].itos:
            union.setdefault(t, len(union))
    remaps = {f: torch.tensor([union[t] for t in v.itos], dtype=torch.int64) for f, v in vocabs.items()}
    return len(union), remaps
