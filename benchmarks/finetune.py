"""Fine-tune a speech encoder on the six EmoBox speaker folds of RAVDESS: the numbers chapter 06 quotes for fine-tuning.

For each fold, a fresh `TransformerEmotionRecognizer` (fine-tuned, the library's defaults plus the settings given here) is
trained on the other five folds for a fixed number of epochs (no speakers held out, the last epoch kept: `val_size` 0),
then scored on the fold's speakers.
After every fold it rewrites `06_transformer_finetune[8].json` in the results folder (`--results`, default nbs/results),
with the per-fold metrics and confusion matrices, each clip's probabilities (as `ser_nb.evaluate.stored_predictions`), each fold's learning curves and the time taken; folds already in
that file are not run again, so an interrupted run picks up where it stopped. Run it on an otherwise idle machine.

    SER_DATA=/path/to/corpora HF_HOME=../shared/hf HF_HUB_OFFLINE=1 python benchmarks/finetune.py [--classes 4|8] [--threads 2]
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

import numpy as np
import torch

from ser_nb.data import EMOTIONS, SerError, data_root, read_ravdess, select_emotions, speaker_folds
from ser_nb.evaluate import evaluate_model, stored_predictions
from ser_nb.model import METRICS, library_versions
from ser_nb.results import load_result, save_result
from ser_nb.transformer import TransformerEmotionRecognizer

ROOT = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="openai/whisper-base")
    p.add_argument("--classes", type=int, choices=[4, 8], default=4)
    p.add_argument("--folds", type=int, nargs="+", help="only these folds (default all six)")
    p.add_argument("--settings", default='{"max_duration": 4.0, "epochs": 6, "lr": 5e-5, "head_lr": 1e-3, "batch_size": 8, "val_size": 0}',
                   help="TransformerEmotionRecognizer settings as JSON (default: the recipe measured before the library)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", default=str(ROOT/"nbs"/"results"))
    a = p.parse_args()
    os.environ["SER_RESULTS"] = a.results
    torch.set_num_threads(a.threads)
    settings = json.loads(a.settings)
    rav = read_ravdess(data_root()/"ravdess")
    if a.classes == 4: rav = select_emotions(rav)
    labels = [e for e in EMOTIONS if e in set(rav.emotion)]
    rav = rav.reset_index(drop=True)
    folds = speaker_folds(rav)
    name = f"06_transformer_finetune{'' if a.classes == 4 else '8'}.json"
    try: out = load_result(name)
    except SerError: out = {}
    if out.get("settings", settings) != settings or out.get("model", a.model) != a.model:
        raise SystemExit(f"{name} holds a run with other settings ({out.get('model')}, {out.get('settings')}); move it away first")
    out.update(model=a.model, settings=settings, labels=labels, threads=a.threads, device="cuda" if torch.cuda.is_available() else "cpu",
               machine=platform.processor() or platform.machine(), versions=library_versions("torch", "transformers", "accelerate"))
    runs = out.setdefault("runs", {})
    for k in sorted(set(folds)):
        if str(k) in runs or (a.folds and k not in a.folds): continue
        test = folds == k
        t0 = time.time()
        rec = TransformerEmotionRecognizer(a.model, labels, progress=True, **settings).fit(rav[~test].reset_index(drop=True))
        pred, m = evaluate_model(rec, rav[test].reset_index(drop=True))
        runs[str(k)] = {"test_speakers": sorted(set(rav.speaker[test])), "n_train": int((~test).sum()), "n_test": int(test.sum()),
                        **{n: m[n] for n in METRICS}, "confusion": m["confusion"], "history": rec.history_,
                        "predictions": stored_predictions(pred, data_root()).to_dict("list"),
                        "best_epoch": rec.info["training"]["best_epoch"], "seconds": round(time.time() - t0, 1)}
        save_result(name, out)
        print(f"fold {k}: UAR {m['uar']:.3f} in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
