"""Erasure: one operation for every path, a ledger outside the database, and its replay.

- ``operation``: ``request_erasure`` (mail stops now, the erasure is queued), ``erase_alumnus``
  (the erasure itself), ``carry_out`` (the job) and ``sweep`` (the scheduler's tick).
- ``ledger``: the append-only file of erasures that a database restore cannot roll back.
- ``position``: the database's side of the ledger (entries written with their transaction, how
  far the database has applied the ledger).
- ``replay``: applying the ledger again, and the gate that holds mail until it is applied.
"""

from alumni.erasure.ledger import LedgerError
from alumni.erasure.operation import (
    Carried,
    carry_out,
    erase_alumnus,
    is_being_erased,
    pending_requests,
    request_erasure,
    sweep,
)
from alumni.erasure.replay import (
    ReplayPending,
    ReplayReport,
    catch_up,
    replay,
    require_ledger_applied,
)

__all__ = [
    "Carried",
    "LedgerError",
    "ReplayPending",
    "ReplayReport",
    "carry_out",
    "catch_up",
    "erase_alumnus",
    "is_being_erased",
    "pending_requests",
    "replay",
    "request_erasure",
    "require_ledger_applied",
    "sweep",
]
