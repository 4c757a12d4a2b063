"""The wheel a user installs, and the light install it makes: `python -m build` makes the wheel, it holds the
pretrained models, its metadata has no placeholder and asks for torch only in the `train` extra; installed with its
dependencies into a new virtual environment (`pip install -c constraints.txt WHEEL`, no torch), its `ser` command
predicts, follows a timeline and serves the default model, `ser_nb.pipeline` answers, the classical family works, a
torch model names the install it needs, and the install's size matches the one the README states.

pip takes the dependencies from its cache, filled by the install of the environment that runs the tests."""
import json, os, socket, subprocess, sys, time, zipfile
from email.parser import Parser
from pathlib import Path

import httpx, pytest

from conftest import PLACEHOLDERS
from ser_nb.model import DEFAULT_MODEL, PRETRAINED
from ser_nb.data import TRAIN_EXTRA

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("wheel")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT/"examples"/"ravdess-actor01-angry.flac"  # an angry clip the default model answers with 0.9
TORCH_LIBRARIES = ("torch", "torchaudio", "transformers", "accelerate", "peft", "triton")


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
    assert {"ser_nb/vad/silero_vad.onnx", "ser_nb/vad/LICENSE"} <= names, "the VAD model ships in the wheel"
    text = str(meta)
    assert meta["Name"] == "ser_nb"
    for placeholder in PLACEHOLDERS:
        assert placeholder not in text, f"the wheel's metadata names {placeholder}"
    torch_reqs = [r for r in meta.get_all("Requires-Dist") if r.split()[0].split("=")[0].split("~")[0] in TORCH_LIBRARIES]
    assert torch_reqs and all('extra == "train"' in r for r in torch_reqs), torch_reqs


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    "A new virtual environment with the wheel and its dependencies: the light install."
    env = tmp_path_factory.mktemp("venv")/"light"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    r = subprocess.run([str(env/"bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", str(ROOT/"constraints.txt"),
                        str(wheel)], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    return env


def ser(venv: Path, *args, **kw) -> subprocess.CompletedProcess:
    "`ser ARGS` of the light install, run in its folder (so nothing comes from the working tree)."
    return subprocess.run([str(venv/"bin/ser"), *map(str, args)], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          cwd=venv, **kw)


def test_the_light_install_has_no_torch(venv):
    code = f"import importlib.util as u; print([m for m in {TORCH_LIBRARIES!r} if u.find_spec(m)])"
    r = subprocess.run([str(venv/"bin/python"), "-c", code], capture_output=True, text=True, timeout=60, cwd=venv)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_the_installed_ser_command_predicts_the_example(venv):
    r = ser(venv, "predict", EXAMPLE, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    assert rec["emotion"] == "angry" and f"using the pretrained model '{DEFAULT_MODEL}'" in r.stderr
    r = ser(venv, "predict", "classical", EXAMPLE, "--json")
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])["emotion"] == "angry", r.stderr[-3000:]


def test_the_installed_timeline_follows_the_example(venv):
    r = ser(venv, "timeline", EXAMPLE, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [row["emotion"] for row in rows] == ["angry"], rows


def test_the_installed_service_answers_with_a_token(venv):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    proc = subprocess.Popen([str(venv/"bin/ser"), "serve", "--port", str(port)], cwd=venv, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SER_TOKEN": "light-secret"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try: health = httpx.get(f"{url}/health"); break
            except httpx.TransportError: time.sleep(0.1)
        else: pytest.fail(f"ser serve did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
        assert health.status_code == 200, health.text
        files = {"file": (EXAMPLE.name, EXAMPLE.read_bytes())}
        assert httpx.post(f"{url}/predict", files=files).status_code == 401
        r = httpx.post(f"{url}/predict", files=files, headers={"Authorization": "Bearer light-secret"}, timeout=60)
        assert r.status_code == 200 and r.json()["emotion"] == "angry", r.text
    finally:
        proc.terminate(); proc.wait(30)


def test_torch_models_name_the_install_they_need(venv):
    for args in (("predict", "whisper-base", EXAMPLE), ("train", "lstm", "--train-csv", "a.csv", "--test-csv", "b.csv", "--epochs", "3"),
                 ("export", "whisper-base", "--quantize", "int8")):
        r = ser(venv, *args)
        assert r.returncode == 2 and TRAIN_EXTRA in r.stderr and "Traceback" not in r.stderr, (args, r.stderr[-2000:])
    r = ser(venv, "train", "--help")
    assert r.returncode == 0 and f"(needs {TRAIN_EXTRA})" in r.stdout.replace("\n", " ").replace("  ", " "), r.stdout


def test_the_install_sizes_the_readme_states(venv):
    "The light install's size, and the train extra's, within 10% of nbs/results/install.json (tools/install_sizes.py)."
    from install_sizes import STORED, sizes
    found, stored = sizes(venv), json.loads(STORED.read_text())
    for k in ("light_bytes", "train_bytes"):
        assert abs(found[k]/stored[k] - 1) < 0.1, f"{k}: {found[k]/2**30:.2f} GiB here, {stored[k]/2**30:.2f} GiB stored: python tools/install_sizes.py VENV --write"


def test_the_installed_pipeline_answers_from_python(venv):
    code = ("import ser_nb, json, soundfile as sf; y, sr = sf.read(%r); clf = ser_nb.pipeline();"
            "print(json.dumps([ser_nb.__file__, clf(y, sampling_rate=sr, top_k=1)]))" % str(EXAMPLE))
    r = subprocess.run([str(venv/"bin/python"), "-c", code], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=venv)
    assert r.returncode == 0, r.stderr[-3000:]
    where, answer = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(where).is_relative_to(venv), f"ser_nb came from {where}, not from the wheel"
    assert len(answer) == 1 and set(answer[0]) == {"label", "score"} and answer[0]["label"] == "angry"
