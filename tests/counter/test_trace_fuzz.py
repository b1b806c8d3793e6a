"""Property-based checks of the trace reader: any bytes give samples or one clear TraceError."""
from __future__ import annotations

import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter.sample import COLUMNS, Sample
from counter.trace import TraceError, TraceWriter, read_trace

HEADER = "# calfcount trace v1\n# sample_rate_hz: 100\n" + ",".join(COLUMNS) + "\n"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read(path: Path) -> list[Sample] | TraceError:
    try:
        return list(read_trace(path))
    except TraceError as e:
        return e


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(data)
    got = _read(path)
    if isinstance(got, TraceError):
        msg = str(got)
        assert msg.startswith(str(path)) and "\n" not in msg
    else:
        assert all(isinstance(s, Sample) for s in got)


cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.text(alphabet="0123456789.-e+nafix ", max_size=8))


@SETTINGS
@given(st.lists(st.lists(cell, min_size=5, max_size=9), min_size=1, max_size=30))
def test_mangled_rows_give_a_line_and_field(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows))
    got = _read(path)
    if isinstance(got, TraceError):
        assert got.line is None or 3 < got.line <= 3 + len(rows)
        if got.field is not None:
            assert got.field in COLUMNS
    else:
        for s in got:
            assert all(math.isfinite(v) for v in s)
        assert all(b.t_s > a.t_s for a, b in zip(got, got[1:]))


finite = st.floats(min_value=-2000, max_value=2000, allow_nan=False)


@SETTINGS
@given(st.lists(st.tuples(finite, finite, finite, finite, finite, finite), min_size=1, max_size=60))
def test_write_then_read_round_trips(tmp_path: Path, values: list[tuple[float, ...]]) -> None:
    path = tmp_path / "rt.csv"
    with TraceWriter(path, 100) as w:
        for i, v in enumerate(values):
            w.write(Sample(i / 100, *v))
    got = list(read_trace(path))
    assert len(got) == len(values)
    for s, v in zip(got, values):
        assert all(abs(a - b) <= 1e-5 + 1e-3 for a, b in zip(s[1:], v))
