"""Piece embeddings from a pretrained sentence encoder (all-MiniLM-L6-v2, packaged).

Each vocabulary piece is run alone through the encoder ([CLS] piece [SEP], mean-pooled), so a
bag model can start from the encoder's knowledge of words (the Model2Vec idea). Only training
needs this; the trained model stands alone.
"""
from __future__ import annotations

import numpy as np
import torch

from preprocess.text import Vocab
from .code_teacher import minilm_dir


@torch.no_grad()
def piece_embeddings(vocab: Vocab, batch_size: int = 512) -> np.ndarray:
    """(V, 384) float32: the encoder's mean-pooled output for each piece of `vocab` (zeros for <pad>)."""
    from transformers import AutoModel, AutoTokenizer

    path = str(minilm_dir())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ids = [tok.convert_tokens_to_ids(t if i > 3 else tok.unk_token) for i, t in enumerate(vocab.itos)]
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    for s in range(1, len(ids), batch_size):
        piece = torch.tensor(ids[s : s + batch_size])
        inp = torch.stack([torch.full_like(piece, tok.cls_token_id), piece, torch.full_like(piece, tok.sep_token_id)], 1)
        hidden = model(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state   # (B, 3, H)
        out[s : s + len(piece)] = hidden.mean(1).numpy()
    return out
