"""What a file is: its format by name, and the cheap checks that it is what its name says
(before DuckDB reads it), plus the slow search for the first byte that is not UTF-8,
which only runs on the way to a refusal."""

from __future__ import annotations

import codecs
import gzip
import json
import re
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analytics.engine.importing.errors import ImportRefused

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet",)
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIXES = (".json",)
ALL_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + NDJSON_SUFFIXES + JSON_SUFFIXES

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
_PREFIX_BYTES = 64 * 1024
_SCAN_CHUNK = 8 * 1024 * 1024
# What a web request may decompress of a file to guess its columns (see peek_copy).
PEEK_TEXT_BYTES = 1024 * 1024
PEEK_WHOLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv", "parquet" or "json"
    gzip: bool
    newline_delimited: bool = True  # json only: NDJSON, or ".json" which may be an array

    @property
    def label(self) -> str:
        return {"csv": "CSV", "parquet": "Parquet", "json": "JSON"}[self.kind]


def file_format(path: Path) -> FileFormat:
    """The format a file's name promises (.csv, .tsv, .txt, .parquet, .ndjson, .jsonl,
    .json, each optionally .gz)."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[: -len(".gz")]
    suffix = Path(name).suffix
    if suffix in CSV_SUFFIXES:
        return FileFormat("csv", gz)
    if suffix in PARQUET_SUFFIXES:
        return FileFormat("parquet", gz)
    if suffix in NDJSON_SUFFIXES:
        return FileFormat("json", gz)
    if suffix in JSON_SUFFIXES:
        return FileFormat("json", gz, newline_delimited=False)
    readable = ", ".join(ALL_SUFFIXES)
    raise ImportRefused(
        f"cannot tell the format from the name; use one of {readable} (optionally .gz)",
        file=path.name,
    )


def check_file(path: Path, fmt: FileFormat) -> None:
    """Refuse a file that is missing, empty, or not what its name says, by its first bytes."""
    name = path.name
    if not path.is_file():
        raise ImportRefused("the file does not exist", file=name)
    with path.open("rb") as raw:
        magic = raw.read(4)
    if not magic:
        raise ImportRefused("the file is empty", file=name)
    if fmt.gzip and magic[:2] != GZIP_MAGIC:
        raise ImportRefused("the name ends in .gz but the file is not gzip-compressed",
                            file=name)
    if not fmt.gzip and magic[:2] == GZIP_MAGIC:
        raise ImportRefused("the file is gzip-compressed but its name does not end in .gz",
                            file=name)
    prefix = read_prefix(path, fmt)
    if not prefix:
        raise ImportRefused("the file is empty", file=name)
    if fmt.kind == "parquet":
        if prefix[:4] != PARQUET_MAGIC:
            raise ImportRefused(f"is not a Parquet file ({_what_it_looks_like(prefix)})",
                                file=name)
        return
    if prefix[:4] == PARQUET_MAGIC:
        raise ImportRefused(f"is a Parquet file, not {fmt.label} as its name says", file=name)
    _check_text_prefix(prefix, path, fmt)


def read_prefix(path: Path, fmt: FileFormat, size: int = _PREFIX_BYTES) -> bytes:
    try:
        with open_bytes(path, fmt.gzip) as stream:
            return stream.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportRefused(f"cannot be decompressed ({_reason(exc)})", file=path.name) from exc


def open_bytes(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else path.open("rb")


def _what_it_looks_like(prefix: bytes) -> str:
    stripped = prefix.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "it looks like JSON"
    if b"\x00" not in prefix[:4096]:
        return "it looks like text"
    return "unknown content"


def _check_text_prefix(prefix: bytes, path: Path, fmt: FileFormat) -> None:
    name = path.name
    if prefix[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise ImportRefused("is not UTF-8 text (it is UTF-16; save it as UTF-8)", file=name)
    bad = first_invalid_utf8(prefix, final=len(prefix) < _PREFIX_BYTES)
    if bad is not None:
        raise _not_utf8(name, *bad)
    nul = prefix.find(b"\x00")
    if nul >= 0:
        # Binary data, or a NUL inside a name, which no text column can store.
        raise ImportRefused(f"is not {fmt.label} text (it contains a NUL byte, as binary "
                            "data does)", file=name, line=prefix.count(b"\n", 0, nul) + 1)
    body = prefix.removeprefix(codecs.BOM_UTF8).lstrip()
    if not body:
        raise ImportRefused("the file is empty", file=name)
    if fmt.kind == "json" and body[:1] not in (b"{", b"["):
        raise ImportRefused("is not JSON (it does not start with '{' or '[')",
                            file=name, line=1)


def first_invalid_utf8(data: bytes, *, final: bool) -> tuple[int, int] | None:
    """(byte value, 1-based line) of the first byte that is not UTF-8, in a buffer."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=final)
    except UnicodeDecodeError as exc:
        return data[exc.start], data.count(b"\n", 0, exc.start) + 1
    return None


