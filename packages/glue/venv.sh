# Sourced by run-tests.sh and mutation-test.sh (after GLUE_DIR is set): makes $VENV, the
# Python 3.11 venv of requirements.lock, creating it on first use and re-creating it whenever
# the lock or the interpreter changes.
VENV="$GLUE_DIR/.venv"
STAMP="$VENV/.requirements.sha256"

PYTHON="$(command -v python3.11 || true)"
if [[ -z "$PYTHON" ]]; then
  echo "$(basename "$0"): python3.11 not found (AWS Glue 5.0 runs Python 3.11)" >&2
  exit 1
fi

# requirements.lock pins every transitive package; requirements.txt names the direct ones.
wanted="$(cat "$GLUE_DIR/requirements.lock" <("$PYTHON" --version) | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null || true)" != "$wanted" ]]; then
  echo "$(basename "$0"): creating $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$GLUE_DIR/requirements.lock"
  # Written last: an interrupted install leaves no stamp and is redone next time.
  echo "$wanted" >"$STAMP"
fi
