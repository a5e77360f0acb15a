"""Task configuration: pydantic models validated on construction and on every override.

Overrides come from pipeline YAML (a mapping, possibly nested) and from the command
line as ``label:field=value`` (dotted fields reach nested models; values are parsed as
YAML scalars, so ``5``, ``2.5``, ``true`` and ``[1, 2]`` have their natural types).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..core.errors import ConfigError
from ..core.yaml_io import YamlDepthError, load_yaml


class PipelineTaskConfig(BaseModel):
    """Base of every task config: unknown fields are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    connections: dict[str, str] = Field(
        default_factory=dict,
        description="Dataset type names that replace a connection's default, by connection.",
    )


def nest(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b": 1}`` into ``{"a": {"b": 1}}`` (plain keys pass through)."""
    result: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ConfigError(f"config key {key!r} is not a field name")
        target = result
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"config override {key!r} conflicts with another override")
        if isinstance(value, Mapping) and isinstance(target.get(last), dict):
            target[last] = _merge(target[last], value)
        else:
            target[last] = value
    return result


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(
    config_class: type[PipelineTaskConfig],
    layers: Iterable[Mapping[str, Any]],
    where: str,
) -> PipelineTaskConfig:
    """Validate a config from override layers applied in order (later wins).

    ``where`` names the source for errors (file and task label), which then also name
    the field and what was wrong with it.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        try:
            merged = _merge(merged, nest(layer))
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
    try:
        return config_class.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(config)"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            known = ", ".join(config_class.model_fields)
            message = f"unknown config field; valid fields: {known}"
        raise ConfigError(f"{where}: config field {field!r}: {message}") from None


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``label:field=value`` (from ``-c``) into (label, field, value); a value that
    is not YAML stays text, one nested too deeply is refused."""
    head, sep, raw = text.partition("=")
    label, colon, field = head.partition(":")
    if not sep or not colon or not label or not field:
        raise ConfigError(f"invalid config override {text!r}: expected LABEL:FIELD=VALUE")
    try:
        value = load_yaml(f"config override {head.strip()}", raw) if raw.strip() else ""
    except YamlDepthError:
        raise
    except ConfigError:
        value = raw
    return label.strip(), field.strip(), value
