#!/usr/bin/env bash
# bench/gpu_prep.sh: run HERE (the development machine, PyPI reachable), in the repository root
# that the device tool sends (the session's own checkout), before the one device call of
# bench/gpu_check.sh. It fills the ignored folder .gpu/ (carry it: carry=[".gpu"]):
#   .gpu/whl/       the product's packages the GPU image lacks, as CPython 3.12 x86-64 wheels:
#                   OpenImageIO, opencolorio, platformdirs at pyproject.toml's pins (~15 MiB;
#                   the image has torch, numpy, scipy, safetensors, pytest; av is not needed
#                   for EXR plates and is too big to carry);
#   .gpu/fixtures/  the parity fixtures from $MATANYONE_FIXTURES (default ../shared/fixtures),
#                   which do not travel (outside the checkout): the arrays the alpha parity reads
#                   (frames, masks, alphas, salt, seed, warm-up), the per-layer hook arrays left
#                   out (~30 MiB instead of ~40), plus make_weights.py and the schema.
# Then it checks that what travels (tracked and untracked-not-ignored files + .gpu) stays under
# the tool's 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
FIX=${MATANYONE_FIXTURES:-../shared/fixtures}
mkdir -p .gpu/whl .gpu/fixtures

pins=$(grep -oE '"(OpenImageIO|opencolorio|platformdirs)==[^"]+"' pyproject.toml | tr -d '"')
[ "$(echo "$pins" | wc -w)" = 3 ] || { echo "gpu_prep: pins not found in pyproject.toml: $pins" >&2; exit 1; }
rm -f .gpu/whl/*.whl
# shellcheck disable=SC2086
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .gpu/whl $pins

"$PY" - "$FIX" .gpu/fixtures <<'EOF'
import shutil
import sys
from pathlib import Path

import numpy as np

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("parity_two_objects.npz", "parity_single.npz"):
    with np.load(src / name) as data:
        np.savez_compressed(dst / name, **{k: data[k] for k in data.files if not k.startswith("hook.")})
for name in ("make_weights.py", "matanyone_state_dict_schema.tsv"):
    shutil.copyfile(src / name, dst / name)
EOF

tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carried=$(du -sb .gpu | cut -f1)
total=$((tree + carried))
echo "gpu_prep: working tree $((tree / 1048576)) MiB + .gpu $((carried / 1048576)) MiB = $((total / 1048576)) MiB (limit 64)"
ls -la .gpu/whl .gpu/fixtures
[ "$total" -lt $((62 * 1048576)) ] || { echo "gpu_prep: over the device tool's 64 MiB: carry less" >&2; exit 1; }
echo 'gpu_prep: now one device call: run(command="bash bench/gpu_check.sh", carry=[".gpu"], timeout_s=600)'
