"""The two commands chapter 06 recommends, `ser train transformer --frozen ...` (CPU) and the fine-tuning recipe, run as the
chapter writes them on real RAVDESS (after the README's `ser prepare`) with the real whisper-base encoder, then the saved
models loaded from Python and used."""
import json, os, re, shlex, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SER_DATA", "data")).resolve()
HUB = Path(os.environ.get("HF_HOME", Path.home()/".cache/huggingface"))/"hub"/"models--openai--whisper-base"
needs = pytest.mark.skipif(not ((DATA/"ravdess").is_dir() and HUB.is_dir()), reason="needs $SER_DATA/ravdess and openai/whisper-base in $HF_HOME")


def recommended() -> list[str]:
    "The `ser train transformer ...` commands in the opening cells of nbs/06_transformer.ipynb: [frozen, fine-tuned]."
    nb = json.loads((ROOT/"nbs/06_transformer.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"][:4] if c["cell_type"] == "markdown")
    return re.findall(r"`(ser train transformer [^`]+)`", text)


def test_the_chapter_recommends_both_paths():
    frozen, tuned = map(shlex.split, recommended())
    assert "--frozen" in frozen and "--frozen" not in tuned and all("--out" in a for a in (frozen, tuned))
    settings = json.loads(re.search(r"'(\{.*\})'", (ROOT/"benchmarks/finetune.py").read_text()).group(1))
    flags = {"--max-duration": "max_duration", "--epochs": "epochs", "--learning-rate": "lr", "--val-size": "val_size"}
    given = {flags[a]: float(b) for a, b in zip(tuned, tuned[1:]) if a in flags}
    assert given == {k: settings[k] for k in given} and len(given) == 4  # the command is the recipe the chapter's numbers come from


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    d = tmp_path_factory.mktemp("recipe")
    run(d, ["prepare", "ravdess", str(DATA/"ravdess"), "--split", "speaker"])
    return d


def run(cwd, argv):
    ser = str(Path(sys.executable).parent/"ser")
    r = subprocess.run([ser, *argv], cwd=cwd, env={**os.environ, "SER_DATA": str(DATA)}, capture_output=True, text=True, timeout=2400,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{argv}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r.stdout


def check(cwd, out, folder, min_uar):
    uar = float(re.search(r"UAR ([0-9.]+)", out).group(1))
    assert uar > min_uar, out
    from ser_nb.model import load
    model = load(cwd/folder)
    clip = str(sorted((DATA/"ravdess/Actor_01").iterdir())[0])
    emotion, confidence = model.predict(clip)
    assert emotion in model.labels and 0 < confidence <= 1
    rec = json.loads(run(cwd, ["predict", folder, clip, "--json"]))
    assert rec["emotion"] == emotion and abs(rec["confidence"] - confidence) < 1e-4


@needs
def test_recommended_frozen_command(prepared):
    argv = shlex.split(recommended()[0])
    out = run(prepared, argv[1:])
    assert "encoder: openai/whisper-base (whisper, 6 layers x 512" in out and "frozen" in out
    check(prepared, out, argv[argv.index("--out") + 1], 0.6)


@needs
def test_recommended_fine_tuning_command(prepared):
    argv = shlex.split(recommended()[1])
    out = run(prepared, argv[1:])
    assert "fine-tuned, stem frozen" in out
    check(prepared, out, argv[argv.index("--out") + 1], 0.6)
