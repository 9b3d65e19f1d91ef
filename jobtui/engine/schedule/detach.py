"""Starting a daemon in the background, and its logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from jobtui.engine.model.secrets import RedactingFormatter, redact_stderr
from jobtui.engine.schedule.lease import log_path


def jobtui_argv(data_dir: Path, db_path: Path, *args: str) -> list[str]:
    """The command line of `jobtui ARGS` on this data directory and database."""
    return [
        sys.executable,
        "-m",
        "jobtui",
        "--data-dir",
        str(data_dir),
        "--db",
        str(db_path),
        *args,
    ]


def spawn_detached(data_dir: Path, db_path: Path, grace: float | None = None) -> None:
    """Start `jobtui daemon` in its own session, logging to <data_dir>/daemon.log.

    A shell in between forks it off and exits at once, so the daemon is nobody's child
    (no zombie in a long-lived TUI) and inherits no descriptor but its log.
    """
    log_file = log_path(data_dir)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    argv = jobtui_argv(data_dir, db_path, "daemon")
    if grace is not None:
        argv += ["--grace", str(grace)]
    env = dict(os.environ)
    env["JOBTUI_DAEMON_LOG"] = str(log_file)
    shell = subprocess.Popen(
        ["/bin/sh", "-c", 'exec 0</dev/null 1>>"$JOBTUI_DAEMON_LOG" 2>&1; "$@" &', "sh", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        env=env,
    )
    shell.wait()


def configure_logging(verbose: bool = False) -> None:
    # daemon.log: a secret the daemon resolved (SMTP, broker) is masked in it, as in runs.
    redact_stderr()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("jobtui")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
