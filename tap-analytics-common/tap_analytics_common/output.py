"""Singer output: RECORD lines buffered, every other message written at once.

singer-sdk flushes stdout after every message. Each flush is a system call that
hands the GIL to the engine's threads, and the main thread then waits to get it back:
at 100,000 records that cost more than the records themselves. Records are gathered
here instead and written in blocks; SCHEMA, STATE and ACTIVATE_VERSION are written at
once (a target checkpoints on them), and so is everything gathered whenever the SDK
would wait for a page, at the end of a sync, and at exit, so nothing read is held back.
"""

from __future__ import annotations

import atexit
import sys
import threading
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.base import SingerMessageType
from typing_extensions import override

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.messages import Message

BLOCK = 1 << 18
"""Bytes of RECORD lines gathered before they are written."""

_pending = bytearray()
_lock = threading.Lock()


def flush() -> None:
    """Write every gathered line, whole, and flush stdout."""
    with _lock:
        if _pending:
            sys.stdout.buffer.write(_pending)
            _pending.clear()
    sys.stdout.flush()


atexit.register(flush)


class BufferedWriter(MsgSpecWriter):
    """msgspec's encoder (the SDK's default JSON writer costs several µs a record), buffered."""

    @override
    def write_message(self, message: Message) -> None:
        _pending.extend(self.format_message(message))
        if message.type != SingerMessageType.RECORD or len(_pending) >= BLOCK:
            flush()
