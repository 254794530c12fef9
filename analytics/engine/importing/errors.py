"""The one exception an import raises for bad input, and what keeps its message fit to
show: no control characters (a NUL cannot even be stored in PostgreSQL text) and no
server paths (DuckDB names the files it reads by their absolute paths)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from analytics.engine.refusals import Refused

# C0 and C1 control characters and DEL: never in a name, never shown raw.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# An absolute path of at least two parts, up to a quote, a space or a bracket.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])(?:/[^\s\"'/()\[\]]+){2,}")



class ImportRefused(Refused):
    """Bad input, refused as a whole. `message` is one sentence a person understands;
    `file`, `line` and `column` say where, as far as known. `unit` is "line" for text
    files (1-based physical line, header = line 1) and "row" for Parquet (1-based row)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: str | None = None, unit: str = "line") -> None:
        self.file = printable(file) if file is not None else None
        self.line = line
        self.column = printable(column) if column is not None else None
        self.unit = unit
        super().__init__(printable(message))
        self.args = (str(self),)  # the located sentence, as str() gives it

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"{self.unit} {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self):
        # Celery pickles exceptions; keyword-only arguments need an explicit recipe.
        return (_rebuild, (self.message, self.file, self.line, self.column, self.unit))

    def located(self, *, file: str | None = None) -> ImportRefused:
        """The same refusal, naming the file when it did not yet."""
        if self.file or not file:
            return self
        return ImportRefused(self.message, file=file, line=self.line, column=self.column,
                             unit=self.unit)


def _rebuild(message, file, line, column, unit) -> ImportRefused:
    return ImportRefused(message, file=file, line=line, column=column, unit=unit)


def quoted_value(value: object, limit: int = 60) -> str:
    """A source value as it appears in a message: quoted, and cut when long."""
    text = printable(str(value))
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def printable(text: str) -> str:
    """Text with each control character written as its escape (\\x00, \\n)."""
    return CONTROL_CHARACTERS.sub(lambda m: repr(m.group())[1:-1], text)


def first_control_character(text: str) -> str | None:
    """The first control character of `text` as people read it (U+0000), if any."""
    found = CONTROL_CHARACTERS.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def hide_paths(text: str, known: Mapping[Path | str, str] | None = None) -> str:
    """`text` without server paths: each known path becomes the name people know it by,
    and any other absolute path its last part."""
    for path, name in sorted((known or {}).items(), key=lambda item: -len(str(item[0]))):
        text = text.replace(str(path), name)
    return _ABSOLUTE_PATH.sub(lambda m: m.group().rsplit("/", 1)[-1], text)
