#!/usr/bin/env bash
# bench/gpu_check.sh: issue 22's whole GPU check as ONE device call (parity on CUDA, the engine
# benchmarks, the job measure), each step's output in $OUT, every step under a timeout, a failed
# step noted and passed over. Fits in about 8 minutes on one H100/H200 (BUDGET_S, default 510).
#
# The device machine (/work/.library/device/README.md): one H100/H200, 16 cores, NO network; its
# python3 is Python 3.12 with torch (CUDA), numpy, scipy, safetensors and pytest, but not
# OpenImageIO, opencolorio or platformdirs; the repository root of a copy of the working tree is
# the current folder; at most 8 files come back from $OUT. The product's .venv cannot travel
# (Python 3.11 here, torch without CUDA, over 64 MiB), and ../shared/fixtures lies outside the
# checkout. So, HERE, in the checkout the device tool sends, first:
#     bash bench/gpu_prep.sh          # fills the ignored .gpu/ (wheels + fixtures, ~42 MiB)
# then one call of the device tool (run), with a timeout that leaves time to rerun:
#     command: bash bench/gpu_check.sh      carry: [".gpu"]      timeout_s: 600
# and give the machine back unless you rerun at once. What comes back, under $OUT:
#     summary.txt   every step: exit status, seconds; then each figure's target line (met / not met)
#     env.txt       GPU, driver, python, torch, the wheel install
#     parity.txt    pytest fixture alphas on CUDA (DESIGN bounds, fp32) + parity_device.py per precision
#     engine.txt    bench/engine.py JSON lines: 1080p fp32/bf16/fp16/official-mixed, 4K fp16,
#                   two objects (stages_ms, peak_cuda_gib, first_frame_s, target met / not met)
#     pipeline.txt  bench/pipeline.py on CUDA at 1080p: --stages and the job measure (--gpu-busy)
#     readers.txt   bench/readers.py --quick (the reader pool on 16 cores), if time is left
#
#     bash bench/gpu_check.sh --cpu-dry-run   # the same steps on the CPU at tiny sizes (~2 min):
#                                             # checks the script here; figures mean nothing
# Knobs (environment): BUDGET_S, HD_FRAMES (30), UHD_FRAMES (10), PLATE_FRAMES (60), STAGE_FRAMES (20),
# PYTHON (python3; the dry run prefers .venv/bin/python).
set -u
cd "$(dirname "$0")/.."
DRY=0
[ "${1:-}" = "--cpu-dry-run" ] && DRY=1
OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-510}
START=$SECONDS
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
export PYTHONUNBUFFERED=1 MATANYONE_PLUGIN_OFFLINE=1
export MATANYONE_PLUGIN_CONFIG_DIR=/tmp/gpu_check_user/config MATANYONE_PLUGIN_CACHE_DIR=/tmp/gpu_check_user/cache

if [ $DRY = 1 ]; then
    PY=${PYTHON:-.venv/bin/python}
    [ -x "$PY" ] || PY=python3
    DEV=cpu
    HD="--frames 3 --small-size 64x48 --hd-frames 0"    # tiny stand-ins for the 1080p and 4K runs
    UHD="--frames 3 --small-size 96x64 --hd-frames 0"
    PIPE_SIZE=64x48 PLATE_FRAMES=3 STAGE_FRAMES=3 PIPE_WARMUP=1
    PRECISIONS_PARITY="fp32"
    PARITY_ONLY="--only parity_two_objects.npz"
    PYTEST_K="fixture_alphas and two_objects and fast"
    export OMP_NUM_THREADS=1
else
    PY=${PYTHON:-python3}
    DEV=cuda
    HD="--frames 0 --hd-frames ${HD_FRAMES:-30}"
    UHD="--frames 0 --hd-frames 0 --uhd-frames ${UHD_FRAMES:-10}"
    PIPE_SIZE=1920x1080 PLATE_FRAMES=${PLATE_FRAMES:-60} STAGE_FRAMES=${STAGE_FRAMES:-20} PIPE_WARMUP=10
    PRECISIONS_PARITY="fp32 fp16 bf16 official-mixed"
    PARITY_ONLY=""
    PYTEST_K="fixture_alphas"
fi
if [ -f .gpu/fixtures/parity_two_objects.npz ]; then
    export MATANYONE_FIXTURES=$PWD/.gpu/fixtures
else
    export MATANYONE_FIXTURES=${MATANYONE_FIXTURES:-$PWD/../shared/fixtures}
fi

