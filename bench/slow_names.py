"""
A name server that answers slowly, for the flood scenario (i2): the names under
``FLOOD_DOMAIN`` take ``BENCH_SLOW_NAMES_SECONDS`` to fail, as an attacker's own name server
would make them (the owner of a client_id's domain chooses its name server, and how slowly it
answers). Every other name is looked up as usual. ``bench/settings.py`` installs it when the
variable is set, in the server under test only.
"""

from __future__ import annotations

import os
import socket
import time

FLOOD_DOMAIN = ".flood.invalid"

_lookup = socket.getaddrinfo


def install() -> None:
    seconds = float(os.environ.get("BENCH_SLOW_NAMES_SECONDS") or 0)
    if seconds <= 0:
        return

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(FLOOD_DOMAIN):
            time.sleep(seconds)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return _lookup(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
