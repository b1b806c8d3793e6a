"""Trace format v1: read and write calfcount recordings.

    # calfcount trace v1
    # sample_rate_hz: 100
    # sensor: mpu6050
    t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps
    0.000000,0.01234,-0.98000,0.10000,0.120,-0.300,0.050

Reading streams in blocks of lines (an hour-long file is never loaded whole). Any defect raises
:class:`TraceError` naming the file, the line and the field.
"""
from __future__ import annotations

import gzip
import io
import math
import os
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from operator import length_hint
from typing import IO, Iterable, Iterator

import numpy as np

from counter.sample import COLUMNS, Sample

MAGIC = "# calfcount trace v1"
# After this many intervals the nominal rate is checked against the timestamps.
_RATE_CHECK_INTERVALS = 50
# Jitter and a few dropped samples are fine; a wrong rate (e.g. 100 vs 50 Hz) is not.
_RATE_TOLERANCE = 0.25
# Lines read at a time: about 60 KiB of text, so memory stays small however long the file.
_BLOCK_LINES = 1024
# Everything a plain data line is made of; any other byte sends its block to the line parser.
_PLAIN_BYTES = b"0123456789.-,\n"
_NEWLINE_TO_COMMA = bytes.maketrans(b"\n", b",")
_PLAIN_MARKS = np.frombuffer(b".,.,.,.,.,.,.\n", np.uint8)
# Exact powers of ten (built from ints, not pow(), so no rounding question arises).
_POW10 = np.array([float(10 ** k) for k in range(16)])
_tuple_new = tuple.__new__
# Read failures that mean a bad file rather than a bug.
_READ_ERRORS = (UnicodeDecodeError, OSError, EOFError)


def _parse_plain(lines: list[str]) -> np.ndarray | None:
    """``lines`` as an (n, 7) array when every line is seven plain decimals (``-12.345``:
    optional minus, one point, 1 to 15 digits) separated by commas; None otherwise.

    The values are bit-identical to ``float()``: an integer mantissa below 2**53 divided by an
    exact power of ten is one correctly rounded operation, and float() is correctly rounded.
    """
    text = "".join(lines)
    if not text.isascii():
        return None
    data = text.encode("ascii")
    if data.translate(None, _PLAIN_BYTES):
        return None  # comments, spaces, '\r', exponents, nan...: the line parser decides
    if data[-1] != 10:
        data += b"\n"  # the last line of a file without a final newline
    n = len(lines)
    a = np.frombuffer(data, np.uint8)
    # Points, commas and newlines (every byte below '0' but the minus sign) must alternate
    # '.,.,.,.,.,.,.\n' on every line: seven fields, one point in each. Each line holds one
    # '\n', its end, so counting them all is enough; a blank line fails here too.
    marks = np.flatnonzero((a < 48) & (a != 45))
    if len(marks) != 14 * n or not (a[marks].reshape(n, 14) == _PLAIN_MARKS).all():
        return None
    dots, seps = marks[0::2], marks[1::2]
    starts = np.empty_like(seps)
    starts[0] = 0
    starts[1:] = seps[:-1] + 1
    neg = a[starts] == 45
    if np.count_nonzero(neg) != data.count(b"-"):
        return None  # a minus sign not at the start of its field
    # At least one digit ('-.' is not a number); at most 15, so the mantissa stays below 2**53.
    digits = seps - starts - 1 - neg
    if digits.min() < 1 or digits.max() > 15:
        return None
    mantissa = np.fromstring(data.translate(_NEWLINE_TO_COMMA, b".")[:-1], dtype=np.int64, sep=",")
    if mantissa.size != 7 * n:
        return None
    vals = np.abs(mantissa) / _POW10[seps - dots - 1]
    # The sign is applied last so '-0.000' gives -0.0, as float() does.
    np.copysign(vals, np.where(neg, -1.0, 1.0), out=vals)
    return vals.reshape(n, 7)


