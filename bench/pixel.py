"""Pixel requests per second: /o/<token>.gif next to a bare Flask route with the same GIF.

    .venv/bin/python bench/pixel.py --seconds 20 --rounds 3

In one run, each server under the same gunicorn settings (``gunicorn.conf.py``, WEB_CONCURRENCY
and GUNICORN_THREADS as given) and driven by the same wrk command with the same paths:

- ``bare``: a Flask app with one route ``/o/<token>.gif`` that answers the GIF (this module's
  ``bare_app``): the ceiling for a Flask route under these settings;
- ``pixel``: the whole app (``wsgi:app``) with PostgreSQL and Redis, as in production: the MAC
  is checked, the open goes to Redis;
- ``pixel-db``: the same without Redis: each open is a transaction in PostgreSQL;
- ``nginx``: nginx serving the GIF as a file, where nginx is installed: the ceiling of the
  machine.

The paths are 10,000 genuine tokens of one sent campaign, in turn (so opens are first opens and
repeats). After each ``pixel`` run the counts are flushed and checked against wrk's requests.
Goal: pixel / bare >= 0.8 (the script exits with 1 below it).

PostgreSQL: the database ``alumni_bench_pixel`` is dropped and created on BENCH_POSTGRES_URL
(default ``postgresql://postgres@127.0.0.1:5432``); Redis: BENCH_REDIS_URL (default
``redis://127.0.0.1:6379/14``), under a namespace of this run, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from flask import Flask, Response
from gunicorn import version_info as gunicorn_version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import POSTGRES_SERVER, REDIS_URL, fresh_database, stop  # noqa: E402

from alumni.opens.pixel import PIXEL  # noqa: E402

POSTGRES_DB = "alumni_bench_pixel"
GOAL_RATIO = 0.8
# gunicorn 25.1+ opens a control socket in $HOME: not for servers run side by side.
NO_CONTROL_SOCKET = ["--no-control-socket"] if gunicorn_version >= (25, 1) else []
TOKENS = 10_000
KEYS = {
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "SUPPRESSION_KEY": "bench-suppression-key-" + "y" * 32,
    "PSEUDONYM_KEY": "bench-pseudonym-key-" + "z" * 32,
}

# -- the bare route: gunicorn imports this module as ``pixel`` (--pythonpath bench) -----------

bare_app = Flask(__name__)


@bare_app.get("/o/<token>.gif")
def bare_pixel(token: str) -> Response:
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store"})


# -- set-up -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    return f"{POSTGRES_SERVER}/{POSTGRES_DB}"


def make_app(namespace: str, redis: bool) -> Flask:
    from alumni import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url().replace("postgresql://", "postgresql+psycopg://"),
        "REDIS_URL": REDIS_URL if redis else None,
        "DRAMATIQ_NAMESPACE": namespace,
        **KEYS,
    }
    return create_app(config, instance_path=tempfile.mkdtemp(prefix="bench-pixel-"))


def prepare(namespace: str) -> tuple[int, list[str]]:
    """A fresh database with one sent campaign; its id and TOKENS genuine pixel paths."""
    fresh_database(POSTGRES_DB)
    app = make_app(namespace, redis=False)
    with app.app_context():
        from flask_migrate import upgrade

        from alumni.campaigns.service import create_campaign
        from alumni.extensions import db
        from alumni.models import CampaignStatus, utcnow
        from alumni.models.purpose import Purpose
        from alumni.opens.tokens import make_token

        upgrade()
        campaign = create_campaign(purpose=Purpose.EVENTS, subject="Reünie", body="Kom je ook?")
        campaign.status = CampaignStatus.SENT
        campaign.started_at = campaign.finished_at = utcnow()
        db.session.commit()
        paths = [f"/o/{make_token(campaign.id, campaign.tracking_key)}.gif" for _ in range(TOKENS)]
        campaign_id = campaign.id
        db.engine.dispose()
    return campaign_id, paths


def open_counts(namespace: str, campaign_id: int, redis: bool) -> tuple[int, int]:
    """Flush what Redis holds, then the campaign's (total, unique) from the database."""
    app = make_app(namespace, redis=redis)
    with app.app_context():
        import sqlalchemy as sa

        from alumni.extensions import db
        from alumni.models import OpenCount
        from alumni.opens import flush_opens
        from alumni.opens.report import open_totals

        flush_opens()
        total, unique = open_totals([campaign_id]).get(campaign_id, (0, 0))
        db.session.execute(sa.delete(OpenCount))  # the next run starts from zero
        db.session.execute(sa.text("DELETE FROM opened_tokens"))
        db.session.commit()
        db.engine.dispose()
    return total, unique


def wrk_script(paths: list[str], folder: Path) -> Path:
    script = folder / "paths.lua"
    listed = ",\n".join(f'"{path}"' for path in paths)
    script.write_text(
        f"paths = {{\n{listed}\n}}\n"
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        '  return wrk.format("GET", paths[(counter % #paths) + 1])\n'
        "end\n"
    )
    return script


