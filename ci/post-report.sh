#!/usr/bin/env bash
# Post the slim-CI report as ONE pull-request comment, updated in place on
# every push: the comment is found by the hidden marker the report starts
# with. Needs the GitHub CLI with GH_TOKEN, GH_REPO (owner/name) and
# PR_NUMBER; without them (locally) it prints the report instead.
set -euo pipefail
report="${1:-ci/out/report.md}"
marker='<!-- dataops-ci-report -->'
if [ ! -f "$report" ]; then
    echo "post-report: no report at $report" >&2
    exit 1
fi
if [ -z "${GH_REPO:-}" ] || [ -z "${PR_NUMBER:-}" ] || [ -z "${GH_TOKEN:-}" ]; then
    cat "$report"
    exit 0
fi
case "$PR_NUMBER" in
    '' | *[!0-9]*) echo "post-report: PR_NUMBER must be a number" >&2; exit 1 ;;
esac
comment_id="$(gh api --paginate "repos/$GH_REPO/issues/$PR_NUMBER/comments" \
    --jq ".[] | select(.user.login == \"github-actions[bot]\" and (.body | startswith(\"$marker\"))) | .id" \
    | head -n 1)"
if [ -n "$comment_id" ]; then
    gh api --method PATCH "repos/$GH_REPO/issues/comments/$comment_id" -F "body=@$report" >/dev/null
    echo "post-report: updated comment $comment_id" >&2
else
    gh api --method POST "repos/$GH_REPO/issues/$PR_NUMBER/comments" -F "body=@$report" >/dev/null
    echo "post-report: created the report comment" >&2
fi
