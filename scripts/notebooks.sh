#!/usr/bin/env bash
# Execute every notebook (notebooks/*.ipynb) headlessly, as CI does, and fail if any cell fails.
#
#   1. a Python venv under .cache/venv (git-ignored) with notebooks/requirements.txt, all
#      pinned; created or refreshed only when missing, broken, or the requirements (or python3)
#      changed — a second run installs nothing;
#   2. each notebook executed by `jupyter nbconvert --execute` into .cache/notebooks/, so the
#      committed file (whose stored outputs a reader sees on the forge) is not rewritten.
#
# The notebooks call the CLI (node bin/healcast.js forecast) on the committed model
# (models/current.json), and build dist/ themselves when it is missing or older than src/.
#
# Usage: bash scripts/notebooks.sh [--inplace] [notebook.ipynb ...]
#   --inplace   write the executed notebooks over the committed ones (to refresh their outputs
#               before a commit)
# Environment (optional): HEALCAST_VENV (.cache/venv), PYTHON (python3),
#   HEALCAST_NOTEBOOK_TIMEOUT (300 seconds per notebook), plus whatever the notebooks read
#   (HEALCAST_MODEL, HEALCAST_TRACE).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${HEALCAST_VENV:-$ROOT/.cache/venv}"
PYTHON="${PYTHON:-python3}"
TIMEOUT="${HEALCAST_NOTEBOOK_TIMEOUT:-300}"
REQUIREMENTS="$ROOT/notebooks/requirements.txt"
OUT_DIR="$ROOT/.cache/notebooks"

inplace=0
notebooks=()
for arg in "$@"; do
  case "$arg" in
    --inplace) inplace=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) notebooks+=("$arg") ;;
  esac
done
if [ ${#notebooks[@]} -eq 0 ]; then
  shopt -s nullglob
  notebooks=(notebooks/*.ipynb)
  shopt -u nullglob
fi
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "== notebooks: none in notebooks/" >&2
  exit 0
fi

seconds() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { LC_ALL=C awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

# --- 1. the venv --------------------------------------------------------------------------
t0=$(seconds)
# The stamp: the requirements' hash and the interpreter's version; a change rebuilds the venv.
stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [ -f "$VENV/.healcast-stamp" ] && [ "$(cat "$VENV/.healcast-stamp")" = "$stamp" ] &&
  "$VENV/bin/python" -c 'import nbconvert, nbclient, ipykernel, matplotlib, pandas' 2>/dev/null; then
  echo "== notebooks: venv $VENV up to date"
else
  echo "== notebooks: creating $VENV ($("$PYTHON" --version)) from notebooks/requirements.txt"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$REQUIREMENTS"
  printf '%s\n' "$stamp" >"$VENV/.healcast-stamp"
  echo "== notebooks: venv installed in $(elapsed "$t0") s"
fi

# --- 2. execute ---------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
failed=0
for nb in "${notebooks[@]}"; do
  t1=$(seconds)
  if [ "$inplace" = 1 ]; then
    target=(--inplace)
    where="$nb"
  else
    target=(--output-dir "$OUT_DIR")
    where="${OUT_DIR#"$ROOT"/}/$(basename "$nb")"
  fi
  rc=0
  timeout "$TIMEOUT" "$VENV/bin/jupyter" nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout="$TIMEOUT" --ExecutePreprocessor.kernel_name=python3 \
    --log-level=WARN "${target[@]}" "$nb" || rc=$?
  if [ "$rc" = 0 ]; then
    echo "== notebooks: $nb executed in $(elapsed "$t1") s -> $where"
  else
    echo "== notebooks: $nb FAILED after $(elapsed "$t1") s (exit $rc)" >&2
    failed=1
  fi
done
echo "== notebooks: finished in $(elapsed "$t0") s"
exit "$failed"
