"""Safe YAML loading that remembers line numbers, so errors can say where."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .text import read_utf8, text_problem

#: How deeply mappings and lists may nest in a YAML file: loading recurses once per level,
#: and no configuration of ours needs a tenth of this.
MAX_DEPTH = 100


class YamlDepthError(ConfigError):
    """A YAML document nested deeper than ``MAX_DEPTH``."""


class LineDict(dict):
    """A mapping loaded from YAML that knows the line of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]


def _loader(local_tags: bool = False) -> type:
    import yaml

    class LineLoader(yaml.SafeLoader):
        """SafeLoader whose mappings are ``LineDict`` objects, refusing deep nesting."""

        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise YamlDepthError(
                        f"{self.name}:{mark.line + 1}: nested more than {MAX_DEPTH} levels deep "
                        "(the limit for YAML files)"
                    )
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
        loader.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise ConfigError(
                    f"{loader.name}:{key_node.start_mark.line + 1}: a mapping key must be a "
                    f"single value, not a {'list' if isinstance(key, list) else 'mapping'}"
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        value = loader.construct_scalar(node)
        if (problem := text_problem(value)) is not None:
            raise ConfigError(f"{loader.name}:{node.start_mark.line + 1}: {value!r} {problem}")
        return value

    def construct_untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return construct_mapping(loader, node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    LineLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    if local_tags:
        LineLoader.add_multi_constructor("!", construct_untagged)
    return LineLoader


def load_yaml(source: str | Path, text: str | None = None, local_tags: bool = False) -> Any:
    """Load YAML from a file (or from ``text``, naming ``source``) with safe loading only;
    with ``local_tags``, a node tagged ``!Name`` (as other tools tag their classes) loads as
    the plain mapping, list or value it holds."""
    import yaml

    name = str(source)
    if text is None:
        text = read_utf8(Path(source))
    try:
        loader = _loader(local_tags)(text)
        loader.name = name
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{name}{line}: {err.problem or err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{name}: {' '.join(str(err).split())}") from err


def line_of(data: Any, path: Sequence[Any]) -> int | None:
    """Return the line of the deepest key along ``path`` in data loaded by ``load_yaml``."""
    line = getattr(data, "line", None)
    node = data
    for key in path:
        if isinstance(node, LineDict) and key in node:
            line = node.key_lines.get(key, line)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
            line = getattr(node, "line", line)
        else:
            break
    return line


def config_error(source: str | Path, data: Any, path: Sequence[Any], message: str) -> ConfigError:
    """Build a ``ConfigError`` that names the file and the line of ``path``."""
    line = line_of(data, path)
    where = f"{source}:{line}" if line else str(source)
    return ConfigError(f"{where}: {message}")
