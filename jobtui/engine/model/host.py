"""Who and where: the user a version is authored by, the daemon's owner name."""

from __future__ import annotations


def current_user() -> str:
    import getpass  # here: `jobtui logs` and `runs list` need neither (issue 18)

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def owner_name() -> str:
    import socket

    return f"{current_user()}@{socket.gethostname()}"
