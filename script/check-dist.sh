#!/usr/bin/env bash
# Rebuilds dist/ and fails on any difference from the committed dist/ (HEAD): changed,
# deleted, new, untracked or git-ignored files alike, since users run exactly what is
# committed (dist/<name>/index.js, dist/shipgate.js, dist/lib/*, dist/chunks/*).
set -euo pipefail
git rev-parse --git-dir >/dev/null || {
  echo "check-dist needs a git checkout" >&2
  exit 1
}
[ -n "$(git ls-files -- dist)" ] || {
  echo "::error::no dist/ is committed: run npm run build and commit dist/." >&2
  exit 1
}
npm run --silent build
differences=$(git status --porcelain --untracked-files=all --ignored=matching -- dist)
if [ -n "$differences" ]; then
  echo "::error::dist/ does not match the source. Run npm run build and commit dist/." >&2
  echo "$differences" | head -50 >&2
  git diff --stat HEAD -- dist | tail -5 >&2
  exit 1
fi
echo "dist/ matches the source ($(git ls-files -- dist | wc -l) files)"
