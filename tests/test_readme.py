"README.md is generated from nbs/index.ipynb and must not drift from it."
import subprocess, sys
from pathlib import Path
import pytest

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("readme")

def test_readme_matches_index():
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, str(root/"tools/make_readme.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
