"Intensity, arousal and valence from the shell (chapters 03 and 12): `ser train` learns them where the train CSV has their labels and says which it could not learn; `ser predict`, `ser info` and `--aspects` show and choose them."
import json
from functools import partial
from pathlib import Path

import pandas as pd, pytest

from conftest import DATA, prepared_toy, run_ser
from ser_nb.data import read_ravdess, select_emotions

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("aspects")

ser = partial(run_ser, gate=False)  # the toy clips are sine tones, which the speech gate refuses

@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "A generated RAVDESS-like tree (every clip of normal intensity) and its CSVs."
    d = tmp_path_factory.mktemp("aspects")
    return d, prepared_toy(d)

def train(d, *flags, out, csv="train_ravdess_4class.csv"):
    r = ser("train", "lr", "--train-csv", d/"csv"/csv, "--test-csv", d/"csv/test_ravdess_4class.csv", "--out", out,
            *flags, cache=d/"cache")
    assert r.returncode == 0, r.stderr
    return r.stdout

@pytest.fixture(scope="module")
def lr(toy):
    "A logistic regression trained on the toy corpus with the aspects by default, and what `ser train` said."
    d, root = toy
    return d/"models/lr", train(d, out=d/"models/lr")

def test_learnt_where_labelled_and_said_where_not(toy, lr):
    d, root = toy
    model, said = lr
    assert "intensity: not learnt, the training clips have 1 of its labels (normal); it takes two" in said, said
    assert "arousal: low, high; test UAR" in said and "valence: negative, neutral, positive; test UAR" in said, said
    card = json.loads((d/"models/lr/card.json").read_text())
    assert card["aspects"] == {"arousal": ["low", "high"], "valence": ["negative", "neutral", "positive"]}
    assert sorted(card["files"]) == ["arousal.skops", "model.skops", "valence.skops"]
    info = ser("info", d/"models/lr", cache=d/"cache").stdout
    assert "arousal: low, high; test UAR" in info and "intensity: not learnt" in info, info

def test_predict_carries_the_aspects(toy, lr):
    d, root = toy
    clip = sorted(root.rglob("*.wav"))[0]
    r = ser("predict", lr[0], clip, "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert set(rec) == {"path", "emotion", "confidence", "probabilities", "arousal", "valence"}, rec
    assert set(rec["valence"]["probabilities"]) == {"negative", "neutral", "positive"}
    assert rec["arousal"]["label"] == max(rec["arousal"]["probabilities"], key=rec["arousal"]["probabilities"].get)
    assert abs(sum(rec["arousal"]["probabilities"].values()) - 1) < 1e-6
    text = ser("predict", lr[0], clip, cache=d/"cache").stdout.strip().split("\t")
    assert text[3] == f"{rec['arousal']['label']} arousal {rec['arousal']['confidence']:.3f}", text

def test_aspects_chosen_or_none(toy):
    d, root = toy
    train(d, "--aspects", "none", out=d/"models/alone")
    card = json.loads((d/"models/alone/card.json").read_text())
    assert (card["aspects"], sorted(card["files"])) == ({}, ["model.skops"])
    train(d, "--aspects", "valence", out=d/"models/valence")
    assert list(json.loads((d/"models/valence/card.json").read_text())["aspects"]) == ["valence"]
    r = ser("train", "lr", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--out", d/"models/bad", "--aspects", "dominance", cache=d/"cache")
    assert r.returncode == 2 and "unknown aspect(s) 'dominance'" in r.stderr and "Traceback" not in r.stderr, r.stderr

def test_a_csv_without_intensity_learns_the_axes(toy):
    d, root = toy
    t = pd.read_csv(d/"csv/train_ravdess_4class.csv").drop(columns="intensity", errors="ignore")
    t.to_csv(d/"csv/no_intensity.csv", index=False)
    said = train(d, out=d/"models/axes", csv="no_intensity.csv")
    assert "intensity: not learnt, the training table has no intensity column" in said, said

@pytest.mark.skipif(not (DATA/"ravdess").is_dir(), reason="needs the RAVDESS clips under $SER_DATA")
def test_intensity_on_real_clips(tmp_path):
    "On six RAVDESS actors, where half of every emotion but neutral is strong, the LSTM asked for the aspects learns intensity."
    rav = select_emotions(read_ravdess(DATA/"ravdess"))
    rav = rav[rav.speaker.isin([f"Actor_{a:02d}" for a in range(1, 7)])]
    rav[rav.speaker <= "Actor_04"].to_csv(tmp_path/"train.csv", index=False)
    rav[rav.speaker > "Actor_04"].to_csv(tmp_path/"test.csv", index=False)
    r = ser("train", "lstm", "--train-csv", tmp_path/"train.csv", "--test-csv", tmp_path/"test.csv", "--out", tmp_path/"lstm",
            "--epochs", "2", "--param", "hidden=16", "--param", "head=16", "--aspects", "all", "--json", cache=tmp_path/"cache")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path/"lstm/card.json").read_text())
    assert card["aspects"]["intensity"] == ["normal", "strong"] and card["architecture"]["n_out"] == 4 + 2 + 2 + 3
    assert card["aspect_metrics"]["intensity"]["n_test"] == 56
    rec = json.loads(ser("predict", tmp_path/"lstm", rav.path.iloc[-1], "--json", cache=tmp_path/"cache").stdout)
    assert rec["intensity"]["label"] in ("normal", "strong") and rec["emotion"] in ("sad", "neutral", "happy", "angry"), rec