def _rate_is_off(dts: list[float], nominal_dt: float) -> float | None:
    """The median interval when it contradicts the nominal one, else None."""
    # The median ignores dropped samples and jitter; a wrong header rate
    # (say 100 Hz written for 50 Hz data) moves it by a factor.
    med_dt = sorted(dts)[len(dts) // 2]
    return med_dt if abs(med_dt / nominal_dt - 1.0) > _RATE_TOLERANCE else None


class TraceError(ValueError):
    """A trace file is unusable. ``str()`` is a one-line message: ``file:line: field: problem``."""

    def __init__(self, path: str, line: int | None, problem: str, field_name: str | None = None):
        self.path, self.line, self.problem, self.field = path, line, problem, field_name
        where = path if line is None else f"{path}:{line}"
        what = f"{field_name}: {problem}" if field_name else problem
        super().__init__(f"{where}: {what}")


@dataclass
class TraceHeader:
    """Header of a trace. ``sample_rate_hz`` is the rate the sensor was configured for."""

    sample_rate_hz: float
    meta: dict[str, str] = field(default_factory=dict)


class TraceReader:
    """Stream the samples of a trace file.

    >>> with TraceReader("walk.csv") as r:
    ...     for s in r: ...

    ``header`` is available once opened; ``line_no`` is the line of the last sample read.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        # Lines are read a block ahead of the samples handed out; this state says how far the
        # caller has got, so line numbers and a later iteration start where it stopped.
        self._line_no = 0                   # last line parsed (fast blocks: the block's end)
        self._block: list[str] | None = None  # lines of the block being handed out
        self._fast: Iterator[float] | None = None  # when parsed whole: its t_s not yet taken
        self._used = 0                      # lines of the block parsed one by one so far
        self._failed: Exception | None = None  # a read error met after the block's last line
        self._fh: IO[str] | None = None
        self._raw: IO[bytes] | None = None
        self.header: TraceHeader
        self._cols: tuple[int, ...] = ()
        self._ncols = 0
        self.bytes_total = 0

    @property
    def line_no(self) -> int:
        """Line of the last sample read (while reading the header: the last header line)."""
        if self._fast is not None:
            return self._line_no - length_hint(self._fast)
        return self._line_no

    @line_no.setter
    def line_no(self, value: int) -> None:
        self._line_no = value

    def __enter__(self) -> "TraceReader":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._block = self._fast = self._failed = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _err(self, problem: str, field_name: str | None = None, line: int | None = -1) -> TraceError:
        return TraceError(self.path, self.line_no if line == -1 else line, problem, field_name)

    def open(self) -> TraceHeader:
        try:
            if self.path.endswith(".gz"):
                # Bundled recordings ship compressed; progress is then counted in raw bytes.
                self._raw = open(self.path, "rb")
                self.bytes_total = os.fstat(self._raw.fileno()).st_size
                self._fh = io.TextIOWrapper(gzip.GzipFile(fileobj=self._raw), encoding="utf-8", newline="")
            else:
                self._fh = open(self.path, "r", encoding="utf-8", newline="")
                self.bytes_total = os.fstat(self._fh.fileno()).st_size
        except OSError as e:
            raise TraceError(self.path, None, f"cannot open: {e.strerror or e}") from None
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()  # (a bad header stops the program: no file is left open behind it)
            raise
        return self.header

    def _read_header(self) -> TraceHeader:
        meta: dict[str, str] = {}
        first = True
        while True:
            raw = self._readline()
            if raw is None:
                if first:
                    raise self._err("empty file (expected the '# calfcount trace v1' header)", line=None)
                raise self._err("no column line after the header (expected " + ",".join(COLUMNS) + ")")
            line = raw.strip()
            if first:
                first = False
                if line != MAGIC:
                    raise self._err(f"missing header: first line must be '{MAGIC}', found {line[:60]!r}")
                continue
            if not line:
                continue
            if line.startswith("#"):
                body = line[1:].strip()
                if ":" not in body:
                    raise self._err(f"header line is not 'key: value': {line[:60]!r}")
                k, v = body.split(":", 1)
                meta[k.strip()] = v.strip()
                continue
            self._parse_columns(line)
            break
        rate = meta.get("sample_rate_hz")
        if rate is None:
            raise self._err("missing header key (add '# sample_rate_hz: 100')", "sample_rate_hz", line=None)
        try:
            rate_hz = float(rate)
        except ValueError:
            rate_hz = float("nan")
        if not (math.isfinite(rate_hz) and 1.0 <= rate_hz <= 10_000.0):
            raise self._err(f"not a sample rate in Hz: {rate!r}", "sample_rate_hz", line=None)
        return TraceHeader(rate_hz, meta)

    def _readline(self) -> str | None:
        assert self._fh is not None
        try:
            raw = self._fh.readline()
        except _READ_ERRORS as e:
            raise self._read_error(e) from None
        if not raw:
            return None
        self._line_no += 1
        return raw

    def _read_error(self, e: Exception) -> TraceError:
        if isinstance(e, UnicodeDecodeError):
            self._line_no += 1
            return self._err("not UTF-8 text")
        return self._err(f"cannot read: {e}")  # OSError, EOFError: a damaged .gz

    def _next_block(self, next_line: Iterator[str]) -> list[str]:
        """The lines an earlier iteration read but did not use, else up to ``_BLOCK_LINES``
        new ones; [] at the end. A read error is kept in ``_failed`` until those lines are parsed."""
        lines = self._block
        if lines is not None:
            self._block = None
            if self._fast is not None:
                left = length_hint(self._fast)
                self._fast = None
                self._line_no -= left
                lines = lines[len(lines) - left:]
            else:
                lines = lines[self._used:]
            if lines:
                return lines
        lines = []
        if self._failed is None:
            try:
                # extend() keeps what was read before an error: those lines are parsed (and
                # their own defects reported) first, as when reading line by line.
                lines.extend(islice(next_line, _BLOCK_LINES))
            except Exception as e:
                self._failed = e
        return lines

    def _parse_columns(self, line: str) -> None:
        names = [c.strip() for c in line.split(",")]
        idx = []
        for col in COLUMNS:
            if col not in names:
                raise self._err(f"missing column (columns are {','.join(COLUMNS)})", col)
            idx.append(names.index(col))
        self._cols = tuple(idx)
        self._ncols = len(names)

    def __iter__(self) -> Iterator[Sample]:
        # The samples of a block come out through C iterators; Python code runs once per
        # block, or once per line when a block needs the line-by-line parser.
        return chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[Iterable[Sample]]:
        if self._fh is None:
            self.open()
        fh = self._fh
        assert fh is not None
        cols, ncols = self._cols, self._ncols
        in_order = cols == tuple(range(7))
        plain_layout = in_order and ncols == 7
        isfinite = math.isfinite
        prev_t = -math.inf
        first_dts: list[float] = []
        n = 0
        nominal_dt = 1.0 / self.header.sample_rate_hz
        next_line = iter(fh.readline, "")
        while True:
            lines = self._next_block(next_line)
            if not lines:
                if self._failed is None:
                    break
                failed, self._failed = self._failed, None
                if isinstance(failed, _READ_ERRORS):
                    raise self._read_error(failed) from None
                raise failed
            self._block, self._used = lines, 0
            arr = _parse_plain(lines) if plain_layout else None
            if arr is not None:
                # Finite by construction (15 digits at most). Any failed check sends the block
                # to the line parser, which reports it exactly as for a single line.
                t = arr[:, 0]
                ok = t[0] > prev_t and bool((t[1:] > t[:-1]).all())
                dts = first_dts
                if ok and n <= _RATE_CHECK_INTERVALS:  # the rate check, as the line parser does it
                    head = [prev_t] + t[:_RATE_CHECK_INTERVALS + 1 - n].tolist()
                    dts = first_dts + [b - a for a, b in zip(head, head[1:])][1 if n == 0 else 0:]
                    ok = len(dts) < _RATE_CHECK_INTERVALS or _rate_is_off(dts, nominal_dt) is None
                if ok:
                    first_dts = dts
                    prev_t = float(t[-1])
                    n += len(lines)
                    self._line_no += len(lines)
                    # Samples are made as they are taken (and can be freed at once); how far the
                    # first column has been taken tells how many are left.
                    t_col, *other_cols = arr.T.tolist()
                    self._fast = left = iter(t_col)
                    yield map(_tuple_new, repeat(Sample), zip(left, *other_cols))
                    continue
            for raw in lines:
                self._used += 1
                self._line_no += 1
                if raw[0] == "#":
                    continue
                parts = raw.split(",")
                if len(parts) != ncols:
                    if not raw.strip():
                        continue
                    raise self._err(f"expected {ncols} comma-separated fields, found {len(parts)}")
                try:
                    if in_order:
                        vals = [float(p) for p in parts[:7]] if ncols != 7 else [float(p) for p in parts]
                    else:
                        vals = [float(parts[i]) for i in cols]
                except ValueError:
                    for name, i in zip(COLUMNS, cols):
                        try:
                            float(parts[i])
                        except ValueError:
                            raise self._err(f"not a number: {parts[i].strip()[:30]!r}", name) from None
                    raise
                if not isfinite(vals[0] + vals[1] + vals[2] + vals[3] + vals[4] + vals[5] + vals[6]):
                    # One sum per line is cheaper than seven checks; find the culprit only on failure.
                    for name, v in zip(COLUMNS, vals):
                        if not isfinite(v):
                            raise self._err(f"value is {v} (NaN or infinite)", name)
                    raise self._err("values too large to be a reading")
                t_s = vals[0]
                if t_s <= prev_t:
                    raise self._err(f"timestamp {t_s} does not increase (previous {prev_t})", "t_s")
                if n and n <= _RATE_CHECK_INTERVALS:
                    first_dts.append(t_s - prev_t)
                    if n == _RATE_CHECK_INTERVALS:
                        med_dt = _rate_is_off(first_dts, nominal_dt)
                        if med_dt is not None:
                            raise self._err(
                                f"header says {self.header.sample_rate_hz:g} Hz but the timestamps "
                                f"are {1 / med_dt:.1f} Hz apart (median of the first "
                                f"{_RATE_CHECK_INTERVALS} intervals)", "sample_rate_hz")
                prev_t = t_s
                n += 1
                yield (Sample(*vals),)
        if n == 0:
            raise self._err("no samples after the column line", line=None)

    @property
    def bytes_read(self) -> int:
        if self._raw is not None:
            return self._raw.tell()
        return self._fh.tell() if self._fh is not None else self.bytes_total


def read_trace(path: str | os.PathLike[str]) -> Iterator[Sample]:
    """Yield the samples of a trace file, closing it at the end. Like a generator, it opens
    the file (and raises any :class:`TraceError`) only when the first sample is asked for."""
    # Chained over the reader's blocks, so no Python frame is resumed per sample.
    return chain.from_iterable(_closing_blocks(TraceReader(path)))


def _closing_blocks(reader: TraceReader) -> Iterator[Iterable[Sample]]:
    """The reader's blocks of samples; the file is closed at the end, on an error, or when the
    iteration is abandoned."""
    with reader:
        yield from reader._blocks()


def _format(s: Sample) -> str:
    return f"{s[0]:.6f},{s[1]:.5f},{s[2]:.5f},{s[3]:.5f},{s[4]:.3f},{s[5]:.3f},{s[6]:.3f}\n"


def as_recorded(s: Sample) -> Sample:
    """The sample exactly as a trace file stores it (6/5/3 decimals). Counting this, not the
    raw reading, makes a live count and a later replay of its recording agree to the rep."""
    return Sample(*(float(x) for x in _format(s).split(",")))


class TraceWriter:
    """Write a v1 trace, flushed and fsynced every ``flush_every_s`` of sample time so a power
    cut loses at most that much of the recording."""

    def __init__(self, path: str | os.PathLike[str], sample_rate_hz: float,
                 meta: dict[str, str] | None = None, flush_every_s: float = 1.0):
        self.path = os.fspath(path)
        self.flush_every_s = flush_every_s
        self._fh: IO[str] = open(self.path, "w", encoding="utf-8", newline="\n")
        self._next_flush_t = -math.inf
        self.samples_written = 0
        lines = [MAGIC, f"# sample_rate_hz: {sample_rate_hz:g}"]
        for k, v in (meta or {}).items():
            if k == "sample_rate_hz":
                continue
            v = str(v).replace("\n", " ")
            lines.append(f"# {k}: {v}")
        lines.append(",".join(COLUMNS))
        self._fh.write("\n".join(lines) + "\n")
        self.sync()

    def write(self, s: Sample) -> None:
        self._fh.write(_format(s))
        self.samples_written += 1
        if s[0] >= self._next_flush_t:
            self.sync()
            self._next_flush_t = s[0] + self.flush_every_s

    def comment(self, text: str) -> None:
        """A ``# `` line among the samples (readers skip it), e.g. to mark a sensor gap."""
        self._fh.write("# " + text.replace("\n", " ") + "\n")

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self.sync()
            self._fh.close()

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
