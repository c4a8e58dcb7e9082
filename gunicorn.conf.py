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
max_requests = 2000  # recycle workers now and then: bounded memory
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The access log names no person: no client address, no query string, tokens in paths
# replaced, open-tracking requests left out (alumni.access_log.PrivacyLogger).
logger_class = "alumni.access_log.PrivacyLogger"
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss'
errorlog = "-"
loglevel = "info"
