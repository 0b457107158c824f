#!/usr/bin/env bash
# Installs everything concerto_nb needs: Debian packages (apt.txt), a virtual environment with the
# pinned pip stack (requirements*.txt) and the package itself (editable). Safe to run again.
# Usage: scripts/setup.sh VENV_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done < apt.txt
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [[ $(id -u) == 0 ]]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root for: apt-get install ${missing[*]}" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python >= 3.11 needed" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup: creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
echo "setup: installing the pinned pip stack into $venv (first time: a few minutes)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-test.txt 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
"$venv/bin/python" -c "import concerto_nb, torch, synctoolbox, libtsm, pedalboard; print('setup: ok, concerto_nb', concerto_nb.__version__, '| torch', torch.__version__)"
