"""The erasure ledger file: kept outside the database, so that a restore cannot roll it back.

One JSON object per line, appended and never rewritten::

    {"at":"2026-12-01T09:00:00.123456Z","channel":"preferences","keys":["9f2c…","41ab…"],
     "reason":"withdrawn","subject":"q3XbT0…","v":1}

``subject`` is the pseudonymous id (as in the evidence), ``keys`` the keyed hashes of the
address and student number (as on the suppression list), ``at`` the time of the erasure. No
plain personal data.

Appends from many threads, processes and hosts: a thread lock per file within a process, and
an exclusive POSIX lock (``fcntl.lockf``) across processes and, on NFSv4, across hosts. Each
append is one ``write`` of whole lines, then ``fsync``. A line torn by a crash is closed with a
newline by the next append and skipped when read.

This module knows nothing of Flask or the database: ``alumni.erasure.position`` ties it to the
transaction of an erasure.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
READ_CHUNK = 1 << 20

# POSIX locks belong to the process, not to a thread or a descriptor, and closing *any*
# descriptor of the file drops them: every open and close of a ledger in this process happens
# under its thread lock.
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


class LedgerError(Exception):
    """The ledger cannot be written or read; the erasure waits and is tried again."""


@dataclass(frozen=True)
class Entry:
    subject: str
    keys: tuple[str, ...]
    reason: str
    channel: str
    at: datetime

    def encode(self) -> bytes:
        record = {
            "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "channel": self.channel,
            "keys": list(self.keys),
            "reason": self.reason,
            "subject": self.subject,
            "v": FORMAT_VERSION,
        }
        return json.dumps(record, separators=(",", ":"), sort_keys=True).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> Entry:
        """Raises ``ValueError`` for a line that is not an entry."""
        record = json.loads(line)
        if not isinstance(record, dict) or record.get("v") != FORMAT_VERSION:
            raise ValueError("not a ledger entry")
        keys = record["keys"]
        strings = (record["subject"], record["reason"], record["channel"], *keys)
        if not isinstance(keys, list) or not all(isinstance(value, str) for value in strings):
            raise ValueError("not a ledger entry")
        at = datetime.fromisoformat(record["at"])
        return cls(record["subject"], tuple(keys), record["reason"], record["channel"], at)


def _thread_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def size(path: Path) -> int:
    """The ledger's length in bytes; 0 when there is none yet."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def append(
    path: Path, entries: Iterable[Entry], on_written: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Append entries durably; returns the byte range written, ``(start, end)``.

    ``on_written(start, end)`` runs while the file is still locked, so that whatever it
    records is recorded in the order of the appends.
    """
    data = b"".join(entry.encode() for entry in entries)
    path = Path(path)
    with _thread_lock(path):
        try:
            fd = _open_for_append(path)
        except OSError as error:
            raise LedgerError(f"cannot open the ledger: {error.strerror}") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            start = os.fstat(fd).st_size
            if start and os.pread(fd, 1, start - 1) != b"\n":
                data = b"\n" + data  # close a line torn by a crash; readers skip it
            _write_all(fd, data)
            os.fsync(fd)
            if start == 0:
                _fsync_directory(path.parent)  # a new file: make its name durable too
            end = start + len(data)
            if on_written is not None:
                on_written(start, end)
            return start, end
        except OSError as error:
            raise LedgerError(f"cannot write the ledger: {error.strerror}") from None
        finally:
            os.close(fd)  # also releases the POSIX lock


def _open_for_append(path: Path) -> int:
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        # Its folder is missing: made only now, not tried (two system calls) on every append.
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path, offset: int, limit: int) -> tuple[list[Entry], int]:
    """Up to ``limit`` entries from byte ``offset`` on, and the offset after the last line
    read. Only whole lines: one being appended right now is read next time."""
    path = Path(path)
    entries: list[Entry] = []
    position = offset
    with _thread_lock(path):
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return [], offset
        with handle:
            handle.seek(offset)
            buffer = b""
            while len(entries) < limit:
                chunk = handle.read(READ_CHUNK)
                if not chunk:
                    break
                buffer += chunk
                start = 0
                while len(entries) < limit:
                    end = buffer.find(b"\n", start)
                    if end < 0:
                        break
                    line = buffer[start:end]
                    if line.strip():
                        entry = _decode(line, position)
                        if entry is not None:
                            entries.append(entry)
                    position += end + 1 - start
                    start = end + 1
                buffer = buffer[start:]
            torn = _torn_tail(path, position) if buffer and len(entries) < limit else 0
            if torn:
                log.warning("erasure ledger: torn line at byte %d skipped", position)
                position += torn
    return entries, position


def _torn_tail(path: Path, offset: int) -> int:
    """The length of the line after ``offset`` if a crash left it unfinished, else 0 (it is
    being written now). Under the lock nobody is writing, so what has no newline is torn."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        tail = os.pread(fd, os.fstat(fd).st_size - offset, offset)
        return 0 if b"\n" in tail else len(tail)
    finally:
        os.close(fd)


def _decode(line: bytes, offset: int) -> Entry | None:
    try:
        return Entry.decode(line)
    except (ValueError, KeyError, TypeError):
        # The offset only: the line's content is not for logs.
        log.warning("erasure ledger: unreadable line at byte %d skipped", offset)
        return None
