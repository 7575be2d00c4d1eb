"""The hooks a training loop calls: the Callback interface and a list that fans each hook out."""
from __future__ import annotations


class Callback:
    """Hooks the trainer calls with itself; override what you need. `logs` holds the step's scalars."""

    def on_train_start(self, trainer) -> None: ...
    def on_epoch_start(self, trainer) -> None: ...
    def on_step_end(self, trainer, logs: dict) -> None: ...
    def on_eval_end(self, trainer, metrics: dict) -> None: ...
    def on_train_end(self, trainer) -> None: ...


class CallbackList(Callback):
    """Fan each hook out to several callbacks, in order."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)

    def on_train_start(self, trainer):
        for cb in self.callbacks:
            cb.on_train_start(trainer)

    def on_epoch_start(self, trainer):
        for cb in self.callbacks:
            cb.on_epoch_start(trainer)

    def on_step_end(self, trainer, logs):
        for cb in self.callbacks:
            cb.on_step_end(trainer, logs)

    def on_eval_end(self, trainer, metrics):
        for cb in self.callbacks:
            cb.on_eval_end(trainer, metrics)

    def on_train_end(self, trainer):
        for cb in self.callbacks:
            cb.on_train_end(trainer)
