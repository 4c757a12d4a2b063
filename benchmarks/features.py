"""Time `ser_nb.features.extract` against plain per-file librosa on the same files, in one run.

    .venv/bin/python benchmarks/features.py [--root $SER_DATA/ravdess] [--n 200] [--jobs -1]

The plain side is the original project's extraction: per file, `librosa.load(path, sr=16000)`, then
`librosa.feature.mfcc(y, sr, n_mfcc=40)`, `chroma_stft(S=|stft|, sr)` and `melspectrogram(y, sr)`, means over
frames, in one process with one BLAS thread (`ser_nb.features.librosa_features`). The library side is `extract(..., cache_dir=False)`.
Both see the same files; both get a short warm-up first (librosa's filter and numba caches; the library's worker
processes), whose time is printed too. The sides are timed in interleaved rounds and the best round of each is
reported (on a shared machine the slow rounds measure the neighbours). Prints files/s for each, their ratio, and
the largest differences between the two 180-d vectors.

With `--save NAME` the same numbers, and the machine's load average before and after the run, are also stored with
`ser_nb.results.save_result(NAME, ...)` in `$SER_RESULTS` (default: `nbs/results/` of this repository), where the
features chapter reads them back:

    .venv/bin/python benchmarks/features.py --n 400 --save 02_features_benchmark.json
"""
from __future__ import annotations
import argparse, datetime, os, platform, sys, time
from pathlib import Path

import numpy as np


def pick(root:Path, n:int)->list[str]:
    "n audio files spread evenly over the sorted files under root."
    from ser_nb.data import audio_files
    files = [str(p) for p in audio_files(root)]
    if not files: sys.exit(f"{root}: no audio files")
    if n >= len(files): return files
    return [files[i] for i in np.linspace(0, len(files) - 1, n).round().astype(int)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=None, help="folder of audio files (default: $SER_DATA/ravdess)")
    ap.add_argument("--n", type=int, default=200, help="number of files (spread over the folder)")
    ap.add_argument("--jobs", type=int, default=-1, help="worker processes for the library (-1: one per core)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved timing rounds; the best of each side is reported")
    ap.add_argument("--save", default=None, metavar="NAME", help="also store the numbers as NAME (.json) with ser_nb.results.save_result")
    a = ap.parse_args(argv)
    load_before = os.getloadavg()
    from ser_nb.data import data_root
    from ser_nb.features import extract, librosa_features, feature_names
    import joblib, librosa
    root = Path(a.root) if a.root else data_root()/"ravdess"
    files = pick(root, a.n)
    print(f"{len(files)} files from {root}; {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
          f"library workers: {joblib.effective_n_jobs(a.jobs)}; librosa {librosa.__version__}")

    t0 = time.perf_counter(); [librosa_features(f) for f in files[:2]]; warm_plain = time.perf_counter() - t0
    t0 = time.perf_counter(); extract(files[:16], cache_dir=False, progress=False, n_jobs=a.jobs); warm_lib = time.perf_counter() - t0
    print(f"warm-up: plain 2 files {warm_plain:.2f} s; library 16 files {warm_lib:.2f} s (starts the worker processes)")

    from threadpoolctl import threadpool_limits
    import psutil
    me = psutil.Process()
    def cpu()->float:
        "CPU seconds used so far by this process and its (worker) children."
        t = me.cpu_times().user + me.cpu_times().system
        for c in me.children(recursive=True):
            try: t += c.cpu_times().user + c.cpu_times().system
            except psutil.Error: pass
        return t
    def timed(f)->tuple:
        c0, t0 = cpu(), time.perf_counter()
        out = f()
        return out, time.perf_counter() - t0, cpu() - c0
    n, wall, used = len(files), {"plain": [], "lib": [], "lib1": []}, {"plain": [], "lib": [], "lib1": []}
    for r in range(a.repeat):  # interleaved rounds: a busy machine slows every side alike
        with threadpool_limits(1):  # one BLAS thread: also faster for librosa's small matrices, so the comparison is fair
            A, w, c = timed(lambda: np.stack([librosa_features(f) for f in files])); wall["plain"].append(w); used["plain"].append(c)
        B, w, c = timed(lambda: extract(files, cache_dir=False, progress=False, n_jobs=a.jobs)); wall["lib"].append(w); used["lib"].append(c)
        _, w, c = timed(lambda: extract(files, cache_dir=False, progress=False, n_jobs=1)); wall["lib1"].append(w); used["lib1"].append(c)
        print(f"round {r + 1}: " + ", ".join(f"{k} {n/v[-1]:.1f} files/s" for k, v in wall.items()))
    best = {k: min(v) for k, v in wall.items()}
    cpu_ms = {k: 1000*min(v)/n for k, v in used.items()}
    workers = joblib.effective_n_jobs(a.jobs)
    print(f"best of {a.repeat} rounds (wall clock) and CPU time per file:")
    print(f"plain librosa, per file, 1 process : {n/best['plain']:7.1f} files/s   {cpu_ms['plain']:6.2f} CPU-ms/file")
    print(f"ser_nb extract, {workers} workers        : {n/best['lib']:7.1f} files/s   {cpu_ms['lib']:6.2f} CPU-ms/file")
    print(f"ser_nb extract, n_jobs=1           : {n/best['lib1']:7.1f} files/s   {cpu_ms['lib1']:6.2f} CPU-ms/file")
    print(f"speed-up, wall clock: {best['plain']/best['lib']:.1f}x with {workers} workers, {best['plain']/best['lib1']:.1f}x in one process")
    print(f"speed-up, CPU time per file: {cpu_ms['plain']/cpu_ms['lib']:.1f}x; on {workers} otherwise idle cores that is "
          f"{workers*cpu_ms['plain']/cpu_ms['lib']:.1f}x in files/s")
    names = feature_names()
    for blk, sl in (("mfcc", slice(0, 40)), ("chroma", slice(40, 52)), ("mel", slice(52, 180))):
        a_, b_ = A[:, sl].astype(np.float64), B[:, sl].astype(np.float64)
        d = np.abs(a_ - b_)
        scale = np.abs(a_).max()
        rel = d/np.maximum(np.abs(a_), 1e-6*scale)
        i, j = np.unravel_index(d.argmax(), d.shape)
        print(f"  {blk:6s}: max |diff| {d.max():.3g} (at {names[sl][j]}, value {a_[i, j]:.4g}); "
              f"max |diff|/max|value| {d.max()/scale:.2g}; max elementwise relative {rel.max():.2g}")
    off = np.abs(A[:, 40:52] - B[:, 40:52]).max(axis=1) > 1e-3
    print(f"max |diff| over all 180 columns: {np.abs(A - B).max():.3g}; files whose chroma differs by > 1e-3: {off.sum()} of {n}"
          + (f" (max |diff| on the others: {np.abs(A - B)[~off].max():.3g})" if off.any() else ""))
    if a.save: save(a, root, files, workers, librosa.__version__, load_before, warm_plain, warm_lib, wall, used, A, B, off)


