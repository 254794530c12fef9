"""`python manage.py live_drawer`: the live drawer (sessions.drawer), for a deployment
with several web processes and Redis. Runs until stopped (SIGTERM or Ctrl-C).
`--check` answers whether a drawer has announced itself lately (docker-compose's health
check): exit status 0 if so, 1 if not."""

from __future__ import annotations

import asyncio
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hypothesislab import broadcast
from sessions.drawer import Drawer
from sessions.feed import DRAWER


class Command(BaseCommand):
    help = "Draw every live session for all web processes (needs Redis)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="exit 0 if a live drawer announced itself lately, else 1")

    def handle(self, *args, **options) -> None:
        if options["check"]:
            if not broadcast.hub().announced(DRAWER):
                raise CommandError("No live drawer has announced itself lately.",
                                   returncode=1)
            return
        if not settings.LIVE_BROADCAST_URL:
            raise CommandError("The live drawer needs Redis (REDIS_URL or LIVE_BROADCAST_URL): "
                               "without it the one web process draws its sessions itself.")
        self._raise_priority()
        asyncio.run(self._serve())

    def _raise_priority(self) -> None:
        """Ahead of the web processes' request threads, where it may: every member waits
        for a drawing, a request is one member's. Before any thread starts (threads
        inherit it). docker-compose gives the service a larger CPU weight instead."""
        try:
            os.setpriority(os.PRIO_PROCESS, 0, settings.LIVE_DRAWER_NICE)
        except OSError:
            self.stderr.write(f"live drawer: could not take CPU priority "
                              f"{settings.LIVE_DRAWER_NICE}; running at the default")

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Drawer().serve(stop=stop)
