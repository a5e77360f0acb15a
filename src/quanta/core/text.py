"""Text that databases and files can hold: no NUL, no unpaired surrogates, valid UTF-8.

Python holds bytes that were not UTF-8 (in command-line arguments, for example) as
unpaired surrogates, which no encoder accepts; PostgreSQL refuses NUL in text and
SQLite cuts strings at it. Checking before any SQL turns both into one clear error.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ConfigError

_BAD = re.compile("[\x00\ud800-\udfff]")


def bad_character(text: str) -> tuple[int, str] | None:
    """The index and a description of the first NUL or unpaired surrogate in ``text``.

    >>> bad_character("ab\\x00c")
    (2, 'a NUL character')
    >>> bad_character("caf\\udce9"), bad_character("café")
    ((3, 'a byte that is not UTF-8 (\\\\xe9)'), None)
    """
    match = _BAD.search(text)
    if match is None:
        return None
    char = match.group()
    if char == "\x00":
        return match.start(), "a NUL character"
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return match.start(), f"a byte that is not UTF-8 (\\x{code - 0xDC00:02x})"
    return match.start(), f"an unpaired surrogate (\\u{code:04x})"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, naming the 1-based character position, or None.

    >>> text_problem("x\\x00")
    'holds a NUL character at character 2'
    """
    found = bad_character(text)
    if found is None:
        return None
    index, what = found
    return f"holds {what} at character {index + 1}"


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` decoded as UTF-8, or a ``ConfigError`` naming ``source`` and the byte offset.

    >>> decode_utf8(b"ok\\xff", "f.yaml")
    Traceback (most recent call last):
    ...
    quanta.core.errors.ConfigError: f.yaml: not valid UTF-8: byte 0xff at offset 2
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{source}: not valid UTF-8: byte 0x{data[err.start]:02x} at offset {err.start}"
        ) from None


def read_utf8(path: Path) -> str:
    """The text of a file that must be UTF-8 without NUL; a ``ConfigError`` naming the file
    (and the line of a NUL) otherwise."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    text = decode_utf8(data, str(path))
    if (index := text.find("\x00")) >= 0:
        raise ConfigError(f"{path}:{text.count(chr(10), 0, index) + 1}: holds a NUL character")
    return text
