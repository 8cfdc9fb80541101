#!/usr/bin/env bash
# The install command: system packages for the browser and database tests (when run as root on
# Debian), then a virtual environment in .venv with latentlab and its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
    need=""
    [ -x /usr/bin/chromium ] || need="chromium"
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
    if [ -n "$need" ]; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
        else
            echo "install.sh: for the browser and PostgreSQL tests run: sudo apt-get install -y $need" >&2
        fi
    fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
echo "installed: run the app with  .venv/bin/latentlab serve"
