"""A saved graph's JSON, parsed while it is decompressed: only the chunk being parsed and
the value being read are in memory, never the whole text (which is larger than the graph).

The dicts and lists of the graph's own layout (``is_layout``) are parsed item by item;
every other value by ``json``, from a window of the text that grows until it holds the
value. The graph's integer lists (``integer_dtype``) become NumPy arrays straight from
the bytes, with no Python int per value, a list of strings there an object array with
one object per distinct string, and the base64 strings of ``Layout.base64`` arrays.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bytes read from the decompressed stream at a time.
CHUNK = 1 << 22
#: The first window a plain value is decoded from (it grows fourfold while too short).
FIRST_WINDOW = 256

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
#: What a compact list of integers is written with.
_INTEGER_CHARACTERS = b"0123456789,-"
_DECODER = json.JSONDecoder()

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Layout:
    """Where a document holds what: dicts and lists parsed item by item (``nested``),
    integer lists read as arrays of a type (``integers``), and base64 strings read as
    arrays of a type (``base64``); each says so of a path, or returns None."""

    nested: Callable[[Path], bool]
    integers: Callable[[Path], type | None]
    base64: Callable[[Path], str | None]


class JsonStream:
    """A JSON document read from ``read(n)`` (bytes), kept from the value being parsed on."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._buf = bytearray()
        self._pos = 0
        self._eof = False

    def document(self, layout: Layout) -> Any:
        """The whole document; ``ValueError`` if it is not one JSON value."""
        value = self._value((), layout)
        if self._peek() != -1:
            raise json.JSONDecodeError("Extra data", self._text(), 0)
        return value

    def _more(self) -> bool:
        """Read another chunk, dropping what was parsed; False at the end of the stream."""
        if self._eof:
            return False
        chunk = self._read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        del self._buf[: self._pos]
        self._pos = 0
        self._buf += chunk
        return True

    def _peek(self) -> int:
        """The next byte that is not whitespace (not consumed), or -1 at the end."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return -1

    def _expect(self, char: bytes) -> None:
        if self._peek() != char[0]:
            raise json.JSONDecodeError(f"Expecting {char.decode()!r}", self._text(), 0)
        self._pos += 1

    def _text(self) -> str:
        """A little of the text from here, for error messages."""
        return self._buf[self._pos : self._pos + 40].decode("utf-8", "replace")

    def _value(self, path: Path, layout: Layout) -> Any:
        opening = self._peek()
        if opening == -1:
            raise json.JSONDecodeError("Expecting value", "", 0)
        encoded = layout.base64(path)
        if encoded is not None and opening == ord('"'):
            return self._base64_array(encoded)
        if not layout.nested(path) or opening not in b"{[":
            dtype = layout.integers(path)
            if dtype is not None and opening == ord("["):
                array = self._integer_array(dtype)
                if array is not None:
                    return array
            value = self._plain()
            if dtype is not None and isinstance(value, list) and value:
                if type(value[0]) is int:
                    value = np.array(value, dtype=dtype)
                elif all(type(v) is str for v in value):
                    value = _shared(value)
            return value
        self._pos += 1
        closing = ord("}") if opening == ord("{") else ord("]")
        result: Any = {} if opening == ord("{") else []
        if self._peek() == closing:
            self._pos += 1
            return result
        while True:
            if isinstance(result, dict):
                key = self._plain()
                if not isinstance(key, str):
                    raise json.JSONDecodeError("Expecting property name", self._text(), 0)
                self._expect(b":")
                result[key] = self._value((*path, key), layout)
            else:
                result.append(self._value((*path, len(result)), layout))
            following = self._peek()
            if following == closing:
                self._pos += 1
                return result
            self._expect(b",")

    def _plain(self) -> Any:
        """One value parsed by ``json``, from a window grown until it holds the value and
        something after it (a number cut at the window's end would parse too)."""
        self._peek()
        size = FIRST_WINDOW
        while True:
            available = len(self._buf) - self._pos
            window = self._buf[self._pos : self._pos + min(size, available)]
            text = window.decode("utf-8", "replace")
            whole = size >= available
            try:
                value, end = _DECODER.raw_decode(text)
                if end < len(text) or (whole and self._eof):
                    self._pos += len(text[:end].encode("utf-8"))
                    return value
            except json.JSONDecodeError:
                if whole and self._eof:
                    raise
            if whole:
                self._more()
            size *= 4

    def _find(self, char: bytes) -> int:
        """Where ``char`` is next after here, reading on as needed; -1 if nowhere."""
        searched = self._pos + 1
        while (end := self._buf.find(char, searched)) < 0:
            searched = len(self._buf) - self._pos
            if not self._more():
                return -1
            searched += self._pos
        return end

    def _base64_array(self, dtype: str) -> np.ndarray:
        """The base64 string here decoded into an array (read-only, over the bytes), with
        no Python string of it made."""
        end = self._find(b'"')
        if end < 0:
            raise json.JSONDecodeError("Unterminated string", self._text(), 0)
        data = base64.b64decode(bytes(self._buf[self._pos + 1 : end]), validate=True)
        self._pos = end + 1
        return np.frombuffer(data, dtype=dtype)

    def _integer_array(self, dtype: type) -> np.ndarray | None:
        """The compact list of integers here (``[1,-2,3]``, as ``save_graph`` writes it)
        parsed by NumPy, or None (nothing consumed) if it holds anything else."""
        end = self._find(b"]")
        if end < 0:
            return None
        if end == self._pos + 1:
            return None  # an empty list stays a list, as json makes it
        items = bytes(self._buf[self._pos + 1 : end])
        if items.translate(None, _INTEGER_CHARACTERS) or b"-," in items or items[-1:] == b"-":
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # NumPy warns of some malformed lists
                values: np.ndarray = np.fromstring(items, dtype=dtype, sep=",")
        except (ValueError, DeprecationWarning):
            return None
        if len(values) != items.count(b",") + 1:
            return None
        self._pos = end + 1
        return values


def _shared(values: list[str]) -> np.ndarray:
    """The strings as an object array, equal ones made one object: ``json`` makes one per
    occurrence, and a column of data ID values holds few distinct ones many times over."""
    shared: dict[str, str] = {}
    result = np.empty(len(values), dtype=object)
    result[:] = [shared.setdefault(v, v) for v in values]
    return result
