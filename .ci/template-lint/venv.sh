#!/usr/bin/env bash
# Creates a venv from a directory's requirements.lock on first use, re-creates it when the lock
# changes, and prints its directory. Without an argument, the template-lint venv (cfn-lint,
# checkov), used by run.sh and by the policy coverage test (which reads the CloudFormation
# registry schemas cfn-lint ships); `venv.sh .ci/zizmor` makes the workflow linter's.
set -euo pipefail

HERE="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.requirements.sha256"

# Test workers and CI steps may ask at the same time: one creates, the others wait for it.
exec 9>"$HERE/.venv.lock"
flock 9

PYTHON="$(command -v python3.11 || command -v python3)"
wanted="$(cat "$HERE/requirements.lock" <("$PYTHON" --version) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null || true)" != "$wanted" ]]; then
  echo "venv: creating $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$HERE/requirements.lock" >&2
  echo "$wanted" >"$STAMP"
fi
echo "$VENV"
