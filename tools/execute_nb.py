"""Execute chapters top to bottom and keep their outputs:
`python tools/execute_nb.py [--all | --rerun NAME[,NAME...]] nbs/03_model.ipynb [...]`.

Every cell runs in order in the notebook's folder, as `nbdev-test` runs it, except the heavy `#| notest` cells: they keep
the outputs of the run that made their stored results (`--all` runs them too, rewriting those results; `--rerun` runs
those whose source names one of the NAMEs, e.g. the result file a cell saves). The notebook is written back only if every cell ran, then
`nbdev-clean` strips the metadata. This is how the committed outputs, which the site shows, are made."""
import os, re, subprocess, sys, time
from pathlib import Path

from fastcore.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

NOTEST = re.compile(r"^\s*#\|\s*notest\s*$", re.M)


def execute(path: Path, heavy=False):
    "Run the cells of `path` that CI runs, and the `notest` ones if `heavy` is True or names text in them; keep the others' outputs; write it back if all ran."
    nb, cwd, t0 = read_nb(path), os.getcwd(), time.time()
    shell = CaptureShell(path, mpl_format="png")
    os.chdir(path.parent)
    def skip(c):
        "Markdown, and the heavy cells not asked for."
        if c.cell_type != "code": return True
        if not NOTEST.search(c.source): return False
        return not (heavy is True or any(n in c.source for n in heavy or ()))
    try: shell.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    write_nb(nb, path)
    print(f"{path}: executed in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    args = sys.argv[1:]
    rerun = args[args.index("--rerun") + 1].split(",") if "--rerun" in args else []
    heavy = True if "--all" in args else rerun
    paths = [Path(p).resolve() for p in args if p != "--all" and p != "--rerun" and p.endswith(".ipynb")]
    for p in paths: execute(p, heavy)
    clean = Path(sys.executable).parent/"nbdev-clean"
    for p in paths: subprocess.run([str(clean), "--fname", str(p)], check=True)