def find_invalid_utf8(path: Path, gz: bool) -> tuple[int, int] | None:
    """Scan a whole file for the first byte that is not UTF-8: (byte value, line).
    Only for the refusal path; reads the file once, in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with open_bytes(path, gz) as stream:
        pending = b""  # bytes of an incomplete character carried into the next chunk
        while True:
            chunk = stream.read(_SCAN_CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                # exc.start counts from the start of the decoder's buffered input.
                offset = exc.start
                return data[offset], lines_before + data.count(b"\n", 0, offset) + 1
            if final:
                return None
            state, _ = decoder.getstate()
            pending = state
            lines_before += chunk.count(b"\n")


def not_utf8_refusal(path: Path, gz: bool) -> ImportRefused | None:
    found = find_invalid_utf8(path, gz)
    return None if found is None else _not_utf8(path.name, *found)


def _not_utf8(name: str, byte: int, line: int) -> ImportRefused:
    return ImportRefused(f"is not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8",
                         file=name, line=line)


def find_bad_json(path: Path, gz: bool, newline_delimited: bool) -> tuple[int, str] | None:
    """(line, reason) of the first JSON syntax error. Only for the refusal path: DuckDB's
    own line numbers for malformed NDJSON are one too high."""
    with open_bytes(path, gz) as stream:
        if not newline_delimited:
            try:
                json.loads(stream.read().decode("utf-8-sig"))
            except json.JSONDecodeError as exc:
                return exc.lineno, exc.msg
            except UnicodeDecodeError:
                return None
            return None
        for number, raw in enumerate(stream, start=1):
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace")
            if not text.strip():
                continue
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                return number, exc.msg
    return None


def unpack(path: Path, into: Path, *, budget: int | None,
           on_over: Callable[[], ImportRefused]) -> tuple[Path, int, int]:
    """Decompress a gzip file into `into`, streaming and counting: (the copy, its size,
    its newlines).
    Past `budget` bytes it stops, removes the copy and raises on_over()'s refusal, so a
    decompression bomb costs at most the budget in disk and time."""
    target = into / f"{uuid.uuid4().hex}{Path(plain_name(path.name)).suffix}"
    size = newlines = 0
    try:
        with gzip.open(path, "rb") as src, target.open("wb") as dst:
            while chunk := src.read(_SCAN_CHUNK):
                size += len(chunk)
                if budget is not None and size > budget:
                    raise on_over()
                newlines += chunk.count(b"\n")
                dst.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        target.unlink(missing_ok=True)
        raise ImportRefused(f"cannot be decompressed ({_reason(exc)})", file=path.name) from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, size, newlines


def count_newlines(path: Path) -> int:
    """Newlines in a plain file: a bound on its rows, read in chunks."""
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            count += chunk.count(b"\n")
    return count


_INFINITY = re.compile(rb'"[ \t]*[+-]?inf(inity)?[ \t]*"', re.IGNORECASE)


def mentions_infinity(path: Path) -> bool:
    """Whether a plain JSON file has a string value that reads as an infinite time."""
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            if _INFINITY.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


def plain_name(name: str) -> str:
    return name[: -len(".gz")] if name.lower().endswith(".gz") else name


def peek_copy(path: Path, fmt: FileFormat, into: Path) -> Path:
    """For a look at a gzipped file's columns in a web request: a plain copy of no more
    than its first PEEK_TEXT_BYTES (cut after the last whole line) for CSV and NDJSON,
    or of the whole file if it fits in PEEK_WHOLE_BYTES for Parquet and JSON arrays,
    which cannot be read from a prefix. The caller removes the copy."""
    whole = fmt.kind == "parquet" or not fmt.newline_delimited
    limit = PEEK_WHOLE_BYTES if whole else PEEK_TEXT_BYTES
    try:
        with gzip.open(path, "rb") as src:
            data = src.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportRefused(f"cannot be decompressed ({_reason(exc)})", file=path.name) from exc
    if len(data) > limit:
        if whole:
            raise ImportRefused(
                f"a gzipped {fmt.label} file is read on upload only up to "
                f"{limit // 1024**2} MB uncompressed, to find its columns; upload it "
                "uncompressed, or give the column mapping (through the API)", file=path.name)
        data = data[: data.rfind(b"\n", 0, limit) + 1] or data[:limit]
    target = into / f".peek-{uuid.uuid4().hex}{Path(plain_name(path.name)).suffix}"
    target.write_bytes(data)
    return target


def _reason(exc: BaseException) -> str:
    # An OSError names the file by its path; people know it by its name.
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
