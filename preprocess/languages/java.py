"""Java: methods and constructors (classes, interfaces, enums, records), Javadoc descriptions."""
from __future__ import annotations

import tree_sitter_java

from .doc_comments import DocComment
from .treesitter import TreeSitterExtractor, text


class JavaExtractor(TreeSitterExtractor):
    grammar = staticmethod(tree_sitter_java.language)
    function_types = frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration"})
    class_types = {t: "name" for t in ("class_declaration", "interface_declaration", "enum_declaration",
                                       "record_declaration", "annotation_type_declaration")}
    call_types = {"method_invocation": "name", "object_creation_expression": "type"}
    member_types = {"field_access": ("object", "field"), "scoped_type_identifier": ("", "name")}
    name_types = frozenset({"identifier", "type_identifier"})
    identifier_types = frozenset({"identifier", "type_identifier"})
    doc = DocComment("jsdoc")

    def callee(self, node, src):
        if node.type == "object_creation_expression":   # `new HashMap<>()` calls HashMap
            t = node.child_by_field_name("type")
            if t is not None and t.type == "generic_type":
                t = t.named_children[0] if t.named_child_count else None
            parts = self.dotted(t, src) if t is not None else None
            return ".".join(parts) if parts else None
        name = node.child_by_field_name("name")
        if name is None:
            return None
        obj = node.child_by_field_name("object")
        base = self.dotted(obj, src) if obj is not None else []
        return ".".join((base or []) + [text(name, src)])


_JAVA = JavaExtractor()


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    return _JAVA.extract(raw, path)
