"""Tests for codegen.lora (peft adapters on the CodeGeeX-style model)."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("peft", reason="LoRA uses peft (pip install peft)")

from codegen.config import ModelConfig  # noqa: E402
from codegen.lora import LoraSettings, adapter_state, apply_lora, merge_lora, trainable_names  # noqa: E402
from codegen.model import CodeGeeX  # noqa: E402
from codegen.trainer import TrainConfig, Trainer  # noqa: E402

CFG = ModelConfig(vocab_size=50, n_ctx=16, n_layer=2, n_head=2, n_embd=16)


def _base():
    torch.manual_seed(0)
    return CodeGeeX(CFG)


def test_only_adapters_train_and_merge_equals_adapter_on():
    model = _base()
    base_before = {k: v.clone() for k, v in model.state_dict().items()}
    peft_model = apply_lora(model, LoraSettings(rank=4, alpha=8, targets=("query", "value", "dense_h_to_4h")))
    names = trainable_names(peft_model)
    assert names and all("lora_" in n for n in names)
    n_adapted = 3 * (CFG.n_layer + 1)  # three target Linears per block, top query layer included
    assert len(names) == 2 * n_adapted  # lora_A and lora_B each
    assert sum("dense_h_to_4h" in n for n in names) == 2 * (CFG.n_layer + 1)

    segs = torch.randint(0, CFG.vocab_size, (16, 17))
    trainer = Trainer(TrainConfig(max_steps=5, batch_size=4, warmup_steps=1, lr_max=1e-2), peft_model, segs)
    adapters_before = {k: v.clone() for k, v in adapter_state(peft_model).items()}
    trainer.run(progress=False)
    for k, v in peft_model.get_base_model().state_dict().items():
        if "lora_" not in k:
            key = k.replace(".base_layer", "")
            torch.testing.assert_close(v, base_before[key], rtol=0, atol=0, msg=k)
    after = adapter_state(peft_model)
    assert any(not torch.equal(after[k], adapters_before[k]) for k in after)

    idx = torch.randint(0, CFG.vocab_size, (2, 12))
    peft_model.eval()
    with torch.no_grad():
        adapted = peft_model(idx)
        merged = merge_lora(peft_model)
        assert type(merged) is CodeGeeX and not any("lora" in n for n, _ in merged.named_parameters())
        torch.testing.assert_close(merged(idx), adapted, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(adapted, _base().eval()(idx), atol=1e-4)  # adapters changed it


def test_adapted_model_still_decodes_with_the_kv_cache():
    from codegen.sample import generate

    class Tok:
        eos_id = None

        def encode(self, s):
            return [ord(c) % CFG.vocab_size for c in s]

        def decode(self, ids):
            return "".join(chr(97 + i % 26) for i in ids)

    peft_model = apply_lora(_base(), LoraSettings(rank=2, targets=("key",)))
    with_cache = generate(peft_model, Tok(), ["abc"], max_new_tokens=6)
    assert with_cache == generate(peft_model, Tok(), ["abc"], max_new_tokens=6, use_cache=False)


def test_unknown_target_is_rejected():
    with pytest.raises(ValueError):
        apply_lora(_base(), LoraSettings(targets=("c_attn",)))
