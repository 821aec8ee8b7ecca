"""SIGTERM and SIGINT end a run cleanly: whole Singer lines only, a non-zero exit, one line.

singer-sdk's own handler writes a STATE from inside the handler and exits 0. Written
while the main thread is blocked half-way through a RECORD on a full pipe, that STATE
lands in the middle of the RECORD; and exit 0 tells an orchestrator a killed run
succeeded. Here the handler only sets `STOP`. The main thread looks at it after each
whole message it writes (output.BufferedWriter) and raises `Interrupted`, which ends
the run with exit 128 + the signal's number (143 for SIGTERM, 130 for SIGINT), as
shells do. Nothing is written after the last whole message, so every STATE on stdout
was written after the records it covers.

For code that waits (the request engine, retry sleeps):

- `STOP.is_set()`: start no new request;
- `check()`: raise `Interrupted` if a signal came (any thread: a worker's Interrupted
  reaches the main thread through its future);
- `sleep(seconds)`: a sleep that ends early, raising `Interrupted`, when a signal comes.
"""

from __future__ import annotations

import signal
import threading
import typing as t

if t.TYPE_CHECKING:
    from types import FrameType

STOP = threading.Event()
"""Set once SIGTERM or SIGINT arrived: stop starting work, end after the current line."""

_received: list[int] = []


class Interrupted(BaseException):
    """The run was stopped by a signal. A BaseException, so no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process a signal ended."""
        return 128 + self.signum


class TargetGone(BaseException):
    """stdout's reader closed the pipe (EPIPE): nothing more can be delivered."""


def _handle(signum: int, frame: FrameType | None) -> None:
    """Only record the signal: writing here could split a line another write has half done."""
    if not _received:
        _received.append(signum)
    STOP.set()


def install() -> None:
    """Take SIGTERM and SIGINT over (from the main thread; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)


def check() -> None:
    """Raise Interrupted when a signal has come."""
    if STOP.is_set():
        raise Interrupted(_received[0] if _received else signal.SIGTERM)


def sleep(seconds: float) -> None:
    """Wait `seconds`, or less when a signal comes (then raise Interrupted)."""
    if seconds > 0 and STOP.wait(seconds):
        check()
    check()
