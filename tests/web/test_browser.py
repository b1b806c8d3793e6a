"""The page in a real browser (Debian's Chromium driven by Playwright), served by waitress,
fed by a trace replayed at 20x: the count goes up, a flagged rep shows, the tiles fill."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Iterator

import pytest

from web import create_app
from web.live import LiveSession
from web.replayer import TraceReplayer
from web.store import HistoryStore

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (.ci/run installs it)")


@pytest.fixture
def served() -> Iterator[tuple[str, LiveSession]]:
    from waitress import create_server

    live = LiveSession(store=HistoryStore(":memory:"))
    server = create_server(create_app(live), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", live
    finally:
        server.close()
        thread.join(timeout=5)
        live.close()


def test_count_flags_and_tiles_update_live(served: tuple[str, LiveSession], traces_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, live = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        expect(page.get_by_test_id("reps")).to_have_text("0")
        replay = TraceReplayer(live, str(traces_dir / "trace_024.csv"), speed=20.0)
        replay.start()
        try:
            # Reps arrive over the event stream: the big number climbs.
            expect(page.get_by_test_id("reps")).to_have_text(re.compile(r"^([3-9]|1\d)$"), timeout=20_000)
            expect(page.get_by_test_id("reps")).to_have_text(re.compile(r"^([6-9]|1\d)$"), timeout=20_000)
            # Some rep of this recording is flagged: its words and a tip appear (polled every
            # frame, as the next rep replaces them).
            page.wait_for_function(
                "() => /Bouncing|Too fast/.test(document.getElementById('flag').textContent)"
                " && document.getElementById('tip').textContent.length > 0", timeout=30_000)
            # After the first set and its rest, the first tile is full.
            expect(page.locator("#tiles .tile").first).to_have_text(re.compile(r"Set 1: 1[4-6]"), timeout=30_000)
            expect(page.locator("#tiles .tile").first).to_have_class(re.compile("done"))
            expect(page.locator("#rest-box")).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live-390x844.png"), full_page=True)
            # A control from the page reaches the counter.
            page.locator("#btn-set").click()
            expect(page.locator("#btn-set")).to_have_text("End set", timeout=5_000)
            assert live.snapshot()["in_set"] is True
        finally:
            replay.stop()
            replay.done.wait(5)
            browser.close()
    assert (ARTIFACTS / "live-390x844.png").stat().st_size > 10_000
