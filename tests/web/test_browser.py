"""The page in a real browser: Debian's Chromium driven by Playwright, the app served by
waitress, updates over the real event stream.

Two sources of reps: a trace replayed at 20x through the real detector (what the demo does),
and a scripted counter (``conftest.Script``) for exact, detector-independent checks: reps
pushed without a request, flags, tiles, rest timer, controls, fallback to polling, layouts at 390 px, 320 px and dark.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from counter import CalfCounter, RepEvent
from counter.trace import read_trace
from web.live import LiveSession
from web.replayer import TraceReplayer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TRACE = "trace_024.csv"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _open(browser: Any, url: str, width: int = 390, height: int = 844, dark: bool = False) -> Any:
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                              color_scheme="dark" if dark else "light")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A 400 answer to a bad form value is logged by the browser; it is tested on its own.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "status of 400" not in m.text else None)
    page.errors = errors  # checked by the tests: no script error, no CSP violation
    page.goto(url)
    expect(page.get_by_test_id("conn")).to_have_text("live", timeout=10_000)
    return page


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_replayed_trace_counts_up_on_the_page(browser: Any, served: str, live: LiveSession, traces_dir: Path) -> None:
    from playwright.sync_api import expect

    # What the real detector makes of the trace, replayed directly: the page must show the same.
    counter = CalfCounter()
    events = [e for s in read_trace(traces_dir / TRACE) for e in counter.update(s)]
    reps = [e for e in events if isinstance(e, RepEvent)]
    if len(reps) < 3:
        pytest.skip(f"the detector counts {len(reps)} reps in {TRACE} today; the scripted tests cover the page")
    first_set = next(e.reps for e in events if getattr(e, "reason", None) not in (None, "discarded"))
    flagged = any(r.flags for r in reps)

    page = _open(browser, served)
    expect(page.get_by_test_id("reps")).to_have_text("0")
    # The rest between sets lasts about a second of wall time at 20x: note when the rest box
    # shows rather than hoping to look at the right moment on a busy machine.
    page.evaluate("""() => {
        const box = document.getElementById('rest-box');
        new MutationObserver(() => { if (!box.hidden) window.restShown = true; })
            .observe(box, { attributes: true, attributeFilter: ['hidden'] });
    }""")
    replay = TraceReplayer(live, str(traces_dir / TRACE), speed=20.0)
    replay.start()
    try:
        # Reps arrive over the event stream: the big number climbs.
        expect(page.get_by_test_id("reps")).to_have_text(re.compile(r"^([1-9]\d*)$"), timeout=20_000)
        expect(page.get_by_test_id("reps")).to_have_text(re.compile(r"^([3-9]|\d\d)$"), timeout=20_000)
        if flagged:
            # A flagged rep shows its words and a tip (checked on every frame: the next rep replaces them).
            page.wait_for_function(
                "() => /Bouncing|Too fast/.test(document.getElementById('flag').textContent)"
                " && document.getElementById('tip').textContent.length > 0", timeout=30_000)
        # After the first set and its rest, the first tile holds exactly what the counter counted.
        tile = page.locator("#tiles .tile").first
        expect(tile.locator(".tile-count")).to_have_text(f"{first_set}/15", timeout=30_000)
        page.wait_for_function("() => window.restShown === true", timeout=30_000)
    finally:
        replay.stop()
        assert replay.done.wait(10)
    assert not page.errors


def test_scripted_reps_flags_tiles_and_rest(browser: Any, served: str, live: LiveSession, script: Any) -> None:
    from playwright.sync_api import expect

    page = _open(browser, served)
    # The rep is pushed over the event stream: the page asks for nothing to show it. (How
    # long that takes is measured by tests/load/load_test.py, not asserted here.)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/api/" in r.url else None)
    script.samples(1.0)
    script.rep()
    expect(page.get_by_test_id("reps")).to_have_text("1", timeout=10_000)
    assert polls == []
    expect(page.get_by_test_id("flag")).to_have_text("Rep 1: good")
    expect(page.get_by_test_id("tempo")).to_have_text("up 1.2 s · hold 0.3 s · down 1.6 s")

    script.samples(2.0)
    script.rep("bouncing")
    expect(page.get_by_test_id("flag")).to_have_text("Rep 2: Bouncing")
    expect(page.get_by_test_id("flag")).to_have_class(re.compile("flag-bad"))
    expect(page.get_by_test_id("tip")).to_have_text("Pause at the bottom, don't bounce.")
    script.samples(2.0)
    script.rep("too_fast")
    expect(page.get_by_test_id("flag")).to_have_text("Rep 3: Too fast")
    expect(page.get_by_test_id("flag")).to_have_class(re.compile("flag-warn"))
    expect(page.get_by_test_id("tip")).to_have_text(re.compile("2 s up, 2 s down"))
    expect(page.locator("#tiles .tile.current .tile-count")).to_have_text("3/15")

    script.reps(12)  # to 15
    expect(page.get_by_test_id("reps")).to_have_text("15")
    script.samples(live.config.rest_s + 5.0)  # the counter closes the set after its rest time
    first = page.locator("#tiles .tile").first
    expect(first).to_have_class(re.compile(r"\bdone\b"))
    expect(first.locator(".sub")).to_have_text("1 bouncing · 1 fast")
    expect(page.get_by_test_id("set-label")).to_have_text("Set 1 done · next: set 2")
    expect(page.get_by_test_id("rest")).to_be_visible()
    expect(page.locator("#rest")).to_have_text(re.compile(r"^0:(2[4-9]|3\d)$"))  # from the last rep
    expect(page.locator("#rest-left")).to_have_text(re.compile(r"^0:(2\d|3[0-6])$"))  # towards 60 s
    _shot(page, "live-390x844.png")

    # Second set under way, then the layout at 320 px and in dark mode.
    script.reps(6, flags=lambda i: ("bouncing",) if i == 2 else ())
    expect(page.locator("#tiles .tile").nth(1).locator(".tile-count")).to_have_text("6/15")
    for name, width, dark in (("live-320x640.png", 320, False), ("live-390x844-dark.png", 390, True)):
        other = _open(browser, served, width=width, height=640 if width == 320 else 844, dark=dark)
        expect(other.get_by_test_id("reps")).to_have_text("6")
        other.wait_for_timeout(300)  # one plot frame (drawn every 200 ms) for the screenshot
        overflow = other.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow} px"
        big = other.get_by_test_id("reps").bounding_box()
        assert big is not None and big["height"] >= 80, "the count must be readable from a metre away"
        for button in other.locator("button:visible").all():
            box = button.bounding_box()
            assert box is not None and box["height"] >= 44, "tap targets of at least 44 px"
        if dark:
            bg = other.evaluate("() => getComputedStyle(document.body).backgroundColor")
            assert bg == "rgb(13, 17, 23)"
        _shot(other, name)
        assert not other.errors
        other.context.close()
    assert not page.errors


def test_a_target_being_typed_survives_a_rep_arriving(browser: Any, served: str, live: LiveSession,
                                                      script: Any) -> None:
    """The user types 12 reps, moves on to the rest field, and a rep arrives before they tap
    "Set target": the reps field still says 12 (it went back to 15, and 15 was sent), and
    once sent the page shows the new target."""
    from playwright.sync_api import expect

    page = _open(browser, served)
    page.locator("#btn-set").click()
    expect(page.locator("#btn-set")).to_have_text("End set")
    page.locator("#t-reps").fill("12")
    page.locator("#t-rest").fill("90")
    script.reps(1)
    expect(page.get_by_test_id("reps")).to_have_text("1")
    expect(page.locator("#t-reps")).to_have_value("12")
    page.locator("#btn-target").click()
    expect(page.locator("#target-reps")).to_have_text("12")
    assert (live.snapshot()["target_reps"], live.snapshot()["rest_target_s"]) == (12, 90.0)
    assert not page.errors


def test_a_button_answer_overtaken_by_the_stream_is_not_shown(browser: Any, served: str, live: LiveSession,
                                                              script: Any) -> None:
    """The "Start set" answer is held back until two reps have come over the event stream. It
    carries the state from before them (0 reps); shown last, it put the count back to 0 until
    the next event. The page now drops a snapshot older than the one it shows."""
    from playwright.sync_api import expect

    page = _open(browser, served)
    held: list[Any] = []

    def hold(route: Any) -> None:  # the set starts, two reps follow, and only then the answer
        held.append((route, route.fetch()))
        script.reps(2)

    page.route("**/api/set/start", hold)
    page.locator("#btn-set").click()
    expect(page.get_by_test_id("reps")).to_have_text("2")
    expect(page.get_by_test_id("controls")).to_have_attribute("aria-busy", "true")
    route, answer = held[0]
    route.fulfill(response=answer)
    expect(page.get_by_test_id("controls")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("reps")).to_have_text("2")
    assert not page.errors


def test_controls_from_the_page(browser: Any, served: str, live: LiveSession, script: Any) -> None:
    from playwright.sync_api import expect

    page = _open(browser, served)
    page.locator("#btn-set").click()
    expect(page.locator("#btn-set")).to_have_text("End set")
    assert live.snapshot()["in_set"] is True
    script.reps(2)
    expect(page.get_by_test_id("reps")).to_have_text("2")
    page.locator("#btn-undo").click()
    expect(page.get_by_test_id("reps")).to_have_text("1")
    # The select changes at once; the server's state only when its POST has been answered.
    with page.expect_response(lambda r: r.url.endswith("/api/exercise")):
        page.locator("#exercise").select_option("seated")
    expect(page.locator("#exercise")).to_have_value("seated")
    page.locator("#t-reps").fill("12")
    page.locator("#t-rest").fill("90")
    page.locator("#btn-target").click()
    expect(page.locator("#target-reps")).to_have_text("12")
    snap = live.snapshot()
    assert (snap["exercise"], snap["target_reps"], snap["rest_target_s"], snap["reps"]) == ("seated", 12, 90.0, 1)
    page.locator("#t-sets").fill("")
    page.locator("#btn-target").click()
    expect(page.get_by_test_id("msg")).to_have_text(re.compile("'sets' must be an integer"))
    page.locator("#exercise").select_option("farmers_walk")
    expect(page.locator("#btn-carry")).to_be_visible()
    expect(page.locator("#btn-set")).to_be_hidden()
    assert not page.errors


def test_controls_survive_a_new_token(browser: Any, app: Any, served: str, live: LiveSession) -> None:
    """After the counter restarts the page's token is stale: the page fetches the new one."""
    from playwright.sync_api import expect

    page = _open(browser, served)
    app.config["CSRF_TOKEN"] = "a-new-token-as-after-a-restart"
    page.locator("#btn-set").click()
    expect(page.locator("#btn-set")).to_have_text("End set")
    assert live.snapshot()["in_set"] is True
    expect(page.get_by_test_id("msg")).to_have_text("")


def test_stream_drop_falls_back_to_polling_and_reconnects(browser: Any, served: str, live: LiveSession,
                                                          script: Any) -> None:
    from playwright.sync_api import expect

    page = _open(browser, served)
    page.route("**/api/events", lambda route: route.abort())  # the stream cannot come back...
    with live._lock:
        streams = list(live._subs)
    for sub in streams:  # ...and the open one ends, as when the Wi-Fi drops
        sub.close()
    expect(page.get_by_test_id("conn")).to_have_text(re.compile("offline"), timeout=10_000)
    script.rep()
    expect(page.get_by_test_id("reps")).to_have_text("1", timeout=10_000)  # by polling /api/state
    page.unroute("**/api/events")
    expect(page.get_by_test_id("conn")).to_have_text("live", timeout=15_000)
    script.samples(0.5)
    script.rep()
    expect(page.get_by_test_id("reps")).to_have_text("2", timeout=2_000)
    assert live.subscriber_count == 1
