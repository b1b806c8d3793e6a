"""Trace format v1: round trip and a clear error for every kind of bad file."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from counter.sample import Sample
from counter.trace import TraceError, TraceReader, TraceWriter, read_trace

HEADER = "# calfcount trace v1\n# sample_rate_hz: 100\n# sensor: mpu6050\nt_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n"


def _rows(n: int, dt: float = 0.01) -> str:
    return "".join(f"{i * dt:.6f},0.01000,-0.98000,0.10000,0.120,-0.300,0.050\n" for i in range(n))


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_round_trip_keeps_samples_and_header(tmp_path: Path) -> None:
    samples = [Sample(i / 200, 0.01 * i, -1.0 + 1e-5 * i, 0.5, 1.5 * i, -2.0, 249.5) for i in range(500)]
    path = tmp_path / "rt.csv"
    with TraceWriter(path, 200, {"sensor": "lsm6dsox", "placement": "left shank\nfront"}) as w:
        for s in samples:
            w.write(s)
        w.comment("gap of 0.3 s")
    with TraceReader(path) as r:
        got = list(r)
        assert r.header.sample_rate_hz == 200
        assert r.header.meta["sensor"] == "lsm6dsox"
        assert r.header.meta["placement"] == "left shank front"
    assert len(got) == len(samples)
    for a, b in zip(got, samples):
        assert a.t_s == pytest.approx(b.t_s, abs=1e-6)
        assert a[1:4] == pytest.approx(b[1:4], abs=1e-5)
        assert a[4:] == pytest.approx(b[4:], abs=1e-3)


def test_reads_shared_trace_streaming(traces_dir: Path) -> None:
    path = next(iter(sorted(traces_dir.glob("*.csv"))))
    reader = TraceReader(path)
    it = iter(reader)
    first = next(it)
    # Streaming: after one sample only a small part of the file has been read.
    assert reader.bytes_read < reader.bytes_total / 4
    assert first.t_s == 0.0
    assert math.isclose(math.sqrt(first.ax_g ** 2 + first.ay_g ** 2 + first.az_g ** 2), 1.0, abs_tol=0.15)
    reader.close()


def test_columns_in_another_order(tmp_path: Path) -> None:
    text = "# calfcount trace v1\n# sample_rate_hz: 100\ngz_dps,t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,extra\n"
    text += "".join(f"3.0,{i / 100:.2f},0.1,0.2,0.9,1.0,2.0,x\n" for i in range(60))
    got = list(read_trace(_write(tmp_path, text)))
    assert got[1] == Sample(0.01, 0.1, 0.2, 0.9, 1.0, 2.0, 3.0)


@pytest.mark.parametrize("text, line, needle", [
    ("", None, "empty file"),
    ("t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n0,0,0,1,0,0,0\n", 1, "missing header"),
    ("# calfcount trace v1\n# sensor: x\nt_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n" + _rows(3), None, "sample_rate_hz: missing header key"),
    ("# calfcount trace v1\n# sample_rate_hz: fast\nt_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n" + _rows(3), None, "sample_rate_hz: not a sample rate"),
    ("# calfcount trace v1\n# sample_rate_hz: 100\nt_s,ax_g,ay_g,az_g,gx_dps,gy_dps\n" + _rows(3), 3, "gz_dps: missing column"),
    (HEADER, None, "no samples"),
    (HEADER + _rows(5) + "0.050000,0.1,abc,0.9,0,0,0\n", 10, "ay_g: not a number"),
    (HEADER + _rows(5) + "0.050000,0.1,0.2,nan,0,0,0\n", 10, "az_g: value is nan"),
    (HEADER + _rows(5) + "0.050000,0.1,0.2,0.9,inf,0,0\n", 10, "gx_dps: value is inf"),
    (HEADER + _rows(5) + "0.030000,0.1,0.2,0.9,0,0,0\n", 10, "t_s: timestamp 0.03 does not increase"),
    (HEADER + _rows(5) + "0.050000,0.1,0.2\n", 10, "expected 7 comma-separated fields, found 3"),
    (HEADER + _rows(80, dt=0.02), 55, "sample_rate_hz: header says 100 Hz but the timestamps are 50.0 Hz"),
])
def test_bad_file_names_file_line_and_field(tmp_path: Path, text: str, line: int | None, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TraceError) as err:
        list(read_trace(path))
    msg = str(err.value)
    assert needle in msg
    assert msg.startswith(str(path) + (f":{line}:" if line else ":"))
    assert err.value.line == line
    assert "\n" not in msg


def test_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot open"):
        list(read_trace(tmp_path / "nope.csv"))


def test_rate_check_tolerates_dropped_samples_and_jitter(tmp_path: Path) -> None:
    ts = [i * 0.01 + (0.002 if i % 3 else -0.001) for i in range(120) if i not in (10, 11, 12, 40)]
    text = HEADER + "".join(f"{t:.6f},0,0,1,0,0,0\n" for t in ts)
    assert len(list(read_trace(_write(tmp_path, text)))) == len(ts)


def test_writer_flushes_so_a_power_cut_keeps_the_samples(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    w = TraceWriter(path, 100, flush_every_s=1.0)
    for i in range(350):
        w.write(Sample(i / 100, 0, 0, 1, 0, 0, 0))
    # Without closing (a crash): everything up to the last flush (t = 3.0 s) is on disk.
    on_disk = list(read_trace(path))
    assert on_disk[-1].t_s >= 3.0 - 1e-9
    w.close()
    assert len(list(read_trace(path))) == 350


def _varied_rows(n: int) -> list[str]:
    """Rows like a logger writes them, with negative zeros and a few unusual but valid numbers."""
    rows = []
    for i in range(n):
        v = [math.sin(i * k / 7.0) * 10 ** (k % 4 - 1) for k in range(1, 6)]
        fields = [f"{i / 100:.6f}", f"{v[0]:.5f}", f"{v[1]:.5f}", f"{v[2]:.5f}", f"{v[3]:.3f}", f"{v[4]:.3f}",
                  f"{-0.0004:.3f}"]
        if i % 997 == 5:
            fields[1:3] = [".5", "-7."]
        rows.append(",".join(fields) + "\n")
    return rows


def test_long_file_values_are_exactly_float_and_line_no_follows(tmp_path: Path) -> None:
    rows = _varied_rows(3000)
    rows.insert(1500, "# sensor gap\n")
    rows.insert(2100, "\n")
    path = _write(tmp_path, HEADER + "".join(rows))
    expected = [(line_no, [float(x) for x in row.split(",")])
                for line_no, row in enumerate(rows, start=5) if row.strip() and row[0] != "#"]
    with TraceReader(path) as r:
        got = [(r.line_no, s) for s in r]
    assert len(got) == len(expected) == 3000
    for (line, s), (want_line, want) in zip(got, expected):
        assert line == want_line
        assert type(s) is Sample
        # Bit for bit, sign of zero included.
        assert [v.hex() for v in s] == [v.hex() for v in want]
        assert s.gz_dps.hex() == "-0x0.0p+0"


@pytest.mark.parametrize("bad_row, text, needle, field", [
    (2500, "1.0,2.0,3.0", "expected 7 comma-separated fields, found 3", None),
    (1023, "25.0,0.1,0.2,nan,0,0,0", "value is nan", "az_g"),
    (1024, "0.5,0.1,0.2,0.3,0,0,0", "timestamp 0.5 does not increase", "t_s"),
    (2047, "20.470000,0.1,0.2,0.3,0,0,1e999", "value is inf", "gz_dps"),
    (3999, "39.990000,0.1,x,0.3,0,0,0", "not a number: 'x'", "ay_g"),
])
def test_defect_deep_in_a_long_file_names_its_line(tmp_path: Path, bad_row: int, text: str, needle: str,
                                                   field: str | None) -> None:
    rows = _rows(4000).splitlines(keepends=True)
    rows[bad_row] = text + "\n"
    path = _write(tmp_path, HEADER + "".join(rows))
    got: list[Sample] = []
    with pytest.raises(TraceError) as err:
        got.extend(read_trace(path))
    assert needle in str(err.value)
    assert err.value.line == 5 + bad_row
    assert err.value.field == field
    assert len(got) == bad_row  # every sample before the defect is read first


def test_iterating_again_continues_after_the_last_sample_taken(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _rows(3000))
    with TraceReader(path) as r:
        first = next(iter(r))
        assert (first.t_s, r.line_no) == (0.0, 5)
        rest = list(r)
        assert rest[0].t_s == 0.01 and len(rest) == 2999
        assert r.line_no == 5 + 2999


def test_a_bad_header_leaves_no_file_open(tmp_path: Path) -> None:
    """A file whose header is wrong is closed when the error is raised, not when the error
    (and the reader its traceback holds) is let go of: whoever keeps the error to show it
    keeps no file open."""
    path = _write(tmp_path, "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps\n0,0,0,1,0,0,0\n")
    before = len(os.listdir("/proc/self/fd"))
    kept = []
    for _ in range(3):
        with pytest.raises(TraceError, match="missing header") as err:
            list(read_trace(path))
        kept.append(err)
    assert len(os.listdir("/proc/self/fd")) == before
