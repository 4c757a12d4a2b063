"""How long `ser predict MODEL one.wav` takes from the shell, and how much memory it peaks at.

Trains a classical model with the default recipe (`ser_nb.classical.train_from_csv`, features and trimming
from `recipe`) on a few real RAVDESS actors, or takes `--model`, then measures in fresh processes:
- `ser predict MODEL one.wav` cold start (new process, empty feature cache): wall time and peak RSS;
- `ser --help`;
- `ser predict` on one clip of exactly `MAX_DURATION` seconds of real speech (RAVDESS clips end to end): peak RSS;
- `python -X importtime`: the packages whose imports cost most in `ser predict`.
It writes the numbers to `09_cli_latency.json` in the results folder (`--results`, default nbs/results), which
nbs/09_cli.ipynb and nbs/03_model.ipynb replay.

    SER_DATA=/path/to/corpora python benchmarks/cli_latency.py [--model models/svm] [--runs 5]
"""
from __future__ import annotations
import argparse, json, os, platform, re, resource, shutil, statistics, subprocess, sys, tempfile, time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SER = Path(sys.executable).parent/"ser"


# Measured from a small wrapper process: Linux starts a child's peak RSS from its parent's (fork + exec keeps the
# larger of the two), so a child of this script, which has trained a model, would report this script's memory.
WRAP = """import json, os, resource, subprocess, sys, time
t0 = time.perf_counter(); r = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({"wall": time.perf_counter() - t0, "rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "rc": r.returncode,
                  "err": r.stderr.decode(errors="replace")[-2000:]}))"""

def run(cmd:list[str], env:dict|None=None)->dict:
    "Run `cmd` in a fresh process: wall seconds, peak RSS in MB, exit code and the end of stderr."
    r = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, env=env)
    d = json.loads(r.stdout)
    return {**d, "rss": d["rss"]/1024}


def timed(cmd:list[str], runs:int, fresh_cache:bool=True, ok=(0,))->dict:
    "Median and min wall time and the largest peak RSS of `runs` fresh processes (each with an empty feature cache)."
    walls, rss = [], []
    for _ in range(runs):
        cache = tempfile.mkdtemp(prefix="ser-cache-")
        env = {**os.environ, "SER_CACHE": cache} if fresh_cache else None
        r = run(cmd, env)
        shutil.rmtree(cache, ignore_errors=True)
        if r["rc"] not in ok: sys.exit(f"{' '.join(cmd)} failed ({r['rc']}):\n{r['err']}")
        walls.append(r["wall"]); rss.append(r["rss"])
    return {"median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3), "runs": runs,
            "peak_rss_mb": round(max(rss), 1)}


def import_costs(model:Path, clip:str, top:int=12)->list[dict]:
    "Packages whose imports cost most in `ser predict MODEL clip`, from `python -X importtime` (self time summed per top-level package)."
    env = {**os.environ, "SER_CACHE": tempfile.mkdtemp(prefix="ser-cache-")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import sys; from ser_nb.cli import main; sys.exit(main())",
                        "predict", str(model), clip], capture_output=True, text=True, env=env)
    shutil.rmtree(env["SER_CACHE"], ignore_errors=True)
    per = defaultdict(int)
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m: per[m.group(3).split(".")[0]] += int(m.group(1))
    return [{"package": k, "seconds": round(v/1e6, 3)} for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:top]]


def warm(model:Path, clips:list[str], runs:int)->dict:
    "Seconds per clip once the model is loaded in this process (no feature cache): median over `runs` clips after a warm-up."
    from ser_nb.model import load
    m = load(model)
    m.cache_dir = False
    m.predict_file(clips[0])
    times = []
    for c in clips[1:runs + 1]:
        t0 = time.perf_counter(); m.predict_file(c); times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4), "runs": len(times)}

