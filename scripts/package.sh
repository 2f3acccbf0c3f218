#!/usr/bin/env bash
# `make package`: build dist/havip-failover.zip, the deployable code package, as `s build`
# would, without Docker: the runtime dependencies of handler/requirements.txt installed for
# the FC platform (Linux x86_64, CPython of the runtime's version) and handler/'s own files,
# side by side at the root of the zip (FC puts the code directory on sys.path).
#
#   make package                                  # runtime python3.10 (s.yaml's default)
#   HAVIP_DEPLOY_RUNTIME=python3.12 make package  # for the python3.12 runtime
#   HAVIP_DEPLOY_CODE=./dist/havip-failover.zip s deploy
#
# pip runs under an interpreter of the runtime's own version: `--python-version` chooses the
# wheels but not the environment markers (aiohttp needs async-timeout on 3.10, not on 3.12),
# so a 3.12 pip building for 3.10 would leave a dependency out. The dependencies are cached
# in build/deps/<hash of requirements, runtime, platform> and reused while unchanged; the
# staging directory is build/package/; the zip is deterministic (sorted entries, fixed
# timestamps and permissions, reproducible byte code), so an unchanged tree gives the same
# checksum (tests/deploy/test_package.py builds twice). (The pins
# of handler/requirements.txt are direct only: a fresh build/deps on another day may
# resolve a newer transitive dependency, and so another checksum.)
# It carries byte code (see below), compiled by the runtime's own Python.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

runtime=${PACKAGE_RUNTIME:-${HAVIP_DEPLOY_RUNTIME:-python3.10}}
case "$runtime" in
  python3.10) pyver=3.10 ;;
  python3.12) pyver=3.12 ;;
  *) echo "package.sh: unsupported runtime '$runtime' (python3.10 or python3.12)" >&2; exit 2 ;;
esac
platform=manylinux2014_x86_64

py=""
for cand in $(scripts/pythons.sh 2>/dev/null); do
  if [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$pyver" ]; then py=$cand; break; fi
done
if [ -z "$py" ]; then
  echo "package.sh: no python$pyver found (scripts/pythons.sh); the $runtime package must be built by python$pyver" >&2
  exit 3
fi

# (drop pip's noise: package folders a pip configuration may name that do not exist, and
# the warning about running as root, which --target makes moot)
quiet() { "$@" 2> >(grep -v -e 'is neither a file nor a directory' -e "Running pip as the 'root' user" >&2); }
pip_install() {  # pip_install TARGET [extra pip args...]
  local target=$1; shift
  quiet "$py" -m pip install -q --disable-pip-version-check \
    --no-compile --target "$target" -r handler/requirements.txt "$@"
}

key=$( (cat handler/requirements.txt; echo "$runtime $platform deps-v1") | sha256sum | cut -c1-16)
deps="build/deps/$key"
if [ ! -d "$deps" ]; then
  echo "package.sh: installing handler/requirements.txt for $runtime ($platform) with $py" >&2
  rm -rf "$deps.tmp"
  mkdir -p build/deps
  if ! pip_install "$deps.tmp" --platform "$platform" --implementation cp --python-version "$pyver" \
      --only-binary=:all:; then
    # A dependency published without a wheel (a pure-Python sdist): let pip build it. The
    # interpreter is the runtime's own version, so what it builds is what FC would run; only
    # compiled code built here would be specific to this machine, hence Linux x86_64 only.
    if [ "$(uname -sm)" != "Linux x86_64" ]; then
      echo "package.sh: a dependency has no $platform wheel; build on Linux x86_64 or use s build" >&2
      exit 4
    fi
    echo "package.sh: not every dependency has a $platform wheel; building the rest from source" >&2
    rm -rf "$deps.tmp"
    pip_install "$deps.tmp" --prefer-binary
  fi
  find "$deps.tmp" -name __pycache__ -type d -prune -exec rm -rf {} +
  mv "$deps.tmp" "$deps"
fi

stage=build/package
rm -rf "$stage"
mkdir -p "$stage" dist
cp -a "$deps"/. "$stage"/
# handler/'s files, less caches and what `s build` may have left there (3rd-packages).
(cd handler && tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude=3rd-packages \
  --exclude=.pytest_cache --exclude=.mypy_cache .) | (cd "$stage" && tar -xf -)

# Byte code, compiled here by the runtime's Python: FC's code directory is read-only, so
# without it every cold start compiles the SDK from source (about a second of outage).
# Reproducible byte for byte: unchecked-hash (no source timestamp in the header; loaded
# without looking at the sources), PYTHONHASHSEED=0 (marshal writes a set or frozenset
# constant in hash order, which a random seed changes run to run) and one process (-j 1:
# marshal's back-references depend on what the compiling process has seen before, so a
# pool handing files to workers in varying order gives varying .pyc files). ~3 s here.
PYTHONHASHSEED=0 "$py" -m compileall -q -j 1 --invalidation-mode unchecked-hash "$stage" >/dev/null

"$py" - "$stage" dist/havip-failover.zip <<'PY'
import os, stat, sys, zipfile

stage, out = sys.argv[1], sys.argv[2]
files = []
for root, dirs, names in os.walk(stage):
    dirs.sort()
    files += [os.path.join(root, n) for n in sorted(names)]
tmp = out + ".tmp"
size = 0
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
    for path in sorted(files, key=lambda p: os.path.relpath(p, stage)):
        mode = os.stat(path).st_mode
        info = zipfile.ZipInfo(os.path.relpath(path, stage), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o755 if mode & stat.S_IXUSR else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            data = f.read()
        size += len(data)
        zf.writestr(info, data)
os.replace(tmp, out)
packed = os.path.getsize(out)
print(f"{out}: {packed} bytes ({packed / 2**20:.1f} MiB), {len(files)} files, {size / 2**20:.1f} MiB unpacked")
PY
