"""gunicorn settings of every real server of this service: `make run`, the test suite's server
and the benchmarks (tools/serve.py starts it). Each value can be overridden from the
environment (WEB_BIND, WEB_WORKERS, WEB_THREADS, WEB_KEEPALIVE, WEB_TIMEOUT, WEB_ACCESS_LOG,
WEB_LIMIT_REQUEST_LINE).

gthread workers: a request waiting on PostgreSQL leaves its worker's other threads serving,
so one process per core keeps both the CPU and the database busy (docs/benchmarks.md has the
figures that chose the defaults).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import gunicorn.http.message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from geo_service.env import trusted_proxies  # noqa: E402

wsgi_app = "geo_service.wsgi:application"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# One process per core; threads cover the time a request waits on PostgreSQL.
workers = int(
    os.environ.get("WEB_WORKERS") or os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1
)
threads = int(os.environ.get("WEB_THREADS", "8"))
# Seconds an idle keep-alive connection stays open (clients such as QGIS reuse them).
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 10
# Access log to a file or "-" (stdout); the error log goes to stderr. Callers that capture
# either must drain it or point it at a file: a full pipe blocks the server.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = "-"
# X-Forwarded-Proto / -For only from TRUSTED_PROXIES (default this machine; `none` for none):
# the same list Django's TrustedProxyMiddleware and SECURE_PROXY_SSL_HEADER go by, read the same
# way (environment, then .env), so gunicorn and Django agree on who may say "https".
forwarded_allow_ips = ",".join(trusted_proxies())
# The longest request line (method, URL with its query string, version) gunicorn reads; past it
# gunicorn answers its own HTML 414. It lies above the app's MAX_QUERY_STRING_BYTES (64 KiB,
# geo_service/middleware/request_size.py), so an over-long query string is answered by the app
# in the channel's words (OGC JSON, OWS XML) and a CQL2 filter of 16 KB and more passes. gunicorn
# caps this setting at its MAX_REQUEST_LINE (8190) unless 0, which means no limit at all (and a
# request line read without end); its constant is raised instead, so the limit stays a limit.
limit_request_line = int(os.environ.get("WEB_LIMIT_REQUEST_LINE", str(128 * 1024)))
gunicorn.http.message.MAX_REQUEST_LINE = max(
    gunicorn.http.message.MAX_REQUEST_LINE, limit_request_line
)
# The app (settings, the whole URLconf: folium, pandas, ...) is imported once, in the master,
# and the workers are forked from it: a start or restart serves in seconds instead of each
# worker importing it again on its first request, and the workers share those pages of memory.
# WEB_PRELOAD=0 imports in each worker instead (then a HUP reloads the code).
preload_app = os.environ.get("WEB_PRELOAD", "1") != "0"


# Prometheus multiprocess mode (geo_service/middleware/metrics.py): every worker writes its
# counters into one folder, read by whichever worker answers /metrics. Set before the app (and
# prometheus_client) is imported. A folder given in PROMETHEUS_MULTIPROC_DIR is emptied at
# start (stale files of dead processes would add up); otherwise a private one is made and
# removed at exit.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hehuachi-metrics-")
else:
    _metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for _stale in _metrics_dir.glob("*.db"):
        _stale.unlink()


def child_exit(server, worker):
    """A worker's live gauges die with it (counters and histograms are kept)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def pre_fork(server, worker):
    """No database connection may cross a fork (the master imported the app)."""
    if not preload_app:
        return
    from django.db import connections

    connections.close_all()


# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): several
# servers on one machine (tests, benchmarks) would take it from each other. Not used here.
control_socket_disable = True
