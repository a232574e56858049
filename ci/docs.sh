#!/usr/bin/env bash
# Build the documentation site into site/ (the GitHub Pages artifact):
# `dataops docs build`, after a build so the warehouse and artifacts exist,
# then the user guide (docs/, mkdocs.yml) into site/guide/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
.venv/bin/dataops docs build --out site
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir site/guide
