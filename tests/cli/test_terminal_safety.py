"""Text a job or a user controls reaches the terminal inert (issue 16, point 1).

The real `jobtui` command runs in a subprocess whose stdout and stderr are a pseudo-terminal,
as a user at a terminal would see it: job output, a run title, a job description, parameter
values, results, errors, dataset and preset text carrying OSC 52 (clipboard write), OSC 8
(hyperlink), OSC 0 (window title), CSI 2J (clear screen), a C1 CSI and BEL must come out
drawn (`^[`, `<9b>`, `^G`), never as the bytes a terminal would obey. `logs --raw` and
`logs --save` keep the exact text.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobtui.engine import Engine
from jobtui.textsafe import inert, inert_json

OSC52 = "\x1b]52;c;cHduZWQ=\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
OSC0 = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
C1_CSI = "\x9b31m"
BEL = "\x07"
PAYLOAD = f"a{OSC52}b{OSC8}c{OSC0}d{CLEAR}e{C1_CSI}f{BEL}g"
# What must never reach the terminal: ESC (every OSC and CSI above starts with it), BEL, and
# the C1 CSI (as a character, or as a lone byte that is not part of a UTF-8 sequence).
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\udc9b")

# Runs several `jobtui` command lines in one process (a Python start-up costs up to a second
# on a loaded 2-core machine), each through click's real entry point as the shell would,
# with a marker and the exit code after each.
DRIVER = """
import json, sys
from jobtui.cli import cli
for i, args in enumerate(json.loads(sys.argv[1])):
    try:
        cli.main(args, prog_name="jobtui")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sys.stderr.flush()
    print(f"@@end {i} {code}@@", flush=True)
