"""Nothing counted is lost when the program is killed; SIGTERM closes everything cleanly.
These run the real command in a subprocess."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo(db: Path, trace: Path, speed: float = 40.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "demo", "--trace", str(trace), "--speed", str(speed), "--once",
         "--db", str(db), "--port", str(_free_port()), "--print-reps"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reps_printed(proc: subprocess.Popen[str], n: int) -> list[tuple[int, int]]:
    reps = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("rep "):
            fields = dict(kv.split("=") for kv in line.split()[1:])
            reps.append((int(fields["set"]), int(fields["rep"])))
            if len(reps) >= n:
                return reps
    raise AssertionError(f"the program ended after {len(reps)} reps: {proc.stderr.read() if proc.stderr else ''}")


def test_sigkill_mid_set_loses_no_counted_rep(tmp_path: Path, traces_dir: Path) -> None:
    db = tmp_path / "history.sqlite3"
    proc = _demo(db, traces_dir / "trace_024.csv")
    try:
        counted = _reps_printed(proc, 20)  # into the second set
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    con = sqlite3.connect(db)
    stored = set(con.execute("SELECT set_number, rep FROM reps WHERE undone=0"))
    assert set(counted) <= stored
    # On the next start the interrupted session is closed and kept, a new one begins.
    again = _demo(db, traces_dir / "trace_024.csv")
    try:
        _reps_printed(again, 1)
        again.send_signal(signal.SIGTERM)
        assert again.wait(20) == 0
    finally:
        if again.poll() is None:
            again.kill()
    rows = con.execute("SELECT id, end_reason FROM sessions ORDER BY id").fetchall()
    assert rows[0][1] == "interrupted" and rows[1][1] == "ended"
    assert set(counted) <= set(con.execute("SELECT set_number, rep FROM reps WHERE session_id=?", (rows[0][0],)))


def test_sigterm_closes_the_set_and_the_session(tmp_path: Path, traces_dir: Path) -> None:
    db = tmp_path / "history.sqlite3"
    proc = _demo(db, traces_dir / "trace_024.csv")
    try:
        counted = _reps_printed(proc, 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    con = sqlite3.connect(db)
    (ended, reason), = con.execute("SELECT ended_wall, end_reason FROM sessions").fetchall()
    assert ended is not None and reason == "ended"
    sets = con.execute("SELECT number, reps FROM sets ORDER BY number").fetchall()
    assert sets[0][0] == 1 and sets[-1][0] == 2  # the set under way was closed, not lost
    assert sum(r for _, r in sets) >= len(counted)


def test_a_recording_keeps_everything_up_to_the_last_flush(tmp_path: Path, traces_dir: Path) -> None:
    out = tmp_path / "rec.csv"
    script = textwrap.dedent(f"""
        import sys
        from counter.trace import TraceWriter, read_trace
        w = TraceWriter({str(out)!r}, 100, {{"sensor": "test"}}, flush_every_s=1.0)
        next_report = 1.0
        for s in read_trace({str(traces_dir / 'trace_024.csv')!r}):
            w.write(s)
            if s.t_s >= next_report:  # the writer flushed at this sample
                print(f"flushed {{s.t_s:.2f}}", flush=True)
                next_report += 1.0
                if s.t_s > 30:
                    input()  # hold here until killed
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    last = 0.0
    assert proc.stdout is not None
    for line in proc.stdout:
        last = float(line.split()[1])
        if last > 30:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    from counter.trace import read_trace

    got = list(read_trace(out))
    assert got[-1].t_s >= last - 1e-6
    assert got[-1].t_s - last < 1.0
