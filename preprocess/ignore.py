"""`.gitignore` and `.codesearchignore` rules, at every folder level, as git applies them."""
from __future__ import annotations

import os
from typing import Sequence

import pathspec

IGNORE_FILES = (".gitignore", ".codesearchignore")


class IgnoreRules:
    """The ignore files met so far in a walk; the deepest file with a matching pattern decides."""

    def __init__(self, patterns: Sequence[str] = ()):
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []   # (folder relative to root, rules)
        if patterns:
            self._specs.append(("", pathspec.GitIgnoreSpec.from_lines(list(patterns))))

    def load(self, rel_dir: str, abs_dir: str, filenames: list[str]) -> None:
        """Read the ignore files of one folder (call for each folder as the walk enters it)."""
        lines: list[str] = []
        for name in IGNORE_FILES:
            if name in filenames:
                try:
                    with open(os.path.join(abs_dir, name), encoding="utf-8", errors="replace") as f:
                        lines.extend(f.read().splitlines())
                except OSError:
                    continue
        if lines:
            self._specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """True when the rules of the path's folders exclude it (`rel_path` relative to the walk's root)."""
        decision = False
        for base, spec in self._specs:
            if base and not rel_path.startswith(base + "/"):
                continue
            sub = rel_path[len(base) + 1:] if base else rel_path
            result = spec.check_file(sub + "/" if is_dir else sub).include
            if result is not None:
                decision = result
        return decision
