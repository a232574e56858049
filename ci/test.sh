#!/usr/bin/env bash
# The test suite, exactly as `make test` runs it (and CI, and the workflows).
set -euo pipefail
cd "$(dirname "$0")/.."
DATAOPS_EXTRAS="${DATAOPS_EXTRAS:-postgres spark}" bash ci/bootstrap.sh
bash ci/system-deps.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
exec .venv/bin/pytest -n 2 --dist loadfile "$@"
