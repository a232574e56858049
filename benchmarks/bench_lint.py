"""`dataops lint` (dataops templater) on a generated N-model dbt project (default 500).

Prints, in one run, each as a ratio or against its goal:
  * full lint, both cores, empty cache: `dataops lint --no-cache` vs sqlfluff's
    dbt templater (`sqlfluff lint --templater dbt --processes 2`) on the same
    files with the same rules (goal: ratio <= 0.4);
  * second full lint with nothing changed (goal: <= 3 s);
  * `--changed` with one file changed, cache warm for the rest (goal: <= 2 s);
  * a 5-model project: `dataops lint` vs plain `sqlfluff lint --processes 1`
    (jinja templater, same .sqlfluff) (goal: ratio <= 1);
  * with --crossover: one process vs two on k files (where the pool starts paying);
  * with --callgrind: the 5-model comparison in instructions (valgrind's callgrind
    counts them, the same on a busy machine as on an idle one; ~50x slower).

    uv run python benchmarks/bench_lint.py [--models 500] [--repeats 3] [--full-repeats 3]
        [--crossover]

Needs sqlfluff-templater-dbt (dev dependency group) for the dbt templater run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic_project import make_project

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))

from tooling import lint as lint_mod  # noqa: E402


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


CPU: list[float] = []  # CPU seconds (all processes) of each timed command, in order


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and output; the CPU seconds of the command go to ``CPU``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = run(cmd, cwd, env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, out


def instructions(cmd: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Instructions the command executes, counted by valgrind's callgrind."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    for line in result.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip().replace(",", ""))
    raise SystemExit(f"callgrind gave no count for {cmd[:3]}:\n{result.stderr[-2000:]}")


def cpu(n: int) -> str:
    """The CPU seconds of the last ``n`` timed commands (the machine is shared: CPU
    time is what an idle machine's wall time would be for one process)."""
    return f"CPU {[round(c, 2) for c in CPU[-n:]]}"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def setup(root: Path, models: int) -> Path:
    project = make_project(root / "dbt", models)
    (root / "pyproject.toml").write_text('[tool.dataops]\nproject_dir = "dbt"\n')
    shutil.copy(REPO / ".sqlfluff", root / ".sqlfluff")
    (root / ".gitignore").write_text("target/\n*.duckdb\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated project")
    return project


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times):.2f}s {[round(t, 2) for t in times]}"


