#!/usr/bin/env bash
# After the main-branch build: write the production state (manifest.json,
# run_results.json, catalog.json, a PII-free warehouse.duckdb) into DIR
# (default ci/publish/), the folder the main workflow uploads as the
# production-state artifact. Needs DATAOPS_PRIVACY_KEY (a secret) to hash PII.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
exec .venv/bin/dataops state publish "${1:-ci/publish}"