def save(a, root, files, workers, librosa_version, load_before, warm_plain, warm_lib, wall, used, A, B, off):
    "Store the run's numbers with `ser_nb.results.save_result(a.save, ...)`."
    from ser_nb.results import save_result
    os.environ.setdefault("SER_RESULTS", str(Path(__file__).resolve().parents[1]/"nbs"/"results"))
    n, r = len(files), lambda x, d=4: float(round(float(x), d))
    best = {k: min(v) for k, v in wall.items()}
    cpu_ms = {k: 1000*min(v)/n for k, v in used.items()}
    diff = {}
    for blk, sl in (("mfcc", slice(0, 40)), ("chroma", slice(40, 52)), ("mel", slice(52, 180))):
        a_, b_ = A[:, sl].astype(np.float64), B[:, sl].astype(np.float64)
        d = np.abs(a_ - b_)
        diff[blk] = dict(max_abs=float(d.max()), rel_to_max=float(d.max()/np.abs(a_).max()))
    chroma_d = np.abs(A[:, 40:52] - B[:, 40:52]).max(axis=1)
    diff.update(chroma_off_files=int(off.sum()), chroma_off_max=float(chroma_d[off].max()) if off.any() else 0.,
                chroma_max_abs_others=float(chroma_d[~off].max()) if (~off).any() else 0.)
    value = dict(
        command=f"benchmarks/features.py --n {a.n} --jobs {a.jobs} --repeat {a.repeat} --save {a.save}",
        when=datetime.datetime.now().isoformat(timespec="seconds"), files=n, corpus=root.name,
        cores=os.cpu_count(), machine=platform.processor() or platform.machine(), workers=workers, librosa=librosa_version,
        loadavg_before=[r(x, 2) for x in load_before], loadavg_after=[r(x, 2) for x in os.getloadavg()],
        warmup_s=dict(plain_2_files=r(warm_plain, 3), library_16_files=r(warm_lib, 3)),
        rounds_files_per_s={k: [r(n/x, 2) for x in v] for k, v in wall.items()},
        best_s={k: r(v) for k, v in best.items()}, files_per_s={k: r(n/v, 2) for k, v in best.items()},
        cpu_ms_per_file={k: r(v, 4) for k, v in cpu_ms.items()},
        speedup=dict(wall_workers=r(best["plain"]/best["lib"], 3), wall_one_process=r(best["plain"]/best["lib1"], 3),
                     cpu=r(cpu_ms["plain"]/cpu_ms["lib"], 3)),
        diff=diff)
    print(f"saved {save_result(a.save, value)}")


if __name__ == "__main__": main()
