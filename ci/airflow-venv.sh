#!/usr/bin/env bash
# A virtual environment with Apache Airflow 3 and astronomer-cosmos, exactly as
# pinned in orchestration/airflow/requirements.txt, kept apart from the
# project's .venv (Airflow and dbt never share a resolver). Cached under
# ${DATAOPS_CACHE:-~/.cache/dataops}/airflow-<hash of the pins and python>, so
# it is created once per change of the pins. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh >&2
python="${PYTHON:-python3}"
export UV_PYTHON_DOWNLOADS=never
pins=orchestration/airflow/requirements.txt
key="$( { cat "$pins"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)"
venv="${DATAOPS_CACHE:-$HOME/.cache/dataops}/airflow-$key"
if [ ! -f "$venv/.complete" ]; then
    echo "airflow-venv: creating $venv" >&2
    rm -rf "$venv"
    .tools/bin/uv venv --quiet --python "$python" "$venv" >&2
    # Compiled bytecode: Airflow starts a process per task (see ci/bootstrap.sh).
    .tools/bin/uv pip install --quiet --compile-bytecode --python "$venv/bin/python" -r "$pins" >&2
    touch "$venv/.complete"
fi
echo "$venv/bin/python"
