#!/usr/bin/env bash
# Pull-request checks: `dataops lint` and `dataops check` as JSON into ci/out/
# (the slim-CI report folds them in). Both run even when one fails; the exit
# code is non-zero if either found errors. A command this checkout does not
# have yet is skipped with a notice. Same locally: `bash ci/pr-checks.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh || exit 1
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
mkdir -p ci/out
status=0
for cmd in lint check; do
    if ! .venv/bin/dataops "$cmd" --help >/dev/null 2>&1; then
        echo "pr-checks: \`dataops $cmd\` is not available here; skipped" >&2
        continue
    fi
    extra=()
    if [ "$cmd" = check ]; then extra=(--parse); fi  # no build in this job: parse first
    .venv/bin/dataops "$cmd" --format json "${extra[@]}" >"ci/out/$cmd.json"
    code=$?
    echo "pr-checks: dataops $cmd exited $code" >&2
    if [ "$code" -ne 0 ]; then status=1; fi
done
exit "$status"
