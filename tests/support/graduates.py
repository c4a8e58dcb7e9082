"""A school's export with good and bad rows (data/graduates_mixed.csv), and what each row gives."""

from __future__ import annotations

from tests.support.paths import DATA

MIXED = DATA / "graduates_mixed.csv"

# (line, code) of every rejected row in graduates_mixed.csv: thirteen kinds.
MIXED_REJECTED = [
    (6, "missing-student-number"),
    (7, "missing-first-name"),
    (8, "missing-last-name"),
    (9, "invalid-email"),
    (12, "invalid-date-of-birth"),
    (13, "implausible-date-of-birth"),
    (14, "invalid-graduation-year"),
    (15, "missing-programme"),
    (16, "wrong-column-count"),
    (17, "duplicate-student-number"),
    (18, "duplicate-email"),
    (19, "invalid-language"),
    (20, "missing-email"),
]
# (line, column) of the rows imported with an optional column left out.
MIXED_WARNED = [(10, "phone"), (11, "gender")]
# Line 4 holds a line break inside quotes (the row goes on on line 5); line 21 is empty cells.
MIXED_GOOD = [2, 3, 4, 10, 11, 22]
