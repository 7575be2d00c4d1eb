"""Rust: functions, and methods named `Type.method` by their impl or trait; /// and //! docs."""
from __future__ import annotations

import re

import tree_sitter_rust

from .doc_comments import DocComment
from .treesitter import TreeSitterExtractor, text

_GENERICS = re.compile(r"<.*", re.S)


class RustExtractor(TreeSitterExtractor):
    grammar = staticmethod(tree_sitter_rust.language)
    function_types = frozenset({"function_item"})
    class_types = {"impl_item": "type", "trait_item": "name"}
    call_types = {"call_expression": "function", "macro_invocation": "macro"}
    member_types = {"field_expression": ("value", "field"), "scoped_identifier": ("path", "name")}
    unwrap_types = {"generic_function": "function"}
    name_types = frozenset({"identifier", "field_identifier", "type_identifier"})
    identifier_types = name_types
    prefix_types = frozenset({"attribute_item"})
    doc = DocComment("rust")

    def class_name(self, node, src):
        t = node.child_by_field_name(self.class_types[node.type])
        if t is None:
            return None
        name = _GENERICS.sub("", text(t, src)).strip()   # impl<T> Stack<T> -> Stack
        return name.split("::")[-1] or None

    def callee(self, node, src):
        name = super().callee(node, src)
        return f"{name}!" if name and node.type == "macro_invocation" else name


_RUST = RustExtractor()


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    return _RUST.extract(raw, path)
