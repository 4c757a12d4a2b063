"""How long the recurrent models of `ser_nb.deep` take: training one fold, and predicting one clip in a warm process.

On RAVDESS, four emotions, with the chapter's recipe (`DeepEmotionRecognizer(CELL)` with its defaults):
- training on the actors of five EmoBox folds (the sixth is the test fold), frames already in the cache as
  after a first run: wall seconds, epochs run, and the UAR on the held-out fold;
- predicting one clip of about 3 seconds, file to answer (read, resample, trim, frames, network; no frame cache),
  in the same, warm process: median and 95th percentile over `--runs` calls.
It writes `05_deep_benchmark.json` to the results folder (`--results`, default nbs/results), which nbs/05_deep.ipynb
replays. Run it on an otherwise idle machine: two jobs sharing the cores make both slow.

    SER_DATA=/path/to/corpora python benchmarks/deep.py [--cell lstm] [--threads 2] [--runs 50]
"""
from __future__ import annotations
import argparse, os, platform, time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ser_nb.data import DEFAULT_EMOTIONS, data_root, read_ravdess, select_emotions, speaker_folds
from ser_nb.deep import DeepEmotionRecognizer
from ser_nb.features import extract_frames
from ser_nb.model import library_versions
from ser_nb.results import save_result

ROOT = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    p.add_argument("--runs", type=int, default=50, help="predictions timed (default: %(default)s)")
    p.add_argument("--results", default=ROOT/"nbs"/"results", help="folder for 05_deep_benchmark.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    rav = select_emotions(read_ravdess(data_root()/"ravdess"), DEFAULT_EMOTIONS)
    folds = speaker_folds(rav)
    train, test = rav[folds != 0], rav[folds == 0].reset_index(drop=True)
    rec = DeepEmotionRecognizer(args.cell)
    extract_frames(rav, rec.frames, rec.deltas, trim=rec.trim, progress=False)  # fill the cache first, as a second run finds it

    t0 = time.perf_counter()
    rec.fit(train)
    train_s = time.perf_counter() - t0
    uar = rec.evaluate(test)["uar"]

    seconds = np.array([sf.info(p).duration for p in test.path])
    clip = test.path[int(np.abs(seconds - 3.0).argmin())]
    rec.cache_dir = False  # every prediction reads and analyses the file
    for _ in range(3): rec.predict(clip)
    times = []
    for _ in range(args.runs):
        t = time.perf_counter(); rec.predict(clip); times.append((time.perf_counter() - t)*1000)
    p50, p95 = np.percentile(times, [50, 95])

    r = {"cell": args.cell, "threads": args.threads, "train_seconds": round(train_s, 1), "epochs": len(rec.history_),
         "n_train": len(train), "fold0_uar": round(uar, 4), "n_params": rec.n_params,
         "predict_ms": {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "n": args.runs},
         "clip": Path(clip).name, "clip_seconds": round(float(sf.info(clip).duration), 2),
         "cpu": platform.processor() or platform.machine(), "versions": library_versions("torch"),
         "rows": [{"what": f"train one fold ({len(train)} clips, {len(rec.history_)} epochs)", "value": round(train_s, 1), "unit": "s"},
                  {"what": f"predict one {sf.info(clip).duration:.1f} s clip, file to answer (median)", "value": round(float(p50), 2), "unit": "ms"},
                  {"what": "predict one clip, 95th percentile", "value": round(float(p95), 2), "unit": "ms"}]}
    os.environ["SER_RESULTS"] = str(args.results)
    print(save_result("05_deep_benchmark.json", r))
    print(r["rows"])


if __name__ == "__main__":
    main()
