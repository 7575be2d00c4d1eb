"""What every tree-sitter language shares: one walk that finds functions, their calls, identifiers and doc comments.

A language module subclasses `TreeSitterExtractor`, names its node types and overrides
`function_site` (which nodes are named functions, and their names); the rest is common.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable

import tree_sitter

from .. import text as _text
from .doc_comments import DocComment

_PARSERS: dict[int, tree_sitter.Parser] = {}
_RECEIVER_WORDS = frozenset({"this", "self", "Self", "super"})   # say nothing about what a function does


@dataclass
class FunctionSite:
    """A named function: the node owning the body, its name, and the outermost node of its declaration."""

    node: tree_sitter.Node
    name: str
    anchor: tree_sitter.Node
    name_node: tree_sitter.Node | None = None   # inside `node`: not one of the function's own identifiers
    qualified: bool = False                      # the name already says its type (Go receivers, C++ A::f)


@dataclass
class _Found:
    site: FunctionSite
    name: str
    calls: list = field(default_factory=list)    # (start_byte, end_byte, dotted callee)
    idents: list = field(default_factory=list)   # (start_byte, identifier text)


class TreeSitterExtractor:
    """Walk a tree once; emit the functions.csv fields of every named function, nested ones included."""

    grammar: Callable[[], object]                        # the grammar wheel's language() capsule
    function_types: frozenset[str] = frozenset()
    class_types: dict[str, str] = {}                     # container node type -> field holding its name
    call_types: dict[str, str] = {}                      # call node type -> field holding the callee
    member_types: dict[str, tuple[str, str]] = {}        # `a.b` node type -> (object field, property field)
    unwrap_types: dict[str, str] = {}                    # `f::<T>` node type -> field of the callee proper
    name_types: frozenset[str] = frozenset({"identifier"})
    receiver_types: frozenset[str] = frozenset({"this", "self", "super"})
    identifier_types: frozenset[str] = frozenset({"identifier"})
    prefix_types: frozenset[str] = frozenset()           # siblings that belong to the declaration (attributes)
    doc: DocComment = DocComment()

    def parser(self) -> tree_sitter.Parser:
        key = id(type(self))
        p = _PARSERS.get(key)
        if p is None:
            p = _PARSERS[key] = tree_sitter.Parser(tree_sitter.Language(self.grammar()))
        return p

    # ---- what a language says -------------------------------------------------------------
    def function_site(self, node: tree_sitter.Node, src: bytes) -> FunctionSite | None:
        """The function this node defines, or None (anonymous callbacks, bodiless declarations).

        The default fits declarations with `name` and `body` fields; languages override it.
        """
        name = node.child_by_field_name("name")
        if name is None or node.child_by_field_name("body") is None:
            return None
        return FunctionSite(node, text(name, src), node, name_node=name)

    def class_name(self, node: tree_sitter.Node, src: bytes) -> str | None:
        name = node.child_by_field_name(self.class_types[node.type])
        return text(name, src) if name is not None else None

    def callee(self, node: tree_sitter.Node, src: bytes) -> str | None:
        """The dotted name a call node calls (`this.entries.get(k)` -> `entries.get`), or None."""
        fn = node.child_by_field_name(self.call_types[node.type])
        parts = self.dotted(fn, src) if fn is not None else None
        return ".".join(parts) if parts else None

    def dotted(self, node: tree_sitter.Node, src: bytes) -> list[str] | None:
        """Name parts of an expression; a receiver (`this`) gives none; a call or subscript base gives None."""
        t = node.type
        if t in self.receiver_types:
            return []
        if t in self.name_types:
            return [text(node, src)]
        if t in self.unwrap_types:
            inner = node.child_by_field_name(self.unwrap_types[t])
            return self.dotted(inner, src) if inner is not None else None
        if t in self.member_types:
            obj_field, prop_field = self.member_types[t]
            prop = node.child_by_field_name(prop_field)
            if prop is None:
                return None
            obj = node.child_by_field_name(obj_field)
            base = self.dotted(obj, src) if obj is not None else []
            return (base or []) + [text(prop, src)]
        return None

    # ---- the common walk ------------------------------------------------------------------
    def extract(self, raw: bytes, path: str = "") -> tuple[list[dict], bool]:
        """Records of every named function in source order, and whether the file had parse errors."""
        tree = self.parser().parse(raw)
        root = tree.root_node
        lines = raw.decode("utf-8", errors="replace").replace("\r", "").split("\n")
        found = self._walk(root, raw)
        found.sort(key=lambda f: (f.site.node.start_byte, f.site.node.end_byte))
        return [self._record(f, raw, lines) for f in found if not f.site.node.has_error], root.has_error

    def _walk(self, root: tree_sitter.Node, src: bytes) -> list[_Found]:
        out: list[_Found] = []
        skip: set[int] = set()
        stack: list[tuple[tree_sitter.Node, tuple, tuple]] = [(root, (), ())]
        while stack:
            node, enclosing, classes = stack.pop()
            if node.id in skip:    # a function's own name (and the parts of `A::f`) is not its identifier
                continue
            t = node.type
            if t in self.function_types:
                site = self.function_site(node, src)
                if site is not None:
                    name = site.name if site.qualified else ".".join(classes + (site.name,))
                    rec = _Found(site, name)
                    out.append(rec)
                    if site.name_node is not None:
                        skip.add(site.name_node.id)
                        for outer in enclosing:     # a nested function's name is an identifier of the outer body
                            outer.idents.append((site.name_node.start_byte, text(site.name_node, src)))
                    inner = enclosing + (rec,)
                    stack.extend((c, inner, ()) for c in node.named_children)
                    continue
            if t in self.class_types:
                cname = self.class_name(node, src)
                if cname:
                    stack.extend((c, enclosing, classes + (cname,)) for c in node.named_children)
                    continue
            if enclosing:
                if t in self.call_types:
                    callee = self.callee(node, src)
                    if callee:
                        for f in enclosing:
                            f.calls.append((node.start_byte, node.end_byte, callee))
                elif t in self.identifier_types:
                    for f in enclosing:
                        f.idents.append((node.start_byte, text(node, src)))
            stack.extend((c, enclosing, classes) for c in node.named_children)
        return out

    def _record(self, f: _Found, src: bytes, lines: list[str]) -> dict:
        site = f.site
        start_node = self._declaration_start(site.anchor)
        desc, doc_row = self.doc.find(site, start_node, src)
        first = doc_row if doc_row is not None else start_node.start_point.row
        end = max(site.anchor.end_point.row, site.node.end_point.row)
        code = textwrap.dedent("\n".join(lines[first:end + 1])).rstrip() + "\n"
        calls = [c for _, _, c in sorted(f.calls)]
        seen: dict[str, None] = {}
        for _, ident in sorted(f.idents):
            if ident in _RECEIVER_WORDS:
                continue
            for tok in _text.split_identifier(ident):
                seen.setdefault(tok, None)
        return {"start_line": first + 1, "end_line": end + 1, "name": f.name, "apiseq": " ".join(calls),
                "tokens": " ".join(seen), "desc": desc, "code": code}

    def _declaration_start(self, anchor: tree_sitter.Node) -> tree_sitter.Node:
        """The first of the attributes/decorators directly before the declaration, else the declaration."""
        start = anchor
        sib = anchor.prev_named_sibling
        while sib is not None and sib.type in self.prefix_types:
            start = sib
            sib = sib.prev_named_sibling
        return start


def text(node: tree_sitter.Node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", errors="replace")