"""
MARKER = re.compile(r"@@end (\d+) (\d+)@@\r?\n")


def in_pty(data_dir: Path, *commands: tuple[str, ...]) -> list[tuple[int, str]]:
    """Run each `jobtui ARGS` with stdout and stderr on a pseudo-terminal: its exit code and
    everything it wrote (decoded; bytes that are not UTF-8 kept as surrogates)."""
    master, slave = os.openpty()
    env = {**os.environ, "JOBTUI_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("JOBTUI_DB", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(commands)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: every writer closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert proc.wait(timeout=120) == 0
    output = b"".join(chunks).decode("utf-8", "surrogateescape")
    parts = MARKER.split(output)
    # [out0, "0", code0, out1, "1", code1, ..., rest]
    results = [(int(parts[i + 2]), parts[i]) for i in range(0, len(parts) - 1, 3)]
    assert len(results) == len(commands), output
    return results


# What `run --wait`'s live progress line (commands/progress.py) writes itself to redraw in
# place: erase the line, go one line up. Only these exact sequences are jobtui's own; any
# other escape is still a payload that got through.
PROGRESS_CONTROLS = ("\x1b[2K", "\x1b[1A")


def assert_inert(output: str, what: str) -> None:
    for control in PROGRESS_CONTROLS:
        output = output.replace(control, "")
    found = [repr(c) for c in FORBIDDEN if c in output]
    assert not found, f"{what} wrote {', '.join(found)} to the terminal:\n{output!r}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database whose job, dataset and preset carry the payload, and one finished run of
    the job (title, parameter, output on both streams, error and result all carry it)."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    data_dir = tmp_path / "data"
    engine = Engine.open(data_dir=data_dir)
    # The program's own name carries the payload too (a file name may hold any byte but
    # '/'): the run's error and result ("PROGRAM exited with code 3") quote it.
    program = tmp_path / PAYLOAD.replace("/", "%")
    program.write_text(
        f"#!/bin/sh\nprintf '%s\\n' '{PAYLOAD}'\nprintf '%s\\tTAB\\n' '{PAYLOAD}'\n"
        f"printf '%s\\n' '{PAYLOAD}' >&2\nexit 3\n"
    )
    program.chmod(0o700)
    engine.create_job(
        {
            "name": "evil",
            "kind": "command",
            "description": f"first line {PAYLOAD}\nsecond line",
            "parameters": {"who": {"type": "string", "default": PAYLOAD}},
            "command": {"argv": [str(program)]},
        }
    )
    engine.save_dataset(
        {
            "name": "evilds",
            "description": PAYLOAD,
            "fields": [{"name": "a", "type": "constant", "value": PAYLOAD}],
        }
    )
    engine.save_preset(
        {
            "name": "evilsink",
            "type": "http",
            "options": {"url": "http://127.0.0.1:9/", "headers": {"X-Note": PAYLOAD}},
        }
    )
    run = engine.queue_run("evil", title=PAYLOAD, parameters={"who": f"p{PAYLOAD}"})
    final = engine.wait_for_run(run.id, timeout=60)
    assert final.state.value == "failed" and PAYLOAD.replace("/", "%") in (final.error or "")
    engine.close()
    return data_dir


COMMANDS = [
    ("logs", "1"),
    ("logs", "1", "--tail", "3"),
    ("runs", "list"),
    ("runs", "list", "--json"),
    ("runs", "show", "1"),
    ("runs", "show", "1", "--json"),
    ("jobs", "list"),
    ("jobs", "list", "--json"),
    ("jobs", "show", "evil"),
    ("jobs", "show", "evil", "--json"),
    ("jobs", "export", "evil"),
    ("datasets", "list"),
    ("datasets", "list", "--json"),
    ("datasets", "show", "evilds"),
    ("datasets", "sample", "evilds", "-n", "2"),
    ("sinks", "list"),
    ("sinks", "list", "--json"),
    ("sinks", "show", "evilsink"),
    ("preview", "evil"),
    # errors on stderr that quote what the user typed
    ("run", "evil", "--set", f"{PAYLOAD}=1"),
]


def test_every_listing_and_log_reaches_the_terminal_inert(hostile: Path) -> None:
    results = in_pty(hostile, *COMMANDS)
    for args, (_, output) in zip(COMMANDS, results, strict=True):
        assert_inert(output, "jobtui " + " ".join(a for a in args if a.isprintable()))
    by_command = {args: output for args, (_, output) in zip(COMMANDS, results, strict=True)}
    # The text is there, drawn: a user sees what the job wrote.
    logs = by_command[("logs", "1")]
    assert logs.count(inert(PAYLOAD)) >= 3
    assert "^[]52;c;cHduZWQ=^G" in logs and "<9b>31m" in logs
    assert f"{inert(PAYLOAD)}\tTAB" in logs  # tabs stay tabs
    assert f"title:       {inert(PAYLOAD)}" in by_command[("runs", "show", "1")]
    assert "unknown" in by_command[("run", "evil", "--set", f"{PAYLOAD}=1")]
    # JSON stays JSON (escaped, not drawn): the same data comes back.
    listed = json.loads(by_command[("runs", "list", "--json")])
    assert next(r for r in listed if r["id"] == 1)["title"] == PAYLOAD
    job = json.loads(by_command[("jobs", "show", "evil", "--json")])
    assert job["description"].startswith(f"first line {PAYLOAD}")


def test_run_wait_and_follow_reach_the_terminal_inert(hostile: Path) -> None:
    program = inert(PAYLOAD.replace("/", "%"))
    (code, waited), (fcode, followed), (jcode, as_json) = in_pty(
        hostile,
        ("run", "evil", "--title", PAYLOAD, "--wait"),
        ("run", "evil", "--param", f"who={PAYLOAD}", "--follow"),
        ("run", "evil", "--title", PAYLOAD, "--wait", "--json"),
    )
    assert code == 1 and fcode == 1 and jcode == 1
    assert_inert(waited, "jobtui run --wait")
    assert f"{program} exited with code 3" in waited
    assert_inert(followed, "jobtui run --follow")
    assert inert(PAYLOAD) in followed and f"{program} exited with code 3" in followed
    assert_inert(as_json, "jobtui run --wait --json")
    assert "{" in as_json, as_json
    assert json.loads(as_json[as_json.index("{") :])["title"] == PAYLOAD


def test_logs_raw_and_save_keep_the_exact_text(hostile: Path, tmp_path: Path) -> None:
    saved = tmp_path / "saved.log"
    (code, raw), (scode, _) = in_pty(
        hostile, ("logs", "1", "--raw"), ("logs", "1", "--save", str(saved))
    )
    assert code == 0 and scode == 0
    assert raw.count(PAYLOAD) >= 3 and f"{PAYLOAD}\tTAB" in raw
    assert saved.read_text(encoding="utf-8").count(PAYLOAD) >= 3
    # Piped rather than on a terminal: --raw still gives the exact text (click strips what
    # looks like ANSI from a pipe unless told otherwise), and the default stays inert.
    env = {**os.environ, "JOBTUI_DATA_DIR": str(hostile)}
    piped = subprocess.run(
        [sys.executable, "-m", "jobtui", "logs", "1", "--raw"], capture_output=True, env=env
    )
    assert piped.stdout.decode().count(PAYLOAD) >= 3
    plain = subprocess.run(
        [sys.executable, "-m", "jobtui", "logs", "1"], capture_output=True, env=env
    )
    assert_inert(plain.stdout.decode("utf-8", "surrogateescape"), "jobtui logs | cat")


def test_the_rule_itself() -> None:
    assert inert("a\x1b[2Jb\x9bc\x07\td") == "a^[[2Jb<9b>c^G\td"
    assert inert("x\ty", tab_size=4) == "x   y"
    assert inert("one\ntwo\r\nthree\rfour", keep_newlines=True) == "one\ntwo\r\nthree^Mfour"
    assert inert("one\ntwo") == "one^Jtwo"
    assert inert("\u202eevil\u200b") == "<U+202E>evil<U+200B>"
    text = json.dumps({"k": PAYLOAD + "\x7f\u2028"}, ensure_ascii=False)
    safe = inert_json(text)
    assert json.loads(safe) == {"k": PAYLOAD + "\x7f\u2028"}
    assert not any(c in safe for c in ("\x1b", "\x07", "\x9b", "\x7f", "\u2028"))
