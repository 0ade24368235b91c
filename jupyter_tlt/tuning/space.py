"""The search space of `tlt tune`: spec fields with a range or a list of choices, checked against the spec.

A YAML file maps dotted spec fields to a range or choices:

    # space.yaml
    training_config.learning_rate.soft_start_annealing_schedule.max_learning_rate: {low: 1e-4, high: 1e-2, log: true}
    training_config.regularizer.weight: {low: 1.0e-6, high: 1.0e-3, log: true}
    training_config.num_epochs: {low: 2, high: 6, int: true}
    model_config.freeze_blocks: {choices: [[], [0], [0, 1]]}
    training_config.regularizer.type: {choices: [L1, L2]}

or flags, one per field: ``-p FIELD=LOW:HIGH`` (``:log``, ``:int`` after it) or ``-p FIELD=A|B|C``.

    space = parse_flags(["train_config.learning_rate=1e-4:1e-1:log"])
    check_space(space)                               # unknown fields get "did you mean", as in specs
    text = apply(spec_text, {"train_config.learning_rate": 0.003})
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError, UsageError


@dataclass(frozen=True)
class Param:
    """One searched field: a range (``low``..``high``, ``log``, ``integer``) or ``choices``."""

    field: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple | None = None

    def suggest(self, trial) -> Any:
        """What an Optuna trial proposes: a number, or a choice's index (``value_of`` gives the value)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.field, list(range(len(self.choices))))
        if self.integer:
            return trial.suggest_int(self.field, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.field, self.low, self.high, log=self.log)

    def distribution(self):
        """The Optuna distribution of this field (for Ray's OptunaSearch and enqueued trials)."""
        import optuna.distributions as d

        if self.choices is not None:
            return d.CategoricalDistribution(list(range(len(self.choices))))
        if self.integer:
            return d.IntDistribution(int(self.low), int(self.high), log=self.log)
        return d.FloatDistribution(self.low, self.high, log=self.log)

    def value_of(self, suggested: Any) -> Any:
        """Spec value of what the sampler stored (a choice is stored as its index)."""
        return self.choices[suggested] if self.choices is not None else suggested

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.field} in {list(self.choices)}"
        kind = ", int" if self.integer else ""
        return f"{self.field} in [{self.low:g}, {self.high:g}]{', log' if self.log else ''}{kind}"


