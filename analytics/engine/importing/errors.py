"""The one exception an import raises for bad input."""

from __future__ import annotations

from analytics.engine.refusals import Refused


class ImportRefused(Refused):
    """Bad input, refused as a whole. `message` is one sentence a person understands;
    `file`, `line` and `column` say where, as far as known. `unit` is "line" for text
    files (1-based physical line, header = line 1) and "row" for Parquet (1-based row)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: str | None = None, unit: str = "line") -> None:
        self.file = file
        self.line = line
        self.column = column
        self.unit = unit
        super().__init__(message)
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
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"
