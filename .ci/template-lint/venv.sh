#!/usr/bin/env bash
# Creates the template-lint venv (cfn-lint, checkov: requirements.lock) on first use, re-creates it
# when the lock changes, and prints its directory. Used by run.sh and by the policy coverage test,
# which reads the CloudFormation registry schemas cfn-lint ships.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.requirements.sha256"

PYTHON="$(command -v python3.11 || command -v python3)"
wanted="$(cat "$HERE/requirements.lock" <("$PYTHON" --version) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null || true)" != "$wanted" ]]; then
  echo "template-lint: creating $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$HERE/requirements.lock" >&2
  echo "$wanted" >"$STAMP"
fi
echo "$VENV"
