"""Parse spec text or dicts into protobuf messages, turning every failure into one SpecError.

Protobuf's own errors ("1:7 : Message type "jupyter_tlt.spec.ModelConfig" has no field named
"archh".") name neither the field path nor a fix; ``explain`` rewrites them with the help of
``locate`` into ``spec.cfg:4: unknown field 'model_config.archh'; did you mean 'arch'?``. Dicts are
checked field by field before ``json_format.ParseDict`` so their errors name the dotted path too.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from typing import TypeVar

from google.protobuf import json_format, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from ..errors import SpecError
from . import defaults, locate, validate

M = TypeVar("M", bound=Message)

_INT_TYPES = {  # field type -> (lowest, highest) value
    FieldDescriptor.TYPE_INT32: (-2**31, 2**31 - 1), FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-2**63, 2**63 - 1), FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}
_FLOAT_TYPES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
_VALUE_ERRORS = ("Couldn't parse integer", "Value out of range", "Couldn't parse float",
                 'Expected "true" or "false"', "has no value named", "has no value with number",
                 "Expected string but found", "Couldn't parse string", "Invalid octal float",
                 "missing ending quote")
# Example values for fixes where a field has no single default.
_EXAMPLES = {"n_layers": "18", "num_layers": "18", "arch": '"resnet"', "input_image_size": '"3,960,544"'}


# ---- text ---------------------------------------------------------------------------------------

def parse_text(text: str, message_type: type[M], name: str) -> M:
    """Parse protobuf text format, then validate; raises SpecError naming name:line."""
    message = message_type()
    text = text.removeprefix("\ufeff")
    _check_nesting(text, name)
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise SpecError(explain(exc, text, message.DESCRIPTOR, name)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # protobuf internals; not seen in tests
        raise SpecError(f"{name}: cannot read the spec ({exc}); check its text-format syntax "
                        "(name: value and name { ... })") from None
    layout = locate.scan(text, message.DESCRIPTOR)
    if layout.duplicate_keys:  # protobuf keeps the last entry silently
        occ = layout.duplicate_keys[0]
        first = layout.first_line[occ.path]
        raise SpecError(f"{name}:{occ.line}: '{occ.path}' is given twice (first on line {first}); "
                        "keep one entry per key")
    validate.check(message, name, layout)
    return message


def explain(exc: text_format.ParseError, text: str, descriptor: Descriptor, name: str) -> str:
    """One sentence for a protobuf ParseError: file:line, the field path, and a fix."""
    line, col = exc.GetLine() or 0, exc.GetColumn() or 0
    detail = _detail(str(exc), text, line)
    layout = locate.scan(text, descriptor)
    where = f"{name}:{line}" if line else name
    for explainer in (_unknown_field, _value_error, _duplicate, _oneof, _syntax):
        sentence = explainer(detail, layout, line, col, where, name)
        if sentence:
            return sentence
    return (f"{where}: cannot read the spec: {detail.rstrip('.')}; check the text-format syntax "
            "(name: value and name { ... })")


def _detail(raw: str, text: str, line: int) -> str:
    """Protobuf's message without its "line:col : 'line text': " prefix."""
    detail = re.sub(r"^\d+(?::\d+)? : ", "", raw)
    lines = text.split("\n")
    current = [lines[line - 1]] if 0 < line <= len(lines) else []
    for candidate in current + [""]:  # at the end of the text the current line is empty
        prefix = f"'{candidate}': "
        if detail.startswith(prefix):
            return detail[len(prefix):]
    return detail