# -- servers --------------------------------------------------------------------------------------


def gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
        "--pythonpath", str(ROOT / "bench"), *NO_CONTROL_SOCKET, app,
    ]  # fmt: skip
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def nginx(port: int, folder: Path, workers: int) -> subprocess.Popen | None:
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if binary is None:
        return None
    folder.chmod(0o755)  # nginx's workers run as another user
    (folder / "pixel.gif").write_bytes(PIXEL)
    config = folder / "nginx.conf"
    config.write_text(
        f"worker_processes {workers};\n"
        f"pid {folder}/nginx.pid;\n"
        f"error_log {folder}/nginx-error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "  access_log off;\n"
        f"  client_body_temp_path {folder}; proxy_temp_path {folder};\n"
        f"  fastcgi_temp_path {folder}; uwsgi_temp_path {folder}; scgi_temp_path {folder};\n"
        f"  server {{ listen 127.0.0.1:{port};\n"
        f"    root {folder};\n"
        "    location /o/ { default_type image/gif; add_header Cache-Control no-store;\n"
        "      try_files /pixel.gif =404; }\n"
        "  }\n"
        "}\n"
    )
    return subprocess.Popen(
        [
            binary,
            "-c",
            str(config),
            "-p",
            str(folder),
            "-e",
            str(folder / "nginx-error.log"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(port: int, path: str, process: subprocess.Popen, log: Path | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"a server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
                if answer.status == 200 and answer.read() == PIXEL:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"a server did not get ready in 60 s; see {log}")


# -- measuring ------------------------------------------------------------------------------------


def wrk(port: int, script: Path, seconds: int, threads: int, connections: int) -> dict:
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)
    return {
        "rate": rate,
        "requests": requests,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "p50": p50,
        "p99": p99,
    }


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each server, in turn")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (and nginx's)")
    parser.add_argument("--threads", type=int, default=2, help="GUNICORN_THREADS")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--no-database-mode", action="store_true", help="skip pixel-db")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: make bench-tools (or apt-get install wrk)")

    namespace = f"alumni-bench-pixel-{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="bench-pixel-"))
    log = folder / "servers.log"
    campaign_id, paths = prepare(namespace)
    script = wrk_script(paths, folder)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DRAMATIQ_NAMESPACE": namespace,
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        **KEYS,
    }
    env.pop("REDIS_URL", None)
    servers = {
        "bare": ("pixel:bare_app", env),
        "pixel": ("wsgi:app", {**env, "REDIS_URL": REDIS_URL}),
    }
    if not args.no_database_mode:
        servers["pixel-db"] = ("wsgi:app", env)
    results: dict[str, list[dict]] = {name: [] for name in [*servers, "nginx"]}
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); wrk: "
        f"{args.wrk_threads} threads, {args.connections} connections, {args.seconds} s; "
        f"{len(paths):,} tokens; nproc {os.cpu_count()}",
        flush=True,
    )
    try:
        for round_number in range(1, args.rounds + 1):
            for name, (app, server_env) in servers.items():
                port = free_port()
                process = gunicorn(app, port, server_env, log)
                try:
                    wait_ready(port, "/o/not-a-token.gif", process, log)
                    result = wrk(port, script, args.seconds, args.wrk_threads, args.connections)
                finally:
                    stop(process)
                if name != "bare":
                    total, unique = open_counts(namespace, campaign_id, redis=name == "pixel")
                    result["counted"] = (total, unique)
                results[name].append(result)
                report(round_number, name, result)
            port = free_port()
            process = nginx(port, folder, args.workers)
            if process is not None:
                try:
                    wait_ready(port, "/o/x.gif", process, folder / "nginx-error.log")
                    result = wrk(port, script, args.seconds, args.wrk_threads, args.connections)
                finally:
                    stop(process)
                results["nginx"].append(result)
                report(round_number, "nginx", result)
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)

    print()
    median = {
        name: statistics.median(result["rate"] for result in runs)
        for name, runs in results.items()
        if runs
    }
    for name, rate in median.items():
        print(f"{name:9} median {rate:10,.0f} requests/s  ({rate / median['bare']:.2f} of bare)")
    ratio = median["pixel"] / median["bare"]
    print(f"goal: pixel / bare >= {GOAL_RATIO}: {ratio:.2f}")
    return 0 if ratio >= GOAL_RATIO else 1


def report(round_number: int, name: str, result: dict) -> None:
    counted = ""
    if "counted" in result:
        total, unique = result["counted"]
        counted = f"; counted {total:,} opens, {unique:,} unique"
    print(
        f"round {round_number} {name:9} {result['rate']:10,.0f} requests/s "
        f"({result['requests']:,} requests, non-2xx {result['non_2xx']}, "
        f"p50 {result['p50']}, p99 {result['p99']}{counted}) load {load_average()}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
