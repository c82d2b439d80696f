"""This project served over HTTP for a benchmark: gunicorn with the production configuration
(one worker, persistent connections) on the bench database, and an editor's token.

    with served.ours("find") as (base, headers): ...

Requests go through `peers.Http` (one keep-alive connection per URL); `peers.interleaved` takes
turns between the runners. Call after `benchdb.setup()`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from peers import ROOT, free_port, start, wait_up


@contextlib.contextmanager
def ours(name: str):
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from layers.auth.tokens import ApiToken

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    editor = get_user_model().objects.get(username="demo-editor")
    token_name = f"bench-{name}"
    _token, key = ApiToken.issue(editor, token_name)
    logdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_WORKERS": "1",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_ACCESS_LOG": str(logdir / "access.log"),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = start([gunicorn, "-c", str(ROOT / "geo_service" / "gunicorn.conf.py")], env,
                 logdir / "server.log")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/ogc/", proc)
        yield base, {"Authorization": f"Token {key}"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        ApiToken.objects.filter(name=token_name).delete()
