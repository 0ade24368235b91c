"""Where each field of a protobuf text-format spec sits: dotted field path -> line.

Protobuf's parser keeps no positions, so error messages could not point at a line. ``scan`` walks the
text with protobuf's own ``text_format.Tokenizer`` and the message descriptor, tracking the nested
path, and records the first line of every field. It never raises: it runs on malformed text too, to
explain syntax errors (unclosed blocks, stray braces).

Paths: ``train_config.n_epochs``; repeated fields get an index, ``data_sources[0].tfrecords_path``;
map entries get their key, ``target_class_config["car"].clustering_config.dbscan_eps`` (the map
entry's ``value`` level is folded into the key). ``pattern`` is the same path with ``[*]`` for every
index or key, as used by the rules tables.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field as dc_field, replace

from google.protobuf import text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

_IDENT = re.compile(r"[A-Za-z_][0-9A-Za-z_]*$")
_OPEN = {"{": "}", "<": ">"}


@dataclass(frozen=True)
class Token:
    text: str
    line: int  # 1-based
    col: int  # 1-based


@dataclass(frozen=True)
class Occurrence:
    """One field name (or list element) in the text."""

    path: str
    pattern: str
    name: str
    line: int
    col: int
    field: FieldDescriptor | None  # None for an unknown name
    parent: Descriptor | None  # the message the name was looked up in
    parent_path: str
    enclosing: tuple = ()  # (path, descriptor, line) of each open block, outermost first


@dataclass
class Block:
    """An open ``{ ... }`` (or ``[ ... ]`` list) while scanning."""

    path: str
    pattern: str
    descriptor: Descriptor | None
    line: int
    close: str
    map_entry: bool = False
    list_field: FieldDescriptor | None = None
    counts: dict = dc_field(default_factory=dict)


@dataclass
class Layout:
    tokens: list[Token]
    occurrences: list[Occurrence]
    unclosed: list[Block]  # blocks still open at the end of the text, outermost first
    stray_closers: list[Token]
    duplicate_keys: list[Occurrence]  # a map key given twice
    first_line: dict[str, int]

    def line_of(self, path: str) -> int | None:
        """First line of a field path, or of its closest enclosing field that appears in the text."""
        while path:
            if path in self.first_line:
                return self.first_line[path]
            path = parent_path(path)
        return None

    def field_at(self, line: int, col: int) -> Occurrence | None:
        """The field whose name token starts exactly at (line, col)."""
        for occ in self.occurrences:
            if (occ.line, occ.col) == (line, col):
                return occ
        return None

    def field_before(self, line: int, col: int) -> Occurrence | None:
        """The last field named at or before (line, col): the field a value token belongs to."""
        best = None
        for occ in self.occurrences:
            if (occ.line, occ.col) <= (line, col):
                best = occ
        return best

    def token_at(self, line: int, col: int) -> Token | None:
        for tok in self.tokens:
            if (tok.line, tok.col) == (line, col):
                return tok
        return None


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def key_suffix(key) -> str:
    """``["car"]`` for a string map key, ``[3]`` for an integer one."""
    return f"[{json.dumps(key, ensure_ascii=False)}]"


def parent_path(path: str) -> str:
    """``a.b[0].c`` -> ``a.b[0]`` -> ``a.b`` -> ``a`` -> ``""``."""
    if path.endswith("]"):
        depth, i = 0, len(path) - 1
        in_str = False
        while i >= 0:  # find the matching "[" (keys may contain dots and brackets)
            ch = path[i]
            if ch == '"' and (i == 0 or path[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and ch == "]":
                depth += 1
            elif not in_str and ch == "[":
                depth -= 1
                if depth == 0:
                    return path[:i]
            i -= 1
        return ""
    head, _, _ = path.rpartition(".")
    return head


def is_map(field: FieldDescriptor | None) -> bool:
    return bool(field is not None and field.message_type is not None
                and field.message_type.GetOptions().map_entry)


def is_repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6; `label` is gone in 7
    if flag is None:  # pragma: no cover - older runtimes
        flag = field.label == FieldDescriptor.LABEL_REPEATED
    return bool(flag)


def tokenize(text: str) -> list[Token]:
    """All tokens of the text with 1-based positions, comments skipped (protobuf's tokenizer)."""
    tok = text_format.Tokenizer(text.split("\n"))
    tokens = []
    while not tok.AtEnd():
        tokens.append(Token(tok.token, tok._line + 1, tok._column + 1))  # noqa: SLF001
        tok.NextToken()
    return tokens


def unquote(token: str):
    """The value of a string or integer literal token; None when it is neither."""
    if token[:1] in ("'", '"'):
        try:
            return text_format.Tokenizer([token]).ConsumeString()
        except text_format.ParseError:
            return None
    try:
        return int(token, 0)
    except ValueError:
        return None


def _map_key(tokens: list[Token], start: int):
    """Key of the map entry whose body starts at tokens[start] (searched at the entry's own depth)."""
    depth = 0
    for i in range(start, len(tokens)):
        text = tokens[i].text
        if text in ("{", "<", "["):
            depth += 1
        elif text in ("}", ">", "]"):
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and text == "key":
            j = i + 1
            if j < len(tokens) and tokens[j].text == ":":
                j += 1
            return unquote(tokens[j].text) if j < len(tokens) else None
    return None


def scan(text: str, descriptor: Descriptor) -> Layout:
    """Walk the spec text against ``descriptor``; see the module docstring."""
    tokens = tokenize(text)
    occurrences: list[Occurrence] = []
    first_line: dict[str, int] = {}
    stray: list[Token] = []
    duplicates: list[Occurrence] = []
    seen_keys: set[str] = set()
    stack = [Block("", "", descriptor, 0, "")]

    def record(occ: Occurrence) -> None:
        occ = replace(occ, enclosing=tuple((b.path, b.descriptor, b.line) for b in stack))
        occurrences.append(occ)
        first_line.setdefault(occ.path, occ.line)

    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        top = stack[-1]
        if top.list_field is not None:  # inside `name: [ ... ]`
            i = _scan_list_item(tokens, i, stack, record)
            continue
        if tok.text in ("}", ">"):
            if len(stack) > 1:
                stack.pop()
            else:
                stray.append(tok)
            i += 1
            continue
        if not _IDENT.match(tok.text):
            i += 1  # separators , ; and anything the parser will complain about
            continue
        name = tok.text
        desc = top.descriptor
        fld = desc.fields_by_name.get(name) if desc is not None else None
        if top.map_entry and name == "value":
            path, pattern = top.path, top.pattern  # fold the entry's value into the key
        else:
            path, pattern = join(top.path, name), join(top.pattern, name)
        base_path, base_pattern = path, pattern
        if fld is not None and is_repeated(fld) and not is_map(fld):
            index = top.counts.get(name, 0)
            path, pattern = f"{path}[{index}]", f"{pattern}[*]"
        i += 1
        if i < n and tokens[i].text == ":":
            i += 1
        nxt = tokens[i].text if i < n else ""
        if nxt == "[" and fld is not None and is_repeated(fld):
            record(Occurrence(base_path, base_pattern, name, tok.line, tok.col, fld, desc, top.path))
            stack.append(Block(base_path, base_pattern, desc, tok.line, "]", list_field=fld))
            i += 1
            continue
        if fld is not None and is_repeated(fld) and not is_map(fld):
            top.counts[name] = top.counts.get(name, 0) + 1
            first_line.setdefault(base_path, tok.line)
        if nxt in _OPEN:
            sub = fld.message_type if fld is not None else None
            entry = is_map(fld)
            if entry:
                key = _map_key(tokens, i + 1)
                path = f"{base_path}{key_suffix(key) if key is not None else '[?]'}"
                pattern = f"{base_pattern}[*]"
                first_line.setdefault(base_path, tok.line)
            occ = Occurrence(path, pattern, name, tok.line, tok.col, fld, desc, top.path)
            if entry:
                if path in seen_keys:
                    duplicates.append(occ)
                seen_keys.add(path)
            record(occ)
            stack.append(Block(path, pattern, sub, tok.line, _OPEN[nxt], map_entry=entry))
            i += 1
            continue
        record(Occurrence(path, pattern, name, tok.line, tok.col, fld, desc, top.path))
        # skip the scalar value: one token, or adjacent string literals (they concatenate)
        if i < n and tokens[i].text not in ("}", ">", "{", "<") and not _is_field_start(tokens, i):
            i += 1
            while i < n and tokens[i].text[:1] in ("'", '"') and tokens[i - 1].text[:1] in ("'", '"'):
                i += 1
    unclosed = [b for b in stack[1:] if b.list_field is None]
    return Layout(tokens, occurrences, unclosed, stray, duplicates, first_line)


def _is_field_start(tokens: list[Token], i: int) -> bool:
    """True when tokens[i] looks like the next `name:` or `name {` rather than a value."""
    if not _IDENT.match(tokens[i].text) or i + 1 >= len(tokens):
        return False
    if tokens[i].text in ("true", "false", "True", "False", "t", "f", "inf", "nan", "infinity"):
        return False
    return tokens[i + 1].text in (":", "{", "<")


def _scan_list_item(tokens: list[Token], i: int, stack: list[Block], record) -> int:
    """One step inside ``name: [a, b]`` or ``name: [{...}, {...}]``."""
    top = stack[-1]
    fld = top.list_field
    text = tokens[i].text
    if text == "]" or text in ("}", ">"):
        stack.pop()
        return i + 1 if text == "]" else i
    if text == ",":
        return i + 1
    index = top.counts.get("", 0)
    top.counts[""] = index + 1
    path, pattern = f"{top.path}[{index}]", f"{top.pattern}[*]"
    tok = tokens[i]
    record(Occurrence(path, pattern, fld.name, tok.line, tok.col, fld, top.descriptor,
                      parent_path(top.path)))
    if text in _OPEN:
        stack.append(Block(path, pattern, fld.message_type, tok.line, _OPEN[text]))
    return i + 1
