"""manage.py serve_live [--bind 127.0.0.1:8001] [--threads 4]: the live-update process
(Server-Sent Events of the live layers' changes; layers/channels/sse/server.py). tools/serve.py
starts it beside gunicorn and the job worker; docker-compose runs it as the `live` service."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from layers.channels.sse import server


class Command(BaseCommand):
    help = "Serve live updates (Server-Sent Events) of the live layers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=os.environ.get("LIVE_BIND", "127.0.0.1:8001"),
            help="host:port (default LIVE_BIND or 127.0.0.1:8001)",
        )
        parser.add_argument("--threads", type=int, default=4, help="threads reading for pushes")

    def handle(self, *args, bind, threads, **options):
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536 or not 1 <= threads <= 64:
            raise CommandError("--bind must be host:port and --threads 1-64")
        server.run(host.strip("[]"), int(port), threads)
