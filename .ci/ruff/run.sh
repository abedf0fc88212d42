#!/usr/bin/env bash
# Python lint and format check (pnpm lint) with the pinned ruff; `--fix` applies both instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUFF="$(bash .ci/template-lint/venv.sh .ci/ruff)/bin/ruff"
if [[ "${1:-}" == "--fix" ]]; then
  "$RUFF" check --fix .
  "$RUFF" format .
else
  "$RUFF" check .
  "$RUFF" format --check .
fi
