"""History of sessions, sets, reps and carries in SQLite.

WAL mode so the page can read while the counter writes; every finished rep and set is
committed with ``synchronous=FULL`` so a power cut loses nothing that was counted. The schema
is created and migrated here (``PRAGMA user_version``).
"""
from __future__ import annotations

import csv
import io
import os
import sqlite3
import threading
import time
from typing import Any

from counter.events import RepEvent, SetEndEvent

SCHEMA_VERSION = 2

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started_wall REAL NOT NULL,
    ended_wall REAL,
    exercise TEXT NOT NULL,
    target_sets INTEGER NOT NULL,
    target_reps INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sets (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    number INTEGER NOT NULL,
    start_s REAL, end_s REAL, reps INTEGER NOT NULL, reason TEXT,
    bouncing INTEGER NOT NULL DEFAULT 0, too_fast INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reps (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    set_number INTEGER NOT NULL, rep INTEGER NOT NULL,
    start_s REAL, top_s REAL, end_s REAL,
    lift_s REAL, hold_s REAL, lower_s REAL,
    flags TEXT NOT NULL DEFAULT '',
    undone INTEGER NOT NULL DEFAULT 0
);
"""

# v2: range of motion per rep, a note per session, timed carries (farmer's walk on toes).
_MIGRATE_1_TO_2 = """
ALTER TABLE reps ADD COLUMN rom_deg REAL;
ALTER TABLE sessions ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN end_reason TEXT;
CREATE TABLE IF NOT EXISTS carries (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    start_s REAL NOT NULL, duration_s REAL NOT NULL, steps INTEGER NOT NULL,
    target_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reps_by_session ON reps(session_id, set_number, rep);
CREATE INDEX IF NOT EXISTS sets_by_session ON sets(session_id, number);
"""


class HistoryStore:
    """Thread-safe access to the history database at ``path`` (":memory:" for tests)."""

    def __init__(self, path: str = ":memory:"):
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def migrate(self) -> int:
        """Bring the schema to ``SCHEMA_VERSION``; returns the version found before."""
        with self._lock:
            found = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: history database is from a newer calfcount "
                                   f"(schema {found}, this one knows {SCHEMA_VERSION})")
            if found == 0:
                self._db.executescript("BEGIN;" + _SCHEMA_V1 + "PRAGMA user_version=1; COMMIT;")
                found_now = 1
            else:
                found_now = found
            if found_now == 1:
                self._db.executescript("BEGIN;" + _MIGRATE_1_TO_2 + "PRAGMA user_version=2; COMMIT;")
            return found

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            cur = self._db.execute(sql, args)
            return int(cur.lastrowid or 0)

    # -- sessions -----------------------------------------------------------------------
    def new_session(self, exercise: str, target_sets: int, target_reps: int) -> int:
        return self._write("INSERT INTO sessions(started_wall, exercise, target_sets, target_reps) "
                           "VALUES (?, ?, ?, ?)", (time.time(), exercise, target_sets, target_reps))

    def end_session(self, session_id: int, reason: str = "ended") -> None:
        """Close a session: "ended", or "interrupted" when found open after a crash."""
        self._write("UPDATE sessions SET ended_wall=?, end_reason=? WHERE id=? AND ended_wall IS NULL",
                    (time.time(), reason, session_id))

    def close_interrupted(self, session_id: int) -> None:
        """A session found open at start-up (crash, power cut): the set it was in gets its
        row from the reps already stored (reason "interrupted"), then the session is closed."""
        with self._lock:
            open_sets = self._db.execute(
                "SELECT set_number, COUNT(*), MIN(start_s), MAX(end_s), "
                "SUM(flags LIKE '%bouncing%'), SUM(flags LIKE '%too_fast%') FROM reps r "
                "WHERE session_id=? AND undone=0 AND NOT EXISTS "
                "(SELECT 1 FROM sets t WHERE t.session_id=r.session_id AND t.number=r.set_number) "
                "GROUP BY set_number", (session_id,)).fetchall()
            self._db.execute("BEGIN")
            try:
                for number, reps, start_s, end_s, bouncing, too_fast in open_sets:
                    self._db.execute("INSERT INTO sets(session_id, number, start_s, end_s, reps, reason, bouncing, "
                                     "too_fast) VALUES (?,?,?,?,?,?,?,?)",
                                     (session_id, number, start_s, end_s, reps, "interrupted", bouncing, too_fast))
                self._db.execute("UPDATE sessions SET ended_wall=?, end_reason='interrupted' "
                                 "WHERE id=? AND ended_wall IS NULL", (time.time(), session_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def unfinished_sessions(self) -> list[int]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM sessions WHERE ended_wall IS NULL")]

    def update_session(self, session_id: int, **fields: Any) -> None:
        allowed = {"exercise", "target_sets", "target_reps", "note"}
        for k, v in fields.items():
            if k not in allowed:
                raise KeyError(k)
            self._write(f"UPDATE sessions SET {k}=? WHERE id=?", (v, session_id))

    # -- reps, sets, carries ---------------------------------------------------------------
    def add_rep(self, session_id: int, ev: RepEvent) -> None:
        self._write("INSERT INTO reps(session_id, set_number, rep, start_s, top_s, end_s, lift_s, hold_s, "
                    "lower_s, rom_deg, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (session_id, ev.set, ev.rep, ev.start_s, ev.top_s, ev.end_s, ev.lift_s, ev.hold_s,
                     ev.lower_s, ev.rom_deg, " ".join(ev.flags)))

    def undo_rep(self, session_id: int, set_number: int, rep: int) -> None:
        self._write("UPDATE reps SET undone=1 WHERE session_id=? AND set_number=? AND rep=? AND undone=0",
                    (session_id, set_number, rep))

    def add_set(self, session_id: int, ev: SetEndEvent) -> None:
        if ev.reason == "discarded":
            # Stray reps were stored as they came; they are kept but marked, not counted.
            self._write("UPDATE reps SET undone=1 WHERE session_id=? AND set_number=? AND undone=0",
                        (session_id, ev.set))
            return
        self._write("INSERT INTO sets(session_id, number, start_s, end_s, reps, reason, bouncing, too_fast) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (session_id, ev.set, ev.start_s, ev.end_s, ev.reps, ev.reason, ev.bouncing, ev.too_fast))

    def add_carry(self, session_id: int, start_s: float, duration_s: float, steps: int, target_s: float) -> None:
        self._write("INSERT INTO carries(session_id, start_s, duration_s, steps, target_s) VALUES (?,?,?,?,?)",
                    (session_id, start_s, duration_s, steps, target_s))

    # -- reading ------------------------------------------------------------------------
    def sessions(self, limit: int = 100, include_empty: bool = False) -> list[dict[str, Any]]:
        """Newest first, with totals against the target. A finished session with nothing in
        it (``calfcount serve`` opened to browse, a demo stopped at once) is left out unless
        ``include_empty``."""
        where = "" if include_empty else (
            "WHERE s.ended_wall IS NULL OR s.note != '' OR EXISTS (SELECT 1 FROM reps r WHERE r.session_id=s.id) "
            "OR EXISTS (SELECT 1 FROM sets t WHERE t.session_id=s.id) "
            "OR EXISTS (SELECT 1 FROM carries c WHERE c.session_id=s.id) ")
        with self._lock:
            rows = self._db.execute(
                "SELECT s.*, "
                "(SELECT COUNT(*) FROM reps r WHERE r.session_id=s.id AND r.undone=0) AS reps, "
                "(SELECT COUNT(*) FROM sets t WHERE t.session_id=s.id) AS sets_done, "
                "(SELECT COUNT(*) FROM sets t WHERE t.session_id=s.id AND t.reps>=s.target_reps) AS full_sets, "
                "(SELECT COUNT(*) FROM reps r WHERE r.session_id=s.id AND r.undone=0 AND r.flags LIKE '%bouncing%') AS bouncing, "
                "(SELECT COUNT(*) FROM reps r WHERE r.session_id=s.id AND r.undone=0 AND r.flags LIKE '%too_fast%') AS too_fast, "
                "(SELECT COUNT(*) FROM carries c WHERE c.session_id=s.id) AS carries "
                "FROM sessions s " + where + "ORDER BY s.id DESC LIMIT ?", (limit,)).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["target_met"] = d["full_sets"] >= d["target_sets"]
            out.append(d)
        return out

    def session(self, session_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
            if row is None:
                return None
            sets = [dict(r) for r in self._db.execute(
                "SELECT number, start_s, end_s, reps, reason, bouncing, too_fast FROM sets "
                "WHERE session_id=? ORDER BY number", (session_id,))]
            reps = [dict(r) for r in self._db.execute(
                "SELECT set_number, rep, start_s, top_s, end_s, lift_s, hold_s, lower_s, rom_deg, flags, undone "
                "FROM reps WHERE session_id=? ORDER BY id", (session_id,))]
            carries = [dict(r) for r in self._db.execute(
                "SELECT start_s, duration_s, steps, target_s FROM carries WHERE session_id=? ORDER BY id",
                (session_id,))]
        for r in reps:
            r["flags"] = r["flags"].split() if r["flags"] else []
            r["undone"] = bool(r["undone"])
        return {**dict(row), "sets": sets, "reps": reps, "carries": carries}

    def export_csv(self, session_id: int | None = None) -> str:
        """Every counted rep (one row each) of one session or of all."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["session", "session_started", "exercise", "set", "rep", "start_s", "top_s", "end_s",
                    "lift_s", "hold_s", "lower_s", "rom_deg", "bouncing", "too_fast"])
        q = ("SELECT r.*, s.started_wall, s.exercise FROM reps r JOIN sessions s ON s.id=r.session_id "
             "WHERE r.undone=0" + (" AND r.session_id=?" if session_id is not None else "") +
             " ORDER BY r.session_id, r.id")
        with self._lock:
            rows = self._db.execute(q, (session_id,) if session_id is not None else ()).fetchall()
        for r in rows:
            flags = r["flags"].split()
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started_wall"]))
            w.writerow([r["session_id"], started, _csv_safe(r["exercise"]), r["set_number"], r["rep"],
                        _f(r["start_s"]), _f(r["top_s"]), _f(r["end_s"]), _f(r["lift_s"]), _f(r["hold_s"]),
                        _f(r["lower_s"]), _f(r["rom_deg"]), int("bouncing" in flags), int("too_fast" in flags)])
        return buf.getvalue()


def _f(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ is a formula in spreadsheet programs.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

