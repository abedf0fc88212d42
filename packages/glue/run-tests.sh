#!/usr/bin/env bash
# Runs the Glue job's pytest suite in packages/glue/.venv (Python 3.11, created on first use
# and re-created whenever requirements.txt changes). Works from any cwd, without stdin.
set -euo pipefail

GLUE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$GLUE_DIR/../.." && pwd)"
VENV="$GLUE_DIR/.venv"
STAMP="$VENV/.requirements.sha256"
cd "$REPO_ROOT"

if ! command -v java >/dev/null 2>&1 && [[ -z "${JAVA_HOME:-}" ]]; then
  echo "run-tests.sh: Spark needs Java 17 (java on PATH or JAVA_HOME)" >&2
  exit 1
fi

PYTHON="$(command -v python3.11 || true)"
if [[ -z "$PYTHON" ]]; then
  echo "run-tests.sh: python3.11 not found (AWS Glue 5.0 runs Python 3.11)" >&2
  exit 1
fi

# requirements.lock pins every transitive package; requirements.txt names the direct ones.
wanted="$(cat "$GLUE_DIR/requirements.lock" <("$PYTHON" --version) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null || true)" != "$wanted" ]]; then
  echo "run-tests.sh: creating $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$GLUE_DIR/requirements.lock"
  # Written last: an interrupted install leaves no stamp and is redone next time.
  echo "$wanted" >"$STAMP"
fi

status=0
"$VENV/bin/python" -m pytest packages/glue/tests -q </dev/null || status=$?
if [[ $status -eq 5 ]]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
