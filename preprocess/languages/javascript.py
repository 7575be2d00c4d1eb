"""JavaScript and TypeScript (TSX too): declarations, methods, and function values bound to a name."""
from __future__ import annotations

import tree_sitter_javascript
import tree_sitter_typescript

from .doc_comments import DocComment
from .treesitter import FunctionSite, TreeSitterExtractor, text

_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})
_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration"})
_FIELDS = frozenset({"public_field_definition", "field_definition"})


class JavaScriptExtractor(TreeSitterExtractor):
    grammar = staticmethod(tree_sitter_javascript.language)
    function_types = _DECLARATIONS | _FUNCTION_VALUES | {"method_definition"}
    class_types = {"class_declaration": "name", "class": "name", "abstract_class_declaration": "name"}
    call_types = {"call_expression": "function", "new_expression": "constructor"}
    member_types = {"member_expression": ("object", "property")}
    name_types = frozenset({"identifier", "property_identifier", "private_property_identifier", "type_identifier"})
    identifier_types = name_types | {"shorthand_property_identifier", "shorthand_property_identifier_pattern"}
    prefix_types = frozenset({"decorator"})
    doc = DocComment("jsdoc")

    def function_site(self, node, src):
        if node.child_by_field_name("body") is None:
            return None
        t = node.type
        if t in _DECLARATIONS or t == "method_definition":
            name = node.child_by_field_name("name")
            if name is None:
                return None
            return FunctionSite(node, _key(name, src), _exported(node), name_node=name)
        site = self._bound_value(node, src)
        if site is None and t == "function_expression" and node.child_by_field_name("name") is not None:
            name = node.child_by_field_name("name")   # `var add = curry(function add(a, b) {...})`
            return FunctionSite(node, text(name, src), _statement_of(node), name_node=name)
        return site

    def _bound_value(self, node, src) -> FunctionSite | None:
        """`const f = () => ...`, `obj.f = function () {}`, `{ f: () => ... }`, class fields `f = () => ...`."""
        parent = node.parent
        if parent is None:
            return None
        pt = parent.type
        if pt == "variable_declarator" and _is(parent.child_by_field_name("value"), node):
            name = parent.child_by_field_name("name")
            if name is None or name.type != "identifier":
                return None
            decl = parent.parent
            anchor = decl if decl is not None and decl.named_child_count == 1 else parent
            return FunctionSite(node, text(name, src), _exported(anchor))
        if pt == "assignment_expression" and _is(parent.child_by_field_name("right"), node):
            left = parent.child_by_field_name("left")
            if left is None:
                return None
            name = left.child_by_field_name("property") if left.type == "member_expression" else left
            if name is None or name.type not in self.name_types:
                return None
            stmt = parent.parent
            return FunctionSite(node, text(name, src), stmt if stmt is not None and stmt.type == "expression_statement" else parent)
        if pt == "pair" and _is(parent.child_by_field_name("value"), node):
            key = parent.child_by_field_name("key")
            return FunctionSite(node, _key(key, src), parent) if key is not None else None
        if pt in _FIELDS:
            name = parent.child_by_field_name("name") or parent.child_by_field_name("property")
            return FunctionSite(node, _key(name, src), parent) if name is not None else None
        return None


class TypeScriptExtractor(JavaScriptExtractor):
    grammar = staticmethod(tree_sitter_typescript.language_typescript)


class TSXExtractor(JavaScriptExtractor):
    grammar = staticmethod(tree_sitter_typescript.language_tsx)


_STATEMENT_PARENTS = frozenset({"program", "statement_block", "class_body", "export_statement"})


def _statement_of(node, max_up: int = 6):
    """The statement a function expression sits in (where its doc comment is), or the node itself."""
    cur = node
    for _ in range(max_up):
        parent = cur.parent
        if parent is None:
            return node
        if parent.type in _STATEMENT_PARENTS:
            return cur
        cur = parent
    return node


def _is(a, b) -> bool:
    return a is not None and a.id == b.id


def _key(node, src: bytes) -> str:
    """A property key as a name: `"get"` -> get, `[Symbol.iterator]` -> Symbol.iterator."""
    return text(node, src).strip("\"'`[]#")


def _exported(node):
    """`export function f` and `export default ...`: the comment sits above the export statement."""
    parent = node.parent
    return parent if parent is not None and parent.type == "export_statement" else node


_JS, _TS, _TSX = JavaScriptExtractor(), TypeScriptExtractor(), TSXExtractor()


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    """JavaScript, TypeScript or TSX by the file's extension."""
    lower = path.lower()
    ex = _TSX if lower.endswith(".tsx") else _TS if lower.endswith((".ts", ".mts", ".cts")) else _JS
    return ex.extract(raw, path)
