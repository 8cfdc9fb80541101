#!/usr/bin/env bash
# The package as a user installs it, not the checkout: build the sdist and the wheel from this
# checkout, install the wheel (NOT editable) into a fresh virtual environment and, from another
# directory, check the import names, run `latentlab sample`, and start and stop `latentlab serve`.
#
#   bash scripts/check_wheel.sh          (.ci/run calls it after the install; needs .venv)
#
# Dependencies of the fresh environment. A full `pip install` of the wheel re-installs torch with its
# CUDA libraries: 6.6 GB written, measured at 167 s and 241 s on this project's 2 shared CPU cores
# (the packages already come from a local index, so pip's cache saves nothing). That is too much of
# a CI run that must stay under 20 minutes, so the fresh environment borrows them from .venv: the
# wheel is installed with --no-deps, then a .pth file appends .venv's site-packages to sys.path.
# Python runs .pth files only in its own site-packages, never in a folder that a .pth line adds,
# so .venv's editable-install finder (__editable__.latentlab-*.pth) stays off: latentlab, labeler
# and directions come from the wheel (checked below), nothing from the checkout is importable, and
# `pip check` verifies that the borrowed dependencies satisfy the wheel's requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}

log() { echo "check_wheel: $*"; }
fail() { echo "check_wheel: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/latentlab-wheel.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -KILL -- "-$server_pid" 2>/dev/null || true; fi  # its process group
    rm -rf "$work"
}
trap cleanup EXIT

# -- build: sdist, then the wheel from the sdist, in an isolated build environment -----------------
# From a copy of the files git sees (tracked, or new and not ignored): a stale latentlab.egg-info or
# build/ of the checkout could otherwise slip modules into the sdist that pyproject.toml leaves out.
mkdir "$work/src"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z --cached --others --exclude-standard -- . ':!checkpoints' \
        | tar -C "$REPO" --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$work/src"
else
    cp -r "$REPO"/. "$work/src"
    rm -rf "$work/src"/{.venv,build,*.egg-info}
fi
log "building the sdist and the wheel"
"$PY" -m build --outdir "$work/dist" "$work/src" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build"; }
wheel=$(ls "$work"/dist/latentlab-*.whl)
"$PY" - "$wheel" "$REPO" <<'EOF' || fail "the wheel's contents"
import sys, zipfile
from pathlib import Path
names = zipfile.ZipFile(sys.argv[1]).namelist()
top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
assert top == {"latentlab", "labeler", "directions"}, f"top-level names in the wheel: {sorted(top)}"
repo = Path(sys.argv[2])  # every module of the checkout is in the wheel (pyproject lists packages by hand)
ours = {str(p.relative_to(repo)) for d in ("latentlab", "labeler", "directions") for p in (repo / d).rglob("*.py")}
ours |= {"latentlab/data/" + p.name for p in (repo / "data").glob("*.py")}
missing = sorted(ours - set(names))
assert not missing, f"modules missing from the wheel (add their packages to pyproject.toml): {missing}"
for f in ("default_generator", "oracle", "metric_default", "encoder_default"):
    assert f"latentlab/data/{f}.safetensors" in names, f"the wheel lacks latentlab/data/{f}.safetensors"
assert "latentlab/data/schema_anime.yaml" in names, "the wheel lacks the default schema"
print(f"check_wheel: {sys.argv[1].rsplit('/', 1)[-1]}: {len(names)} files, top-level {sorted(top)}")
EOF

# -- a fresh environment with the wheel and .venv's dependencies -----------------------------------
base=$("$PY" -c 'import sys; print(sys._base_executable)')  # the interpreter .venv was made from
"$base" -m venv --without-pip "$work/venv"  # nothing in it but the wheel (installed by .venv's pip)
VPY="$work/venv/bin/python"
"$PY" -m pip --python "$VPY" install -q --no-deps "$wheel" || fail "pip install --no-deps of the wheel"
deps=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site=$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$deps" > "$site/zz_latentlab_ci_dependencies.pth"
"$PY" -m pip --python "$VPY" check >"$work/pip-check.log" 2>&1 || { cat "$work/pip-check.log" >&2; fail "pip check"; }

# -- from another directory, with nothing of the checkout on the path ------------------------------
mkdir -p "$work/elsewhere"
cd "$work/elsewhere"
unset PYTHONPATH LATENTLAB_DB LATENTLAB_WORKSPACE
export GRADIO_ANALYTICS_ENABLED=False

"$VPY" - "$work/venv" <<'EOF' || fail "imports from the installed wheel"
import sys
from pathlib import Path
import directions, labeler, latentlab
from latentlab.core.paths import data_path
venv = Path(sys.argv[1]).resolve()
for m in (latentlab, labeler, directions):
    assert venv in Path(m.__file__).resolve().parents, f"{m.__name__} comes from {m.__file__}, not the wheel"
weights = Path(str(data_path("default_generator.safetensors")))
assert venv in weights.resolve().parents and weights.is_file(), f"shipped weights at {weights}"
print(f"check_wheel: latentlab {latentlab.__version__} imported from the fresh environment")
EOF
for name in generator app cli; do
    if out=$("$VPY" -c "import $name" 2>&1); then fail "'import $name' works in the installed package"; fi
    echo "$out" | grep -q "No module named '$name'" || { echo "$out" >&2; fail "'import $name' failed oddly"; }
done
log "only latentlab, labeler and directions are importable (generator, app, cli are not)"

"$work/venv/bin/latentlab" sample --n 4 --seed 0 --out samples.png --device cpu >"$work/sample.log" 2>&1 \
    || { cat "$work/sample.log" >&2; fail "latentlab sample"; }
[ -s samples.png ] && [ -s samples.npz ] || fail "latentlab sample wrote no samples.png/samples.npz"
log "latentlab sample wrote samples.png and samples.npz"

# serve: wait for HTTP 200 on its port, then Ctrl-C (SIGINT) and a clean exit. Job control (set -m)
# keeps SIGINT from being ignored in the background process, as it otherwise is in scripts.
port=$("$VPY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set -m
"$work/venv/bin/latentlab" serve --port "$port" --n 16 --device cpu >"$work/serve.log" 2>&1 &
server_pid=$!
set +m
"$VPY" - "$port" "$server_pid" <<'EOF' || { cat "$work/serve.log" >&2; fail "latentlab serve did not answer"; }
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 300  # only a guard: the first start renders the run's faces
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the server exited before answering")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    time.sleep(0.3)
else:
    sys.exit("no HTTP 200 within 300 s")
# the crowd page is a file inside the package: the wheel must carry it
with urllib.request.urlopen(f"http://127.0.0.1:{port}/label/", timeout=30) as r:
    if r.status != 200 or b"latentlab" not in r.read():
        sys.exit(f"the crowd page /label/ answered {r.status} without the page")
EOF
log "latentlab serve answers HTTP 200 on 127.0.0.1:$port, the crowd page too; stopping it with Ctrl-C"
kill -INT "$server_pid"
for _ in $(seq 1 600); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done  # up to 60 s
kill -0 "$server_pid" 2>/dev/null && { cat "$work/serve.log" >&2; fail "latentlab serve still runs 60 s after Ctrl-C"; }
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || { cat "$work/serve.log" >&2; fail "latentlab serve exited with $rc after Ctrl-C"; }
log "latentlab serve stopped cleanly; the installed package works"
