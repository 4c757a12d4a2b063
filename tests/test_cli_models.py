"`ser train`, `ser predict`, `ser info` and `ser grid-search` as a user runs them: real subprocesses on a generated corpus, and on real RAVDESS clips where $SER_DATA has them."
import json, os, re, shlex, shutil, subprocess, sys
from functools import partial
from pathlib import Path

import numpy as np, pandas as pd, pytest, soundfile as sf

from conftest import DATA, SER, prepared_toy, run_ser
from ser_nb.classical import MODELS, RICH_FEATURES
from ser_nb.data import make_toy_corpus
from ser_nb.features import feature_dim

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("cli_models")

# the toy corpora are sine tones: `ser predict` runs here with the speech gate lifted, so that these tests reach the
# model; tests/test_cli.py tests the gate itself
ser = partial(run_ser, gate=False)
NO_GATE = ("--min-speech", "0")

def one_line_error(r, code=2):
    assert r.returncode == code, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr

@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    "A generated RAVDESS-like tree (6 speakers x 4 emotions x 2 clips), its CSVs, and an SVM trained on them with the default recipe."
    d = tmp_path_factory.mktemp("toy")
    root = prepared_toy(d)
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
    # the emotion's pipeline, and one per aspect the toy corpus teaches (its clips are all of normal intensity)
    assert 0 <= r["uar"] <= 1 and sorted(p.name for p in (d/"models/svm").iterdir()) == [
        "arousal.skops", "card.json", "model.skops", "valence.skops"]

