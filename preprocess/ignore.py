"""`.gitignore` and `.codesearchignore` rules, at every folder level, as git applies them."""
from __future__ import annotations

import os
import re
from typing import Sequence

import pathspec

IGNORE_FILES = (".gitignore", ".codesearchignore")


class IgnoreRules:
    """The ignore files met so far in a walk; the deepest file with a matching pattern decides."""

    def __init__(self, patterns: Sequence[str] = ()):
        # (folder relative to root, rules, one regex that any of the rules' patterns would match)
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec, re.Pattern | None]] = []
        if patterns:
            self._add("", list(patterns))

    def _add(self, rel_dir: str, lines: list[str]) -> None:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        regexes = [p.regex.pattern for p in spec.patterns if p.include is not None and p.regex is not None]
        # most paths match no pattern at all: one alternation says so without testing each pattern
        any_match = re.compile("|".join(f"(?:{r})" for r in regexes).replace("(?P<ps_d>", "(?:")) if regexes else None
        self._specs.append((rel_dir, spec, any_match))

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
            self._add(rel_dir, lines)

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """True when the rules of the path's folders exclude it (`rel_path` relative to the walk's root)."""
        decision = False
        for base, spec, any_match in self._specs:
            if base and not rel_path.startswith(base + "/"):
                continue
            sub = rel_path[len(base) + 1:] if base else rel_path
            sub = sub + "/" if is_dir else sub
            if any_match is None or not any_match.search(sub):
                continue
            result = spec.check_file(sub).include
            if result is not None:
                decision = result
        return decision