def dataops(*args: str) -> list[str]:
    return [str(BIN / "dataops"), "lint", "--format", "json", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dbt", action="store_true", help="skip the dbt templater run")
    parser.add_argument(
        "--full-repeats", type=int, default=1, help="full-lint pairs (ours, dbt templater)"
    )
    parser.add_argument("--crossover", action="store_true", help="1 vs 2 processes on k files")
    parser.add_argument(
        "--sqruff",
        metavar="BIN",
        help="a sqruff binary: lint the rendered SQL with it and with sqlfluff (raw templater)",
    )
    parser.add_argument(
        "--callgrind", action="store_true", help="5-model project: instructions (valgrind)"
    )
    args = parser.parse_args()

    # Bytecode caching on for every command (ours and the baselines): with
    # PYTHONDONTWRITEBYTECODE and a venv installed without .pyc files, each process
    # compiles ~600 modules first, which measures the machine, not the linters.
    skip = ("DATAOPS_", "PYTHONDONTWRITEBYTECODE")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(skip)},
        "DO_NOT_TRACK": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        root = Path(tmp) / "big"
        root.mkdir()
        project = setup(root, args.models)
        env["DATAOPS_WAREHOUSE"] = str(root / "bench.duckdb")
        files = lint_mod.discover(project)
        print(f"{args.models}-model project: {len(files)} SQL files; cores: {os.cpu_count()}")
        # Warm-up (not timed): bytecode of everything each side imports gets written.
        run(dataops("--no-cache", str(files[0])), root, env)
        run([str(BIN / "sqlfluff"), "lint", str(files[0])], root, env)
        CPU.clear()

        # 1. Full lint, empty cache, both cores, against sqlfluff's dbt templater;
        # --full-repeats pairs, alternating, so both sides see the same load.
        extra = root / "dbt.cfg"
        extra.write_text(
            f"[sqlfluff:templater:dbt]\nproject_dir = {project}\nprofiles_dir = {project}\n"
        )
        report = root / "dbt.json"
        dbt_cmd = [str(BIN / "sqlfluff"), "lint", "--templater", "dbt", "--config", str(extra)]
        dbt_cmd += ["--processes", "2", "--format", "json", "--write-output", str(report)]
        walls: dict[str, list[float]] = {"ours": [], "dbt": []}
        cpus: dict[str, list[float]] = {"ours": [], "dbt": []}
        for _ in range(args.full_repeats):
            ours, out = timed(dataops("--no-cache"), root, env)
            walls["ours"].append(ours)
            cpus["ours"].append(CPU[-1])
            data = json.loads(out)
            found = {(v["path"], v["line"], v["code"]) for v in data["violations"]}
            print(
                f"dataops lint (empty cache): {ours:.1f}s ({cpu(1)}) for "
                f"{data['files_linted']} files, {len(found)} violation(s), TMP/PRS: "
                f"{sum(c in ('TMP', 'PRS') for *_, c in found)}"
            )
            if args.skip_dbt:
                continue
            dbt, _ = timed([*dbt_cmd, *map(str, files)], root, env)
            walls["dbt"].append(dbt)
            cpus["dbt"].append(CPU[-1])
            theirs = {
                (
                    Path(f["filepath"]).resolve().relative_to(root).as_posix(),
                    v["start_line_no"],
                    v["code"],
                )
                for f in json.loads(report.read_text())
                for v in f["violations"]
            }
            print(
                f"sqlfluff dbt templater (2 processes): {dbt:.1f}s ({cpu(1)}); same (file, "
                f"line, rule): {theirs == found} ({len(theirs)} theirs, {len(found)} ours)"
            )
        if walls["dbt"]:
            pairs = [o / d for o, d in zip(walls["ours"], walls["dbt"], strict=True)]
            med = {k: statistics.median(v) for k, v in walls.items()}
            cpu_ratio = statistics.median(cpus["ours"]) / statistics.median(cpus["dbt"])
            print(
                f"full lint time ratio (ours / dbt templater) = {med['ours'] / med['dbt']:.3f} "
                f"(medians {med['ours']:.1f}s / {med['dbt']:.1f}s; per pair "
                f"{min(pairs):.3f}-{max(pairs):.3f}; CPU {cpu_ratio:.3f}), goal <= 0.4"
            )

        # 2. Second full lint, nothing changed (the first run filled the cache).
        run(dataops(), root, env)
        times = [timed(dataops(), root, env)[0] for _ in range(args.repeats)]
        print(f"second full lint, nothing changed: {fmt(times)} ({cpu(len(times))}), goal <= 3 s")

        # 3. One changed file, on a branch.
        git(root, "checkout", "-qb", "feature")
        changed = files[len(files) // 2]
        times = []
        for i in range(args.repeats):
            changed.write_text(changed.read_text() + f"-- touched {i}\n")
            git(root, "commit", "-qam", f"touch one model {i}")
            seconds, out = timed(dataops("--changed"), root, env)
            assert json.loads(out)["files_linted"] == 1, out
            times.append(seconds)
        print(f"lint --changed (1 file changed): {fmt(times)} ({cpu(len(times))}), goal <= 2 s")

        # 4. A 5-model project: dataops lint vs plain sqlfluff, one process, jinja templater.
        small = Path(tmp) / "small"
        small.mkdir()
        small_project = setup(small, 5)
        small_files = [str(f) for f in lint_mod.discover(small_project)]
        plain = [str(BIN / "sqlfluff"), "lint", "--processes", "1", "--format", "json"]
        ours_t, theirs_t, ours_c, theirs_c = [], [], [], []
        for _ in range(args.repeats):
            theirs_t.append(timed([*plain, *small_files], small, env)[0])
            theirs_c.append(CPU[-1])
            ours_t.append(timed(dataops("--no-cache"), small, env)[0])
            ours_c.append(CPU[-1])
        ratio = statistics.median(ours_t) / statistics.median(theirs_t)
        cpu_ratio = statistics.median(ours_c) / statistics.median(theirs_c)
        print(
            f"5-model project ({len(small_files)} files): dataops lint {fmt(ours_t)} CPU "
            f"{[round(c, 2) for c in ours_c]}, plain sqlfluff {fmt(theirs_t)} CPU "
            f"{[round(c, 2) for c in theirs_c]}; ratio = {ratio:.3f} (CPU {cpu_ratio:.3f}), "
            "goal <= 1"
        )

        if args.callgrind:
            ours_i = instructions([str(sys.executable), *dataops("--no-cache")], small, env)
            theirs_i = instructions([str(sys.executable), *plain, *small_files], small, env)
            print(
                f"5-model project, instructions (callgrind): dataops lint {ours_i / 1e9:.2f} G, "
                f"plain sqlfluff {theirs_i / 1e9:.2f} G; ratio = {ours_i / theirs_i:.3f}, goal <= 1"
            )

        # 5. Where two processes start paying (empty cache each time).
        if args.crossover:
            for k in (2, 4, 8, 16, 32):
                sample = [str(f) for f in files[:k]]
                one = timed(dataops("--no-cache", "-p", "1", *sample), root, env)[0]
                two = timed(dataops("--no-cache", "-p", "2", *sample), root, env)[0]
                print(
                    f"{k} files: 1 process {one:.2f}s, 2 processes {two:.2f}s, ratio {two / one:.2f}"
                )

        if args.sqruff:
            compare_sqruff(Path(args.sqruff), root, project, files, env)


def compare_sqruff(sqruff: Path, root: Path, project: Path, files: list[Path], env: dict) -> None:
    """sqruff vs sqlfluff on the same rendered SQL (what the dataops templater renders)."""
    from sqlfluff.core import FluffConfig

    from tooling.lint import templater as dataops_templater

    dataops_templater.register()
    rendered = root / "rendered"
    rendered.mkdir()
    config = FluffConfig(
        configs={
            "core": {"dialect": "duckdb", "templater": "dataops"},
            "templater": {"dataops": {"project_dir": str(project)}},
        }
    )
    templater = config.get_templater()
    for path in files:
        out, _ = templater.process(in_str=path.read_text(), fname=str(path), config=config)
        (rendered / path.name).write_text(out.templated_str)
    text = (REPO / ".sqlfluff").read_text().replace("templater = jinja", "templater = raw")
    (rendered / ".sqlfluff").write_text(text)
    names = sorted(p.name for p in rendered.glob("*.sql"))
    fluff_t, out = timed(
        [str(BIN / "sqlfluff"), "lint", "--processes", "2", "--format", "json", *names],
        rendered,
        env,
    )
    fluff = {
        (Path(f["filepath"]).name, v["start_line_no"], v["code"])
        for f in json.loads(out)
        for v in f["violations"]
    }
    result = subprocess.run(
        [str(sqruff), "lint", "--format", "json", *names],
        cwd=rendered,
        env=env,
        capture_output=True,
        text=True,
    )
    start = time.perf_counter()
    subprocess.run([str(sqruff), "lint", *names], cwd=rendered, env=env, capture_output=True)
    sqruff_t = time.perf_counter() - start
    data = json.loads(result.stdout or "{}")
    ours = {
        (Path(name).name, d["range"]["start"]["line"], d.get("code") or "")
        for name, diags in data.items()
        for d in diags
    }
    print(
        f"sqruff on {len(names)} rendered files: {sqruff_t:.2f}s vs sqlfluff {fluff_t:.2f}s "
        f"(2 processes); same (file, line, rule): {ours == fluff} ({len(ours)} sqruff, "
        f"{len(fluff)} sqlfluff; only sqlfluff: {sorted(fluff - ours)[:4]}; only sqruff: "
        f"{sorted(ours - fluff)[:4]})"
    )


if __name__ == "__main__":
    main()