def long_clip(paths:list[str], seconds:float, path:Path, sr:int=16_000)->Path:
    "Real speech `seconds` long: the clips of `paths` end to end (repeated as needed), as a 16 kHz int16 WAV."
    import numpy as np, soundfile as sf
    from ser_nb.data import load_audio
    parts, n, want = [], 0, int(round(seconds*sr))
    while n < want:
        for p in paths:
            y = load_audio(p, sr); parts.append(y); n += len(y)
            if n >= want: break
    sf.write(path, np.concatenate(parts)[:want], sr, subtype="PCM_16")
    return path


def train(tmp:Path, data:Path, model:str)->Path:
    "A `model` trained with the default recipe on RAVDESS actors 1-6, tested on 7-8."
    from ser_nb.classical import train_from_csv
    from ser_nb.data import read_ravdess, select_emotions, write_split_csv
    rav = select_emotions(read_ravdess(data/"ravdess"))
    actor = rav.speaker.str[-2:].astype(int)
    write_split_csv(rav[actor <= 6], tmp/"train.csv"); write_split_csv(rav[actor.isin([7, 8])], tmp/"test.csv")
    r = train_from_csv(model, tmp/"train.csv", tmp/"test.csv", tmp/"model")
    print(f"trained {model} with the default recipe on {r['n_train']} clips in {r['seconds']:.0f} s (UAR {r['uar']:.3f} on {r['n_test']})")
    return Path(r["out"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a saved model folder (default: train one with the default recipe)")
    ap.add_argument("--train", default="svm", help="the model `train_from_csv` trains when --model is not given (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--results", type=Path, default=ROOT/"nbs/results", help="results folder (default: %(default)s)")
    args = ap.parse_args()
    os.environ["SER_RESULTS"] = str(args.results)
    from ser_nb.data import data_root
    from ser_nb.model import MAX_DURATION, read_card
    from ser_nb.results import save_result
    data = data_root()
    tmp = Path(tempfile.mkdtemp(prefix="cli-latency-"))
    try:
        model = args.model or train(tmp, data, args.train)
        card = read_card(model)
        clips = sorted(str(p) for p in (data/"ravdess/Actor_07").iterdir())
        one = clips[0]
        import soundfile as sf
        load0 = os.getloadavg()
        predict = timed([str(SER), "predict", str(model), one], args.runs)
        help_ = timed([str(SER), "--help"], args.runs, fresh_cache=False)
        long = long_clip(clips, MAX_DURATION, tmp/"long.wav")
        at_limit = timed([str(SER), "predict", str(model), str(long), "--json"], 1)
        imports = import_costs(model, one)
        warm_one = warm(model, clips, args.runs)
        res = {"model": {"name": card["name"], "features": card["features"]["names"], "trim": card["features"]["trim"],
                         "estimator": card.get("estimator")},
               "predict_one": {**predict, "clip": Path(one).name},
               "warm_one": warm_one,
               "help": help_,
               "short_clip": {"seconds": round(sf.info(one).duration, 2), "peak_rss_mb": predict["peak_rss_mb"]},
               "long_clip": {"seconds": MAX_DURATION, "peak_rss_mb": at_limit["peak_rss_mb"], "wall_s": at_limit["median_s"]},
               "imports": imports,
               "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}, Python {platform.python_version()}), "
                          f"load average {load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"}
        path = save_result("09_cli_latency.json", res)
        print(f"ser predict (one clip, cold): median {predict['median_s']:.2f} s, min {predict['min_s']:.2f} s over {args.runs} runs, "
              f"peak RSS {predict['peak_rss_mb']:.0f} MB")
        print(f"one clip in a warm process: median {warm_one['median_s']*1000:.0f} ms")
        print(f"ser --help: median {help_['median_s']:.2f} s")
        print(f"ser predict on {MAX_DURATION:g} s of speech: {at_limit['median_s']:.1f} s, peak RSS {at_limit['peak_rss_mb']:.0f} MB")
        print("imports (self time per package): " + ", ".join(f"{d['package']} {d['seconds']:.2f} s" for d in imports))
        print(f"{res['machine']}\nwrote {path}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__": main()
