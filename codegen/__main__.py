"""Dispatch `python -m codegen COMMAND ...` to the codegen tools."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": "codegen.train",
    "sample": "codegen.sample",
    "tokenizer": "codegen.tokenizer",
    "evaluate": "codegen.evaluate",
    "lora": "codegen.lora",
}


def main(argv=None) -> int:
    """Run the named sub-tool with the remaining arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m codegen {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
