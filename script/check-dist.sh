#!/usr/bin/env bash
# Rebuilds dist/ and fails on any difference from what is committed, new files included.
set -euo pipefail
git rev-parse --git-dir >/dev/null || { echo "check-dist needs a git checkout" >&2; exit 1; }
if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "dist/ has uncommitted changes before the build:" >&2
  git status --porcelain -- dist >&2
  exit 1
fi
npm run build
if [ -n "$(git status --porcelain -- dist)" ]; then
  echo "::error::dist/ does not match the source. Run npm run build and commit dist/." >&2
  git status --porcelain -- dist >&2
  git diff --stat -- dist >&2
  exit 1
fi
echo "dist/ matches the source"
