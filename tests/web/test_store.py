"""History in SQLite: survives a restart, migrates an old schema."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from counter import CalfCounter, RepEvent
from counter.trace import read_trace
from web.live import LiveSession
from web.store import _SCHEMA_V1, SCHEMA_VERSION, HistoryStore


def test_history_survives_a_restart(tmp_path: Path, make_script: Any) -> None:
    db = str(tmp_path / "h.sqlite3")
    live = LiveSession(store=HistoryStore(db))
    script = make_script(live)
    script.reps(15)
    script.samples(25.0)  # set 1 ends after the rest time
    script.reps(4, flags=lambda i: ("bouncing",) if i == 1 else ())
    first_id = live.session_id
    live.store.close()  # as if the program died here: no close(), no end of the set or session

    again = LiveSession(store=HistoryStore(db))
    old = again.store.session(first_id)
    assert old is not None and old["end_reason"] == "interrupted"
    # The set under way is closed from the reps stored so far.
    assert [(s["number"], s["reps"], s["reason"], s["bouncing"]) for s in old["sets"]] == [
        (1, 15, "rest", 0), (2, 4, "interrupted", 1)]
    counted = [(r["set_number"], r["rep"], r["flags"]) for r in old["reps"] if not r["undone"]]
    assert counted == [(1, n, []) for n in range(1, 16)] + [(2, 1, []), (2, 2, ["bouncing"]), (2, 3, []), (2, 4, [])]
    assert again.session_id != first_id
    assert [s["id"] for s in again.store.sessions()] == [again.session_id, first_id]
    again.close()
    assert HistoryStore(db).session(again.session_id)["end_reason"] == "ended"  # type: ignore[index]


def test_every_rep_of_a_replayed_trace_is_stored(tmp_path: Path, traces_dir: Path) -> None:
    db = str(tmp_path / "h.sqlite3")
    samples = list(read_trace(traces_dir / "trace_024.csv"))[:12500]  # into set 2
    direct = CalfCounter()
    expected = [(e.set, e.rep) for s in samples for e in direct.update(s) if isinstance(e, RepEvent)]
    live = LiveSession(store=HistoryStore(db))
    live.feed_many(samples)
    live.store.close()
    stored = HistoryStore(db).session(live.session_id)
    assert stored is not None
    assert [(r["set_number"], r["rep"]) for r in stored["reps"]] == expected


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


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "new.sqlite3")
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(RuntimeError, match="newer"):  # an older program must not write to it
        HistoryStore(db)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    store = HistoryStore(str(tmp_path / "h.sqlite3"))
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
