"Data layer on generated corpora: every layout, every kind of bad file, splits and CSVs."
import numpy as np, pandas as pd, pytest, soundfile as sf

from ser_nb.data import (AudioError, CorpusError, DEFAULT_EMOTIONS, canonical_emotion, load_audio, make_toy_corpus, prepare,
                         read_corpus, read_csv_corpus, read_folder, read_split_csv, resample, scan_audio, select_emotions,
                         silence_reason, speaker_folds, speaker_key, split_random, split_speakers)

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("data")

FIVE = ("sad", "neutral", "happy", "angry", "surprised")

@pytest.mark.parametrize("layout,corpus,kwargs,n,speakers", [
    ("ravdess", "ravdess", {}, 32, 4),
    ("tess", "tess", {}, 20, 2),
    ("tess_flat", "tess", {}, 20, 2),
    ("urdu", "urdu", {}, 32, 4),
    ("hindi", "hindi", {"speaker": r"^(spk\d+)"}, 32, 4),
    ("hindi", "folder", {}, 32, 4),
])
def test_readers(tmp_path, layout, corpus, kwargs, n, speakers):
    emotions = FIVE if layout.startswith("tess") else DEFAULT_EMOTIONS
    root = make_toy_corpus(tmp_path/layout, layout, emotions=emotions, ext=".flac" if layout == "urdu" else ".wav")
    df = read_corpus(corpus, root, **kwargs)
    assert (len(df), df.speaker.nunique()) == (n, speakers)
    assert set(df.emotion) == set(emotions)
    assert list(df.columns[:6]) == ["path", "emotion", "speaker", "corpus", "gender", "language"]
    assert all(load_audio(p).dtype == np.float32 for p in df.path[:3])

