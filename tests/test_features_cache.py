"The feature cache goes to the per-user cache folder, never into the folder `extract` (or `ser predict`) runs from."
import os, subprocess, sys
from pathlib import Path

import pytest

from ser_nb.data import make_toy_corpus

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("features_cache")

RUN = """
import sys
from ser_nb.features import cache_dir_of, extract

X = extract(sys.argv[2:], n_jobs=int(sys.argv[1]), progress=False)
print(cache_dir_of())
print(X.shape[0], int((X == X).all()))
"""


def run_extract(tmp_path, env_extra: dict, n_jobs: int = 1, drop=("SER_CACHE", "XDG_CACHE_HOME")):
    "Run `extract` on 8 toy files in a fresh process, from an empty working folder; return (cwd, home, stdout lines)."
    work, home = tmp_path/"work", tmp_path/"home"
    work.mkdir(); home.mkdir()
    files = sorted(str(p) for p in make_toy_corpus(tmp_path/"audio", "ravdess", n_speakers=2, per_emotion=1).rglob("*.wav"))
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"HOME": str(home)} | {k: str(v) for k, v in env_extra.items()}
    r = subprocess.run([sys.executable, "-c", RUN, str(n_jobs), *files], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    return work, home, r.stdout.split("\n")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_default_cache_is_the_users_not_the_working_folder(tmp_path, n_jobs):
    work, home, out = run_extract(tmp_path, {"XDG_CACHE_HOME": tmp_path/"xdg"}, n_jobs=n_jobs)
    assert list(work.iterdir()) == [], f"extract wrote into its working folder: {sorted(p.name for p in work.iterdir())}"
    assert Path(out[0]) == tmp_path/"xdg"/"ser_nb"/"features"
    assert out[1] == "8 1"
    assert len(list((tmp_path/"xdg"/"ser_nb"/"features").glob("*.npz"))) == 8


def test_without_xdg_the_cache_is_under_home(tmp_path):
    work, home, out = run_extract(tmp_path, {})
    assert list(work.iterdir()) == []
    assert Path(out[0]) == home/".cache"/"ser_nb"/"features"
    assert len(list((home/".cache"/"ser_nb"/"features").glob("*.npz"))) == 8


def test_ser_cache_overrides_the_default(tmp_path):
    work, home, out = run_extract(tmp_path, {"SER_CACHE": tmp_path/"mine", "XDG_CACHE_HOME": tmp_path/"xdg"})
    assert list(work.iterdir()) == [] and not (tmp_path/"xdg").exists()
    assert Path(out[0]) == tmp_path/"mine"
    assert len(list((tmp_path/"mine").glob("*.npz"))) == 8
