#!/usr/bin/env bash
# Run every test of ser_nb: `bash tools/test.sh [pytest args...]` (e.g. `-k docs`, `-x`).
#
# pytest over tests/, on two workers: nbdev-export and nbdev-clean leave no diff (test_repo.py), every notebook passes
# nbdev-test (test_notebooks.py, one test per notebook), the unit tests, and the docs build with its
# headless-Chromium check (test_docs.py). Notebooks read the corpora from $SER_DATA (passed through).
# Prints `N passed, N failed[, N skipped]` on its own line; exits non-zero on any failure or if no test ran.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=$(command -v python3 || command -v python); fi
fi
if [[ -z "${SER_DATA:-}" ]]; then
  echo "tools/test.sh: SER_DATA is not set; notebooks will look for the corpora in ./data" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ser_nb_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
junit="$tmp/junit.xml"

# each worker's processes get their share of the cores: torch, onnxruntime and BLAS otherwise start a thread per core in
# every process, and on two cores two workers' threads spin against each other (measured: chapters 05 and 09 side by side
# took 277 s with a thread per core each, 66 s with one)
workers=${SER_TEST_WORKERS:-2}
cores=$(nproc 2>/dev/null || echo 2)
share=$(( workers > 0 ? cores / workers : cores )); (( share < 1 )) && share=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$share} MKL_NUM_THREADS=${MKL_NUM_THREADS:-$share}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$share}

start=$SECONDS
# two workers (pytest-xdist; SER_TEST_WORKERS=0 runs in one process): every test module but the notebooks' is one
# xdist group (`pytestmark` in each), so that its fixtures (the docs build, the wheel, the container image) are made
# once, while the notebooks, the longest tests, are shared out one by one between the workers
"$PY" -m pytest tests -p no:cacheprovider -n "$workers" --dist loadgroup -rfEs --durations=40 \
  --junitxml="$junit" "$@" </dev/null
rc=$?

summary=$("$PY" - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 0 0"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0)); e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
print(t, f, e, s)
EOF
)
read -r total failures errors skipped <<<"$summary"
failed=$((failures + errors))
passed=$((total - failed - skipped))
# pytest stopped before reporting (usage error, interrupted, internal error): count that as a failure
if (( rc != 0 && rc != 1 && rc != 5 && failed == 0 )); then failed=1; fi

echo "tools/test.sh: pytest exit $rc in $((SECONDS - start)) s; python $PY"
[[ -d _proc/browser_check ]] && echo "tools/test.sh: docs screenshots in _proc/browser_check/"
line="$passed passed, $failed failed"
(( skipped > 0 )) && line="$line, $skipped skipped"
echo "$line"

if (( failed > 0 || passed == 0 )); then exit 1; fi
if (( rc != 0 )); then exit "$rc"; fi
exit 0
