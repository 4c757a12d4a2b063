"""How much memory each way of training a speech transformer takes: the table of chapter 06.

Each configuration runs in a fresh process: whisper-base (`--model`) is loaded with 32 RAVDESS clips, then `fine_tune`
trains it for one epoch on 24 of them (3 steps of 8 clips, 4-second windows) and validates on the other 8; the frozen
fast path embeds a batch of 8 instead. Reported: the peak of the process (its resident set size on a CPU; allocated
CUDA memory on a GPU, where the 6 GB budget applies) above what it held once the model and audio were loaded, and
the seconds per training step. It writes `06_transformer_memory.json` to the results folder (`--results`, default
nbs/results). Run it on an otherwise idle machine.

    SER_DATA=/path/to/corpora HF_HOME=../shared/hf HF_HUB_OFFLINE=1 python benchmarks/memory.py [--threads 2]
"""
from __future__ import annotations
import argparse, json, os, platform, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {  # name: TuneConfig settings; "frozen": the embedding pass of the fast path
    "frozen encoder, cached embeddings (fast path)": "frozen",
    "fine-tune, whole encoder frozen (head only)": {"freeze": "encoder"},
    "fine-tune, all layers": {"freeze": "none"},
    "fine-tune, stem frozen (default)": {},
    "+ gradient checkpointing": {"checkpointing": True},
    "+ bf16 mixed precision": {"precision": "bf16"},
    "+ checkpointing + bf16": {"checkpointing": True, "precision": "bf16"},
    "LoRA rank 8 (encoder frozen)": {"lora": 8},
    "stem frozen, batches of 2 x 4 accumulated": {"batch_size": 2, "grad_accum": 4},
}


def rss_mib()->float:
    "The resident set size of this process now, MiB."
    return int(Path("/proc/self/statm").read_text().split()[1])*os.sysconf("SC_PAGE_SIZE")/2**20


def one(name:str, model:str):
    "Measure configuration `name` in this process; print one JSON line."
    import numpy as np, torch
    from ser_nb.data import data_root, load_audio, read_ravdess, select_emotions
    from ser_nb.transformer import Backbone, EmotionNet, TuneConfig, embed, fine_tune, set_trainable
    rav = select_emotions(read_ravdess(data_root()/"ravdess")).groupby("emotion").head(8).reset_index(drop=True)
    waves = [load_audio(p, 16_000) for p in rav.path]
    y = torch.tensor(rav.emotion.astype("category").cat.codes.to_numpy(), dtype=torch.long)
    bb = Backbone(model)
    cuda = torch.cuda.is_available()
    if cuda: bb.cuda(); torch.cuda.reset_peak_memory_stats()
    setting = CONFIGS[name]
    base = torch.cuda.memory_allocated() if cuda else rss_mib()
    t0 = time.time()
    if setting == "frozen":
        embed(list(rav.path[:8]), bb, cache_dir=False, progress=False)
        steps, trainable = 1, 0
    else:
        cfg = TuneConfig(**{"epochs": 1, "batch_size": 8, "patience": 1, **setting})
        net = EmotionNet(bb, 4)
        trainable = set_trainable(net, cfg.freeze, cfg.lora)["trainable"] + sum(p.numel() for p in net.head.parameters())
        fine_tune(net, (waves[:24], y[:24]), (waves[24:], y[24:]), cfg, max_duration=4., progress=False)
        steps = 24//cfg.batch_size
    seconds = time.time() - t0
    peak = torch.cuda.max_memory_allocated()/2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024
    print(json.dumps({"config": name, "settings": setting, "device": "cuda" if cuda else "cpu", "loaded_mib": round(base/2**20 if cuda else base),
                      "peak_mib": round(peak), "peak_above_loaded_mib": round(peak - (base/2**20 if cuda else base)),
                      "trainable": trainable, "seconds_per_step": round(seconds/steps, 2)}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="openai/whisper-base")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", default=str(ROOT/"nbs"/"results"))
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        import torch
        torch.set_num_threads(a.threads)
        return one(a.one, a.model)
    rows = []
    for name in CONFIGS:
        r = subprocess.run([sys.executable, __file__, "--one", name, "--model", a.model, "--threads", str(a.threads)],
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(a.threads)})
        if r.returncode: raise SystemExit(f"{name}: failed\n{r.stderr[-3000:]}")
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    os.environ["SER_RESULTS"] = a.results
    from ser_nb.model import library_versions
    from ser_nb.results import save_result
    save_result("06_transformer_memory.json", {"model": a.model, "threads": a.threads, "batch": "8 clips, 4-second windows",
                                               "machine": platform.processor() or platform.machine(), "rows": rows,
                                               "versions": library_versions("torch", "transformers", "accelerate", "peft")})


if __name__ == "__main__":
    main()
