"""Execute chapters top to bottom and keep their outputs: `python tools/execute_nb.py [--all] nbs/03_model.ipynb [...]`.

Every cell runs in order in the notebook's folder, as `nbdev-test` runs it, except the heavy `#| notest` cells: they keep
the outputs of the run that made their stored results (`--all` runs them too, rewriting those results). The notebook is written back only if every cell ran, then
`nbdev-clean` strips the metadata. This is how the committed outputs, which the site shows, are made."""
import os, re, subprocess, sys, time
from pathlib import Path

from fastcore.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

NOTEST = re.compile(r"^\s*#\|\s*notest\s*$", re.M)


def execute(path: Path, heavy: bool = False):
    "Run the cells of `path` that CI runs (and the `notest` ones if `heavy`), keeping the others' outputs; write it back if all ran."
    nb, cwd, t0 = read_nb(path), os.getcwd(), time.time()
    shell = CaptureShell(path, mpl_format="png")
    os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != "code" or (not heavy and bool(NOTEST.search(c.source))))
    finally: os.chdir(cwd)
    write_nb(nb, path)
    print(f"{path}: executed in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    heavy = "--all" in sys.argv[1:]
    paths = [Path(p).resolve() for p in sys.argv[1:] if p != "--all"]
    for p in paths: execute(p, heavy)
    clean = Path(sys.executable).parent/"nbdev-clean"
    for p in paths: subprocess.run([str(clean), "--fname", str(p)], check=True)
