#!/usr/bin/env bash
# Everything pixelzoo still has to measure or check on a GPU, as one prepared command.
#
# Meant for a short lease of a CUDA machine (one call, about 10 minutes): it installs pixelzoo
# there, then
#   1. runs the CUDA-only tests (wavefront and Triton kernels against the reference on the
#      device, the trainer's train.cuda_graphs step against eager steps);
#   2. prints and saves the speed table of docs/performance.md (benchmarks/gpu.py);
#   3. trains recipes/toon_infill.yaml on the GPU for a few minutes (the shipped weights were
#      trained on a CPU) and keeps its summary.
# Each part has its own time limit, so a slow or failing part leaves the others' results.
# Results go to $OUT (or ./gpu_out): gpu.json, gpu_bench.log, gpu_tests.log, train.log,
# summary.json, model.safetensors.
#
# The machine's image may lack some of pixelzoo's dependencies (pydantic, on the image seen so
# far). Carry them as wheels in .whl/ (git-ignored), made on the development machine with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl \
#       pydantic pydantic-core annotated-types typing-inspection
# and run:  bash benchmarks/gpu_session.sh   (with `.whl` carried along).
# Optional: TRAIN_MINUTES (default 3).
set -u -o pipefail
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
python3 - <<'EOF' | tee "$OUT/gpu_device.txt"
import torch
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))
EOF

echo "== 1. CUDA-only tests"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/models/test_wavefront.py \
    tests/engine/test_engine_cuda_graphs.py tests/tasks/test_capture_split.py 2>&1 \
    | tee "$OUT/gpu_tests.log"

echo "== 2. speed table"
timeout 240 python3 benchmarks/gpu.py --json "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu_bench.log"

echo "== 3. toon_infill on the GPU"
minutes=${TRAIN_MINUTES:-3}
timeout $((minutes * 60 + 150)) pixelzoo run recipes/toon_infill.yaml --out /tmp/gpu_runs \
    --set train.device=cuda --set "train.max_minutes=$minutes" --set train.num_threads=4 \
    --set train.cuda_graphs=true 2>&1 | tee "$OUT/train.log"
run=$(ls -d /tmp/gpu_runs/*/*/ 2>/dev/null | tail -1)
if [ -n "$run" ]; then
    cp "$run/summary.json" "$OUT/" 2>/dev/null
    cp "$run/checkpoints/best.safetensors" "$OUT/model.safetensors" 2>/dev/null
fi
echo "== done: $(ls "$OUT")"
