"""Loading a config: the YAML file, `--set` overrides, validation, and every problem as
one line that names the dotted key, what was expected and what was found."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from reportgen.config.schema import Config
from reportgen.config.yamltext import MAX_BYTES, YamlLimitError, load_text
from reportgen.errors import ConfigError
from reportgen.text import did_you_mean

MAX_KEY_PARTS = 8  # the deepest config key, personas.rules[0].when.column, has 5


class LoadedConfig(BaseModel):
    """A validated config plus where it came from, which the report's appendix shows."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: Config
    source: Path
    raw: dict[str, Any]
    sha256: str


def load_config(
    path: str | Path, overrides: Sequence[str] | Mapping[str, Any] = ()
) -> LoadedConfig:
    """Read, override and validate a config file; raise ConfigError with one clear line."""
    source = Path(path).expanduser().resolve()
    raw = read_yaml_mapping(source)
    apply_overrides(raw, overrides)
    try:
        config = Config.model_validate(raw, context={"base_dir": source.parent})
    except ValidationError as exc:
        raise ConfigError(f"{first_error_line(exc, raw)} (in {source.name})") from exc
    digest = hashlib.sha256(yaml.safe_dump(raw, sort_keys=True).encode()).hexdigest()
    return LoadedConfig(config=config, source=source, raw=raw, sha256=digest)


def read_yaml_mapping(source: Path) -> dict[str, Any]:
    """The YAML file as a dict, or an error pointing at the line and column."""
    if not source.is_file():
        raise ConfigError(f"config file not found: {source}")
    try:
        data = load_text(_config_text(source))
    except YamlLimitError as exc:
        raise ConfigError(f"{source.name}: {exc}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source.name} {where}: YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source.name}: YAML syntax error: {exc}") from exc
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"{_yaml_type(data)} {data!r:.40}"
        raise ConfigError(
            f"{source.name}: the top level must be a mapping of sections "
            f"(report:, data:, features:, ...), found {found}"
        )
    return data


def _config_text(source: Path) -> str:
    """The file's text, read no further than a config can be long."""
    try:
        with source.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the config {source} ({exc.strerror or exc})") from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{source.name} is larger than {MAX_BYTES // 2**20} MB, more than "
                          "any config needs; is it the data file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str] | Mapping[str, Any]) -> None:
    """`--set a.b=value` (value parsed as YAML) or API keyword overrides, in place."""
    items = overrides.items() if isinstance(overrides, Mapping) else map(split_setting, overrides)
    for key, value in items:
        node: Any = raw
        parts = str(key).split(".")
        if len(parts) > MAX_KEY_PARTS:
            raise ConfigError(f"--set {key!s:.60}...: a key path of more than {MAX_KEY_PARTS} "
                              "parts; no config key is that deep")
        for i, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: i + 1]))
        _assign(node, parts[-1], value, str(key))


def split_setting(setting: str) -> tuple[str, Any]:
    key, sep, text = setting.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {setting!r:.80}: expected key.path=value, e.g. "
                          "segmentation.k=5")
    try:
        value = load_text(text) if text.strip() else ""
    except YamlLimitError as exc:
        raise ConfigError(f"--set {key.strip():.60}: the value: {exc}") from exc
    except yaml.YAMLError:
        value = text
    return key.strip(), value


def _child(node: Any, part: str, dotted: str) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, dotted)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {dotted}: {dotted.rsplit('.', 1)[0]} is not a section")
    child = node.setdefault(part, {})
    if child is None:
        child = node[part] = {}
    return child


def _assign(node: Any, part: str, value: Any, dotted: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, dotted)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        raise ConfigError(f"--set {dotted}: the parent of '{part}' is not a section")


def _list_index(node: list[Any], part: str, dotted: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"--set {dotted}: '{part}' is not an index of a {len(node)}-item list")
    return int(part)


def first_error_line(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The first validation error as one line; a count of the others if any."""
    errors = exc.errors(include_url=False)
    line = describe_error(errors[0], raw)
    return line if len(errors) == 1 else f"{line} (and {len(errors) - 1} more problems)"


def describe_error(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = dotted_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'{did_you_mean(str(loc[-1]), known_keys(loc[:-1]))}"
    if kind == "missing":
        return f"missing key '{key}': {_field_help(loc)}"
    expected = _expected(error)
    if not loc:
        return f"config: {expected}"
    value = error.get("input")
    if kind == "value_error" and (isinstance(value, dict) or str(value) in expected):
        return f"config key '{key}': {expected}"
    return f"config key '{key}': {expected}, found {_describe_input(value)}"


def dotted_key(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def known_keys(loc: Sequence[Any]) -> list[str]:
    """Field names of the section at `loc`, for suggesting the key a typo meant."""
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        model = _section_type(field.annotation)
    return model


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _section_type(arg)
        if found:
            return found
    return None


def _field_help(loc: Sequence[Any]) -> str:
    parent = _model_at(loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent else None
    return (field.description or "required") if field else "required"


_EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list, e.g. [a, b]",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "path_type": "expected a file path",
}


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"expected a number of at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"expected a number of at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("string_too_short", "too_short"):
        return "expected a non-empty value"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return str(error["msg"])


def _describe_input(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return f"{value!r:.60} ({_yaml_type(value)})"


def _yaml_type(value: Any) -> str:
    names = {bool: "true/false", int: "integer", float: "number", str: "text", list: "list",
             dict: "mapping"}
    return names.get(type(value), type(value).__name__)
