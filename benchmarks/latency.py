"""Time from file to answer for every model family and format in one run, agreement of each ONNX export with its torch
model, and the cold start of `ser predict`: the numbers chapter 08c quotes.

Models: the pretrained `classical` and `whisper-base` models (ser_nb/pretrained); an LSTM and a GRU trained here with
chapter 05's defaults on all of RAVDESS (4 emotions); a fine-tuned whisper-base network (the pretrained encoder with an
untrained head: the weights do not change the time). Each torch model is also exported to ONNX, in fp32 and int8.
- Latency: every model answers `--n` clips cut to exactly 3 s (RAVDESS, written at their own 48 kHz), one at a time,
  from the file (decoding, resampling, features or log-mel, the model), every cache off: p50 and p95 (`model_cost`).
- Agreement: each export against its torch model on all 1,440 RAVDESS clips (`agreement`).
- Cold start: `ser predict MODEL one.wav` in new processes with an empty feature cache (median of `--runs`).
torch and onnxruntime get `--threads` threads. Run it on an otherwise idle machine; it writes `08c_latency.json` in the
results folder (`--results`, default nbs/results).

    SER_DATA=/path/to/corpora HF_HOME=../shared/hf HF_HUB_OFFLINE=1 python benchmarks/latency.py [--n 50] [--runs 5]
"""
from __future__ import annotations
import argparse, os, platform, sys, tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from cli_latency import timed
from ser_nb.data import data_root, read_ravdess, select_emotions
from ser_nb.deep import DeepEmotionRecognizer
from ser_nb.evaluate import model_cost
from ser_nb.export import as_if_trained
from ser_nb.runtime import agreement, export_onnx
from ser_nb.model import library_versions, load, pretrained
from ser_nb.results import save_result
from ser_nb.transformer import TransformerEmotionRecognizer

ROOT = Path(__file__).resolve().parents[1]
SER = Path(sys.executable).parent/"ser"


def three_second_clips(paths, folder:Path, seconds:float=3.)->list[str]:
    "The first `seconds` of each clip (all of them are longer), written as WAV at the clip's own sample rate."
    out = []
    for p in paths:
        info = sf.info(p)
        y, sr = sf.read(p, frames=int(seconds*info.samplerate), dtype="float32")
        sf.write(folder/f"{Path(p).stem}.wav", y, sr)
        out.append(str(folder/f"{Path(p).stem}.wav"))
    return out


def cpu_info()->dict:
    "The CPU's model name, whether it has VNNI (8-bit dot products), and its cores."
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), platform.processor())
    return {"cpu": name, "vnni": "vnni" in text, "cores": os.cpu_count()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50, help="3-second clips timed per model (default %(default)s)")
    p.add_argument("--runs", type=int, default=5, help="fresh processes per cold start (default %(default)s)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", default=str(ROOT/"nbs"/"results"))
    a = p.parse_args()
    os.environ["SER_RESULTS"] = a.results
    torch.set_num_threads(a.threads)
    rav = read_ravdess(data_root()/"ravdess")
    four = select_emotions(rav)
    tmp = Path(tempfile.mkdtemp(prefix="ser-latency-"))
    clips = three_second_clips(four.sample(a.n + 1, random_state=0).path, tmp)

    models = {"classical: ensemble": load(pretrained("classical")), "whisper-base, frozen": load(pretrained("whisper-base"))}
    for cell in ("lstm", "gru"):
        print(f"training {cell} on {len(four)} clips", flush=True)
        models[cell.upper()] = DeepEmotionRecognizer(cell, n_jobs=1, progress=True).fit(four)
    models["whisper-base, fine-tuned"] = as_if_trained(TransformerEmotionRecognizer("openai/whisper-base"), [])
    runs, agree, folders = [], {}, {}
    for name, m in models.items():
        formats = {"skops" if m.family == "classical" else "torch": m}
        if m.family != "classical":
            formats.update({"onnx": export_onnx(m, threads=a.threads), "onnx int8": export_onnx(m, "int8", threads=a.threads)})
        for fmt, model in formats.items():
            print(f"timing {name} ({fmt})", flush=True)
            runs.append({"model": name, "format": fmt, **model_cost(model, clips, a.n)})
            if fmt.startswith("onnx") and name != "whisper-base, fine-tuned":
                agree[f"{name}: {fmt}"] = agreement(m, model, rav.path, progress=True)
                print(f"  agreement with torch on {len(rav)} clips: {agree[f'{name}: {fmt}']}", flush=True)
            if name == "whisper-base, frozen": folders[f"{name} ({fmt})"] = str(model.save(tmp/"models"/fmt.replace(" ", "-")))
    folders["classical: ensemble (skops)"] = str(pretrained("classical"))
    cold = {k: timed([str(SER), "predict", f, clips[0]], a.runs) for k, f in folders.items()}
    save_result("08c_latency.json", {"threads": a.threads, "machine": cpu_info(), "clip_seconds": 3.0, "runs": runs, "agreement": agree,
                                     "cold_start": cold, "versions": library_versions("torch", "onnxruntime", "transformers")})
    for r in runs: print(f"{r['model']:>26} {r['format']:>10}: p50 {r['predict_ms']['p50']:7.1f} ms  p95 {r['predict_ms']['p95']:7.1f} ms  {r['model_bytes']/2**20:7.2f} MiB")


if __name__ == "__main__": main()
