"""Turn Python source into function records: name, API calls, identifier tokens, description, code."""
from __future__ import annotations

import ast
import re
import textwrap

from .text import split_identifier

_NOISE_TOKENS = {"self", "cls"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`'\"(\[])|(?<=[.!?])$")
_RST_ROLE = re.compile(r":[a-zA-Z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_MARKUP = re.compile(r"``|`|\*\*|\*")
_FIELD_LINE = re.compile(r"^\s*(:param|:return|:rtype|:raises|@param|@return|Args:|Returns:|Raises:|>>>)")


def dotted_name(node: ast.AST) -> str | None:
    """Return `os.path.join` for the callee of `os.path.join(...)`, or the attribute tail."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return None  # a call result or subscript: the callee is only known by its attribute


def _position(n: ast.AST) -> tuple[int, int, int]:
    # (start, end) order puts `os` before `path` before `join` in `os.path.join`, and an
    # inner call `f(x)` before the outer call `g(f(x))` that starts at the same column
    return n.lineno, n.col_offset, n.end_col_offset


def collect_function_parts(tree: ast.AST) -> list[tuple[ast.AST, str, list[ast.Call], list[ast.AST]]]:
    """In one traversal, list every function with its qualified name and the calls and identifiers of its body.

    A method's name is qualified by its classes (`Outer.Inner.method`); a function nested in a
    function keeps its own name, as every language's extractor names them.
    """
    parts: dict[ast.AST, tuple[str, list, list]] = {}
    stack: list[tuple[ast.AST, tuple, tuple]] = [(tree, (), ())]
    while stack:
        node, enclosing, classes = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for outer in enclosing:           # a nested def's name is an identifier of the outer body
                parts[outer][2].append(node)
            stack.extend((d, enclosing, classes) for d in node.decorator_list)
            inner = enclosing + (node,)
            parts[node] = (".".join(classes + (node.name,)), [], [])
            stack.append((node.args, inner, ()))
            stack.extend((stmt, inner, ()) for stmt in node.body)
            continue
        if isinstance(node, ast.ClassDef):
            stack.extend((child, enclosing, classes + (node.name,)) for child in ast.iter_child_nodes(node))
            for f in enclosing:
                parts[f][2].append(node)
            continue
        if enclosing:
            if isinstance(node, ast.Call):
                for f in enclosing:
                    parts[f][1].append(node)
            elif isinstance(node, (ast.Name, ast.Attribute, ast.arg)):
                for f in enclosing:
                    parts[f][2].append(node)
        stack.extend((child, enclosing, classes) for child in ast.iter_child_nodes(node))
    return [(f, name, calls, idents) for f, (name, calls, idents) in parts.items()]


def api_sequence(calls: list[ast.Call]) -> list[str]:
    """Callees as dotted names, in source order."""
    calls = sorted(calls, key=_position)
    return [name for name in (dotted_name(c.func) for c in calls) if name]


def identifier_tokens(idents: list[ast.AST]) -> list[str]:
    """Identifiers (names, attributes, arguments, nested defs), split and lower-cased, first-seen order."""
    seen: dict[str, None] = {}
    for n in sorted(idents, key=lambda n: (n.lineno, n.col_offset, getattr(n, "end_col_offset", 0))):
        if isinstance(n, ast.Name):
            ident = n.id
        elif isinstance(n, ast.Attribute):
            ident = n.attr
        elif isinstance(n, ast.arg):
            ident = n.arg
        else:
            ident = n.name
        if ident in _NOISE_TOKENS:
            continue
        for tok in split_identifier(ident):
            seen.setdefault(tok, None)
    return list(seen)


def first_sentence(docstring: str | None) -> str:
    """The docstring's first sentence, with reST/markdown markup and field lists removed."""
    if not docstring:
        return ""
    lines = []
    for line in docstring.strip().splitlines():
        if not line.strip():
            if lines:
                break
            continue
        if _FIELD_LINE.match(line):
            break
        lines.append(line.strip())
    text = " ".join(lines)
    text = _RST_ROLE.sub(r"\1", text)
    text = _MARKUP.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    m = _SENTENCE_END.search(text)
    if m:
        text = text[: m.start()].strip()
    return text


def function_record(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str, calls: list, idents: list,
                    lines: list[str]) -> dict:
    """Fields of one function; `code` spans its decorators to its last line, dedented."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    end = node.end_lineno or node.lineno
    code = textwrap.dedent("".join(lines[start - 1 : end])).rstrip() + "\n"
    return {
        "start_line": start,
        "end_line": end,
        "name": name,
        "apiseq": " ".join(api_sequence(calls)),
        "tokens": " ".join(identifier_tokens(idents)),
        "desc": first_sentence(ast.get_docstring(node, clean=True)),
        "code": code,
    }


def extract_functions_from_source(source: str) -> list[dict]:
    """Parse Python source and return one record per function, in source order.

    Raises SyntaxError (or ValueError) for unparsable source and RecursionError for absurd nesting.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found = sorted(collect_function_parts(tree), key=lambda p: (p[0].lineno, p[0].col_offset))
    return [function_record(f, name, calls, idents, lines) for f, name, calls, idents in found]
