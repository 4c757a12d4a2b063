"""How fast a frozen speech transformer answers: one clip of about 3 seconds, file to answer, in a warm process.

For each encoder (`--models`, default the two Whisper encoders of the shared cache), on `--threads` CPU threads:
- `TransformerEmotionRecognizer.predict(clip)` with a trained head (trained here on four RAVDESS actors: the time is
  the encoder's, not the head's), no embedding cache: read, resample (trim the silence if the recipe does), encoder, pooling, head;
- the encoder's forward pass alone on the whole clip (silence kept), with Whisper's positional table cut to the clip,
  and padded to 30 s as the Hugging Face implementation does by default.
Median and 95th percentile over `--runs` calls each. It writes `06_transformer_benchmark.json` to the results folder
(`--results`, default nbs/results), which nbs/06_transformer.ipynb replays. Run it on an otherwise idle machine.

    SER_DATA=/path/to/corpora HF_HOME=../shared/hf HF_HUB_OFFLINE=1 python benchmarks/transformer.py [--threads 2] [--runs 30]
"""
from __future__ import annotations
import argparse, os, platform, time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ser_nb.data import DEFAULT_EMOTIONS, data_root, load_audio, read_ravdess, select_emotions
from ser_nb.model import library_versions
from ser_nb.results import save_result
from ser_nb.transformer import TransformerEmotionRecognizer

ROOT = Path(__file__).resolve().parents[1]


def timed(f, runs:int)->dict:
    "Median and 95th percentile in ms of `runs` calls of `f` (after two warm-up calls)."
    for _ in range(2): f()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter(); f(); t.append((time.perf_counter() - t0)*1000)
    return {"p50": round(float(np.percentile(t, 50)), 2), "p95": round(float(np.percentile(t, 95)), 2), "n": runs}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["openai/whisper-base", "openai/whisper-tiny.en"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--results", default=ROOT/"nbs"/"results")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rav = select_emotions(read_ravdess(data_root()/"ravdess"), DEFAULT_EMOTIONS)
    train = rav[rav.speaker.isin(["Actor_01", "Actor_02", "Actor_03", "Actor_04"])]
    seconds = np.array([sf.info(p).duration for p in rav.path])
    clip = rav.path.iloc[int(np.abs(seconds - 3.0).argmin())]
    y = load_audio(clip, 16_000)
    rows = []
    for name in args.models:
        rec = TransformerEmotionRecognizer(name, epochs=5).fit(train)
        rec.cache_dir = False
        bb = rec.backbone
        with torch.inference_mode():
            cut = timed(lambda: bb([y]), args.runs)
            padded = timed(lambda: bb.encoder(bb.extractor([y], sampling_rate=16_000, return_tensors="pt").input_features), args.runs) if bb.is_whisper else None
        rows.append({"model": name, "trim": rec.trim, "predict_ms": timed(lambda: rec.predict(clip), args.runs), "encoder_cut_ms": cut, "encoder_30s_ms": padded})
        print(rows[-1], flush=True)
    r = {"threads": args.threads, "clip": Path(clip).name, "clip_seconds": round(float(sf.info(clip).duration), 2),
         "speech_seconds": round(len(load_audio(clip, 16_000, trim=True))/16_000, 2),
         "cpu": platform.processor() or platform.machine(), "versions": library_versions("torch", "transformers"), "rows": rows}
    os.environ["SER_RESULTS"] = str(args.results)
    print(save_result("06_transformer_benchmark.json", r))


if __name__ == "__main__":
    main()
