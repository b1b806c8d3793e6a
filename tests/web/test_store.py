"""History in SQLite: survives a restart, migrates an old schema."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from counter.trace import read_trace
from web.live import LiveSession
from web.store import _SCHEMA_V1, SCHEMA_VERSION, HistoryStore


def test_history_survives_a_restart(tmp_path: Path, traces_dir: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    live = LiveSession(store=HistoryStore(db))
    live.feed_many(list(read_trace(traces_dir / "trace_024.csv"))[:12500])  # into set 2
    counted = sum(s["reps"] for s in live.snapshot()["sets"]) + live.snapshot()["reps"]
    first_id = live.session_id
    live.store.close()  # as if the program died here: no close(), no end of session

    again = LiveSession(store=HistoryStore(db))
    sessions = again.store.sessions()
    old = next(s for s in sessions if s["id"] == first_id)
    assert old["reps"] == counted > 15
    assert old["end_reason"] == "interrupted"
    assert again.session_id != first_id
    again.close()


def test_old_schema_is_migrated(tmp_path: Path) -> None:
    db = str(tmp_path / "old.sqlite3")
    con = sqlite3.connect(db)
    con.executescript(_SCHEMA_V1 + "PRAGMA user_version=1;")
    con.execute("INSERT INTO sessions(started_wall, exercise, target_sets, target_reps) VALUES (1.0, 'standing', 3, 15)")
    con.execute("INSERT INTO reps(session_id, set_number, rep, start_s, end_s, flags) VALUES (1, 1, 1, 2.0, 4.5, 'bouncing')")
    con.commit()
    con.close()
    store = HistoryStore(db)
    assert store.migrate() == SCHEMA_VERSION  # already current on a second look
    s = store.session(1)
    assert s is not None and s["reps"][0]["flags"] == ["bouncing"] and s["reps"][0]["rom_deg"] is None
    assert s["carries"] == []
    store.add_carry(1, 0.0, 30.0, 20, 60.0)
    assert store.session(1)["carries"][0]["steps"] == 20
    v = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert v == SCHEMA_VERSION


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    store = HistoryStore(":memory:")
    sid = store.new_session("=HYPERLINK(1)", 3, 15)
    from counter.events import RepEvent

    store.add_rep(sid, RepEvent(1, 1, 0.0, 1.0, 2.0, 2.1, 1.0, 0.1, 1.0, 3.0, ()))
    row = store.export_csv(sid).splitlines()[1]
    assert ",'=HYPERLINK(1)," in row
