#!/usr/bin/env bash
# Slim CI, as the pull-request workflow runs it and a developer can locally:
# build what the branch changed (state:modified+) against the production state
# in ci/state/ (deferred, production attached read-only), diff the data, and
# write the pull-request report to ci/out/report.md. Without a state
# directory (the first pull request, before main ever published one) it builds
# everything (--full). Exit code: the CI build's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
STATE_DIR="${DATAOPS_CI_STATE:-ci/state}"
dataops=.venv/bin/dataops
mkdir -p ci/out

mode=(--state "$STATE_DIR")
if [ ! -f "$STATE_DIR/manifest.json" ]; then
    echo "slim-ci: no production state in $STATE_DIR; building everything" >&2
    mode+=(--full)
fi
status=0
"$dataops" ci run "${mode[@]}" || status=$?
if [ -f "$STATE_DIR/manifest.json" ] && [ -f ci/out/run.json ]; then
    "$dataops" ci diff --state "$STATE_DIR" || status=$?
fi
report_args=(--out ci/out/report.md)
[ -f ci/out/lint.json ] && report_args+=(--lint-json ci/out/lint.json)
[ -f ci/out/check.json ] && report_args+=(--check-json ci/out/check.json)
if [ -f ci/out/plan.json ]; then
    "$dataops" ci report "${report_args[@]}" >/dev/null
    echo "slim-ci: report written to ci/out/report.md" >&2
fi
exit "$status"
