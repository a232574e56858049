#!/usr/bin/env bash
# Install everything the project needs on a fresh machine: a pinned uv in
# .tools/, then the locked Python environment in .venv/ (uv.lock, --frozen).
# Idempotent: a second run only checks. Used by `make`, CI and the workflows.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.9"
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    echo "bootstrap: installing uv $UV_VERSION into .tools/" >&2
    python3 -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# Optional engines: DATAOPS_EXTRAS="postgres spark" (ci/test.sh sets it). --inexact
# keeps extras a previous run installed, so `make demo` after `make test` works offline.
extras=()
for extra in ${DATAOPS_EXTRAS:-}; do extras+=(--extra "$extra"); done
# --compile-bytecode: the venv ships .pyc files. With PYTHONDONTWRITEBYTECODE=1 (set on
# this machine and many CI runners) every process would otherwise recompile what it
# imports: measured, `dbt --version` 4.0 s -> 2.3 s CPU, `dataops --version` 0.46 -> 0.26 s,
# for ~35 s once at install (a second sync only checks: ~1 s).
.tools/bin/uv sync --frozen --quiet --inexact --compile-bytecode "${extras[@]}"
# The project's own packages are installed editable (their source is this working tree),
# so --compile-bytecode does not reach them: with PYTHONDONTWRITEBYTECODE=1 every
# `dataops` start compiled tooling/ and ingestion/ again, ~0.15-0.2 s CPU per command
# (measured: importing what `dataops ci run` needs, 0.76-0.88 -> 0.61-0.76 s user).
# A .pyc whose source changed since is ignored, so an edit never runs stale code.
.venv/bin/python -m compileall -q -j 0 tooling ingestion >/dev/null
