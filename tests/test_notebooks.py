"""Every notebook passes nbdev's test runner: one test per notebook, `nbdev-test nbs/NN.ipynb`.

Cells flagged `#| notest` are skipped (`tst_flags` in pyproject.toml); SER_DATA is passed through.
A failure shows the notebook's failing cell and its traceback.
"""
import json, os, re, subprocess, time

import pytest

from conftest import NBS, ROOT, notebooks, tool

TIMEOUT = int(os.environ.get("SER_NB_TIMEOUT", "1200"))  # seconds per notebook


def failing_cell(nb, stderr: str) -> str:
    "The source of the cell nbdev-test names in `stderr` ('While Executing Cell #N', 1-based over all cells)."
    m = re.search(r"While Executing Cell #(\d+)", stderr)
    if not m: return ""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    n = int(m.group(1))
    if not 1 <= n <= len(cells): return ""
    src = cells[n - 1]["source"]
    return f"---- failing cell #{n} of {nb.name} ----\n{''.join(src) if isinstance(src, list) else src}\n"


@pytest.mark.parametrize("nb", notebooks(), ids=lambda p: p.relative_to(NBS).as_posix())
def test_notebook(nb):
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    t0 = time.time()
    try:
        r = subprocess.run([tool("nbdev-test"), str(nb)], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{nb.name}: nbdev-test did not finish in {TIMEOUT} s (SER_NB_TIMEOUT)\n{(e.stderr or b'')[-3000:]}", pytrace=False)
    took = time.time() - t0
    print(f"{nb.name}: nbdev-test took {took:.1f} s")
    if r.returncode != 0:
        out = "\n".join(s for s in (r.stdout.strip()[-3000:], r.stderr.strip()[-8000:]) if s)
        pytest.fail(f"{nb.relative_to(ROOT)} failed nbdev-test (exit {r.returncode}, {took:.0f} s; "
                    f"SER_DATA={os.environ.get('SER_DATA', '(unset)')})\n{failing_cell(nb, r.stderr)}---- output ----\n{out}",
                    pytrace=False)
