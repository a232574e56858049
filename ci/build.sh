#!/usr/bin/env bash
# Install, then run the main job: `dataops build` on the committed sample data
# into the embedded DuckDB file warehouse/dataops.duckdb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
exec .venv/bin/dataops build "$@"
