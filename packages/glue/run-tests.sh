#!/usr/bin/env bash
# Runs the Glue job's pytest suite in packages/glue/.venv (Python 3.11, created on first use
# and re-created whenever requirements.txt changes). Works from any cwd, without stdin.
set -euo pipefail

GLUE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$GLUE_DIR/../.." && pwd)"
cd "$REPO_ROOT"

if ! command -v java >/dev/null 2>&1 && [[ -z "${JAVA_HOME:-}" ]]; then
  echo "run-tests.sh: Spark needs Java 17 (java on PATH or JAVA_HOME)" >&2
  exit 1
fi

# shellcheck source=venv.sh
source "$GLUE_DIR/venv.sh"

status=0
"$VENV/bin/python" -m pytest packages/glue/tests -q </dev/null || status=$?
if [[ $status -eq 5 ]]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
