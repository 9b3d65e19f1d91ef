"""The file and console sinks: containment, symlinks, overwrite, gzip, test connection."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from jobtui.engine import Engine, InvalidInput
from jobtui.engine.sinks.base import SinkContext, make_sink


def ctx(**kw: object) -> SinkContext:
    base = {"job": "myjob", "dataset": "users", "run_id": 7, "ext": "jsonl", "started_at": 0.0}
    base.update(kw)
    return SinkContext(**base)  # type: ignore[arg-type]


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_template_fills_names_and_writes_inside_the_base(tmp_path: Path) -> None:
    sink = make_sink(
        "file", {"base_dir": str(tmp_path), "path": "{job}/{dataset}-{run}-{ts}.{ext}"}, ctx()
    )
    sink.open()
    sink.write_bytes(b'{"a":1}\n', 1)
    where = sink.close()
    assert where == str(tmp_path / "myjob" / "users-7-19700101T000000Z.jsonl")
    assert Path(where).read_bytes() == b'{"a":1}\n'


@pytest.mark.parametrize("path", ["../escape.jsonl", "{job}/../../escape.jsonl", "/etc/jobtui-x"])
def test_paths_leaving_the_base_are_refused_before_anything_is_written(
    tmp_path: Path, path: str
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    sink = make_sink("file", {"base_dir": str(base), "path": "x.jsonl"}, ctx())
    sink.config = sink.config.model_copy(update={"path": path})  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="outside the base directory"):
        sink.open()
    assert tree(tmp_path) == ["base"]


def test_a_symlink_that_escapes_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    base = tmp_path / "base"
    outside = tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside)
    sink = make_sink("file", {"base_dir": str(base), "path": "link/{dataset}/x.{ext}"}, ctx())
    with pytest.raises(InvalidInput, match="symbolic link"):
        sink.open()
    assert list(outside.iterdir()) == []
    # A symlink as the file itself, even pointing inside, is not written through.
    (base / "target.jsonl").write_text("keep")
    (base / "file.jsonl").symlink_to(base / "target.jsonl")
    sink = make_sink(
        "file", {"base_dir": str(base), "path": "file.jsonl", "overwrite": True}, ctx()
    )
    with pytest.raises(InvalidInput, match="symbolic link"):
        sink.open()
    assert (base / "target.jsonl").read_text() == "keep"


def test_a_symlinked_base_dir_itself_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    sink = make_sink("file", {"base_dir": str(tmp_path / "alias"), "path": "a/b.jsonl"}, ctx())
    sink.open()
    sink.write_bytes(b"x\n", 1)
    sink.close()
    assert (real / "a" / "b.jsonl").read_bytes() == b"x\n"


def test_no_overwrite_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").write_text("old")
    sink = make_sink("file", {"base_dir": str(tmp_path), "path": "out.jsonl"}, ctx())
    with pytest.raises(InvalidInput, match="exists already"):
        sink.open()
    assert (tmp_path / "out.jsonl").read_text() == "old"
    sink = make_sink(
        "file", {"base_dir": str(tmp_path), "path": "out.jsonl", "overwrite": True}, ctx()
    )
    sink.open()
    sink.write_bytes(b"new\n", 1)
    sink.close()
    assert (tmp_path / "out.jsonl").read_text() == "new\n"


def test_output_takes_its_name_only_once_complete(tmp_path: Path) -> None:
    (tmp_path / "out.jsonl").write_text("previous, complete\n")
    options = {"base_dir": str(tmp_path), "path": "out.jsonl", "overwrite": True}
    # A run that fails or is cancelled midway: the previous file is left whole, and the
    # half-written one is gone.
    failed = make_sink("file", options, ctx())
    failed.open()
    failed.write_bytes(b"half", 0)
    failed.flush()
    assert (tmp_path / "out.jsonl").read_text() == "previous, complete\n"
    failed.abort()
    assert tree(tmp_path) == ["out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "previous, complete\n"
    done = make_sink("file", options, ctx())
    done.open()
    done.write_bytes(b"new\n", 1)
    assert done.close() == str(tmp_path / "out.jsonl")
    assert tree(tmp_path) == ["out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "new\n"


def test_without_overwrite_a_file_made_meanwhile_is_kept(tmp_path: Path) -> None:
    sink = make_sink("file", {"base_dir": str(tmp_path), "path": "out.jsonl"}, ctx())
    sink.open()
    sink.write_bytes(b"ours\n", 1)
    (tmp_path / "out.jsonl").write_text("theirs\n")  # another writer took the name
    with pytest.raises(InvalidInput, match="exists already"):
        sink.close()
    assert tree(tmp_path) == ["out.jsonl"]
    assert (tmp_path / "out.jsonl").read_text() == "theirs\n"


def test_gzip_is_deterministic_and_named_gz(tmp_path: Path) -> None:
    outputs = []
    for run in (1, 2):
        sink = make_sink(
            "file",
            {"base_dir": str(tmp_path), "path": "{run}.{ext}", "compression": "gzip"},
            ctx(run_id=run),
        )
        sink.open()
        sink.write_bytes(b"a\nb\n", 2)
        outputs.append(Path(sink.close()))
    assert [p.name for p in outputs] == ["1.jsonl.gz", "2.jsonl.gz"]
    assert gzip.decompress(outputs[0].read_bytes()) == b"a\nb\n"
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_console_copies_output_into_the_log_up_to_max_lines() -> None:
    logged: list[tuple[str, str, str]] = []
    sink = make_sink(
        "console", {"max_lines": 3}, ctx(log=lambda m, lv, s: logged.append((m, lv, s)))
    )
    sink.open()
    sink.write_bytes(b"one\ntw", 0)
    sink.write_bytes(b"o\nthree\nfour\nfive\n", 5)
    sink.close()
    assert [m for m, _, s in logged if s == "stdout"] == ["one", "two", "three"]
    assert "2 more line(s)" in logged[-1][0]


def test_test_sink_checks_the_base_dir(engine: Engine, tmp_path: Path) -> None:
    message = engine.test_sink({"type": "file", "options": {"base_dir": str(tmp_path / "new")}})
    assert "writable" in message
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(InvalidInput, match="not writable"):
            engine.test_sink({"type": "file", "options": {"base_dir": str(locked)}})
    finally:
        locked.chmod(0o700)


def test_the_file_sink_test_names_a_path_with_the_job_format_extension(
    engine: Engine, tmp_path: Path
) -> None:
    sink = {"type": "file", "options": {"base_dir": str(tmp_path)}}
    assert engine.test_sink(sink, format="csv").endswith(".csv")
    assert engine.test_sink(sink).endswith(".jsonl")
