# Sourced by .ci/serve and .ci/test: make ./.venv (Python >= 3.11) and install the project into it.
# Usage: ensure_venv [pip extras spec]   e.g. ensure_venv '.[dev]'
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ensure_venv() {
    local spec="${1:-.}"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "mlgateway needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>/dev/null || true
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" 2> >(grep -v "^WARNING: Location" >&2)
}
