"`ser train`, `ser predict`, `ser info` and `ser grid-search` as a user runs them: real subprocesses on a generated corpus, and on real RAVDESS clips where $SER_DATA has them."
import json, os, shutil, subprocess, sys
from pathlib import Path

import numpy as np, pandas as pd, pytest, soundfile as sf

from ser_nb.data import make_toy_corpus

SER = [sys.executable, "-c", "import sys; from ser_nb.cli import main; sys.exit(main())"]
DATA = Path(os.environ.get("SER_DATA", "data"))

def ser(*args, cache):
    env = {**os.environ, "SER_CACHE": str(cache)}
    return subprocess.run([*SER, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)

def one_line_error(r, code=2):
    assert r.returncode == code, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr

@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "A generated RAVDESS-like tree (6 speakers x 4 emotions x 2 clips), its CSVs, and an SVM trained on them."
    d = tmp_path_factory.mktemp("toy")
    root = make_toy_corpus(d/"ravdess", "ravdess", n_speakers=6, per_emotion=2)
    r = ser("prepare", "ravdess", root, "--out", d/"csv", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    r = ser("train", "svm", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--out", d/"models/svm", "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    return d, root, json.loads(r.stdout.strip().splitlines()[-1])

def test_train_json(toy):
    d, root, r = toy
    assert {"accuracy", "uar", "macro_f1", "labels", "confusion", "n_train", "n_test", "seconds"} <= set(r)
    assert r["labels"] == ["sad", "neutral", "happy", "angry"]
    cm = np.array(r["confusion"])
    assert cm.shape == (4, 4) and cm.sum() == r["n_test"] and r["n_train"] + r["n_test"] == 48
    assert 0 <= r["uar"] <= 1 and sorted(p.name for p in (d/"models/svm").iterdir()) == ["card.json", "model.skops"]

def test_train_human_and_bad_model_name(toy):
    d, root, _ = toy
    r = ser("train", "knn", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--out", d/"models/knn", "--param", "n_neighbors=3", cache=d/"cache")
    assert r.returncode == 0 and "UAR" in r.stdout and f"Saved {d/'models/knn'}" in r.stdout
    r = ser("train", "xgboost", "--train-csv", "a.csv", "--test-csv", "b.csv", "--out", d/"m", cache=d/"cache")
    assert r.returncode == 2 and "invalid choice" in r.stderr

def test_predict_files_folders_and_bad_input(toy, tmp_path):
    d, root, _ = toy
    (tmp_path/"garbage.wav").write_bytes(os.urandom(500))
    sf.write(tmp_path/"silence.wav", np.zeros(16_000, dtype=np.float32), 16_000)
    sf.write(tmp_path/"blip.wav", 0.1*np.sin(np.arange(800)/3).astype(np.float32), 16_000)  # 0.05 s
    good = sorted((root/"Actor_01").iterdir())[:2]
    r = ser("predict", d/"models/svm", *good, tmp_path, tmp_path/"missing.wav", "--json", cache=d/"cache")
    assert r.returncode == 1, r.stderr
    recs = {Path(x["path"]).name: x for x in map(json.loads, r.stdout.strip().splitlines())}
    assert len(recs) == 6
    for g in good:
        x = recs[g.name]
        assert x["emotion"] in x["probabilities"] and abs(sum(x["probabilities"].values()) - 1) < 1e-6 and 0 < x["confidence"] <= 1
    assert "not a readable audio file" in recs["garbage.wav"]["error"] and "garbage.wav" in recs["garbage.wav"]["error"]
    assert "silent" in recs["silence.wav"]["error"] and "too short" in recs["blip.wav"]["error"]
    assert "no such file" in recs["missing.wav"]["error"]
    r = ser("predict", d/"models/svm", root, "--limit", "5", cache=d/"cache")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 5
    assert all(len(l.split("\t")) == 3 for l in r.stdout.strip().splitlines())

def test_info(toy):
    d, root, r = toy
    out = ser("info", d/"models/svm", cache=d/"cache")
    assert out.returncode == 0 and "emotions: sad, neutral, happy, angry" in out.stdout and "SHA-256 verified" in out.stdout
    card = json.loads(ser("info", d/"models/svm", "--json", cache=d/"cache").stdout)
    assert card["family"] == "classical" and card["metrics"]["uar"] == r["uar"] and card["split"]["kind"] == "speaker-independent"
    assert {"ser_nb", "sklearn", "numpy", "python", "skops"} <= set(card["versions"]) and card["features"]["dim"] == 180

def test_tampered_and_missing_models_are_refused(toy, tmp_path):
    d, root, _ = toy
    m = shutil.copytree(d/"models/svm", tmp_path/"svm")
    blob = bytearray((m/"model.skops").read_bytes()); blob[len(blob)//2] ^= 0xFF
    (m/"model.skops").write_bytes(bytes(blob))
    clip = next((root/"Actor_01").iterdir())
    for args in (["info", m], ["predict", m, clip]):
        assert "model.skops: SHA-256 does not match card.json" in one_line_error(ser(*args, cache=d/"cache"))
    (m/"model.skops").unlink()
    assert "model.skops: missing" in one_line_error(ser("info", m, cache=d/"cache"))
    assert "no such model folder" in one_line_error(ser("predict", tmp_path/"nope", clip, cache=d/"cache"))
    assert "card.json: missing" in one_line_error(ser("info", tmp_path, cache=d/"cache"))

def test_grid_search_fast(toy):
    d, root, _ = toy
    r = ser("grid-search", "svm", "--train-csv", d/"csv/train_ravdess_4class.csv", "--fast", "--folds", "3",
            "--out", d/"grid", "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    rep = json.loads((d/"grid/svm.json").read_text())
    assert len(rep["results"]) == 4 and rep["cv"] == "3 speaker folds" and rep["best_params"] == json.loads(r.stdout.strip().splitlines()[-1])["best_params"]

@pytest.mark.skipif(not (DATA/"ravdess").is_dir(), reason="needs $SER_DATA/ravdess (real RAVDESS clips)")
def test_real_ravdess_clips(tmp_path):
    from ser_nb.data import read_ravdess, select_emotions, write_split_csv
    rav = select_emotions(read_ravdess(DATA/"ravdess"))
    actor = rav.speaker.str[-2:].astype(int)
    tr = rav[actor <= 4].groupby(["speaker", "emotion"]).head(4)
    write_split_csv(tr, tmp_path/"train.csv"); write_split_csv(rav[actor == 5].groupby("emotion").head(2), tmp_path/"test.csv")
    r = ser("train", "svm", "--train-csv", tmp_path/"train.csv", "--test-csv", tmp_path/"test.csv", "--out", tmp_path/"svm", "--json", cache=tmp_path/"cache")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert (res["n_train"], res["n_test"]) == (64, 8)
    clip = rav[actor == 6].path.iloc[0]
    p = json.loads(ser("predict", tmp_path/"svm", clip, "--json", cache=tmp_path/"cache").stdout)
    assert p["path"] == clip and p["emotion"] in ("sad", "neutral", "happy", "angry")