def test_bad_files_are_named_and_skipped(tmp_path):
    root = make_toy_corpus(tmp_path/"hindi", "hindi", per_emotion=1)
    (root/"sad/spk1_sad_corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    (root/"sad/spk2_sad_empty.wav").write_bytes(b"")
    sf.write(root/"sad/spk3_sad_zero.wav", np.zeros(0, dtype=np.float32), 16_000)
    good, bad = scan_audio(read_corpus("hindi", root), progress=False)
    assert len(good) == 16
    assert sorted(p.split("/")[-1] for p in bad.path) == ["spk1_sad_corrupt.wav", "spk2_sad_empty.wav", "spk3_sad_zero.wav"]
    for p in bad.path:
        with pytest.raises(AudioError, match=p.split("/")[-1]): load_audio(p)

def test_stereo_8bit_and_rates(tmp_path):
    t = np.arange(44_100)/44_100
    x = np.stack([np.sin(2*np.pi*300*t), -np.sin(2*np.pi*300*t) + 0.5*np.sin(2*np.pi*900*t)], 1)*0.4
    sf.write(tmp_path/"s.wav", x, 44_100, subtype="PCM_U8")
    y = load_audio(tmp_path/"s.wav")
    assert y.shape == (16_000,) and y.dtype == np.float32
    mono = load_audio(tmp_path/"s.wav", sr=44_100)
    assert np.abs(mono - x.mean(1)).max() < 0.02  # the channels are averaged (8-bit quantisation aside)
    assert len(load_audio(tmp_path/"s.wav", sr=22_050, max_duration=0.5)) == 11_025

def test_splits_are_speaker_disjoint_and_seeded(tmp_path):
    df = read_corpus("ravdess", make_toy_corpus(tmp_path/"r", "ravdess", n_speakers=10))
    a_tr, a_te = split_speakers(df, test_size=0.3, seed=3)
    b_tr, b_te = split_speakers(df, test_size=0.3, seed=3)
    assert a_te.path.tolist() == b_te.path.tolist()
    assert not set(speaker_key(a_tr)) & set(speaker_key(a_te))
    assert len(a_te) == 3*len(df)//10
    r_tr, r_te = split_random(df, test_size=0.25, seed=0)
    assert len(r_te) == len(df)//4 and r_te.emotion.value_counts().nunique() == 1  # stratified
    folds = speaker_folds(df, n_folds=5)
    assert pd.Series(folds).groupby(df.speaker.values).nunique().max() == 1
    with pytest.raises(CorpusError, match="at least 2 speakers"): split_speakers(df[df.speaker == "Actor_01"])

def test_prepare_writes_csvs(tmp_path):
    root = make_toy_corpus(tmp_path/"tess", "tess", emotions=FIVE, per_emotion=4)
    r = prepare("tess", root, emotions=["ps", "Anger"], out=tmp_path/"csv", test_size=0.5, progress=False)
    assert [p.name for p in (r.train_csv, r.test_csv)] == ["train_tess_2class.csv", "test_tess_2class.csv"]
    back = pd.concat([read_split_csv(r.train_csv), read_split_csv(r.test_csv)])
    assert len(back) == 16 and set(back.emotion) == {"surprised", "angry"}
    assert read_split_csv(r.train_csv).speaker.nunique() == 1  # two speakers: one each side
    assert not list((tmp_path/"csv").glob(".*"))  # no temporary files left


def test_one_emotion_normaliser(tmp_path):
    "Every reader and `select_emotions` accept the spellings `canonical_emotion` accepts, 'Pleasant Surprise' included."
    assert canonical_emotion("Pleasant Surprise") == canonical_emotion("pleasant-surprised") == canonical_emotion("ps") == "surprised"
    with pytest.raises(ValueError, match="unknown emotion"): canonical_emotion("Very Excited")
    assert canonical_emotion("Very Excited", strict=False) == "very_excited"
    tess = read_corpus("tess", make_toy_corpus(tmp_path/"tess", "tess", emotions=FIVE))
    assert select_emotions(tess, ["Pleasant Surprise"]).emotion.tolist() == ["surprised"]*4
    assert len(select_emotions(tess, ["PS", "Anger"])) == 8
    hindi = make_toy_corpus(tmp_path/"hindi", "hindi", per_emotion=1, emotions=("sad", "surprised"))
    (hindi/"surprised").rename(hindi/"Pleasant Surprise")
    assert sorted(read_folder(hindi).emotion) == ["sad"]*4 + ["surprised"]*4
    pd.DataFrame({"path": ["a.wav", "b.wav", "c.wav"], "emotion": ["Pleasant Surprise", "Very Excited", "very-excited"],
                  "speaker": ["x", "y", "z"]}).to_csv(tmp_path/"c.csv", index=False)
    custom = read_csv_corpus(tmp_path/"c.csv")
    assert custom.emotion.tolist() == ["surprised", "very_excited", "very_excited"]
    assert len(select_emotions(custom, ["very excited"])) == 2


def test_constant_audio_is_silence(tmp_path):
    "A DC signal has no AC energy: silent for trimming, at any rate; a tone on a DC offset is not."
    t = np.arange(48_000)/48_000
    rng = np.random.default_rng(0)
    sf.write(tmp_path/"dc.wav", np.full(16_000, 0.5, dtype=np.float32), 16_000)
    sf.write(tmp_path/"dc48.wav", np.full(48_000, 0.5, dtype=np.float32), 48_000)
    sf.write(tmp_path/"dc_noise48.wav", (0.5 + 1e-6*rng.standard_normal(48_000)).astype(np.float32), 48_000, subtype="FLOAT")
    sf.write(tmp_path/"tone_dc48.wav", (0.3 + 0.2*np.sin(2*np.pi*220*t)).astype(np.float32), 48_000)
    for name in ("dc.wav", "dc48.wav", "dc_noise48.wav"):
        with pytest.raises(AudioError, match=rf"{name}: is silent \(a constant signal, no AC energy\)"): load_audio(tmp_path/name, trim=True)
        assert silence_reason(load_audio(tmp_path/name)) == "a constant signal, no AC energy"
    assert np.unique(load_audio(tmp_path/"dc48.wav")).tolist() == [0.5]  # resampling keeps a constant constant
    assert silence_reason(load_audio(tmp_path/"tone_dc48.wav")) is None
    assert len(load_audio(tmp_path/"tone_dc48.wav", trim=True)) > 15_000
    assert silence_reason(np.zeros(10)) == "every sample is zero" and silence_reason(np.full(10, 1e-6)) == "peak -120 dBFS"
    y = (0.1*np.sin(2*np.pi*440*t)).astype(np.float32)
    assert np.array_equal(resample(y, 48_000, 16_000), load_audio(_write(tmp_path/"tone.wav", y, 48_000)))


def _write(path, y, sr):
    sf.write(path, y, sr, subtype="FLOAT")
    return path
