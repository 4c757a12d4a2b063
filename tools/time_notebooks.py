#!/usr/bin/env python
"""Measure how long each notebook takes to run top to bottom, as CI runs it, and store it for the index's contents table:
`python tools/time_notebooks.py [nbs/01_data.ipynb ...]` (default: every notebook of the book).

Each notebook runs under `nbdev-test`, one at a time: every cell but the heavy `#| notest` ones, whose stored results
the chapter replays. Run it on a quiet machine (nothing else busy), with an empty `SER_CACHE` to time what a new reader
waits for (features and embeddings computed, not read from the cache): the times go to
`nbs/results/notebook_times.json`, with the machine, its load and the date; notebooks not named keep their stored time."""
import datetime, json, os, platform, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from build_docs import notebooks  # noqa: E402

OUT = ROOT / "nbs" / "results" / "notebook_times.json"


def run_time(nb: Path) -> float:
    "Seconds `nbdev-test` takes on `nb`; exits naming the notebook if it fails."
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    t0 = time.perf_counter()
    r = subprocess.run([str(Path(sys.executable).parent / "nbdev-test"), str(nb)], cwd=ROOT, env=env,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    if r.returncode: sys.exit(f"time_notebooks: {nb.name} failed nbdev-test:\n{r.stderr[-3000:]}")
    return took


def save(stored: dict, start: float):
    "Write the times, with the machine and its load, atomically."
    stored.update(measured=datetime.date.today().isoformat(),
                  machine=f"{os.cpu_count()} CPU cores ({platform.machine()}, Python {platform.python_version()}), "
                          f"load average {start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    tmp.replace(OUT)


def main(paths: list[str]):
    nbs = [Path(p).resolve() for p in paths] or notebooks(ROOT / "nbs")
    nbs.sort(key=lambda nb: nb.name == "index.ipynb")  # the index shows the others' times: last
    stored = json.loads(OUT.read_text()) if OUT.exists() else {"seconds": {}}
    start = os.getloadavg()[0]
    for nb in nbs:
        stored["seconds"][nb.name] = round(run_time(nb), 1)
        print(f"{nb.name}: {stored['seconds'][nb.name]:.1f} s", flush=True)
        save(stored, start)


if __name__ == "__main__": main(sys.argv[1:])
