"""Go: functions and methods (named `Type.Method` by their receiver), the // comment block above as doc."""
from __future__ import annotations

import tree_sitter_go

from .doc_comments import DocComment
from .treesitter import TreeSitterExtractor, text


class GoExtractor(TreeSitterExtractor):
    grammar = staticmethod(tree_sitter_go.language)
    function_types = frozenset({"function_declaration", "method_declaration"})
    call_types = {"call_expression": "function"}
    member_types = {"selector_expression": ("operand", "field")}
    name_types = frozenset({"identifier", "field_identifier", "package_identifier", "type_identifier"})
    identifier_types = name_types
    receiver_types = frozenset()
    doc = DocComment("any")

    def function_site(self, node, src):
        site = super().function_site(node, src)
        recv = receiver_type(node, src) if site is not None and node.type == "method_declaration" else None
        if recv:
            site.name, site.qualified = f"{recv}.{site.name}", True
        return site


def receiver_type(node, src: bytes) -> str | None:
    """`func (s *Server[T]) Serve()` -> Server."""
    recv = node.child_by_field_name("receiver")
    params = [c for c in recv.named_children if c.type == "parameter_declaration"] if recv is not None else []
    t = params[0].child_by_field_name("type") if params else None
    while t is not None and t.type in ("pointer_type", "generic_type", "parenthesized_type"):
        t = t.child_by_field_name("type") or (t.named_children[0] if t.named_child_count else None)
    return text(t, src) if t is not None else None


_GO = GoExtractor()


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    return _GO.extract(raw, path)
