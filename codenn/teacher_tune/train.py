"""Fine-tune all-MiniLM-L6-v2 into a code-search bi-encoder with sentence-transformers' trainer.

The loss is CachedMultipleNegativesRankingLoss (GradCache: a large batch of in-batch negatives in
the memory of a small one). The lower layers stay frozen: on two CPU cores the backward pass is
most of the cost, and the upper layers are where a sentence encoder specialises. Checkpoints are
written every `save_steps`, and a rerun into the same folder resumes from the last one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .pairs import Pair

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class TuneConfig:
    """Optimiser, batch, truncation and freezing of the teacher fine-tune."""

    max_tokens: int = 128        # code side and query side share the teacher's truncation
    batch_size: int = 64         # in-batch negatives per step
    mini_batch_size: int = 16    # GradCache chunk: memory, not the loss, depends on it
    lr: float = 5e-5
    warmup_ratio: float = 0.05
    epochs: float = 1.0
    max_steps: int = -1          # > 0 caps the run (the epoch is sized by pairs/s on the machine)
    frozen_layers: int = 4       # of MiniLM's 6 (embeddings frozen too)
    save_steps: int = 25         # checkpoints; also when the valid split is scored (early stopping)
    seed: int = 0
    threads: int = 0             # 0: the process's thread budget


def load_base(max_tokens: int):
    """The packaged all-MiniLM-L6-v2 as a SentenceTransformer, offline."""
    from sentence_transformers import SentenceTransformer

    from ..teacher import minilm_dir
    model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
    model.max_seq_length = max_tokens
    return model


def freeze_lower(model, n_layers: int) -> list[str]:
    """Freeze the embeddings and the first n transformer layers; the names of what still trains."""
    bert = model[0].auto_model
    for p in bert.embeddings.parameters():
        p.requires_grad = False
    for layer in bert.encoder.layer[:n_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    return [n for n, p in bert.named_parameters() if p.requires_grad]


def as_dataset(pairs: list[Pair]):
    from datasets import Dataset
    return Dataset.from_dict({"anchor": [p.query for p in pairs], "positive": [p.code for p in pairs]})


def ir_evaluator(valid: list[Pair], name: str = "valid"):
    """Retrieval over the valid split: each query asks for its own function among all valid code."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    corpus = {str(p.function_id): p.code for p in valid}
    queries = {f"q{i}": p.query for i, p in enumerate(valid)}
    relevant = {f"q{i}": {str(p.function_id)} for i, p in enumerate(valid)}
    return InformationRetrievalEvaluator(queries, corpus, relevant, name=name, mrr_at_k=[10],
                                         accuracy_at_k=[1, 10], precision_recall_at_k=[10],
                                         ndcg_at_k=[10], map_at_k=[10], show_progress_bar=False)


def last_checkpoint(out: Path) -> str | None:
    """The newest `checkpoint-N` folder under out, if a previous run left one."""
    found = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return str(found[-1]) if found else None


def train(train_pairs: list[Pair], valid_pairs: list[Pair], out: Path, cfg: TuneConfig, progress: bool = True):
    """Run (or resume) the fine-tune into out/; returns (the trained SentenceTransformer, the checkpoint resumed)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers
    from transformers import EarlyStoppingCallback

    torch.set_num_threads(cfg.threads or len(os.sched_getaffinity(0)))
    model = load_base(cfg.max_tokens)
    freeze_lower(model, cfg.frozen_layers)
    loss = CachedMultipleNegativesRankingLoss(model, mini_batch_size=cfg.mini_batch_size)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=64,
        learning_rate=cfg.lr, warmup_steps=cfg.warmup_ratio, seed=cfg.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES,   # a duplicate in a batch would be a false negative
        eval_strategy="steps", eval_steps=cfg.save_steps, save_strategy="steps", save_steps=cfg.save_steps,
        save_total_limit=3, load_best_model_at_end=True, metric_for_best_model="eval_valid_cosine_mrr@10",
        logging_steps=10, report_to=["tensorboard"], disable_tqdm=not progress, use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=as_dataset(train_pairs), loss=loss,
        evaluator=ir_evaluator(valid_pairs),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=3)])
    resumed = last_checkpoint(out)
    trainer.train(resume_from_checkpoint=resumed)
    return model, resumed
