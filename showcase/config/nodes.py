"""Reading YAML nodes with their place in the file: typed values or a :class:`ConfigError`.

The loader composes the YAML into nodes (not Python objects) so that every value still knows
its line.  A :class:`Node` pairs a YAML node with its key path and the part of the schema
that applies to it; its methods return typed values or raise an error naming
``file:line: key.path: problem``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .model import Env
from .schema import ListOf, Schema
from .values import parse_duration, parse_size

T = TypeVar("T")
D = TypeVar("D")

_TAG = "tag:yaml.org,2002:"
_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
_KINDS |= {"null": "null", "timestamp": "a date", "binary": "binary data"}
_CONSTRUCTOR = SafeConstructor()


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is ``file:line: key.path: message``."""

    def __init__(
        self, message: str, source: str, line: int | None = None, path: str | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        if self.path:
            where = f"{where}: {self.path}"
        return f"{where}: {self.message}"


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML document in *text* as nodes (``None`` when empty), merge keys applied."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, source) from error
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", source) from error
    if root is not None:
        _prepare(root, source, set())
    return root


def _syntax_error(error: yaml.MarkedYAMLError, source: str) -> ConfigError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if error.context and error.problem:
        problem = f"{error.context}: {error.problem}"
    return ConfigError(problem, source, mark.line + 1 if mark else None)


def _prepare(node: yaml.Node, source: str, seen: set[int], path: str = "") -> None:
    """Reject duplicate keys and apply ``<<`` merges, once per node (aliases share nodes)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        keys: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != _TAG + "merge":
                if key.value in keys:
                    where = f"{path}.{key.value}" if path else str(key.value)
                    raise ConfigError("duplicate key", source, _line(key), where)
                keys.add(key.value)
        try:
            _CONSTRUCTOR.flatten_mapping(node)
        except yaml.MarkedYAMLError as error:
            raise _syntax_error(error, source) from error
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            _prepare(value, source, seen, f"{path}.{name}" if path else name)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _prepare(item, source, seen, f"{path}[{index}]")


def _line(node: yaml.Node) -> int | None:
    return node.start_mark.line + 1 if node.start_mark is not None else None


class Node:
    """One YAML node at a key path, read against its schema."""

    def __init__(self, node: yaml.Node, path: str, schema: Schema, source: str) -> None:
        self.node = node
        self.path = path
        self.schema = schema
        self.source = source
        self._fields: dict[str, Node] | None = None

    @classmethod
    def document(cls, text: str, source: str, schema: Schema) -> Node:
        """The top of a document; an empty document is an empty mapping."""
        root = compose(text, source)
        if root is None:
            root = MappingNode(_TAG + "map", [])
        return cls(root, "", schema, source)

    @property
    def line(self) -> int | None:
        return _line(self.node)

    def error(self, message: str, line: int | None = None) -> ConfigError:
        """An error about this node (at *line* when given, else at the node)."""
        path = self.path or "(top level)"
        return ConfigError(message, self.source, line or self.line, path)

    def kind(self) -> str:
        """What the node is, for messages: ``a mapping``, ``a list``, ``an integer``..."""
        if isinstance(self.node, MappingNode):
            return "a mapping"
        if isinstance(self.node, SequenceNode):
            return "a list"
        tag = self.node.tag
        return _KINDS.get(tag.removeprefix(_TAG), f"a value tagged {tag}")

    def _expected(self, what: str) -> ConfigError:
        return self.error(f"expected {what}, got {self.kind()}")

    # Structure.

    def _mapping(self) -> dict[str, Node]:
        if self._fields is not None:
            return self._fields
        if not isinstance(self.node, MappingNode):
            raise self._expected("a mapping")
        allowed = self.schema if isinstance(self.schema, dict) else None
        fields: dict[str, Node] = {}
        for key, value in self.node.value:
            if not isinstance(key, ScalarNode):
                raise self.error("a key must be a plain value", _line(key))
            name = str(key.value)
            path = f"{self.path}.{name}" if self.path else name
            if allowed is not None and name not in allowed:
                hint = difflib.get_close_matches(name, list(allowed), n=1)
                message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                raise ConfigError(message, self.source, _line(key), path)
            child = allowed[name] if allowed is not None else None
            fields[name] = Node(value, path, child, self.source)
        self._fields = fields
        return fields

    def get(self, key: str) -> Node | None:
        """The value at *key* of this mapping; ``None`` when absent or null."""
        if isinstance(self.schema, dict) and key not in self.schema:
            raise KeyError(f"{key!r} is not in the schema at {self.path or '(top level)'}")
        child = self._mapping().get(key)
        if child is None or child.is_null():
            return None
        return child

    def read(self, key: str, convert: Callable[[Node], T], default: D) -> T | D:
        """``convert(value)`` of the value at *key*, or *default* when absent or null."""
        child = self.get(key)
        return default if child is None else convert(child)

    def require(self, key: str, convert: Callable[[Node], T]) -> T:
        """``convert(value)`` of the value at *key*, which must be given."""
        child = self.get(key)
        if child is None:
            raise self.error(f"{key!r} is required")
        return convert(child)

    def section(self, key: str) -> Node:
        """The mapping at *key*, or an empty one when absent or null (so defaults apply)."""
        child = self.get(key)
        if child is not None:
            return child
        schema = self.schema[key] if isinstance(self.schema, dict) else None
        path = f"{self.path}.{key}" if self.path else key
        empty = MappingNode(_TAG + "map", [], self.node.start_mark, self.node.end_mark)
        return Node(empty, path, schema, self.source)

    def pairs(self) -> list[tuple[str, Node]]:
        """A free-form mapping (``env``, ``var``, ``headers``) as ``(key, value)`` pairs."""
        return list(self._mapping().items())

    def items(self) -> list[Node]:
        """The items of a list."""
        if not isinstance(self.node, SequenceNode):
            raise self._expected("a list")
        schema = self.schema.item if isinstance(self.schema, ListOf) else None
        return [
            Node(item, f"{self.path}[{index}]", schema, self.source)
            for index, item in enumerate(self.node.value)
        ]

    def each(self, convert: Callable[[Node], T]) -> tuple[T, ...]:
        """``convert`` applied to every item of a list."""
        return tuple(convert(item) for item in self.items())

    # Scalars.

    def is_null(self) -> bool:
        return isinstance(self.node, ScalarNode) and self.node.tag == _TAG + "null"

    def _scalar(self, *tags: str, what: str | None = None) -> ScalarNode:
        node = self.node
        if not isinstance(node, ScalarNode) or node.tag.removeprefix(_TAG) not in tags:
            raise self._expected(what or _KINDS[tags[0]])
        return node

    def text(self) -> str:
        """A string as written (``off``, ``3000`` and ``1.5`` are read as their text)."""
        return str(self._scalar("str", "int", "float", "bool", "timestamp").value)

    def flag(self) -> bool:
        return bool(_CONSTRUCTOR.construct_yaml_bool(self._scalar("bool")))

    def integer(self, low: int | None = None, high: int | None = None) -> int:
        value = int(_CONSTRUCTOR.construct_yaml_int(self._scalar("int")))
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{low if low is not None else '…'}-{high if high is not None else '…'}"
            raise self.error(f"{value} is out of range ({span})")
        return value

    def duration(self) -> float:
        """Seconds: ``300ms``, ``30s``, ``5m``, ``1h30m``, ``2d``, ``1w``, ``1y`` or ``0``."""
        node = self._scalar("str", "int", "float", what="a duration such as 30s")
        return self._convert(parse_duration, str(node.value))

    def size(self) -> int:
        """Bytes: ``512K``, ``768M``, ``1.5G``, ``1GiB`` or a whole number of bytes."""
        node = self._scalar("str", "int", what="a size such as 512M")
        if node.tag == _TAG + "int":
            return self.integer(low=0)
        return self._convert(parse_size, str(node.value))

    def regex(self) -> re.Pattern[str]:
        text = self.text()
        try:
            return re.compile(text)
        except re.error as error:
            raise self.error(f"bad regex {text!r}: {error}") from error

    def choice(self, *options: str) -> str:
        value = self.text()
        if value not in options:
            raise self.error(f"{value!r} is not one of {', '.join(options)}")
        return value

    def texts(self) -> tuple[str, ...]:
        """A list of strings."""
        return self.each(Node.text)

    def env(self) -> Env:
        """A mapping of names to scalar values, all kept as the text written."""
        return tuple((name, value.env_value()) for name, value in self.pairs())

    def env_value(self) -> str:
        if self.is_null():
            return ""
        return self.text()

    def _convert(self, parse: Callable[[str], T], text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise self.error(str(error)) from error

    def convert(self, parse: Callable[[str], T]) -> T:
        """``parse(text)``, a :class:`ValueError` from it becoming a :class:`ConfigError`."""
        return self._convert(parse, self.text())
