"The installed `ser` command, as a user runs it: real subprocesses, real corpora where $SER_DATA has them."
import json, os, re, subprocess, sys
from pathlib import Path

import numpy as np, pandas as pd, pytest

from conftest import DATA, SER, run_ser
from ser_nb.data import make_toy_corpus

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("cli")

ser = run_ser

def test_console_script_is_installed():
    exe = Path(sys.executable).parent/"ser"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ser_nb ")

def test_prepare_reports_bad_files_without_traceback(tmp_path):
    root = make_toy_corpus(tmp_path/"urdu", "urdu", n_speakers=6)
    bad = root/"Sad/SM9_F01_S001.wav"
    bad.write_bytes(b"not audio at all " * 18)  # fixed bytes: random ones can pass for an MPEG frame
    r = ser("prepare", "urdu", root, "--out", tmp_path/"csv")
    assert r.returncode == 0, r.stderr
    assert f"{bad}: not a readable audio file" in r.stdout and "Traceback" not in r.stdout + r.stderr
    assert len(pd.read_csv(tmp_path/"csv/train_urdu_4class.csv")) + len(pd.read_csv(tmp_path/"csv/test_urdu_4class.csv")) == 48

@pytest.mark.parametrize("args,msg", [
    (["prepare", "ravdess", "/nonexistent/ravdess"], "/nonexistent/ravdess: no such folder"),
    (["prepare", "tess", "{tmp}"], "no TESS audio files found"),
    (["prepare", "csv", "{tmp}/x.csv"], "x.csv: no such CSV file"),
])
def test_user_errors_are_one_line(tmp_path, args, msg):
    r = ser(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2 and msg in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1

def test_check_json():
    r = ser("check", "--json")
    info = json.loads(r.stdout)
    assert r.returncode == 0 and info["torch"].startswith("2.") and "device" in info

need_data = pytest.mark.skipif(not (DATA/"ravdess").is_dir(), reason="set SER_DATA to a folder with ravdess/ and urdu/")

@need_data
def test_prepare_ravdess_speaker_split(tmp_path):
    r = ser("prepare", "ravdess", DATA/"ravdess", "--split", "speaker", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    tr, te = pd.read_csv(tmp_path/"train_ravdess_4class.csv"), pd.read_csv(tmp_path/"test_ravdess_4class.csv")
    assert len(tr) + len(te) == 672
    assert pd.concat([tr, te]).speaker.nunique() == 24
    assert not set(tr.speaker) & set(te.speaker)

@need_data
def test_prepare_urdu_folder(tmp_path):
    r = ser("prepare", "folder", DATA/"urdu", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    assert sum(len(pd.read_csv(p)) for p in tmp_path.glob("*_urdu_4class.csv")) == 400

@pytest.mark.parametrize("argv", [["--help"], ["prepare", "--help"], ["download", "--help"]])
def test_help_imports_no_model_library(argv):
    "Only the subcommand being run declares its flags, so `ser --help` and `ser prepare` never import scikit-learn or torch."
    code = ("import sys\nfrom ser_nb.cli import main\ntry: main(sys.argv[1:])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('sklearn', 'torch', 'librosa', 'opensmile', 'ser_nb.classical') if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert r.stderr.strip().splitlines()[-1] == "[]", r.stderr

def test_train_help_names_every_model_and_the_defaults():
    from ser_nb.classical import MODELS
    from ser_nb.deep import CELL_NAMES
    r = ser("train", "--help")
    flat = " ".join(r.stdout.split())
    assert r.returncode == 0 and all(f" {m} " in flat for m in [*MODELS, *CELL_NAMES, "transformer"]), flat


def _help(*argv) -> str:
    "What `ser ARGV --help` prints, in this process, on a terminal wide enough not to break flags."
    from ser_nb.cli import run_ser
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "400"
    try: code, out, err = run_ser(*argv, "--help")
    finally:
        if old is None: del os.environ["COLUMNS"]
        else: os.environ["COLUMNS"] = old
    assert code == 0, err
    return out


def _flags(*argv) -> set[str]:
    "The flags `ser ARGV --help` lists."
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", _help(*argv)))


def test_each_family_lists_only_its_own_flags():
    "`ser train lstm --help` shows what an LSTM takes and nothing else; the same for every family, and grid-search."
    from ser_nb.classical import GRIDS, RICH_FEATURES
    from ser_nb.deep import RecurrentConfig
    from ser_nb.transformer import HEAD_TRAINING, TuneConfig
    shared = {"--train-csv", "--test-csv", "--out", "--model-name-suffix", "--emotions", "--balance", "--augment",
              "--copies", "--aspects", "--param", "--params", "--json", "--help"}
    loop = {"--epochs", "--batch-size", "--learning-rate", "--checkpoint", "--trim", "--no-trim"}
    assert _flags("train", "svm") == shared | {"--features", "--original", "--trim", "--no-trim", "--speaker-adapted"}
    assert _flags("train", "lstm") == shared | loop | {"--frames", "--speaker-adapted"}
    tuning = {"--freeze-encoder", "--lora", "--grad-accum", "--gradient-checkpointing", "--no-mixed-precision"}
    assert _flags("train", "transformer") == shared | loop | tuning | {"--model-name", "--frozen", "--val-size", "--max-duration",
                                                                      "--exclude-hindi", "--init-from"}
    flat = " ".join(_help("train", "gru").split())
    assert f"(default {RecurrentConfig().epochs})" in flat and "lstm and gru:" in flat
    flat = " ".join(_help("train", "transformer").split())
    assert f"(default {TuneConfig().epochs}; --frozen {HEAD_TRAINING['epochs']})" in flat
    assert f"default: the recipe's, {' '.join(RICH_FEATURES)}" in " ".join(_help("train", "ens").split())
    assert _flags("grid-search", "svm") == {"--train-csv", "--emotions", "--features", "--original", "--trim", "--no-trim",
                                           "--speaker-adapted", "--folds", "--fast", "--out", "--json", "--help"}
    assert "C in [1, 3, 10, 30, 100]" in " ".join(_help("grid-search", "svm").split())
    assert set(GRIDS) <= set(" ".join(_help("grid-search").split()).split())


def test_a_flag_of_another_family_is_named():
    r = ser("train", "lstm", "--train-csv", "a.csv", "--test-csv", "b.csv", "--features", "mfcc")
    assert r.returncode == 2, r
    assert r.stderr.strip() == "ser: error: --features mfcc: not an argument of `ser train lstm` (see `ser train lstm --help`)"


def test_check_json_keeps_non_ascii(tmp_path):
    root = tmp_path/"données_😀"
    root.mkdir()
    r = subprocess.run([*SER, "check", "--json"], capture_output=True, text=True, encoding="utf-8", env={**os.environ, "SER_DATA": str(root)})
    assert r.returncode == 0 and "données_😀" in r.stdout and json.loads(r.stdout)["data_root"].startswith(str(root))


def test_predict_refuses_audio_without_speech(tmp_path):
    "No speech, no emotion: noise and a tone get 'no speech found' (an error record with --json, exit 1); speech gets a label."
    import numpy as np, soundfile as sf
    rng, t = np.random.default_rng(0), np.arange(32_000)/16_000
    sf.write(tmp_path/"hiss.wav", rng.normal(0, .1, len(t)).astype(np.float32), 16_000)
    sf.write(tmp_path/"beep.wav", (0.5*np.sin(2*np.pi*440*t)).astype(np.float32), 16_000)
    example = Path(__file__).resolve().parents[1]/"examples/espeak-kids-are-talking.wav"
    r = ser("predict", tmp_path/"hiss.wav", tmp_path/"beep.wav", example, "--json")
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    assert r.returncode == 1 and "2 file(s) could not be predicted" in r.stderr
    assert [x.get("error") for x in recs[:2]] == [f"no speech found in {tmp_path/n} (0 ms of speech)" for n in ("hiss.wav", "beep.wav")]
    assert recs[2]["emotion"] in ("sad", "neutral", "happy", "angry")
    lifted = ser("predict", tmp_path/"hiss.wav", "--min-speech", "0")
    assert lifted.returncode == 0 and lifted.stdout.split("\t")[1] in ("sad", "neutral", "happy", "angry")
    assert "--min-speech must be 0" in ser("predict", tmp_path/"hiss.wav", "--min-speech", "-1").stderr


def test_predict_abstains_below_min_confidence():
    "`--min-confidence P`: an answer below P says 'uncertain' (text and --json keep the confidence and probabilities)."
    examples = Path(__file__).resolve().parents[1]/"examples"
    clips = [examples/"espeak-kids-are-talking.wav", examples/"ravdess-actor01-angry.flac"]
    plain = {l.split("\t")[0]: float(l.split("\t")[2]) for l in ser("predict", *clips).stdout.splitlines()}
    p = (min(plain.values()) + max(plain.values()))/2  # between the two answers' confidences
    r = ser("predict", *clips, "--min-confidence", f"{p:.4f}", "--json")
    recs = {x["path"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert r.returncode == 0 and len(recs) == 2
    for path, conf in plain.items():
        assert (recs[path]["emotion"] == "uncertain") == (conf < p) and abs(recs[path]["confidence"] - conf) < 1e-3
    assert "between 0 and 1" in ser("predict", clips[0], "--min-confidence", "2").stderr


def test_predict_adapts_a_frozen_head_to_the_files_given():
    "`--adapt`: a head on a frozen encoder, or its export (the default), takes its standardisation from the files it predicts; a model that cannot says so."
    import os
    examples = Path(__file__).resolve().parents[1]/"examples"
    refused = ser("predict", "classical", examples, "--adapt")
    assert refused.returncode != 0 and "cannot adapt to unlabelled clips" in refused.stderr and "Traceback" not in refused.stderr
    probabilities = lambda r: np.array([list(json.loads(l)["probabilities"].values()) for l in r.stdout.splitlines()])
    plain, adapted = (ser("predict", examples, "--json", *extra) for extra in ((), ("--adapt",)))
    assert plain.returncode == adapted.returncode == 0, adapted.stderr
    p, a = probabilities(plain), probabilities(adapted)
    assert p.shape == a.shape == (5, 4) and np.abs(p - a).max() > 0.01  # standardised by the clips' own statistics
    hub = Path(os.environ.get("HF_HOME", Path.home()/".cache/huggingface"))/"hub"/"models--openai--whisper-base"
    if not hub.is_dir(): return  # the whisper-base encoder comes from the Hub (or $HF_HOME)
    torch_adapted = ser("predict", "whisper-base", examples, "--json", "--adapt")
    assert torch_adapted.returncode == 0, torch_adapted.stderr
    t = probabilities(torch_adapted)
    # the int8 export adapts as its torch head does: int8 weights move probabilities by a few hundredths
    assert (t.argmax(1) == a.argmax(1)).all() and np.abs(t - a).max() < 0.1, (t, a)


def test_predict_imports_only_what_it_needs():
    "`ser predict` with the default model imports no torch, scikit-learn, librosa or scipy.signal (the corruptions of chapter 01c): each would add most of a second to every cold start."
    clip = Path(__file__).resolve().parents[1]/"examples"/"ravdess-actor01-angry.flac"
    code = ("import sys; from ser_nb.cli import main; sys.argv = ['ser', 'predict', sys.argv[1]]\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sklearn', 'librosa') or m.startswith('scipy.signal')))")
    r = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "angry" in r.stdout and r.stdout.strip().splitlines()[-1] == "[]", r.stdout
