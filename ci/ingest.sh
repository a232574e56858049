#!/usr/bin/env bash
# Install, then land the declared sources in the warehouse (`dataops ingest`):
# the first step of the scheduled production run. Extra arguments go to it
# (e.g. --source erp).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
exec .venv/bin/dataops ingest "$@"