def suggest(bad: str, descriptor: Descriptor, scope: str) -> str:
    """"; did you mean 'arch'?" or the list of valid field names of the message."""
    names = [f.name for f in descriptor.fields]
    close = difflib.get_close_matches(bad, names, n=1) or \
        difflib.get_close_matches(bad.lower(), names, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    where = f"of {scope}" if scope else "at the top level"
    return f"; valid fields {where} are: {', '.join(names)}"


def _scope(parent_path: str, parent: Descriptor | None) -> str:
    if parent is not None and parent.GetOptions().map_entry:
        return f"a {locate.parent_path(parent_path).rsplit('.', 1)[-1] or parent_path} entry"
    return parent_path


def _unknown_field(detail, layout, line, col, where, name):
    match = re.search(r'has no field named "([^"]+)"', detail)
    if not match:
        return None
    bad = match.group(1)
    occ = layout.field_at(line, col)
    if occ is None or occ.parent is None:
        return f"{where}: unknown field '{bad}'; check its spelling"
    # a field of an enclosing block: the block it sits in was not closed
    for _, desc, _ in reversed(occ.enclosing[:-1]):
        if desc is not None and bad in desc.fields_by_name:
            inner_path, _, inner_line = occ.enclosing[-1]
            return (f"{where}: unknown field '{occ.path}'; a '}}' is probably missing before line "
                    f"{line} to close '{inner_path}' (opened on line {inner_line})")
    return f"{where}: unknown field '{occ.path}'" + suggest(bad, occ.parent,
                                                            _scope(occ.parent_path, occ.parent))


def _example(field: FieldDescriptor) -> str:
    """A value to show in a fix: the field's default, else one of the right type."""
    if field.name in _EXAMPLES:
        return _EXAMPLES[field.name]
    found = defaults.default(field.containing_type, field.name)
    if found is not None:
        return validate.show(field, found)
    if field.enum_type is not None:
        return field.enum_type.values[0].name
    if field.type in _INT_TYPES:
        return "1"
    if field.type in _FLOAT_TYPES:
        return "0.5"
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true"
    return '"..."'


def _value_error(detail, layout, line, col, where, name):
    if not any(key in detail for key in _VALUE_ERRORS):
        return None
    occ = layout.field_before(line, col)
    if occ is None or occ.field is None:
        return None
    field, path = occ.field, occ.path
    tok = layout.token_at(line, col)
    got = tok.text if tok else ""
    if got in ("", "}", ">", "{", "<", ";", ","):
        return f"{where}: '{path}' has no value; write {field.name}: {_example(field)}"
    return f"{where}: {type_error(field, path, got, detail, occ.pattern)}"


def type_error(field: FieldDescriptor, path: str, got: str, detail: str = "", pattern: str = "",
               dict_style: bool = False) -> str:
    """'<path>' expects <kind>, got <value>; <fix> (shared by text and dict sources)."""

    def write(value: str) -> str:
        if dict_style:
            value = {"true": "True", "false": "False"}.get(value, value)
            if field.containing_type.GetOptions().map_entry:
                return value  # a map value: the key is in the path
            return f'"{field.name}": {value}'
        return f"{field.name}: {value}"

    unquoted = got[1:-1] if got[:1] in "'\"" and got[-1:] == got[:1] and len(got) > 1 else None
    if field.enum_type is not None:
        names = ", ".join(v.name for v in field.enum_type.values)
        return f"'{path}' has no value {got}; use one of {names}"
    if field.type in _INT_TYPES:
        low, high = _INT_TYPES[field.type]
        number = _as_number(unquoted if unquoted is not None else got)
        if isinstance(number, int) and number < low:
            rule = validate.describe(pattern or validate.pattern_of(path)) or f">= {low}"
            return f"'{path}' must be {rule}, got {got}; change the value"
        if isinstance(number, int) and number > high:
            return f"'{path}' is too large ({got}); use a value up to {high}"
        if unquoted is not None and isinstance(number, int):
            return f"'{path}' expects a whole number, got {got}; write {write(str(number))} without quotes"
        if isinstance(number, float) and number == number and abs(number) != float("inf"):
            return f"'{path}' expects a whole number, got {got}; write a whole number such as {round(number)}"
        return f"'{path}' expects a whole number, got {got}; write e.g. {write(_example(field))}"
    if field.type in _FLOAT_TYPES:
        if unquoted is not None and _as_number(unquoted) is not None:
            return f"'{path}' expects a number, got {got}; write {write(unquoted)} without quotes"
        return f"'{path}' expects a number, got {got}; write e.g. {write(_example(field))}"
    if field.type == FieldDescriptor.TYPE_BOOL:
        return f"'{path}' expects true or false, got {got}; write {write('true')} or {write('false')}"
    if "missing ending quote" in detail or (got[:1] != "" and got[:1] in "'\"" and unquoted is None):
        return f"'{path}' has an unterminated string {got}; add the closing quote"
    shown = unquoted if unquoted is not None else got
    if dict_style:
        return f"'{path}' expects a string, got {got}; write {write(json.dumps(shown))}"
    return f"'{path}' expects a quoted string, got {got}; write {write(json.dumps(shown))}"


def _as_number(text: str):
    try:
        return int(text, 0)
    except (ValueError, TypeError):
        pass
    try:
        return float(text)
    except (ValueError, TypeError):
        return None


def _duplicate(detail, layout, line, col, where, name):
    if "should not have multiple" not in detail:
        return None
    occ = layout.field_before(line, col)
    if occ is None:
        return None
    first = layout.first_line.get(occ.path, occ.line)
    if occ.field is not None and occ.field.message_type is not None:
        return (f"{where}: '{occ.path}' appears twice (first on line {first}); merge the two blocks "
                "into one")
    return f"{where}: '{occ.path}' is set twice (first on line {first}); keep one"


def _oneof(detail, layout, line, col, where, name):
    match = re.search(r'Field "(\w+)" is specified along with field "(\w+)"', detail)
    if not match:
        return None
    occ = layout.field_at(line, col) or layout.field_before(line, col)
    parent = occ.parent_path if occ else ""
    path, other = locate.join(parent, match.group(1)), locate.join(parent, match.group(2))
    first = layout.first_line.get(other)
    at = f" (line {first})" if first else ""
    return f"{where}: '{path}' cannot be set together with '{other}'{at}; keep only one of them"


def _syntax(detail, layout, line, col, where, name):
    if detail.startswith(('Expected "}"', 'Expected ">"')) and layout.unclosed:
        block = layout.unclosed[-1]
        return (f"{name}:{block.line}: '{block.path}' is never closed; add the missing "
                f"'{block.close}' where the block ends")
    match = re.match(r"Expected identifier or number, got (.*)\.$", detail, re.S)
    if match:
        got = match.group(1)
        if got[:1] in ("'", '"') and len(got) > 2 and got[-1:] == got[:1]:
            return f"{where}: field names are not quoted in a spec; write {got[1:-1]} instead of {got}"
        if got in ("}", ">") and layout.stray_closers:
            return f"{where}: unexpected '{got}' with no block open; remove it or add the block's opening line"
        return (f"{where}: unexpected {got!r} where a field name should be; write name: value or "
                "name { ... }")
    if detail.startswith(('Expected ":"', 'Expected "{"')):
        occ = layout.field_before(line, col)
        if occ is None or occ.field is None:
            return None
        if occ.field.message_type is not None:
            return f"{where}: '{occ.path}' is a block; write {occ.field.name} {{ ... }}"
        return f"{where}: missing ':' after '{occ.path}'; write {occ.field.name}: {_example(occ.field)}"
    if "does not have extensions" in detail:
        return f"{where}: unexpected '[' where a field name should be; extensions are not supported"
    if "missing ending quote" in detail:
        return f"{where}: unterminated string; add the closing quote"
    if "Message too deep" in detail:
        return f"{name}: the spec nests blocks too deeply; check for unclosed or extra braces"
    return None


# ---- dicts --------------------------------------------------------------------------------------

MAX_NESTING = 32  # the deepest spec message is 5 blocks deep; far deeper text makes error reports slow


def _check_nesting(text: str, name: str) -> None:
    """SpecError at the line where blocks nest deeper than MAX_NESTING (strings and comments skipped)."""
    depth, line, quote, comment = 0, 1, "", False
    for i, char in enumerate(text):
        if char == "\n":
            line, comment = line + 1, False
        elif comment:
            continue
        elif quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "{<":
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(f"{name}:{line}: blocks nest more than {MAX_NESTING} deep; a spec's blocks "
                                "nest at most a few levels: check the braces")
        elif char in "}>":
            depth -= 1


def parse_dict(data: Mapping, message_type: type[M], name: str) -> M:
    """Check a nested dict field by field, build the message with json_format, then validate."""
    message = message_type()
    _check_message(data, message.DESCRIPTOR, "", name)
    try:
        json_format.ParseDict(data, message)
    except (json_format.ParseError, ValueError, TypeError) as exc:  # not expected after the checks
        raise SpecError(f"{name}: cannot read the spec dict ({exc}); check the field types") from None
    validate.check(message, name, None)
    return message


def _check_message(data, descriptor: Descriptor, path: str, name: str) -> None:
    if not isinstance(data, Mapping):
        what = f"'{path}'" if path else "the spec"
        raise SpecError(f"{name}: {what} must be a dict of fields, got {type(data).__name__}; "
                        "write it as {\"field\": value, ...}")
    by_json = {f.json_name: f for f in descriptor.fields}
    for key, item in data.items():
        if not isinstance(key, str):
            raise SpecError(f"{name}: field names must be strings, got {key!r} in "
                            f"{f'{path!r}' if path else 'the spec'}; quote the name")
        field = descriptor.fields_by_name.get(key) or by_json.get(key)
        if field is None:
            raise SpecError(f"{name}: unknown field '{locate.join(path, key)}'"
                            + suggest(key, descriptor, path))
        here = locate.join(path, field.name)
        if item is None:
            continue  # JSON null: unset
        if locate.is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            if not isinstance(item, Mapping):
                raise SpecError(f"{name}: '{here}' must be a dict of key: value pairs, got "
                                f"{type(item).__name__}; e.g. {{\"car\": ...}}")
            for key2, value in item.items():
                if not isinstance(key2, str):
                    raise SpecError(f"{name}: keys of '{here}' must be strings, got {key2!r}; quote it")
                _check_value(value, value_field, f"{here}{locate.key_suffix(key2)}", name)
        elif locate.is_repeated(field):
            if not isinstance(item, (list, tuple)):
                raise SpecError(f"{name}: '{here}' is a list, got {type(item).__name__}; "
                                f"write [{json.dumps(item) if isinstance(item, (int, float, str)) else '...'}]")
            for index, value in enumerate(item):
                _check_value(value, field, f"{here}[{index}]", name)
        else:
            _check_value(item, field, here, name)


def _check_value(value, field: FieldDescriptor, path: str, name: str) -> None:
    if field.message_type is not None:
        _check_message(value, field.message_type, path, name)
        return
    ok = True
    if field.enum_type is not None:
        ok = (isinstance(value, str) and value in field.enum_type.values_by_name) or \
             (isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            raise SpecError(f"{name}: {type_error(field, path, str(value), dict_style=True)}")
        return
    if field.type == FieldDescriptor.TYPE_BOOL:
        ok = isinstance(value, bool)
    elif field.type in _INT_TYPES:
        integral = isinstance(value, float) and value.is_integer()
        ok = (isinstance(value, int) and not isinstance(value, bool)) or integral
        low, high = _INT_TYPES[field.type]
        if ok and not low <= value <= high:
            raise SpecError(f"{name}: {type_error(field, path, str(int(value)), dict_style=True)}")
    elif field.type in _FLOAT_TYPES:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise SpecError(f"{name}: {validate.finite_text(path, field, value)}")
    elif field.type == FieldDescriptor.TYPE_STRING:
        ok = isinstance(value, str)
    if not ok:
        got = json.dumps(value) if isinstance(value, (str, bool)) else repr(value)
        raise SpecError(f"{name}: {type_error(field, path, got, dict_style=True)}")
