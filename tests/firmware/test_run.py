"""The device program's systemd plumbing: sd_notify datagrams and the watchdog."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from firmware.device import sd_notify
from firmware.run_cmd import watchdog


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield sock
    sock.close()


def _received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(256).decode())
        except BlockingIOError:
            return out


def test_sd_notify_sends_a_datagram_and_is_silent_outside_systemd(notify_socket: socket.socket,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sd_notify("READY=1")
    assert _received(notify_socket) == ["READY=1"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    sd_notify("READY=1")  # no systemd: nothing happens, nothing raises
    assert _received(notify_socket) == []


class Ticks:
    """A stop event whose wait() is one watchdog period: the test says what happens in each."""

    def __init__(self, sampler: object, beats: list[int]):
        self.sampler, self.beats = sampler, list(beats)

    def wait(self, timeout: float) -> bool:
        if not self.beats:
            return True  # stop
        self.sampler.heartbeat += self.beats.pop(0)  # type: ignore[attr-defined]
        return False


def test_watchdog_is_petted_only_while_the_loop_goes_round(notify_socket: socket.socket) -> None:
    class Sampler:
        heartbeat = 0

    sampler = Sampler()
    # Periods: loop alive, alive, hung, hung, alive again.
    watchdog(Ticks(sampler, [5, 3, 0, 0, 1]), sampler)  # type: ignore[arg-type]
    assert _received(notify_socket) == ["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]