def test_train_human_and_bad_model_name(toy):
    d, root, _ = toy
    r = ser("train", "knn", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--out", d/"models/knn", "--param", "n_neighbors=3", cache=d/"cache")
    assert r.returncode == 0 and "UAR" in r.stdout and f"Saved {d/'models/knn'}" in r.stdout
    r = ser("train", "xgboost", "--train-csv", "a.csv", "--test-csv", "b.csv", "--out", d/"m", cache=d/"cache")
    assert r.returncode == 2 and "invalid choice" in r.stderr

def test_predict_files_folders_and_bad_input(toy, tmp_path):
    d, root, _ = toy
    (tmp_path/"garbage.wav").write_bytes(b"not audio at all " * 30)  # fixed bytes: random ones can pass for an MPEG frame
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
    # path, emotion, confidence, then the aspects the toy corpus taught: "<level> arousal <p>", "<level> valence <p>"
    lines = [l.split("\t") for l in r.stdout.strip().splitlines()]
    assert all(len(l) == 5 and l[3].split()[1] == "arousal" and l[4].split()[1] == "valence" for l in lines), lines

def test_info(toy):
    d, root, r = toy
    out = ser("info", d/"models/svm", cache=d/"cache")
    assert out.returncode == 0 and "emotions: sad, neutral, happy, angry" in out.stdout and "SHA-256 verified" in out.stdout
    card = json.loads(ser("info", d/"models/svm", "--json", cache=d/"cache").stdout)
    assert card["family"] == "classical" and card["metrics"]["uar"] == r["uar"] and card["split"]["kind"] == "speaker-independent"
    assert {"ser_nb", "sklearn", "numpy", "python", "skops"} <= set(card["versions"])
    assert card["features"]["names"] == list(RICH_FEATURES) and card["features"]["trim"] is True  # the recipe, not the original 180
    assert card["features"]["dim"] == feature_dim(RICH_FEATURES)

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

def test_evaluate_matches_train_and_adds_intervals(toy, tmp_path):
    "`ser evaluate` on the test CSV gives `ser train`'s numbers; on a CSV of several speakers, intervals around them and a prediction table."
    d, root, trained = toy
    r = ser("evaluate", d/"models/svm", d/"csv/test_ravdess_4class.csv", "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout.strip().splitlines()[-1])
    assert {k: e[k] for k in ("accuracy", "uar", "macro_f1", "labels", "confusion", "n_test", "n_train")} == \
           {k: trained[k] for k in ("accuracy", "uar", "macro_f1", "labels", "confusion", "n_test", "n_train")}
    r = ser("evaluate", d/"models/svm", d/"csv/train_ravdess_4class.csv", "--json", "--predictions", tmp_path/"p.csv", cache=d/"cache")
    e = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(e["ci"]) == {"accuracy", "uar", "macro_f1"} and all(lo <= e[k] <= hi for k, (lo, hi) in e["ci"].items())
    assert set(e["per_class"]) == set(e["labels"]) and 0 <= e["ece"] <= 1 and e["n_excluded"] == 0
    p = pd.read_csv(tmp_path/"p.csv")
    assert len(p) == e["n_test"] and {"path", "speaker", "emotion", "predicted", "confidence", "p_sad"} <= set(p)
    assert ((p.predicted == p.emotion).mean() - e["accuracy"]) ** 2 < 1e-12

def test_evaluate_bad_input_is_one_line(toy, tmp_path):
    d, root, _ = toy
    csv = pd.read_csv(d/"csv/test_ravdess_4class.csv")
    # fixed bytes: random ones can look like an MPEG frame, and libsndfile's mp3 decoder then prints notes on stderr
    (tmp_path/"garbage.wav").write_bytes(b"not audio at all " * 30)
    pd.concat([csv, csv.head(1).assign(path=str(tmp_path/"garbage.wav"))]).to_csv(tmp_path/"bad.csv", index=False)
    assert "garbage.wav" in one_line_error(ser("evaluate", d/"models/svm", tmp_path/"bad.csv", cache=d/"cache"))
    assert "no such CSV file" in one_line_error(ser("evaluate", d/"models/svm", tmp_path/"none.csv", cache=d/"cache"))
    assert "not a saved ser_nb model" in one_line_error(ser("evaluate", tmp_path, d/"csv/test_ravdess_4class.csv", cache=d/"cache"))

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


def train_predict_info(d, root, name, *flags, out=None):
    "`ser train NAME FLAGS --json` on the toy CSVs, then `ser predict` (JSON lines) on 4 clips and `ser info --json`: (train result, records, card)."
    out = out or d/"models"/f"every-{name}"
    r = ser("train", name, "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--out", out, *flags, "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    clips = sorted((root/"Actor_01").iterdir())[:4]
    p = ser("predict", out, *clips, "--json", cache=d/"cache")
    assert p.returncode == 0, p.stdout + p.stderr
    recs = [json.loads(l) for l in p.stdout.strip().splitlines()]
    i = ser("info", out, "--json", cache=d/"cache")
    assert i.returncode == 0, i.stderr
    return res, recs, json.loads(i.stdout)

@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_trains_predicts_and_shows_its_card(toy, name):
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, name)
    assert res["n_train"] + res["n_test"] == 48 and res["out"] == str(d/"models"/f"every-{name}")
    assert len(recs) == 4 and all(r["emotion"] in r["probabilities"] and abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in recs)
    assert card["family"] == "classical" and card["metrics"]["uar"] == res["uar"]
    assert card["features"]["names"] == list(RICH_FEATURES) and card["features"]["trim"] is True

def test_speaker_adapted_lr(toy):
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, "lr", "--speaker-adapted", out=d/"models/lr-speaker")
    assert card["family"] == "classical_speaker" and card["adaptation"] == "speaker" and len(recs) == 4
    assert "several clips per speaker" in ser("info", d/"models/lr-speaker", cache=d/"cache").stdout

def test_recommended_ensemble_command(toy):
    "The exact `ser train ens` command the classical chapter recommends."
    d, root, _ = toy
    params = '{"svm": {"C": 10, "gamma": 0.0003}, "mlp": {"hidden_layer_sizes": [128], "alpha": 1}, "lr": {"C": 0.03}}'
    res, recs, card = train_predict_info(d, root, "ens", "--features", "mfcc_stats", "spectral_stats", "pitch", "egemaps", "--trim",
                                         "--params", params, out=d/"models/ens-recommended")
    assert card["params"]["svm"] == {"C": 10, "gamma": 0.0003} and card["params"]["lr"] == {"C": 0.03}
    assert len(recs) == 4 and card["features"]["trim"] is True

def test_original_flag(toy):
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, "svm", "--original", out=d/"models/svm-original")
    assert card["features"]["names"] == ["mfcc", "chroma", "mel"] and card["features"]["dim"] == 180 and card["features"]["trim"] is False
    r = ser("train", "svm", "--train-csv", "a.csv", "--test-csv", "b.csv", "--out", d/"m", "--original", "--features", "mfcc", cache=d/"cache")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr

