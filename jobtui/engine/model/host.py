"""Who and where: the user a version is authored by, the daemon's owner name."""

from __future__ import annotations

import getpass
import socket


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def owner_name() -> str:
    return f"{current_user()}@{socket.gethostname()}"