def load_space(path) -> list[Param]:
    """Read a YAML search space (see the module docstring)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the search space ({exc.strerror}); check -s/--search_space") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SpecError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); write one "
                        "'field: {{low: .., high: ..}}' per line") from None
    if not isinstance(data, dict) or not data:
        raise SpecError(f"{path}: the search space is empty; map spec fields to ranges, e.g. "
                        "'training_config.regularizer.weight: {low: 1.0e-6, high: 1.0e-3, log: true}'")
    return [_param(field, value, f"{path}: {field}") for field, value in data.items()]


def _param(field: str, value: Any, where: str) -> Param:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: give a range {{low: .., high: ..}} or {{choices: [..]}}, not {value!r}")
    unknown = set(value) - {"low", "high", "log", "int", "choices"}
    if unknown:
        raise SpecError(f"{where}: unknown key {sorted(unknown)[0]!r}; use low, high, log, int or choices")
    if "choices" in value:
        choices = value["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpecError(f"{where}: choices is empty; list at least one value, e.g. {{choices: [0.1, 0.2]}}")
        return Param(str(field), choices=tuple(tuple(c) if isinstance(c, list) else c for c in choices))
    if "low" not in value or "high" not in value:
        raise SpecError(f"{where}: a range needs both low and high")
    try:
        low, high = float(value["low"]), float(value["high"])
    except (TypeError, ValueError):
        raise SpecError(f"{where}: low and high must be numbers, got {value['low']!r} and {value['high']!r}") from None
    return _range(str(field), low, high, bool(value.get("log", False)), bool(value.get("int", False)), where)


def _range(field: str, low: float, high: float, log: bool, integer: bool, where: str) -> Param:
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise SpecError(f"{where}: the range [{low:g}, {high:g}] is empty; give low < high")
    if log and low <= 0:
        raise SpecError(f"{where}: a log range needs low > 0, got {low:g}")
    if integer and (low != int(low) or high != int(high)):
        raise SpecError(f"{where}: an int range needs whole bounds, got [{low:g}, {high:g}]")
    return Param(field, low, high, log, integer)


def parse_flags(items) -> list[Param]:
    """``-p FIELD=LOW:HIGH[:log][:int]`` or ``-p FIELD=A|B|C`` (values parsed as YAML scalars)."""
    import yaml

    params = []
    for item in items:
        field, sep, spec = item.partition("=")
        where = f"-p {item}"
        if not sep or not field or not spec:
            raise UsageError(f"{where}: write FIELD=LOW:HIGH[:log] or FIELD=A|B|C")
        if "|" in spec:
            params.append(Param(field.strip(), choices=tuple(yaml.safe_load(v) for v in spec.split("|"))))
            continue
        parts = spec.split(":")
        flags = {p for p in parts[2:]}
        if len(parts) < 2 or flags - {"log", "int"}:
            raise UsageError(f"{where}: write FIELD=LOW:HIGH, then :log and/or :int, or FIELD=A|B|C")
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise UsageError(f"{where}: {parts[0]!r} and {parts[1]!r} must be numbers") from None
        params.append(_range(field.strip(), low, high, "log" in flags, "int" in flags, where))
    return params


def check_space(params: list[Param], where: str = "the search space") -> None:
    """Every field names a scalar (or repeated scalar) field of ExperimentSpec; choices fit its type."""
    from ..spec.parser import suggest
    from ..spec.protos.experiment_pb2 import ExperimentSpec

    if not params:
        raise UsageError("tune needs a search space: -s space.yaml or -p FIELD=LOW:HIGH (see tlt tune --help)")
    seen = set()
    for param in params:
        if param.field in seen:
            raise SpecError(f"{where}: {param.field} is searched twice; keep one entry")
        seen.add(param.field)
        descriptor, path = ExperimentSpec.DESCRIPTOR, ""
        parts = param.field.split(".")
        for i, name in enumerate(parts):
            field = descriptor.fields_by_name.get(name)
            scope = path or ""
            if field is None:
                raise SpecError(f"{where}: unknown field '{name}' in {param.field}{suggest(name, descriptor, scope)}")
            path = f"{path}.{name}" if path else name
            last = i == len(parts) - 1
            if field.message_type is not None:
                if last or field.message_type.GetOptions().map_entry or _repeated(field):
                    raise SpecError(f"{where}: {path} is a block, not a value; search one of its fields, "
                                    f"e.g. {path}.{field.message_type.fields[0].name}")
                descriptor = field.message_type
            elif not last:
                raise SpecError(f"{where}: {path} is a value, so {param.field} names nothing")
            else:
                _check_kind(param, field, where)


def _repeated(field) -> bool:
    from ..spec.locate import is_repeated

    return is_repeated(field)


def _check_kind(param: Param, field, where: str) -> None:
    from google.protobuf.descriptor import FieldDescriptor as F

    numeric = field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_UINT32,
                             F.TYPE_UINT64, F.TYPE_SINT32, F.TYPE_SINT64)
    whole = numeric and field.type not in (F.TYPE_DOUBLE, F.TYPE_FLOAT)
    if param.choices is None:
        if not numeric or _repeated(field):
            raise SpecError(f"{where}: {param.field} is not a number; search it with choices: [...]")
        if whole and not param.integer:
            raise SpecError(f"{where}: {param.field} is a whole number; add int: true (or :int) to its range")
        return
    for choice in param.choices:
        if isinstance(choice, tuple) != bool(_repeated(field)):
            raise SpecError(f"{where}: {param.field} takes {'a list' if _repeated(field) else 'one value'}, "
                            f"not {choice!r}")
        _check_value(param.field, choice, where)


def _check_value(name: str, value, where: str) -> None:
    from ..spec.protos.experiment_pb2 import ExperimentSpec

    try:
        _set(ExperimentSpec(), name, value)
    except (TypeError, ValueError):
        shown = list(value) if isinstance(value, tuple) else value
        raise SpecError(f"{where}: {shown!r} is no value of {name}") from None


def _set(message, dotted: str, value) -> None:
    *blocks, last = dotted.split(".")
    for name in blocks:
        message = getattr(message, name)
    field = message.DESCRIPTOR.fields_by_name[last]
    if isinstance(value, tuple):
        target = getattr(message, last)
        del target[:]
        target.extend(_coerce(field, v) for v in value)
    else:
        setattr(message, last, _coerce(field, value))


def _coerce(field, value):
    from google.protobuf.descriptor import FieldDescriptor as F

    if field.enum_type is not None and isinstance(value, str):
        found = field.enum_type.values_by_name.get(value)
        if found is None:
            raise ValueError(value)
        return found.number
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT) and isinstance(value, (int, float)):
        return float(value)
    if field.type == F.TYPE_STRING and not isinstance(value, str):
        raise TypeError(value)
    return value


def apply(spec, values: dict[str, Any]) -> str:
    """The spec's text with each dotted field set to its value (``spec``: text, path or message)."""
    from ..spec import load_experiment_spec, spec_to_text

    message = load_experiment_spec(spec)
    for field, value in values.items():
        _set(message, field, value)
    return spec_to_text(message)
