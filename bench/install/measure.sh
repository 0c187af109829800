#!/usr/bin/env bash
# Size of an install of this tree: distributions and site-packages, for each requirement given
# (default: the core and [all]). Each goes into a fresh venv under a temporary directory.
#   bench/install/measure.sh            # "." and ".[all]"
#   bench/install/measure.sh '.[serve]'
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy of the sources, so that the build leaves nothing in the tree.
mkdir "$work/src" && tar --exclude=__pycache__ -cf - pyproject.toml README.md src | tar -xf - -C "$work/src"
[ $# -gt 0 ] || set -- . '.[all]'
printf '%-12s %13s %17s\n' install distributions "site-packages MB"
for want in "$@"; do
  venv="$work/venv"
  rm -rf "$venv" && python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$work/src${want#.}" >"$work/pip.log" 2>&1 ||
    { cat "$work/pip.log" >&2; exit 1; }
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # apigrade and what it pulls in: a new venv's own pip and setuptools are left out.
  dists=$("$venv/bin/pip" list --format=freeze --disable-pip-version-check | grep -cviE '^(pip|setuptools)==')
  mb=$(du -sm --exclude='pip' --exclude='pip-*' --exclude='setuptools' --exclude='setuptools-*' \
    --exclude='pkg_resources' --exclude='_distutils_hack' --exclude='distutils-precedence.pth' "$site" | cut -f1)
  printf '%-12s %13s %17s\n' "$want" "$dists" "$mb"
done
