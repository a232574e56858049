"""`dataops lint` on a generated N-model dbt project (default 500).

Prints, in one run:
  * full lint wall time (`dataops lint`, both cores);
  * `--changed` with one file changed against main (goal: at most 5 s);
  * per-file time of sqlfluff's dbt templater vs the jinja templater with our dbt
    stubs, same rules, same files, one process each (`sqlfluff lint` CLI for both),
    and the ratio.

    uv run python benchmarks/bench_lint.py [--models 500] [--sample 10] [--repeats 3]

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


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0, 1)) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode not in ok or not result.stdout.strip():
        raise SystemExit(f"{cmd} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = run(cmd, cwd, env)
    return time.perf_counter() - start, out


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--sample", type=int, default=10, help="files for the per-file runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-full", action="store_true", help="skip the full-project lint")
    args = parser.parse_args()

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")},
        "DO_NOT_TRACK": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        root = Path(tmp)
        project = make_project(root / "dbt", args.models)
        (root / "pyproject.toml").write_text('[tool.dataops]\nproject_dir = "dbt"\n')
        shutil.copy(REPO / ".sqlfluff", root / ".sqlfluff")
        env["DATAOPS_WAREHOUSE"] = str(root / "bench.duckdb")
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "generated project")
        files = lint_mod.discover(project)
        print(f"{args.models}-model project: {len(files)} SQL files; cores: {os.cpu_count()}")

        # 1. Full lint, both cores.
        if not args.skip_full:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            full, out = timed([str(BIN / "dataops"), "lint", "--format", "json"], root, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            data = json.loads(out)
            print(
                f"full lint: {full:.1f}s wall for {data['files_linted']} files "
                f"({full / data['files_linted'] * 1000:.0f} ms/file incl. startup), "
                f"{cpu:.1f}s CPU (all processes; {cpu / 2:.1f}s is the wall time on two "
                f"idle cores), {len(data['violations'])} violation(s)"
            )

        # 2. --changed with one file changed (committed on a branch).
        git(root, "checkout", "-qb", "feature")
        changed = files[len(files) // 2]
        changed.write_text(changed.read_text() + "-- touched\n")
        git(root, "commit", "-qam", "touch one model")
        times = []
        for _ in range(args.repeats):
            seconds, out = timed(
                [str(BIN / "dataops"), "lint", "--changed", "--format", "json"], root, env
            )
            assert json.loads(out)["files_linted"] == 1, out
            times.append(seconds)
        median = statistics.median(times)
        print(
            f"lint --changed (1 file changed): median {median:.2f}s {[round(t, 2) for t in times]}"
            f", goal <= 5 s: {'met' if median <= 5 else 'NOT met'}"
        )

        # 3. Per-file: dbt templater vs jinja templater (+ stubs), sqlfluff CLI, 1 process.
        layers, _ = lint_mod.config_layers(project, root)
        jinja_cfg = lint_mod.write_config(layers, root / "jinja.cfg")
        dbt_layers = json.loads(json.dumps(layers))
        dbt_layers["core"]["templater"] = "dbt"
        dbt_layers["templater"]["dbt"] = {
            "project_dir": str(project),
            "profiles_dir": str(project),
        }
        dbt_cfg = lint_mod.write_config(dbt_layers, root / "dbt.cfg")
        sample = [str(f) for f in files[:: max(1, len(files) // args.sample)][: args.sample]]
        results: dict[str, dict[str, float]] = {}
        found: dict[str, set[tuple[str, int, str]]] = {}
        for name, cfg in (("jinja", jinja_cfg), ("dbt", dbt_cfg)):
            base = [str(BIN / "sqlfluff"), "lint", "--config", str(cfg), "--processes", "1"]
            one = statistics.median(
                timed([*base, sample[0]], root, env)[0] for _ in range(args.repeats)
            )
            many, out = timed([*base, "--format", "json", *sample], root, env)
            # the dbt templater may log lines before the JSON
            linted = json.loads(out[out.index("[") :]) if "[" in out else []
            if not linted:
                raise SystemExit(f"{name}: no JSON from sqlfluff: {out[-1500:]}")
            tmp_prs = sum(
                v["code"] in ("TMP", "PRS") for f in linted for v in f.get("violations", [])
            )
            # sqlfluff's own per-file timings: templating, then parse + rules
            phases = {
                k: statistics.median(f["timings"][k] for f in linted) * 1000
                for k in ("templating", "lexing", "parsing", "linting")
            }
            found[name] = {
                (Path(f["filepath"]).name, v["start_line_no"], v["code"])
                for f in linted
                for v in f.get("violations", [])
            }
            results[name] = {"one": one, "many": many, **phases}
            print(
                f"{name} templater: 1 file {one:.2f}s wall, {len(sample)} files {many:.2f}s "
                f"wall ({many / len(sample):.2f} s/file incl. start-up); per file (median, "
                f"sqlfluff timings): templating {phases['templating']:.0f} ms, lex+parse "
                f"{phases['lexing'] + phases['parsing']:.0f} ms, rules {phases['linting']:.0f} ms"
                f"; TMP/PRS errors: {tmp_prs}"
            )
        same = found["dbt"] == found["jinja"]
        print(
            f"same violations (file, line, rule) from both templaters: {same} "
            f"({len(found['jinja'])} jinja, {len(found['dbt'])} dbt"
            + ("" if same else f"; only dbt: {sorted(found['dbt'] - found['jinja'])[:5]}")
            + ("" if same else f"; only jinja: {sorted(found['jinja'] - found['dbt'])[:5]}")
            + ")"
        )
        dbt, jinja = results["dbt"], results["jinja"]
        print(
            f"dbt / jinja wall-time ratio: one file {dbt['one'] / jinja['one']:.1f}x, "
            f"{len(sample)} files {dbt['many'] / jinja['many']:.1f}x; start-up difference "
            f"{dbt['one'] - jinja['one']:.1f}s per invocation (dbt loads the whole project)"
        )


if __name__ == "__main__":
    main()
