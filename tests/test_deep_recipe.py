"""The command chapter 05 recommends, `ser train lstm ...`, run as the chapter writes it on real RAVDESS (after the
README's `ser prepare`), then the saved model loaded from Python and used.

To keep CI short the training CSV is cut to 48 clips of each emotion, spread over its 19 actors (`conftest.keep_few`);
the test CSV keeps all 140 clips of its five unseen actors. Trained so, the recipe scored UAR 0.53-0.57 with seeds 0-2
(chance: 0.25); chapter 05 reports what it scores on the full folds."""
import json, os, re, shlex, subprocess, sys
from pathlib import Path

import pytest

from conftest import keep_few

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("deep_recipe")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SER_DATA", "data")).resolve()


def recommended() -> str:
    "The `ser train lstm ...` command in the opening cells of nbs/05_deep.ipynb."
    nb = json.loads((ROOT/"nbs/05_deep.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"][:4] if c["cell_type"] == "markdown")
    return re.search(r"`(ser train lstm [^`]+)`", text).group(1)


def test_the_chapter_recommends_the_default_recipe():
    argv = shlex.split(recommended())
    assert argv[:3] == ["ser", "train", "lstm"] and "--out" in argv and not any(a.startswith("--param") for a in argv)


@pytest.mark.skipif(not (DATA/"ravdess").is_dir(), reason="needs $SER_DATA/ravdess (real RAVDESS clips)")
def test_recommended_lstm_command_trains_saves_and_predicts(tmp_path):
    ser = str(Path(sys.executable).parent/"ser")
    env = {**os.environ, "SER_DATA": str(DATA)}
    def run(argv):
        r = subprocess.run([ser, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"{argv}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        return r.stdout
    run(["prepare", "ravdess", str(DATA/"ravdess"), "--split", "speaker"])
    assert keep_few(tmp_path/"data/csv/train_ravdess_4class.csv", 48) == 192
    out = run(shlex.split(recommended())[1:])
    assert "network: bidirectional LSTM, 2 x 64 units" in out and "Saved models/lstm" in out
    uar = float(re.search(r"UAR ([0-9.]+)", out).group(1))
    assert "Trained lstm on 192 clips, tested on 140" in out
    assert uar > 0.45, out  # a trained model on five unseen actors, far above chance (0.25)
    from ser_nb.model import load
    model = load(tmp_path/"models/lstm")
    clip = str(sorted((DATA/"ravdess/Actor_01").iterdir())[0])
    emotion, confidence = model.predict(clip)
    assert emotion in model.labels and 0 < confidence <= 1
    rec = json.loads(run(["predict", "models/lstm", clip, "--json"]))
    assert rec["emotion"] == emotion and abs(rec["confidence"] - confidence) < 1e-5
