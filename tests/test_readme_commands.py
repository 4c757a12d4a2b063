"""The README's first commands, run as written: the `ser` commands of its first shell block, in a fresh folder (with
the repository's `examples/`), on the corpora in $SER_DATA: a prediction with the pretrained model right after
installing, then the main job; the saved model is then loaded from Python and used."""
import os, re, shlex, subprocess, sys
from pathlib import Path

import pytest

from ser_nb.model import DEFAULT_MODEL

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("readme_commands")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SER_DATA", "data")).resolve()


def main_job() -> list[str]:
    "The `ser ...` commands of the README's first ```sh block before its tests, in order (the venv and pip steps left out)."
    block = re.search(r"```sh\n(.*?)```", (ROOT/"README.md").read_text(), re.S).group(1)
    chain = re.sub(r"\\\n\s*", " ", block.split("# 3.")[0])
    cmds = [c.strip() for line in chain.splitlines() if not line.lstrip().startswith("#") for c in line.split("&&")]
    return [c for c in cmds if c.startswith(".venv/bin/ser ")]


def test_the_readme_names_the_main_job():
    assert [shlex.split(c)[1] for c in main_job()] == ["predict", "download", "prepare", "train", "predict", "info"]


@pytest.mark.skipif(not (DATA/"ravdess").is_dir(), reason="needs $SER_DATA/ravdess (real RAVDESS clips)")
def test_main_job_runs_as_written(tmp_path):
    ser = str(Path(sys.executable).parent/"ser")
    env = {**os.environ, "SER_DATA": str(DATA)}
    out = {}
    (tmp_path/"examples").symlink_to(ROOT/"examples")
    for i, cmd in enumerate(main_job()):
        argv = [os.path.expandvars(a.replace("$SER_DATA", str(DATA))) for a in shlex.split(cmd)]
        r = subprocess.run([ser, *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        out[argv[1] if i else "first"] = r.stdout, r.stderr
    first, err = out.pop("first")
    assert f"using the pretrained model '{DEFAULT_MODEL}'" in err
    answers = {path: (emotion, float(confidence)) for path, emotion, confidence in (l.split("\t") for l in first.strip().splitlines())}
    assert len(answers) == 5 and all(0 < c <= 1 for _, c in answers.values())
    for path, (emotion, _) in answers.items():  # the four acted clips get the emotion their actor played (the default model heard them in training)
        if "ravdess" in path: assert path.endswith(f"-{emotion}.flac"), f"{path}: {emotion}"
    out = {k: v[0] for k, v in out.items()}
    assert "Wrote data/csv/train_ravdess_4class.csv" in out["prepare"]
    assert "Saved models/svm" in out["train"]
    assert len(out["predict"].strip().splitlines()) == 4
    assert "SHA-256 verified" in out["info"] and "mfcc_stats" in out["info"]
    from ser_nb.model import load
    model = load(tmp_path/"models/svm")
    emotion, confidence = model.predict(str(sorted((DATA/"ravdess/Actor_01").iterdir())[0]))
    assert emotion in model.labels and 0 < confidence <= 1
    assert not (tmp_path/"features").exists(), "the feature cache must not land in the working directory"
