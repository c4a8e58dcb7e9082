"""Benchmark of the graduate import: rows per second on SQLite and PostgreSQL.

Generates N valid, fictional graduates (deterministic, addresses at reserved example domains)
as a Dutch spreadsheet export (UTF-8 with BOM, ``;``), imports them into a freshly migrated
database, then imports the same file again (every row unchanged). Goal: 10,000 rows/s.

    .venv/bin/python bench/import.py --rows 100000 --database both

PostgreSQL: the database ``alumni_bench`` is dropped and created on BENCH_POSTGRES_URL
(default ``postgresql://postgres@127.0.0.1:5432``). ``--profile`` prints the top of a
cProfile of each import (sorted by cumulative time, or ``--profile tottime``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import fresh_database, migrated_app  # noqa: E402

from alumni.people.importer import ImportReport, import_graduates  # noqa: E402

POSTGRES_DB = "alumni_bench"
GOAL = 10_000  # rows per second
SEED = 2026

HEADER = (
    "student_number;first_name;last_name;preferred_name;email;phone;gender;"
    "date_of_birth;programme;graduation_year;language"
)
FIRST_NAMES = [
    "Anouk",
    "Bram",
    "Chantal",
    "Daan",
    "Eline",
    "Femke",
    "Gijs",
    "Hanna",
    "Ilse",
    "Jelle",
    "Kim",
    "Lars",
    "Mila",
    "Noah",
    "Olga",
    "Pim",
    "Quinty",
    "Ruben",
    "Sanne",
    "Thijs",
    "Umut",
    "Vera",
    "Wouter",
    "Yara",
    "Zeynep",
    "Bilal",
    "Fenna",
    "Joost",
    "Lieke",
    "Mees",
]
LAST_NAMES = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van Dijk",
    "Yilmaz",
    "El Amrani",
    "Postma",
]
PROGRAMMES = (
    "Software Developer",
    "Verpleegkunde",
    "Mediavormgeving",
    "Logistiek Medewerker",
    "Bouwkunde",
    "Commercieel Medewerker",
    "Pedagogisch Medewerker",
    "Technicus Engineering",
    "Maatschappelijke Zorg",
    "Horeca Ondernemer",
)
GENDERS = ("v", "m", "x", "onbekend", "female", "male", "")
DOMAINS = ("example.com", "example.org", "example.net", "alumni.example")


@dataclass(frozen=True)
class Timing:
    database: str
    run: str
    rows: int
    seconds: float
    report: ImportReport

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    def line(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in sorted(self.report.counts.items()))
        verdict = "ok" if self.rate >= GOAL else f"BELOW GOAL ({GOAL:,} rows/s)"
        return (
            f"{self.database:<10} {self.run:<10} {self.rows:>9,} rows {self.seconds:8.2f} s "
            f"{self.rate:>10,.0f} rows/s  [{counts}]  {verdict}"
        )


# -- the CSV file ------------------------------------------------------------------------------


def graduate_row(number: int, rng: random.Random) -> str:
    """One valid, fictional graduate in the formats a Dutch export mixes."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace(" ", "")
    email = f"{local}.{number}@{rng.choice(DOMAINS)}"
    mobile = f"{rng.randrange(10_000_000):07d}"
    phone = rng.choice((f"06-1{mobile}", f"+31 61{mobile}", f"0031 61{mobile}", ""))
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(46 * 365))
    born_text = born.strftime(rng.choice(("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y")))
    graduated = min(born.year + rng.randint(17, 25), 2025)
    preferred = first[:3] if rng.random() < 0.1 else ""
    cells = (
        f"S{number:07d}",
        first,
        last,
        preferred,
        email,
        phone,
        rng.choice(GENDERS),
        born_text,
        rng.choice(PROGRAMMES),
        str(graduated),
        rng.choice(("nl", "nl", "nl", "en")),
    )
    return ";".join(cells)


def make_csv(rows: int, seed: int = SEED) -> bytes:
    rng = random.Random(seed)
    lines = [HEADER, *(graduate_row(number, rng) for number in range(1, rows + 1))]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


# -- the databases -----------------------------------------------------------------------------


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.sqlite3'}"


def postgres_url(folder: Path) -> str:
    return fresh_database(POSTGRES_DB)


DATABASES: dict[str, Callable[[Path], str]] = {"sqlite": sqlite_url, "postgresql": postgres_url}


# -- timing ------------------------------------------------------------------------------------


def timed_import(data: bytes, profile: str | None) -> tuple[float, ImportReport]:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = import_graduates(data)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(profile).print_stats(30)
    return seconds, report


def bench_database(name: str, data: bytes, rows: int, profile: str | None) -> list[Timing]:
    with tempfile.TemporaryDirectory(prefix="alumni-bench-") as tmp:
        folder = Path(tmp)
        with migrated_app(DATABASES[name](folder), folder):
            timings = []
            for run, expected in (("first", "added"), ("re-import", "unchanged")):
                seconds, report = timed_import(data, profile)
                if report.counts != {expected: rows}:
                    sys.exit(f"{name} {run}: expected {rows} {expected}, got {dict(report.counts)}")
                timings.append(Timing(name, run, rows, seconds, report))
                print(timings[-1].line(), flush=True)
            return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cumulative",
        choices=("cumulative", "tottime"),
        help="print a cProfile of each import, sorted this way",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="alumni-bench-csv-") as tmp:
        path = Path(tmp) / "graduates.csv"
        path.write_bytes(make_csv(args.rows))
        data = path.read_bytes()  # as the import command reads it
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB of CSV", flush=True)
    names = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    timings = [t for name in names for t in bench_database(name, data, args.rows, args.profile)]
    return 0 if all(timing.rate >= GOAL for timing in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
