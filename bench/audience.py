"""Audience count on a large PostgreSQL table, next to a plain count(*) on the same table.

    .venv/bin/python bench/audience.py --rows 1000000

Fills the database `alumni_bench_audience` (dropped and made anew; --reuse keeps it) with N
alumni who answered, five consents each (a third of them withdrawn), ten programmes and 36
graduation years; then times, warm, the query the app runs for "purpose events, graduation
years 2020 and 2021" (alumni.campaigns.audience.count_audience) and SELECT count(*).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import psycopg
import sqlalchemy as sa

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "alumni_bench_audience"

FILL = """
INSERT INTO alumni (subject_id, student_key, status, locale, link_version, first_name,
    last_name, programme, phone, email, gender, date_of_birth, graduation_year, imported_at,
    updated_at, invited_at, invitation_sent_at, responded_at)
SELECT 'subj' || g, md5('s' || g), 'responded', 'nl', 1, 'Voornaam', 'Achternaam' || g,
    (ARRAY['Logistiek','Verpleegkunde','Software Developer','Elektrotechniek',
           'Mediavormgeving','Verzorgende IG','Pedagogisch Medewerker','Bouwkunde',
           'Horeca','Marketing'])[1 + g % 10],
    '+316' || lpad((g % 100000000)::text, 8, '0'), 'persoon' || g || '@alumni.example',
    'unknown', date '2000-01-01', 1990 + g % 36, now(), now(), now(), now(), now()
FROM generate_series(1, %(rows)s) g;
INSERT INTO consents (alumnus_id, purpose, state, changed_at, notice_version)
SELECT a.id, p.purpose, CASE WHEN (a.id + p.n) %% 3 = 0 THEN 'withdrawn' ELSE 'granted' END,
    now(), '2026-11'
FROM alumni a CROSS JOIN (VALUES ('courses', 1), ('vacancies', 2), ('events', 3),
    ('research', 4), ('surveys', 5)) AS p(purpose, n);
"""


def prepare(rows: int) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    app = make_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as connection:
        connection.execute(FILL % {"rows": rows})
        connection.execute("VACUUM ANALYZE")


def make_app():
    from alumni import create_app

    folder = tempfile.mkdtemp()
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": SERVER.replace("postgresql://", "postgresql+psycopg://")
            + f"/{DATABASE}",
            "TESTING": True,
        },
        instance_path=folder,
    )


def timed(run, repeat: int) -> tuple[float, float, object]:
    run()  # warm the cache
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep the filled database")
    args = parser.parse_args()
    if not args.reuse:
        prepare(args.rows)
    app = make_app()
    with app.app_context():
        from alumni.campaigns.audience import count_audience
        from alumni.extensions import db
        from alumni.models.purpose import Purpose

        total = db.session.scalar(sa.text("SELECT count(*) FROM alumni"))
        audience = (median_a, best_a, count) = timed(
            lambda: count_audience(Purpose.EVENTS, graduation_years=[2020, 2021]), args.repeat
        )
        plain = (median_p, best_p, _) = timed(
            lambda: db.session.scalar(sa.text("SELECT count(*) FROM alumni")), args.repeat
        )
        del audience, plain
    print(f"alumni: {total:,}; audience (events, 2020-2021): {count:,}")
    print(f"count_audience  median {median_a:7.1f} ms  best {best_a:7.1f} ms")
    print(f"count(*)        median {median_p:7.1f} ms  best {best_p:7.1f} ms")


if __name__ == "__main__":
    main()
