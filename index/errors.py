"""Errors of the index and the searcher, each with a message a user can act on."""
from __future__ import annotations


class IndexMissingError(FileNotFoundError):
    """The index folder (or a file in it) does not exist."""

    def __init__(self, index_dir, what: str = "index"):
        super().__init__(f"no search {what} at {index_dir}: build it with `make index` "
                         f"(python -m index build --functions data/functions.csv --model data/model --out {index_dir})")
        self.index_dir = str(index_dir)


class IndexCorruptError(RuntimeError):
    """The index folder exists but its parts disagree or cannot be read."""


class ModelMismatchError(ValueError):
    """The index was encoded with another model than the one offered."""

    def __init__(self, index_identity: str, index_model_dir: str | None, offered_identity: str):
        where = f" (at {index_model_dir})" if index_model_dir else ""
        super().__init__(f"this index was built with model {index_identity}{where}, not {offered_identity}: "
                         f"query it with that model (--model {index_model_dir or '<its directory>'}) "
                         f"or rebuild the index with `make index`")
        self.index_identity = index_identity
        self.offered_identity = offered_identity


class ModelMissingError(FileNotFoundError):
    """The model an index needs (or one named on the command line) is not where it should be."""


class QueryError(ValueError):
    """A query or its options cannot be served; the message is meant for the user."""
