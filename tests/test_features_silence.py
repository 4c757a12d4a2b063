"A constant (DC) signal is silence: `extract` refuses it with a clear message instead of giving it features."
import numpy as np, pytest, soundfile as sf

from ser_nb.data import AudioError
from ser_nb.features import SILENCE_PEAK, check_clip, extract

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("features_silence")

T = np.arange(48_000)/48_000


@pytest.mark.parametrize("name,y,sr", [
    ("dc.wav", np.full(16_000, 0.5), 16_000),
    ("dc_negative.wav", np.full(16_000, -0.25), 16_000),
    ("dc48.wav", np.full(48_000, 0.5), 48_000),
    ("dc_noise48.wav", 0.5 + 0.1*SILENCE_PEAK*np.random.default_rng(0).standard_normal(48_000), 48_000),
])
def test_constant_files_are_silent(tmp_path, name, y, sr):
    sf.write(tmp_path/name, y.astype(np.float32), sr, subtype="FLOAT")
    with pytest.raises(AudioError, match=rf"{name}: is silent \(a constant signal, no AC energy\)"):
        extract([tmp_path/name], cache_dir=False, progress=False)
    X, failed = extract([tmp_path/name], cache_dir=False, progress=False, errors="skip")
    assert np.isnan(X).all() and "no AC energy" in failed[0]


def test_tone_on_dc_offset_and_speechlike_signals_pass(tmp_path):
    sf.write(tmp_path/"tone_dc.wav", (0.4 + 0.2*np.sin(2*np.pi*220*T)).astype(np.float32), 48_000)
    sf.write(tmp_path/"quiet_tone.wav", (10*SILENCE_PEAK*np.sin(2*np.pi*220*T)).astype(np.float32), 48_000, subtype="FLOAT")
    X = extract([tmp_path/"tone_dc.wav", tmp_path/"quiet_tone.wav"], cache_dir=False, progress=False, n_jobs=1)
    assert np.isfinite(X).all()


def test_check_clip_messages():
    with pytest.raises(AudioError, match="x.wav: is silent \\(a constant signal, no AC energy\\)"): check_clip(np.full(8_000, 0.5), where="x.wav")
    with pytest.raises(AudioError, match="every sample is zero"): check_clip(np.zeros(8_000))
    assert check_clip(0.5 + 0.1*np.sin(np.arange(8_000))).dtype == np.float32
