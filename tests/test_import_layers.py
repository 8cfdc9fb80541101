"""The floors of the package (README "Layout") hold: import-linter's contracts in pyproject.toml are kept."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_every_import_linter_contract_is_kept():
    # reads REPO/pyproject.toml; --no-cache writes nothing into the checkout (the graph takes < 1 s)
    r = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[r.stdout.find("Broken contracts"):] + r.stderr
    assert "0 broken" in r.stdout and "3 kept" in r.stdout  # all three contracts were read and checked
