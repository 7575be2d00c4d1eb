"""Decoding loops over token ids: logits filters, batched sampling, beam search.

Works on any `model(idx, kv_cache=...) -> logits (B, T, V)`; see codegen/sample.py for the contract.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

# Returns True once a completion (token ids after the prompt) should stop.
StopFn = Callable[[list[int]], bool]


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits per row (ties at the k-th value kept); others become -inf."""
    if k <= 0 or k >= logits.size(-1):
        return logits
    kth = logits.topk(k, dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability mass reaches p (nucleus)."""
    if p >= 1.0:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
    probs = sorted_logits.float().softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # mass of the strictly more likely tokens
    sorted_logits = sorted_logits.masked_fill(before >= p, float("-inf"))  # first token survives
    return logits.scatter(-1, order, sorted_logits)  # undo the sort


def choose_next(logits: torch.Tensor, greedy: bool, temperature: float, top_k: int,
                top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Pick one token per row from last-position logits (B, V): argmax or filtered sampling."""
    if greedy:
        return logits.argmax(dim=-1)
    logits = top_p_filter(top_k_filter(logits.float() / temperature, top_k), top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)


class Decoder:
    """Feed tokens to a model, with a KV cache or by re-running the whole sequence."""

    def __init__(self, model, prompt: list[int], use_cache: bool, device: torch.device):
        self.model, self.use_cache = model, use_cache
        self.seqs = torch.tensor([prompt], dtype=torch.long, device=device)  # (B, T)
        self.cache = model.new_kv_cache() if use_cache else None

    def start(self) -> torch.Tensor:
        """Run the prompt; return its last-position logits (1, V)."""
        return self.model(self.seqs, kv_cache=self.cache)[:, -1]

    def select(self, index: torch.Tensor) -> None:
        """Keep/reorder/repeat batch rows (B,) -> (len(index),)."""
        self.seqs = self.seqs.index_select(0, index)
        if self.cache is not None:
            self.cache.select(index)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Append one token per row (B,); return the next logits (B, V)."""
        self.seqs = torch.cat([self.seqs, tokens[:, None]], dim=1)
        if self.cache is not None:
            return self.model(tokens[:, None], kv_cache=self.cache)[:, -1]
        return self.model(self.seqs, kv_cache=None)[:, -1]


def sample_rows(model, prompt: list[int], rows: int, max_new: int, eos_id: int | None,
                should_stop: StopFn, use_cache: bool, device: torch.device,
                greedy: bool = True, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                generator: torch.Generator | None = None) -> list[list[int]]:
    """Decode `rows` continuations of one prompt in one batch; finished rows leave the batch."""
    dec = Decoder(model, prompt, use_cache, device)
    logits = dec.start().expand(rows, -1)  # (rows, V)
    dec.select(torch.zeros(rows, dtype=torch.long, device=device))
    outs: list[list[int]] = [[] for _ in range(rows)]
    active = list(range(rows))  # output row of each batch row
    for t in range(max_new):
        nxt = choose_next(logits, greedy, temperature, top_k, top_p, generator)  # (B,)
        keep = []
        for b, tok in enumerate(nxt.tolist()):
            row = active[b]
            if tok == eos_id:
                continue
            outs[row].append(tok)
            if not should_stop(outs[row]):
                keep.append(b)
        if not keep or t == max_new - 1:
            break
        if len(keep) < len(active):
            index = torch.tensor(keep, dtype=torch.long, device=device)
            dec.select(index)
            nxt = nxt.index_select(0, index)
            active = [active[b] for b in keep]
        logits = dec.step(nxt)
    return outs


def beam_search(model, prompt: list[int], width: int, n: int, max_new: int, eos_id: int | None,
                should_stop: StopFn, use_cache: bool, device: torch.device,
                length_penalty: float = 1.0) -> list[list[int]]:
    """Return the n best of `width` beams by log-probability / length**length_penalty.

    Search ends once `width` hypotheses have finished (EOS or stop sequence) or after max_new
    tokens; with width 1 this is exactly greedy decoding.
    """
    dec = Decoder(model, prompt, use_cache, device)
    logits = dec.start()  # (1, V)
    scores = torch.zeros(1, device=device)  # (B,) summed log-probs of the live beams
    beams: list[list[int]] = [[]]
    finished: list[tuple[float, list[int]]] = []

    def norm(score: float, seq: list[int]) -> float:
        return score / max(len(seq), 1) ** length_penalty

    for t in range(max_new):
        logp = F.log_softmax(logits.float(), dim=-1)  # (B, V)
        vocab = logp.size(-1)
        cand = (scores[:, None] + logp).view(-1)
        top_s, top_i = cand.topk(min(2 * width, cand.numel()))
        live: list[tuple[float, int, int]] = []  # (score, parent beam, token)
        for s, i in zip(top_s.tolist(), top_i.tolist()):
            parent, tok = divmod(i, vocab)
            if tok == eos_id:
                finished.append((norm(s, beams[parent] + [tok]), beams[parent]))
            elif should_stop(beams[parent] + [tok]) or t == max_new - 1:
                finished.append((norm(s, beams[parent] + [tok]), beams[parent] + [tok]))
            else:
                live.append((s, parent, tok))
            if len(live) == width:
                break
        if len(finished) >= width or not live:
            break
        index = torch.tensor([p for _, p, _ in live], dtype=torch.long, device=device)
        tokens = torch.tensor([tok for _, _, tok in live], dtype=torch.long, device=device)
        beams = [beams[p] + [tok] for _, p, tok in live]
        scores = torch.tensor([s for s, _, _ in live], device=device)
        dec.select(index)
        logits = dec.step(tokens)
    finished.sort(key=lambda x: -x[0])
    return [seq for _, seq in finished[:n]]
