"""gunicorn settings for the web process: `gunicorn -c gunicorn.conf.py wsgi:app`.

Workers and the scheduler are processes of their own (see the README). Every value can be
overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounded memory. Not too often: after a mailing the open-
# tracking pixel can take thousands of requests a second, and every recycle leaves a worker
# out for a moment (docs/benchmarks.md: 2,000 halved the pixel's throughput).
max_requests = 20000
max_requests_jitter = 2000
# The master loads the app once and forks the workers from it: a recycled worker starts in
# milliseconds, not in the second an import of the app takes. New code needs a restart of
# gunicorn, not a HUP.
preload_app = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The access log names no person: no client address, no query string, tokens in paths
# replaced, open-tracking requests left out (alumni.web.access_log.PrivacyLogger).
logger_class = "alumni.web.access_log.PrivacyLogger"
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss'
errorlog = "-"
loglevel = "info"


def post_fork(server: object, worker: object) -> None:
    """A forked worker never shares a database connection with its master or siblings."""
    import sys

    app = getattr(sys.modules.get("wsgi"), "app", None)
    if app is not None:
        from alumni.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)
