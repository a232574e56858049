"""`dataops build`'s default output: live progress on a terminal, plain lines in a pipe.

One build of a fresh repository copy runs under a real pseudo-terminal (the
``pty`` module), with one singular test added that fails on purpose. The
expectations come from dbt's own artifact (``run_results.json``: the node
total and the failing node's message), not from the display.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import copy_repo, run_cli

pytestmark = pytest.mark.e2e

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FAILING_TEST = "assert_progress_sees_this_fail"


def run_in_pty(args: list[str], cwd: Path, timeout: int = 600) -> tuple[int, str]:
    """Run the console script with stdout and stderr on a pseudo-terminal; its output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
    env.update(TERM="xterm-256color", DO_NOT_TRACK="1")
    env.pop("COLUMNS", None)
    exe = shutil.which("dataops", path=str(Path(sys.executable).parent)) or "dataops"
    proc = subprocess.Popen(
        [exe, *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def tty_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    repo = copy_repo(tmp_path_factory.mktemp("progress") / "repo")
    (repo / "dbt_project" / "tests" / f"{FAILING_TEST}.sql").write_text(
        "-- fails on purpose: the progress display must report it\nselect 1 as one\n",
        encoding="utf-8",
    )
    code, output = run_in_pty(["build", "--no-monitor"], repo)
    return repo, code, output


def test_counter_then_failure_then_summary(tty_build: tuple[Path, int, str]) -> None:
    repo, code, raw = tty_build
    assert code == 1, raw[-3000:]
    text = ANSI.sub("", raw).replace("\r", "\n")
    results = json.loads((repo / "dbt_project" / "target" / "run_results.json").read_text())
    total = len(results["results"])
    failing = [r for r in results["results"] if r["status"] in {"fail", "error"}]
    assert [r["unique_id"].rsplit(".", 1)[-1] for r in failing] == [FAILING_TEST]

    counters = [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+) nodes", text)]
    assert counters, text[-3000:]
    assert {b for _, b in counters} == {total}
    assert (total, total) in counters
    assert any(0 < a < total for a, _ in counters), "the counter never showed progress"

    # the ingestion display came first: a bar per entity of the sample
    ingest = re.search(r"raw_erp\.orders .*2/2 steps", text)
    assert ingest, text[:3000]
    assert ingest.start() < text.index(" nodes")
    failure = re.search(rf"FAIL test\.\w+\.{FAILING_TEST}: (.+)", text)
    assert failure, text[-3000:]
    assert failure.group(1).strip() == failing[0]["message"].splitlines()[0].strip()
    summary = text.index("Rows loaded per source")
    assert text.find(f"{total}/{total} nodes") < summary
    assert failure.start() < summary < text.index("build failed")
    # dbt's own console log is replaced by the display
    assert "Concurrency:" not in text and "Finished running" not in text


def test_plain_lines_without_a_terminal(tty_build: tuple[Path, int, str]) -> None:
    repo, _, _ = tty_build
    result = run_cli(
        "build", "--skip-ingest", "--no-monitor", "-s", "stg_erp__orders", cwd=repo, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not ANSI.search(result.stdout + result.stderr)
    assert not result.stderr.strip(), result.stderr  # stderr is for errors only
    assert "ingest " not in result.stdout  # --skip-ingest
    lines = [line for line in result.stdout.splitlines() if line.startswith("dbt [")]
    results = json.loads((repo / "dbt_project" / "target" / "run_results.json").read_text())
    expected = {r["unique_id"] for r in results["results"]}
    seen = {line.split()[-1] for line in lines}
    assert seen == expected, result.stdout
    assert lines[-1].startswith(f"dbt [{len(expected)}/{len(expected)}]")
    assert "build passed" in result.stdout
