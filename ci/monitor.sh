#!/usr/bin/env bash
# After a build: print the open incidents of the monitoring store and write
# the offline HTML monitoring report into DIR (default ci/out/monitor/).
# Alerts for new and resolved incidents were sent when the build recorded the
# run (DATAOPS_ALERT_WEBHOOK); this step makes them visible in the job log.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
out="${1:-ci/out/monitor}"
mkdir -p "$out"
.venv/bin/dataops monitor status
exec .venv/bin/dataops monitor report --out "$out/index.html"
