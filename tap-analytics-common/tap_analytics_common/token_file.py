"""Keeps the newest refresh token across runs when the API rotates it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import typing as t
from pathlib import Path

logger = logging.getLogger("tap_analytics_common")


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokenFile:
    """A JSON file holding the newest refresh token and which configured token it replaced.

    The file wins over the configured token unless the configured one changed since
    the file was written: then the user re-authorised and the file is stale.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def locked(self) -> t.Iterator[None]:
        """Hold an exclusive lock for a refresh-and-save, across processes.

        A rotated refresh token is single-use: two runs sharing the file must not both
        spend the same one. The lock lives on a sidecar file, because the token file
        itself is replaced (renamed over) on every save.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self, configured: str | None) -> str | None:
        """The refresh token to start with."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return configured
        except (OSError, ValueError):
            logger.warning("refresh_token_file %s is unreadable; using refresh_token", self.path)
            return configured
        token = saved.get("refresh_token") if isinstance(saved, dict) else None
        if not token:
            return configured
        if configured and saved.get("configured_sha256") != _fingerprint(configured):
            logger.info("refresh_token changed since %s was written; using it", self.path)
            return configured
        return str(token)

    def save(self, token: str, configured: str | None) -> None:
        """Write atomically (temp file + rename) with owner-only permissions."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"refresh_token": token, "configured_sha256": _fingerprint(configured or "")}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
