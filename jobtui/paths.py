"""Where jobtui keeps its data: the data directory (0700) and the database (0600)."""

from __future__ import annotations

import os
from pathlib import Path

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


def ensure_private_dir(path: Path) -> None:
    """Create the directory 0700 (and tighten it if it already exists and is ours)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_uid == os.getuid() and (path.stat().st_mode & 0o777) != 0o700:
            path.chmod(0o700)
    except OSError:
        pass


def ensure_private_file(path: Path) -> None:
    """Create the file 0600 before SQLite opens it, so it is never readable by others."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if (path.stat().st_mode & 0o777) != 0o600:
        path.chmod(0o600)
