"""Compression on the file sink (issue 21 point 6): gzip, bz2, xz, zstd and zip, by option
or by the path's extension; each file passes its standard tool's test and decompresses to
the uncompressed run's bytes, replay included. And a base directory that is a file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jobtui.engine import Engine, InvalidInput, RunState
from jobtui.engine.sinks.base import SinkContext, make_sink

# codec → (test command, decompress-to-stdout command)
TOOLS = {
    "gzip": (["gzip", "-t"], ["gzip", "-dc"]),
    "bz2": (["bzip2", "-t"], ["bzip2", "-dc"]),
    "xz": (["xz", "-t"], ["xz", "-dc"]),
    "zstd": (["zstd", "-q", "-t"], ["zstd", "-q", "-dc"]),
    "zip": (["unzip", "-tq"], ["unzip", "-p"]),
}
SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst", "zip": ".zip"}


def tool(argv: list[str]) -> list[str]:
    if shutil.which(argv[0]) is None:
        message = f"{argv[0]} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    return argv


def check_and_decompress(codec: str, path: Path) -> bytes:
    """The standard tool's integrity test passes; its decompression gives the bytes."""
    test, decompress = TOOLS[codec]
    subprocess.run([*tool(test), str(path)], check=True, timeout=60, capture_output=True)
    done = subprocess.run(
        [*tool(decompress), str(path)], check=True, timeout=60, capture_output=True
    )
    return done.stdout


def write(tmp_path: Path, options: dict[str, object], chunks: list[bytes], run: int = 1) -> Path:
    sink = make_sink(
        "file",
        {"base_dir": str(tmp_path), **options},
        SinkContext(job="j", dataset="d", run_id=run, ext="csv"),
    )
    sink.open()
    for chunk in chunks:
        sink.write_bytes(chunk, 1)
    return Path(sink.close())


CHUNKS = [b"id,name\n", *[f"{i},name {i}\n".encode() * 50 for i in range(200)]]


@pytest.mark.parametrize("codec", list(TOOLS))
def test_each_codec_passes_its_tool_and_decompresses_to_the_bytes(
    tmp_path: Path, codec: str
) -> None:
    by_option = write(tmp_path, {"path": "{run}.{ext}", "compression": codec}, CHUNKS)
    assert by_option.name == f"1.csv{SUFFIX[codec]}"  # the codec's extension is added
    assert check_and_decompress(codec, by_option) == b"".join(CHUNKS)
    # Chosen by the path's extension; the same records give the same bytes.
    by_path = write(tmp_path, {"path": "{run}.{ext}" + SUFFIX[codec]}, CHUNKS, run=2)
    assert by_path.name == f"2.csv{SUFFIX[codec]}"
    if codec == "zip":  # one member, named like the file: 2.csv here
        import zipfile

        assert zipfile.ZipFile(by_path).namelist() == ["2.csv"]
        assert check_and_decompress(codec, by_path) == b"".join(CHUNKS)
    else:
        assert by_path.read_bytes() == by_option.read_bytes()


def test_no_compression_unless_asked_or_named(tmp_path: Path) -> None:
    plain = write(tmp_path, {"path": "{run}.{ext}"}, CHUNKS)
    assert plain.read_bytes() == b"".join(CHUNKS)
    kept = write(tmp_path, {"path": "{run}.{ext}.gz", "compression": "none"}, CHUNKS, run=2)
    assert kept.read_bytes() == b"".join(CHUNKS)  # said none: none


def test_a_base_directory_that_is_a_file_is_not_a_directory(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "base").write_text("a file")
    options = {"base_dir": str(tmp_path / "base"), "path": "{job}/{dataset}.{ext}"}
    sink = make_sink("file", options, SinkContext(job="j", dataset="d"))
    with pytest.raises(
        InvalidInput, match=r"^file sink: base directory .*base is not a directory$"
    ):
        sink.open()
    with pytest.raises(InvalidInput, match=r"^file sink: .*base is not a directory$"):
        engine.test_sink({"type": "file", "options": options})
    nested = {"base_dir": str(tmp_path), "path": "base/{dataset}.{ext}"}
    sink = make_sink("file", nested, SinkContext(job="j", dataset="d"))
    with pytest.raises(InvalidInput, match=r"^file sink: cannot create .*: a part of it is a file"):
        sink.open()


def test_a_run_and_its_replay_give_the_same_content_in_every_codec(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    sinks: list[dict[str, object]] = [
        {"type": "file", "options": {"base_dir": str(out), "path": "plain-{run}.{ext}"}}
    ]
    for codec in TOOLS:
        sinks.append(
            {
                "type": "file",
                "name": codec,
                "options": {
                    "base_dir": str(out),
                    "path": f"{codec}-{{run}}.{{ext}}",
                    "compression": codec,
                },
            }
        )
    engine.create_job(
        {
            "name": "packed",
            "datagen": {
                "datasets": ["customers"],
                "max_records": 20_000,
                "seed": 4,
                "generator": {"format": "csv"},
                "replay": {"enabled": True, "keep": 2},
                "sinks": sinks,
            },
        }
    )
    first = engine.wait_for_run(engine.queue_run("packed").id, timeout=120)
    assert first.state == RunState.SUCCEEDED, first.errors
    replay = engine.wait_for_run(engine.replay_run(first.id).id, timeout=120)
    assert replay.state == RunState.SUCCEEDED, replay.errors
    for run in (first, replay):
        plain = (out / f"plain-{run.id}.csv").read_bytes()
        assert plain.count(b"\n") > 20_000
        for codec in TOOLS:
            path = out / f"{codec}-{run.id}.csv{SUFFIX[codec]}"
            assert check_and_decompress(codec, path) == plain, (codec, run.id)
    assert (out / f"plain-{first.id}.csv").read_bytes() == (
        out / f"plain-{replay.id}.csv"
    ).read_bytes()


def test_a_compression_level_out_of_the_codecs_range_is_named(tmp_path: Path) -> None:
    fast = write(tmp_path, {"path": "a.csv.xz", "compression_level": 0}, CHUNKS)
    assert check_and_decompress("xz", fast) == b"".join(CHUNKS)
    sink = make_sink(
        "file",
        {"base_dir": str(tmp_path), "path": "b.csv.gz", "compression_level": 12},
        SinkContext(job="j", dataset="d", ext="csv"),
    )
    with pytest.raises(InvalidInput, match=r"^file sink: compression_level 12 is out of range"):
        sink.open()
    sink.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv.xz"]
