#!/usr/bin/env bash
# CI for the third-party plugin package pixelzoo-rowconv, run the way a third party meets it.
#
# 1. Install it as a separate, non-editable distribution (from a clean copy, so no build folder
#    is left in the source tree and no stale one leaks into the wheel).
# 2. Check that `import pixelzoo_rowconv` resolves to the installed copy, not this source tree.
# 3. Run its tests (pixelzoo's conformance kit plus its own) from outside the source tree, and
#    pixelzoo's tests of the installed plugin (tests/test_plugin_package.py).
# 4. Run recipes/seed/rowconv.yaml on a tiny budget and check the run folder.
#
# Usage: plugins/pixelzoo-rowconv/ci.sh   (from anywhere; pixelzoo itself must be installed)
# PYTHON=python3.11 picks the interpreter.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== install pixelzoo-rowconv (non-editable)"
mkdir "$work/src"
# Everything but build leftovers from an earlier in-tree `pip install`.
tar -C "$here" --exclude=build --exclude='*.egg-info' --exclude=__pycache__ -cf - . \
    | tar -C "$work/src" -xf -
"$py" -m pip uninstall -y -q pixelzoo-rowconv >/dev/null 2>&1 || true
# No build isolation: CI machines may be offline, and setuptools is already there.
"$py" -m pip install -q --no-build-isolation "$work/src"
rm -rf "$work/src"

echo "== the plugin is imported from the installed copy"
cd "$work"
"$py" - "$here" <<'EOF'
import json
import sys
from importlib import metadata
from pathlib import Path

import pixelzoo_rowconv

source = Path(sys.argv[1]).resolve()
where = Path(pixelzoo_rowconv.__file__).resolve()
assert source not in where.parents, f"pixelzoo_rowconv imported from the source tree: {where}"
dist = metadata.distribution("pixelzoo-rowconv")
direct = json.loads(dist.read_text("direct_url.json") or "{}")
assert not direct.get("dir_info", {}).get("editable"), "pixelzoo-rowconv is an editable install"
print(f"pixelzoo-rowconv {dist.version} from {where.parent}")
EOF
PIXELZOO_DISABLE_PLUGIN_AUTOLOAD= COLUMNS=200 "$py" -m pixelzoo list combiners --filter row_conv \
    | grep -q "pixelzoo-rowconv" || { echo "row_conv is not listed" >&2; exit 1; }

echo "== plugin tests"
"$py" -m pytest "$here/tests" -q -p no:cacheprovider --import-mode=importlib \
    --rootdir "$here" -c "$here/pyproject.toml"

echo "== pixelzoo's tests of the installed plugin"
"$py" -m pytest "$repo/tests/test_plugin_package.py" -q -p no:cacheprovider \
    --rootdir "$repo" -c "$repo/pyproject.toml"

echo "== recipes/seed/rowconv.yaml on a tiny budget"
"$py" -m pixelzoo run "$repo/recipes/seed/rowconv.yaml" --out "$work/runs" -q \
    --set train.epochs=1 --set train.steps_per_epoch=2 --set train.batch_size=4 \
    --set train.max_minutes=2 --set eval.limit=8 --set dataset.limit=16 \
    --set task.eval.samples=2 --set 'task.eval.masks=[{type: demo_hole}]' \
    --set 'task.eval.decodings=[greedy]'
run_dir="$(find "$work/runs" -name summary.json -printf '%h\n' | head -n 1)"
[ -n "$run_dir" ] || { echo "the run left no summary.json" >&2; exit 1; }
grep -q "type: row_conv" "$run_dir/config.yaml" \
    || { echo "config.yaml does not use row_conv" >&2; exit 1; }
echo "run folder ok: $(basename "$(dirname "$run_dir")")/$(basename "$run_dir")"
echo "== pixelzoo-rowconv CI passed"
