"""The erasure ledger file: whole lines, durable, and safe with many writers at once."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alumni.erasure import ledger
from alumni.erasure.ledger import Entry, LedgerError
from tests.support.paths import ROOT


def entry(n: int = 1) -> Entry:
    return Entry(
        subject=f"subject-{n}",
        keys=(f"{n:064x}", f"{n + 1:064x}"),
        reason="withdrawn",
        channel="preferences",
        at=datetime(2026, 12, 1, 9, 0, n % 60, tzinfo=UTC),
    )


def test_an_entry_is_one_line_of_json_with_hashes_and_a_time(tmp_path):
    path = tmp_path / "ledger.jsonl"
    start, end = ledger.append(path, [entry(7)])
    data = path.read_bytes()
    assert (start, end) == (0, len(data)) and data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {
        "at": "2026-12-01T09:00:07.000000Z",
        "channel": "preferences",
        "keys": [f"{7:064x}", f"{8:064x}"],
        "reason": "withdrawn",
        "subject": "subject-7",
        "v": 1,
    }
    assert ledger.read(path, 0, 10) == ([entry(7)], end)


def test_appends_follow_each_other_and_reads_continue_where_they_stopped(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ranges = [ledger.append(path, [entry(n), entry(n + 100)]) for n in range(5)]
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(4))
    first, offset = ledger.read(path, 0, 3)
    rest, end = ledger.read(path, offset, 100)
    assert [e.subject for e in first + rest] == [
        f"subject-{n}" for pair in ((n, n + 100) for n in range(5)) for n in pair
    ]
    assert end == ledger.size(path) == ranges[-1][1]
    assert ledger.read(path, end, 10) == ([], end)


def test_the_file_is_private_to_its_owner(tmp_path):
    path = tmp_path / "sub" / "ledger.jsonl"
    ledger.append(path, [entry()])
    assert path.stat().st_mode & 0o777 == 0o600


def test_on_written_runs_while_the_file_is_locked(tmp_path):
    path = tmp_path / "ledger.jsonl"
    seen = []

    def on_written(start: int, end: int) -> None:
        # Another process trying the lock now must not get it.
        probe = subprocess.run(
            [sys.executable, "-c", LOCK_PROBE, str(path)], capture_output=True, text=True
        )
        seen.append((start, end, probe.stdout.strip()))

    start, end = ledger.append(path, [entry()], on_written=on_written)
    assert seen == [(start, end, "locked")]


LOCK_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except OSError:
    print("locked")
"""


def test_a_line_torn_by_a_crash_is_closed_and_skipped(tmp_path, caplog):
    path = tmp_path / "ledger.jsonl"
    ledger.append(path, [entry(1)])
    with path.open("ab") as handle:
        handle.write(b'{"at":"2026-12-01T09:00:00Z","subj')  # the writer died here
    torn_at = ledger.size(path) - len(b'{"at":"2026-12-01T09:00:00Z","subj')
    # Nobody is writing: what has no newline is torn, and read over.
    entries, offset = ledger.read(path, 0, 10)
    assert entries == [entry(1)] and offset == ledger.size(path)
    ledger.append(path, [entry(2)])
    with caplog.at_level(logging.WARNING):
        entries, offset = ledger.read(path, 0, 10)
    assert [e.subject for e in entries] == ["subject-1", "subject-2"]
    assert offset == ledger.size(path)
    assert f"byte {torn_at}" in caplog.text and "subj" not in caplog.text


def test_a_line_that_is_no_entry_is_skipped_without_logging_its_content(tmp_path, caplog):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b'{"secret": "anna@alumni.example"}\nnot json at all\n')
    ledger.append(path, [entry(3)])
    with caplog.at_level(logging.WARNING):
        entries, _ = ledger.read(path, 0, 10)
    assert entries == [entry(3)]
    assert caplog.text.count("unreadable line") == 2 and "anna" not in caplog.text


def test_a_ledger_that_cannot_be_written_raises(tmp_path):
    folder = tmp_path / "ledger-folder"
    folder.mkdir()
    (folder / "ledger.jsonl").mkdir()  # a directory where the file should be
    with pytest.raises(LedgerError):
        ledger.append(folder / "ledger.jsonl", [entry()])


def test_threads_of_one_process_append_whole_lines(tmp_path):
    path = tmp_path / "ledger.jsonl"
    ranges: list[tuple[int, int]] = []
    lock = threading.Lock()

    def write(worker: int) -> None:
        for n in range(50):
            written = ledger.append(path, [entry(worker * 1000 + n)])
            with lock:
                ranges.append(written)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_whole_and_contiguous(path, ranges, 400)


WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from alumni.erasure import ledger
path, worker = Path(sys.argv[1]), int(sys.argv[2])
for n in range(100):
    start, end = ledger.append(path, [ledger.Entry(
        f"subject-{worker}-{n}", ("a" * 64, "b" * 64), "erased", "staff", datetime.now(UTC)
    )])
    print(start, end)
"""


def test_processes_append_whole_lines_under_the_file_lock(tmp_path):
    path = tmp_path / "ledger.jsonl"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(w)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers)
    ranges = [tuple(map(int, line.split())) for out in outputs for line in out.splitlines()]
    assert_whole_and_contiguous(path, ranges, 400)


def assert_whole_and_contiguous(path: Path, ranges: list, expected: int) -> None:
    """Every line an entry, each append its own range, the ranges tiling the file."""
    lines = path.read_bytes().splitlines()
    assert len(lines) == expected
    assert all(json.loads(line)["v"] == 1 for line in lines)
    ordered = sorted(ranges)
    assert ordered[0][0] == 0 and ordered[-1][1] == path.stat().st_size
    assert all(ordered[i][1] == ordered[i + 1][0] for i in range(len(ordered) - 1))
