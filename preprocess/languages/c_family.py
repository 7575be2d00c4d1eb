"""C and C++: function definitions (methods named `Class.method`, `A::f` too), comments directly above."""
from __future__ import annotations

import re

import tree_sitter_c
import tree_sitter_cpp

from .doc_comments import DocComment
from .treesitter import FunctionSite, TreeSitterExtractor, text

_WRAPPERS = frozenset({"pointer_declarator", "reference_declarator", "parenthesized_declarator",
                       "attributed_declarator"})
_CPP_MARK = re.compile(rb"^\s*(class\s+\w+|namespace\b|template\s*<|public:|private:|#include\s*<(iostream|string|vector|memory)>)",
                       re.M)


class CExtractor(TreeSitterExtractor):
    grammar = staticmethod(tree_sitter_c.language)
    function_types = frozenset({"function_definition"})
    call_types = {"call_expression": "function"}
    member_types = {"field_expression": ("argument", "field")}
    name_types = frozenset({"identifier", "field_identifier"})
    identifier_types = frozenset({"identifier", "field_identifier", "type_identifier"})
    receiver_types = frozenset()
    doc = DocComment("any")

    def function_site(self, node, src):
        if node.child_by_field_name("body") is None:
            return None
        d = node.child_by_field_name("declarator")
        while d is not None and d.type in _WRAPPERS:
            d = d.child_by_field_name("declarator")
        if d is None or d.type != "function_declarator":
            return None
        name = d.child_by_field_name("declarator")
        if name is None:
            return None
        parent = node.parent
        anchor = parent if parent is not None and parent.type == "template_declaration" else node
        if name.type == "qualified_identifier":    # `int Sorted::size()` is a method of Sorted
            return FunctionSite(node, text(name, src).replace("::", "."), anchor, name_node=name, qualified=True)
        return FunctionSite(node, text(name, src), anchor, name_node=name)


class CppExtractor(CExtractor):
    grammar = staticmethod(tree_sitter_cpp.language)
    class_types = {"class_specifier": "name", "struct_specifier": "name", "union_specifier": "name"}
    call_types = {"call_expression": "function", "new_expression": "type"}
    member_types = {"field_expression": ("argument", "field"), "qualified_identifier": ("scope", "name")}
    unwrap_types = {"template_function": "name", "template_type": "name"}
    name_types = frozenset({"identifier", "field_identifier", "namespace_identifier", "type_identifier",
                            "destructor_name", "operator_name"})
    identifier_types = frozenset({"identifier", "field_identifier", "type_identifier", "namespace_identifier"})
    receiver_types = frozenset({"this"})


def looks_cpp(raw: bytes) -> bool:
    """A `.h` header written in C++ (classes, namespaces, templates)."""
    return bool(_CPP_MARK.search(raw[:65536]))


_C, _CPP = CExtractor(), CppExtractor()


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    """C for .c (and C headers), C++ for C++ files and headers."""
    lower = path.lower()
    cpp = not lower.endswith((".c", ".h")) or (lower.endswith(".h") and looks_cpp(raw))
    return (_CPP if cpp else _C).extract(raw, path)
