"""Where jobtui keeps its data, and how: every directory in it 0700, every file 0600.

Everything jobtui writes under the data directory (the database, workers' stderr files
and partial listings, replay files, the daemon's log and lock) is made with these helpers,
so no file is ever readable by another user, whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

DB_FILENAME = "jobtui.db"
KEYMAP_FILENAME = "keymap.toml"


def default_data_dir() -> Path:
    # platformdirs is imported lazily: nothing heavy happens at import time.
    import platformdirs

    return Path(platformdirs.user_data_dir("jobtui", appauthor=False))


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir beats JOBTUI_DATA_DIR beats the platform's user data directory."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get("JOBTUI_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return default_data_dir()


def resolve_config_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """An explicit directory beats JOBTUI_CONFIG_DIR beats the platform's user config dir."""
    if config_dir:
        return Path(config_dir).expanduser()
    env = os.environ.get("JOBTUI_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("jobtui", appauthor=False))


def keymap_path(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """The user's key bindings: `<config dir>/keymap.toml`."""
    return resolve_config_dir(config_dir) / KEYMAP_FILENAME


def resolve_db_path(data_dir: Path, db: str | os.PathLike[str] | None = None) -> Path:
    """--db beats JOBTUI_DB beats `<data_dir>/jobtui.db`."""
    if db:
        return Path(db).expanduser()
    env = os.environ.get("JOBTUI_DB")
    if env:
        return Path(env).expanduser()
    return data_dir / DB_FILENAME


def ensure_private_dir(path: Path, *, levels: int = 1) -> None:
    """Create the directory 0700 (and tighten it if it already exists and is ours).

    `levels`: how many directories, counting up from `path`, are jobtui's own and made
    private too (mkdir gives the parents it creates the umask's mode): 2 for
    `replay/<run>` under the data directory.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for directory in [path, *path.parents][:levels]:
        try:
            info = directory.stat()
            if info.st_uid == os.getuid() and (info.st_mode & 0o777) != 0o700:
                directory.chmod(0o700)
        except OSError:
            pass


def open_private(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for a file of jobtui's own: a new file is created 0600 (open()
    would give it the umask's 0644), an existing one is tightened. Modes: w, a, x (with
    b or text); `kwargs` go to `open` (encoding, buffering)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    if "a" in mode:
        flags |= os.O_APPEND
    elif "x" in mode:
        flags |= os.O_EXCL
    else:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    try:
        info = os.fstat(fd)
        if info.st_uid == os.getuid() and (info.st_mode & 0o777) != 0o600:
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private_text(path: Path, text: str) -> None:
    """`path.write_text(text)` for a file of jobtui's own (0600)."""
    with open_private(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def ensure_private_file(path: Path) -> None:
    """Create the file 0600 before SQLite opens it, so it is never readable by others; an
    existing one is tightened, never opened.

    Never opened, because closing any descriptor of a file drops every POSIX lock this
    process holds on it, the locks of SQLite's own connections included: a second Engine
    opened in a process that has one already let a worker, closing its last connection,
    take the database for its own and remove the WAL under the first ("database disk image
    is malformed").
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    if (path.stat().st_mode & 0o777) != 0o600:
        path.chmod(0o600)