def test_no_trim_and_features_override_the_recipe(toy):
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, "lr", "--features", "mfcc_stats", "--no-trim", out=d/"models/lr-plain")
    assert card["features"]["names"] == ["mfcc_stats"] and card["features"]["trim"] is False

def test_json_keeps_non_ascii_paths(toy, tmp_path):
    d, root, _ = toy
    clip = tmp_path/"grüße_😀.wav"
    shutil.copy(next((root/"Actor_01").iterdir()), clip)
    r = ser("predict", d/"models/svm", clip, "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    assert "grüße_😀.wav" in r.stdout and "\\u" not in r.stdout and json.loads(r.stdout)["path"] == str(clip)

def test_max_duration_is_checked(toy, tmp_path):
    d, root, _ = toy
    sf.write(tmp_path/"long.wav", np.zeros(70*16_000, dtype=np.int16), 16_000)
    r = ser("predict", d/"models/svm", tmp_path/"long.wav", "--json", cache=d/"cache")
    assert r.returncode == 1 and "70.0 s long, over the 60 s limit" in json.loads(r.stdout)["error"]
    r = ser("predict", d/"models/svm", tmp_path/"long.wav", "--json", "--max-duration", "80", cache=d/"cache")
    assert "silent" in json.loads(r.stdout)["error"]  # read this time: the file's own problem shows
    for bad in ("0", "-5", "nan", "inf", "none"):
        r = ser("predict", d/"models/svm", tmp_path/"long.wav", "--max-duration", bad, cache=d/"cache")
        assert r.returncode == 2 and "expected a positive number of seconds" in r.stderr, bad

def test_one_hour_wav_is_refused_in_bounded_memory(toy, tmp_path):
    "A one-hour 16 kHz WAV (115 MB) is refused from its header: exit code 1, an error record, and a small peak RSS."
    d, root, _ = toy
    long = tmp_path/"long.wav"
    block = (1000*np.sin(np.arange(16_000*60)/7)).astype(np.int16)  # one minute
    with sf.SoundFile(long, "w", 16_000, 1, "PCM_16") as f:
        for _ in range(60): f.write(block)
    assert sf.info(long).duration == 3600 and long.stat().st_size > 115e6
    wrap = ("import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True, encoding='utf-8'); "
            "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    env = {**os.environ, "SER_CACHE": str(d/"cache")}
    w = subprocess.run([sys.executable, "-c", wrap, *SER, "predict", str(d/"models/svm"), str(long), "--json", *NO_GATE],
                       capture_output=True, text=True, encoding="utf-8", env=env, timeout=600)
    res = json.loads(w.stdout)
    assert res["rc"] == 1, res
    rec = json.loads(res["out"])
    assert rec["path"] == str(long) and "3600.0 s long, over the 60 s limit" in rec["error"] and "sox" in rec["error"]
    assert res["rss_kb"] < 1.5*2**20, f"peak RSS {res['rss_kb']/1024:.0f} MB"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_models_train_predict_and_show_their_card(toy, cell):
    "`ser train lstm|gru` (a short run) saves safetensors + card; `ser predict` and `ser info` use it like any model."
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, cell, "--epochs", "2", "--param", "hidden=8", "--param", "head=8",
                                         out=d/"models"/f"every-{cell}")
    assert res["n_train"] + res["n_test"] == 48 and {"accuracy", "uar", "macro_f1", "confusion", "seconds"} <= set(res)
    assert len(recs) == 4 and all(abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in recs)
    assert card["family"] == "deep" and card["architecture"]["cell"] == cell and card["architecture"]["hidden"] == 8
    assert sorted(card["files"]) == ["model.safetensors"] and len(card["history"]) == 2
    out = ser("info", d/"models"/f"every-{cell}", cache=d/"cache").stdout
    assert f"network: bidirectional {cell.upper()}, 2 x 8 units" in out and "frames: logmel + deltas" in out

def test_recurrent_model_refuses_a_truncated_weights_file(toy, tmp_path):
    d, root, _ = toy
    ser("train", "gru", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
        "--out", tmp_path/"gru", "--epochs", "1", "--param", "hidden=4", cache=d/"cache")
    w = tmp_path/"gru/model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size//2])
    clip = next((root/"Actor_01").iterdir())
    for args in (["info", tmp_path/"gru"], ["predict", tmp_path/"gru", clip]):
        assert "model.safetensors: SHA-256 does not match card.json" in one_line_error(ser(*args, cache=d/"cache"))

def test_recurrent_training_killed_and_resumed_gives_the_same_model(toy, tmp_path):
    "SIGKILL `ser train lstm --checkpoint` once its first checkpoint is written, run it again: the same weights as an uninterrupted run."
    import signal, time
    from ser_nb.data import file_digest
    d, root, _ = toy
    def cmd(out, ck): return [*SER, "train", "lstm", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
                              "--out", out, "--checkpoint", ck, "--epochs", "40", "--param", "patience=40", "--param", "hidden=16", "--json"]
    env = {**os.environ, "SER_CACHE": str(d/"cache")}
    ck = tmp_path/"run.ckpt"
    p = subprocess.Popen([str(a) for a in cmd(tmp_path/"killed", ck)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not ck.exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.005)
    p.send_signal(signal.SIGKILL); p.wait()
    import torch
    done = torch.load(ck, weights_only=True)["epoch"]
    assert 1 <= done < 40 and not (tmp_path/"killed").exists(), f"killed after {done} epochs"
    r = subprocess.run([str(a) for a in cmd(tmp_path/"killed", ck)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    r2 = subprocess.run([str(a) for a in cmd(tmp_path/"straight", tmp_path/"straight.ckpt")], env=env, capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0, r2.stderr
    assert file_digest(tmp_path/"killed/model.safetensors", "sha256") == file_digest(tmp_path/"straight/model.safetensors", "sha256")
    a, b = (json.loads(x.stdout.strip().splitlines()[-1]) for x in (r, r2))
    assert a["confusion"] == b["confusion"]


@pytest.mark.parametrize("kind", ["whisper", "wav2vec2"])
def test_frozen_transformer_trains_predicts_and_shows_its_card(toy, tmp_path, kind):
    "`ser train transformer --frozen` on a small random encoder saved locally (the Hub's models are not needed)."
    from ser_nb.transformer import tiny_encoder
    d, root, _ = toy
    enc = tiny_encoder(kind, tmp_path/kind)
    res, recs, card = train_predict_info(d, root, "transformer", "--frozen", "--model-name", enc, "--epochs", "5", out=tmp_path/"model")
    assert res["n_train"] + res["n_test"] == 48 and len(recs) == 4 and all(abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in recs)
    assert card["family"] == "transformer" and card["backbone"]["name"] == str(enc) and card["backbone"]["type"] == kind
    assert card["frozen"] is True and sorted(card["files"]) == ["head.safetensors"] and abs(sum(card["layer_weights"]) - 1) < 1e-3
    out = ser("info", tmp_path/"model", cache=d/"cache").stdout
    assert f"encoder: {enc} ({kind}, 2 layers x 32" in out


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    from ser_nb.transformer import tiny_encoder
    return tiny_encoder("whisper", tmp_path_factory.mktemp("enc")/"whisper")

TUNE = ("--epochs", "2", "--max-duration", "1")

def test_fine_tuned_transformer_trains_predicts_and_shows_its_card(toy, tmp_path, tiny_whisper):
    "`ser train transformer` fine-tunes by default: the trained tensors are stored, the frozen stem is fetched by name."
    d, root, _ = toy
    res, recs, card = train_predict_info(d, root, "transformer", "--model-name", tiny_whisper, *TUNE, "--lora", "4", "--grad-accum", "2",
                                         "--gradient-checkpointing", "--no-mixed-precision", out=tmp_path/"model")
    assert res["n_train"] + res["n_test"] == 48 and len(recs) == 4 and all(abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in recs)
    tc = card["train_config"]
    assert card["frozen"] is False and sorted(card["files"]) == ["model.safetensors"] and card["features"]["max_duration"] == 1
    assert (tc["epochs"], tc["lora"], tc["grad_accum"], tc["checkpointing"], tc["precision"]) == (2, 4, 2, True, "no")
    out = ser("info", tmp_path/"model", cache=d/"cache").stdout
    assert "fine-tuned with LoRA rank 4" in out and "tensors fine-tuning changed are stored in model.safetensors" in out

def test_transformer_flags_are_checked(toy, tmp_path, tiny_whisper):
    d, root, _ = toy
    csvs = ("--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv", "--out", tmp_path/"m")
    r = ser("train", "transformer", *csvs, "--model-name", tiny_whisper, "--frozen", "--lora", "4", cache=d/"cache")
    assert "--lora: fine-tuning flag(s); --frozen trains a head" in one_line_error(r)
    r = ser("train", "svm", *csvs, "--freeze-encoder", cache=d/"cache")
    assert "--freeze-encoder: not an argument of `ser train svm`" in one_line_error(r)
    r = ser("train", "transformer", *csvs, "--model-name", tiny_whisper, "--max-duration", "0", cache=d/"cache")
    assert r.returncode == 2 and "expected a positive number of seconds" in r.stderr

def test_transfer_learning_default_folder_and_exclude_hindi(toy, tmp_path, tiny_whisper):
    "--init-from goes on training a saved model with a new emotion; --out defaults to models/NAME + suffix; --exclude-hindi drops URDU/Hindi rows."
    d, root, _ = toy
    train, test = (pd.read_csv(d/f"csv/{s}_ravdess_4class.csv") for s in ("train", "test"))
    fear = make_toy_corpus(tmp_path/"fear", "ravdess", n_speakers=2, per_emotion=2, emotions=["fear", "sad"])
    from ser_nb.data import read_ravdess
    extra = read_ravdess(fear)[["path", "emotion", "speaker"]].assign(corpus="urdu")
    extra["speaker"] = "urdu_" + extra.speaker
    x_train, x_test = extra[extra.speaker.str.endswith("01")], extra[extra.speaker.str.endswith("02")]
    pd.concat([train, x_train]).to_csv(tmp_path/"train.csv", index=False); pd.concat([test, x_test]).to_csv(tmp_path/"test.csv", index=False)
    r = subprocess.run([*SER, "train", "transformer", "--model-name", tiny_whisper, *TUNE, "--train-csv", tmp_path/"train.csv",
                        "--test-csv", tmp_path/"test.csv", "--exclude-hindi", "--model-name-suffix=-ravdess", "--json"],
                       capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "SER_CACHE": str(d/"cache")}, timeout=600)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["out"] == "models/whisper-ravdess" and res["n_train"] == len(train) and (tmp_path/"models/whisper-ravdess/card.json").exists()
    r = ser("train", "transformer", "--init-from", tmp_path/"models/whisper-ravdess", "--learning-rate", "1e-5", "--epochs", "1",
            "--train-csv", tmp_path/"train.csv", "--test-csv", tmp_path/"test.csv", "--out", tmp_path/"five", "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path/"five/card.json").read_text())
    assert card["labels"] == ["sad", "neutral", "happy", "angry", "fear"] and card["continued_from"]["labels"] == ["sad", "neutral", "happy", "angry"]
    assert card["train_config"]["lr"] == 1e-5


@pytest.mark.skipif(not (DATA/"urdu").is_dir(), reason="needs the URDU corpus in $SER_DATA")
def test_your_own_voice_commands(tmp_path):
    """Chapter 11's commands, exactly as the chapter shows them, on a folder of twenty clips laid out as it says: `--init-from` takes a
    pretrained name, `--val-size 0` trains every epoch on the few clips (the last stays), and the model they save loads and predicts."""
    from conftest import NBS
    from ser_nb.data import DEFAULT_EMOTIONS, read_corpus
    from ser_nb.model import load, pretrained
    shown = next("".join(o["data"]["text/markdown"]) for c in json.loads((NBS/"11_voice.ipynb").read_text())["cells"]
                 for o in c.get("outputs", []) if "ser prepare folder" in "".join(o.get("data", {}).get("text/markdown", "")))
    commands = [shlex.split(c) for c in re.search(r"```sh\n(.*?)```", shown, re.S).group(1).replace("\\\n", " ").strip().splitlines()]
    assert [c[:2] for c in commands] == [["ser", "prepare"], ["ser", "train"], ["ser", "predict"]]
    for emotion, clips in read_corpus("urdu", DATA/"urdu").groupby("emotion"):  # "me": five clips of each emotion
        (tmp_path/"my-voice"/emotion).mkdir(parents=True)
        for i, path in enumerate(clips.path[:5], 1): sf.write(tmp_path/"my-voice"/emotion/f"me_{i:02d}.wav", *sf.read(path))
    for c in commands:
        r = subprocess.run([*SER, *c[1:]], capture_output=True, text=True, cwd=tmp_path, timeout=600,
                           env={**os.environ, "SER_CACHE": str(tmp_path/"cache")})
        assert r.returncode == 0, (c, r.stderr[-2000:])
    assert r.stdout.split()[1] in DEFAULT_EMOTIONS, r.stdout  # `ser predict`: "FILE  EMOTION  CONFIDENCE"
    me = load(tmp_path/"models/my-voice")
    card = json.loads((tmp_path/"models/my-voice/card.json").read_text())
    assert card["continued_from"]["folder"] == str(pretrained("whisper-base")) and card["training"]["n"] == 15
    epochs = int(commands[1][commands[1].index("--epochs") + 1])
    assert card["val_size"] == 0 and len(card["history"]) == epochs
    assert me.predict(str(tmp_path/"my-voice/sad/me_02.wav"))[0] in DEFAULT_EMOTIONS


def test_accelerate_launch_two_cpu_processes(toy, tmp_path, tiny_whisper):
    "The multi-GPU path, `accelerate launch`, run on the CPU with two processes: one model is saved, and it predicts."
    d, root, _ = toy
    ser_script = shutil.which("ser", path=str(Path(sys.executable).parent))
    r = subprocess.run([str(Path(sys.executable).parent/"accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                        "--mixed_precision", "no", "--dynamo_backend", "no", ser_script, "train", "transformer", "--model-name", tiny_whisper, *TUNE,
                        "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv", "--out", tmp_path/"ddp", "--json"],
                       capture_output=True, text=True, env={**os.environ, "SER_CACHE": str(d/"cache"), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert len(lines) == 1, r.stdout  # only the main process reports
    assert json.loads(lines[0])["n_train"] > 0
    card = json.loads((tmp_path/"ddp/card.json").read_text())
    assert card["training"]["epochs"] == 2 and [h["processes"] for h in card["history"]] == [2, 2]  # both processes trained it
    p = ser("predict", tmp_path/"ddp", sorted((root/"Actor_01").iterdir())[0], "--json", cache=d/"cache")
    assert p.returncode == 0 and json.loads(p.stdout)["emotion"] in ("sad", "neutral", "happy", "angry")

def test_fixed_epochs_without_held_out_speakers(toy, tmp_path, tiny_whisper):
    "--val-size 0 trains every epoch on all the clips and keeps the last; train and info say so."
    d, root, _ = toy
    r = ser("train", "transformer", "--model-name", tiny_whisper, *TUNE, "--val-size", "0", "--train-csv", d/"csv/train_ravdess_4class.csv",
            "--test-csv", d/"csv/test_ravdess_4class.csv", "--out", tmp_path/"m", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    assert "2 epochs, the last kept (no speakers held out)" in r.stdout
    assert "the last kept (no speakers held out)" in ser("info", tmp_path/"m", cache=d/"cache").stdout

def test_train_with_augmented_copies(toy):
    "`--augment KINDS --copies N`: the model trains on the clips and N corrupted copies of each (cached), and its card says so."
    d, root, _ = toy
    args = ("train", "lr", "--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv",
            "--augment", "noise,telephone", "--copies", "2", "--json")
    before = set((d/"cache").rglob("*.npz"))
    r = ser(*args, "--out", d/"models/lr-aug", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    card = json.loads(ser("info", d/"models/lr-aug", "--json", cache=d/"cache").stdout)
    plain = len(pd.read_csv(d/"csv/train_ravdess_4class.csv"))
    assert card["training"]["n"] == plain and json.loads(r.stdout.strip().splitlines()[-1])["n_train"] == plain
    assert card["training"]["augmentation"] == {"kinds": ["noise", "telephone"], "copies": 2, "seed": 0, "n": 3*plain}
    assert "augmented: 2 corrupted copies of each clip (noise, telephone)" in ser("info", d/"models/lr-aug", cache=d/"cache").stdout
    assert len(set((d/"cache").rglob("*.npz")) - before) > plain, "the copies' features are cached like files (a phone line is not random: two such copies share an entry)"
    again = ser(*args, "--out", d/"models/lr-aug2", cache=d/"cache")  # the same copies: found in the cache, the same model
    assert json.loads(again.stdout.strip().splitlines()[-1])["confusion"] == json.loads(r.stdout.strip().splitlines()[-1])["confusion"]
    assert "unknown augmentation wind" in one_line_error(ser(*args[:-5], "--augment", "wind", "--out", d/"m", cache=d/"cache"))


def test_fine_tuning_corrupts_every_window_afresh(toy, tmp_path, tiny_whisper):
    "`ser train transformer --augment KINDS` (fine-tuning) corrupts each training window anew every epoch: no stored copies, and the card says so."
    d, root, _ = toy
    csvs = ("--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv")
    r = ser("train", "transformer", *csvs, "--model-name", tiny_whisper, *TUNE, "--augment", "noise,telephone",
            "--out", tmp_path/"m", "--json", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    card = json.loads(ser("info", tmp_path/"m", "--json", cache=d/"cache").stdout)
    plain = len(pd.read_csv(d/"csv/train_ravdess_4class.csv"))
    assert card["train_config"]["corrupt"] == "noise,telephone"
    assert card["training"]["augmentation"] == {"kinds": ["noise", "telephone"], "copies": None, "seed": 0, "n": plain}
    assert "augmented: every clip corrupted afresh each epoch (noise, telephone)" in ser("info", tmp_path/"m", cache=d/"cache").stdout


def test_recurrent_training_corrupts_every_clip_afresh(toy, tmp_path):
    "`ser train lstm --augment KINDS`: every epoch hears each clip through a new corruption; stored copies are refused."
    d, root, _ = toy
    csvs = ("--train-csv", d/"csv/train_ravdess_4class.csv", "--test-csv", d/"csv/test_ravdess_4class.csv")
    r = ser("train", "gru", *csvs, "--epochs", "2", "--augment", "gain,telephone", "--out", tmp_path/"m", cache=d/"cache")
    assert r.returncode == 0, r.stderr
    card = json.loads(ser("info", tmp_path/"m", "--json", cache=d/"cache").stdout)
    assert card["train_config"]["corrupt"] == "gain,telephone" and card["training"]["augmentation"]["copies"] is None
    r = ser("train", "gru", *csvs, "--epochs", "2", "--augment", "gain", "--copies", "2", "--out", tmp_path/"m2", cache=d/"cache")
    assert "copies: gru corrupts its training audio afresh every epoch" in one_line_error(r)
