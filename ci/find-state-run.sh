#!/usr/bin/env bash
# Print the id of the last successful run of the main workflow on main (empty
# if none), the run whose production-state artifact slim CI compares with.
# Needs the GitHub CLI and GH_TOKEN, GH_REPO (owner/name). In Actions the id is
# also written to $GITHUB_OUTPUT as run_id.
set -euo pipefail
run_id="$(gh run list --repo "$GH_REPO" --workflow main.yml --branch main --status success \
    --limit 1 --json databaseId --jq '.[0].databaseId // empty' 2>/dev/null || true)"
echo "${run_id}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "run_id=${run_id}" >>"$GITHUB_OUTPUT"
fi
