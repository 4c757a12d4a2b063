"""How much disk each install of ser_nb takes: `pip install ser_nb` (the light install: predicting, serving, the
timeline, the classical and onnx families) and `pip install 'ser_nb[train]'` (adds torch and the rest for training).

    python tools/install_sizes.py LIGHT_VENV [--write]

LIGHT_VENV is a virtual environment with the light install alone (tests/test_wheel.py makes one). The light size is
what its site-packages hold; the train extra's is that plus every distribution the extra adds, summed file by file
from the package records of the environment running this script (which must have the extra installed). `--write`
stores both in nbs/results/install.json, which the README shows."""
import json, subprocess, sys
from datetime import date
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT/"nbs"/"results"/"install.json"


def closure(name: str, extras=()) -> set[str]:
    "Canonical names of `name` and every distribution it requires (with `extras`), as installed here."
    todo, seen = [(name, tuple(extras))], set()
    while todo:
        n, ex = todo.pop()
        key = canonicalize_name(n)
        if (key, ex) in seen: continue
        seen.add((key, ex))
        for spec in metadata.distribution(n).requires or []:
            r = Requirement(spec)
            if r.marker and not any(r.marker.evaluate({"extra": e}) for e in ("", *ex)): continue
            todo.append((r.name, tuple(sorted(r.extras))))
    return {k for k, _ in seen}


def dist_bytes(name: str) -> int:
    "Bytes of the files a distribution installed (its RECORD)."
    files = metadata.distribution(name).files or []
    return sum(p.stat().st_size for f in files if (p := Path(f.locate())).is_file())


def du(folder: Path) -> int:
    "Bytes of the files under `folder` (as `du -sb`, without counting a file twice)."
    return int(subprocess.check_output(["du", "-sb", str(folder)], text=True).split()[0])


def sizes(light_venv: Path) -> dict:
    "The light install's bytes (its site-packages), the train extra's (light + what it adds), each package it adds."
    site = next((Path(light_venv)/"lib").glob("python3*/site-packages"))
    added = {n: dist_bytes(n) for n in sorted(closure("ser_nb", ["train"]) - closure("ser_nb"))}
    light = du(site) - sum(du(p) for p in site.glob("pip*") if p.is_dir())  # pip is the venv's, not ours
    return {"light_bytes": light, "train_bytes": light + sum(added.values()), "train_adds": added,
            "python": sys.version.split()[0], "measured": date.today().isoformat()}


if __name__ == "__main__":
    found = sizes(Path(sys.argv[1]))
    print(json.dumps(found, indent=1))
    if "--write" in sys.argv[2:]: STORED.write_text(json.dumps(found, indent=1) + "\n")
