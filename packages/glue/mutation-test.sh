#!/usr/bin/env bash
# Mutation testing of the Glue job's pure functions (the day window, the half-up average) with
# mutmut, configured in setup.cfg. Fails when the score (killed + timeout over all mutants) is
# below the break threshold: the first argument, default 100.
set -euo pipefail

GLUE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BREAK="${1:-100}"
# shellcheck source=venv.sh
source "$GLUE_DIR/venv.sh"
cd "$GLUE_DIR"

# mutmut caches verdicts in mutants/: start clean so a changed test is always judged afresh.
rm -rf mutants
"$VENV/bin/mutmut" run </dev/null >/dev/null
"$VENV/bin/mutmut" results
"$VENV/bin/mutmut" export-cicd-stats >/dev/null
"$VENV/bin/python" - "$BREAK" <<'PY'
import json, sys
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
detected = stats["killed"] + stats["timeout"]
score = 100 * detected / stats["total"] if stats["total"] else 0.0
print(f"mutmut: {detected} of {stats['total']} mutants detected, score {score:.2f}% (break at {sys.argv[1]}%)")
if stats["total"] == 0 or score < float(sys.argv[1]):
    sys.exit("mutmut: score below the break threshold")
PY