# step NAME MAX_SECONDS OUTFILE COMMAND...: run under a timeout (at most what is left of the
# budget), append its output to OUTFILE, note status and seconds in the summary, go on.
step() {
    local name=$1 max=$2 file=$3
    shift 3
    local left=$((BUDGET_S - (SECONDS - START)))
    local limit=$((max < left ? max : left))
    if [ "$limit" -lt 15 ]; then
        echo "SKIPPED  $name (budget spent)" | tee -a "$SUMMARY"
        return
    fi
    local t0=$SECONDS
    echo "### $name (timeout ${limit}s)" >>"$OUT/$file"
    timeout -k 5 "$limit" "$@" >>"$OUT/$file" 2>&1
    local rc=$?
    local verdict=ok
    [ $rc = 0 ] || verdict="FAILED rc=$rc"
    [ $rc = 124 ] && verdict="TIMED OUT after ${limit}s"
    echo "$verdict  $name ($((SECONDS - t0)) s)" | tee -a "$SUMMARY"
}

# ---- set-up: the carried wheels (no network there), then what the machine is
if [ $DRY = 0 ]; then
    if ls .gpu/whl/*.whl >/dev/null 2>&1; then
        step "install carried wheels" 120 env.txt "$PY" -m pip install -q --no-index --no-deps --no-compile \
            --no-cache-dir --upgrade --target /tmp/gpu_check_site .gpu/whl/*.whl
        if ! grep -q "^ok  install carried wheels" "$SUMMARY"; then  # no pip there: a wheel is a zip
            for w in .gpu/whl/*.whl; do
                "$PY" -m zipfile -e "$w" /tmp/gpu_check_site >>"$OUT/env.txt" 2>&1
            done
            echo "wheels unzipped into /tmp/gpu_check_site instead" | tee -a "$SUMMARY"
        fi
        export PYTHONPATH=/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}
    else
        echo "no .gpu/whl: run bench/gpu_prep.sh here and carry .gpu (OpenImageIO/OCIO steps will fail)" \
            | tee -a "$SUMMARY"
    fi
fi
{
    echo "dry run: $DRY, device: $DEV, python: $PY, fixtures: $MATANYONE_FIXTURES"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm \
        --format=csv || echo "nvidia-smi not found"
    nproc
} >>"$OUT/env.txt" 2>&1
step "versions and imports" 60 env.txt "$PY" -c "
import sys, torch, numpy, OpenImageIO, PyOpenColorIO, platformdirs
print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-', 'numpy', numpy.__version__,
      'oiio', OpenImageIO.__version__, 'ocio', PyOpenColorIO.__version__)"

# ---- parity on the device: DESIGN bounds (fp32) and each precision's deviation
step "pytest fixture alphas on $DEV" 150 parity.txt env MATANYONE_TEST_DEVICE=$DEV "$PY" -m pytest -q \
    -p no:cacheprovider tests/engine/test_parity.py -k "$PYTEST_K"
for p in $PRECISIONS_PARITY; do
    # shellcheck disable=SC2086
    step "parity_device $p" 60 parity.txt "$PY" bench/parity_device.py --device $DEV --precision "$p" $PARITY_ONLY
done

# ---- the engine alone: 1080p in every precision, 4K fp16, two objects (fp16); stages and targets
for p in fp32 bf16 fp16 official-mixed; do
    # shellcheck disable=SC2086
    step "engine $p (1080p)" 60 engine.txt "$PY" bench/engine.py --device $DEV --precision "$p" --stages $HD
done
# shellcheck disable=SC2086
step "engine fp16 two objects (1080p)" 75 engine.txt "$PY" bench/engine.py --device $DEV --precision fp16 \
    --stages --two-objects $HD
# shellcheck disable=SC2086
MATANYONE_CUDNN_BENCHMARK=1 step "engine fp16 with cudnn.benchmark (1080p)" 60 engine.txt "$PY" bench/engine.py \
    --device $DEV --precision fp16 --stages $HD
# shellcheck disable=SC2086
step "engine fp16 (4K)" 75 engine.txt "$PY" bench/engine.py --device $DEV --precision fp16 --stages $UHD

# ---- the whole job at 1080p on the device: per-stage times and the job measure (GPU busy)
step "pipeline fp16 stages + job measure ($PIPE_SIZE x $PLATE_FRAMES)" 180 pipeline.txt "$PY" bench/pipeline.py \
    --device $DEV --precision fp16 --skip-rss --skip-speed --size $PIPE_SIZE --warmup $PIPE_WARMUP \
    --stages "$STAGE_FRAMES" --gpu-busy --plate-frames "$PLATE_FRAMES"

# ---- the reader pool on this machine's cores, with what is left
if [ $DRY = 0 ]; then
    step "readers --quick" 120 readers.txt "$PY" bench/readers.py --quick
fi

echo "--- total $((SECONDS - START)) s of a ${BUDGET_S} s budget; figures (issue 22 targets on CUDA):" >>"$SUMMARY"
"$PY" bench/gpu_summary.py "$OUT" >>"$SUMMARY" 2>&1
grep -h " passed\| failed\|rror" "$OUT/parity.txt" >>"$SUMMARY" 2>/dev/null
echo "gpu_check: outputs in $OUT: $(ls "$OUT" | tr '\n' ' ')"
cat "$SUMMARY"
