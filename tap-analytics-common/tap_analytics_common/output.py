"""Singer output: whole lines only, RECORD lines buffered, every other message written at once.

singer-sdk flushes stdout after every message. Each flush is a system call that
hands the GIL to the engine's threads, and the main thread then waits to get it back:
at 100,000 records that cost more than the records themselves. Records are gathered
here instead and written in blocks; SCHEMA, STATE and ACTIVATE_VERSION are written at
once with everything before them (a target checkpoints on STATE, which so covers only
records written in full), and so is everything gathered whenever the SDK would wait
for a page, at the end of a sync, and at exit.

After each whole message the writer checks for a signal (interrupt.py); a target that
stops reading (EPIPE) becomes `TargetGone`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.base import SingerMessageType
from typing_extensions import override

from tap_analytics_common.interrupt import STOP, TargetGone, check

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.messages import Message

BLOCK = 1 << 18
"""Bytes of RECORD lines gathered before they are written."""

_pending = bytearray()
_lock = threading.Lock()


def flush() -> None:
    """Write every gathered line, whole, and flush stdout."""
    with _lock:
        try:
            if _pending:
                _write_whole(memoryview(_pending))
                _pending.clear()
            sys.stdout.flush()
        except BrokenPipeError:
            _pending.clear()
            raise TargetGone from None


def _write_whole(data: memoryview) -> None:
    """Write `data` in full; once a signal came, only up to the end of the line under way.

    A signal makes a blocked write return after part of it: the file descriptor is
    written directly, so what was written is known to the byte.
    """
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capturing output)
        sys.stdout.buffer.write(data)
        return
    with data:
        while data:
            data = data[os.write(fd, data) :]
            if data and STOP.is_set():
                end = data.tobytes().find(b"\n") + 1  # the rest is dropped: no STATE covers it
                data = data[:end]
                while data:
                    data = data[os.write(fd, data) :]
                return


def _flush_at_exit() -> None:
    with contextlib.suppress(TargetGone, OSError, ValueError):
        flush()


atexit.register(_flush_at_exit)


def write_record(message: dict[str, t.Any]) -> None:
    """A RECORD message's line, encoded straight onto the block (no message object, no copy)."""
    encoder.encode_into(message, _pending, -1)
    _pending.extend(b"\n")
    _line_gathered(at_once=False)


def _line_gathered(*, at_once: bool) -> None:
    """After each whole line: write the block when asked or full, then look for a signal."""
    if at_once or len(_pending) >= BLOCK:
        flush()
    check()  # a signal ends the run here, after a whole line


class BufferedWriter(MsgSpecWriter):
    """msgspec's encoder (the SDK's default JSON writer costs several µs a record), buffered."""

    @override
    def write_message(self, message: Message) -> None:
        _pending.extend(self.format_message(message))
        _line_gathered(at_once=message.type != SingerMessageType.RECORD)
