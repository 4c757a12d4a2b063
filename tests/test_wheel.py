"""The wheel a user installs: `python -m build` makes it, it holds the pretrained models, its metadata has no
placeholder, and installed into a new virtual environment its `ser` command and `ser_nb.pipeline` predict the example.

The new environment gets the wheel alone (`pip install --no-deps`); the dependencies are lent by the environment that
runs the tests, through a `.pth` file that adds its site-packages (without the editable install of the working tree, so
every `ser_nb` module comes from the wheel). A full install of the dependencies again would cost 100 s of CI for torch."""
import json, os, subprocess, sys, sysconfig, zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

from conftest import PLACEHOLDERS
from ser_nb.model import DEFAULT_MODEL, PRETRAINED

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT/"examples"/"ravdess-actor01-angry.flac"  # an angry clip the default model answers with 0.9


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)], capture_output=True, text=True,
                       timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = out.glob("ser_nb-*.whl")
    return whl


def test_the_wheel_holds_the_pretrained_models_and_real_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    for model in PRETRAINED:
        card = f"ser_nb/pretrained/{model}/card.json"
        assert card in names
        with zipfile.ZipFile(wheel) as z: files = json.loads(z.read(card))["files"]
        assert {f"ser_nb/pretrained/{model}/{f}" for f in files} <= names, f"{model}: weights missing from the wheel"
    text = str(meta)
    assert meta["Name"] == "ser_nb"
    for placeholder in PLACEHOLDERS:
        assert placeholder not in text, f"the wheel's metadata names {placeholder}"


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    env = tmp_path_factory.mktemp("venv")/"v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    target = Path(subprocess.check_output([str(env/"bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    before = metadata.distribution("ser_nb").read_text("direct_url.json")
    # --ignore-installed: without it pip uninstalls the ser_nb of the environment running pip (the editable install) first
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "--prefix", str(env), str(wheel)],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    assert metadata.distribution("ser_nb").read_text("direct_url.json") == before, "installing the wheel changed the test environment"
    (target/"zz_lent_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env


def test_the_installed_ser_command_predicts_the_example(venv):
    # the script pip wrote, run by the new environment's Python (pip --prefix gives it the shebang of the Python that ran pip)
    r = subprocess.run([str(venv/"bin/python"), str(venv/"bin/ser"), "predict", str(EXAMPLE), "--json"], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, cwd=venv)
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    assert rec["emotion"] == "angry" and f"using the pretrained model '{DEFAULT_MODEL}'" in r.stderr


def test_the_installed_pipeline_answers_from_python(venv):
    code = ("import ser_nb, json, soundfile as sf; y, sr = sf.read(%r); clf = ser_nb.pipeline();"
            "print(json.dumps([ser_nb.__file__, clf(y, sampling_rate=sr, top_k=1)]))" % str(EXAMPLE))
    r = subprocess.run([str(venv/"bin/python"), "-c", code], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=venv)
    assert r.returncode == 0, r.stderr[-3000:]
    where, answer = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(where).is_relative_to(venv), f"ser_nb came from {where}, not from the wheel"
    assert len(answer) == 1 and set(answer[0]) == {"label", "score"} and answer[0]["label"] == "angry"
