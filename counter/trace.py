"""Trace format v1: read and write calfcount recordings.

    # calfcount trace v1
    # sample_rate_hz: 100
    # sensor: mpu6050
    t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps
    0.000000,0.01234,-0.98000,0.10000,0.120,-0.300,0.050

Reading streams line by line (an hour-long file is never loaded whole). Any defect raises
:class:`TraceError` naming the file, the line and the field.
"""
from __future__ import annotations

import gzip
import io
import math
import os
from dataclasses import dataclass, field
from typing import IO, Iterator

from counter.sample import COLUMNS, Sample

MAGIC = "# calfcount trace v1"
# After this many intervals the nominal rate is checked against the timestamps.
_RATE_CHECK_INTERVALS = 50
# Jitter and a few dropped samples are fine; a wrong rate (e.g. 100 vs 50 Hz) is not.
_RATE_TOLERANCE = 0.25


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
        self.line_no = 0
        self._fh: IO[str] | None = None
        self._raw: IO[bytes] | None = None
        self.header: TraceHeader
        self._cols: tuple[int, ...] = ()
        self._ncols = 0
        self.bytes_total = 0

    def __enter__(self) -> "TraceReader":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
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
        self.header = TraceHeader(rate_hz, meta)
        return self.header

    def _readline(self) -> str | None:
        assert self._fh is not None
        try:
            raw = self._fh.readline()
        except UnicodeDecodeError:
            self.line_no += 1
            raise self._err("not UTF-8 text") from None
        except (OSError, EOFError) as e:  # a damaged .gz
            raise self._err(f"cannot read: {e}") from None
        if not raw:
            return None
        self.line_no += 1
        return raw

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
        if self._fh is None:
            self.open()
        fh = self._fh
        assert fh is not None
        cols, ncols = self._cols, self._ncols
        in_order = cols == tuple(range(7))
        isfinite = math.isfinite
        prev_t = -math.inf
        first_dts: list[float] = []
        n = 0
        nominal_dt = 1.0 / self.header.sample_rate_hz
        while True:
            raw = self._readline()
            if raw is None:
                break
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
            t = vals[0]
            if t <= prev_t:
                raise self._err(f"timestamp {t} does not increase (previous {prev_t})", "t_s")
            if n and n <= _RATE_CHECK_INTERVALS:
                first_dts.append(t - prev_t)
                if n == _RATE_CHECK_INTERVALS:
                    # The median ignores dropped samples and jitter; a wrong header rate
                    # (say 100 Hz written for 50 Hz data) moves it by a factor.
                    med_dt = sorted(first_dts)[len(first_dts) // 2]
                    if abs(med_dt / nominal_dt - 1.0) > _RATE_TOLERANCE:
                        raise self._err(
                            f"header says {self.header.sample_rate_hz:g} Hz but the timestamps "
                            f"are {1 / med_dt:.1f} Hz apart (median of the first "
                            f"{_RATE_CHECK_INTERVALS} intervals)", "sample_rate_hz")
            prev_t = t
            n += 1
            yield Sample(*vals)
        if n == 0:
            raise self._err("no samples after the column line", line=None)

    @property
    def bytes_read(self) -> int:
        if self._raw is not None:
            return self._raw.tell()
        return self._fh.tell() if self._fh is not None else self.bytes_total


def read_trace(path: str | os.PathLike[str]) -> Iterator[Sample]:
    """Yield the samples of a trace file, closing it at the end."""
    with TraceReader(path) as r:
        yield from r


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
