"`extract` through joblib's Dask backend, on a two-worker `distributed.LocalCluster`, gives the values of the default backend."
import os, sys

import joblib, numpy as np, pytest

from ser_nb.data import make_toy_corpus
from ser_nb.features import extract

# the whole module on one pytest-xdist worker (tools/test.sh: --dist loadgroup): its fixtures are made once
pytestmark = pytest.mark.xdist_group("features_dask")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[str]:
    root = make_toy_corpus(tmp_path_factory.mktemp("toy")/"ravdess", "ravdess", n_speakers=2, per_emotion=2, seconds=1.0)
    return sorted(str(p) for p in root.rglob("*.wav"))  # 16 files


@pytest.fixture(scope="module")
def reference(files) -> np.ndarray:
    return extract(files, n_jobs=1, cache_dir=False, progress=False)


def test_backend_that_cannot_stream_results(files, reference):
    "joblib's multiprocessing backend has no `return_as='generator_unordered'`: `run_jobs` falls back to a plain `Parallel`."
    with joblib.parallel_backend("multiprocessing", n_jobs=2):
        X = extract(files, cache_dir=False, progress=False, chunk_size=3)
    np.testing.assert_array_equal(X, reference)


@pytest.fixture(scope="module")
def client():
    "A two-worker cluster. Starting it sets OMP_NUM_THREADS=1 (for its workers) in this process too: the environment is put back after, or every later training subprocess would run on one thread."
    from distributed import Client, LocalCluster
    before = dict(os.environ)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
         Client(cluster) as c:
        yield c
    os.environ.clear(); os.environ.update(before)


def test_dask_backend_matches_in_process(files, reference, client):
    with joblib.parallel_backend("dask"):
        X = extract(files, cache_dir=False, progress=False, chunk_size=2)
    np.testing.assert_array_equal(X, reference)
    assert sorted(client.run(lambda: "ser_nb.features" in sys.modules).values()) == [True, True]  # the workers ran chunks


def test_dask_backend_skips_bad_files_and_fills_the_cache(files, reference, client, tmp_path):
    bad = tmp_path/"bad.wav"
    bad.write_bytes(b"RIFF not audio")
    with joblib.parallel_backend("dask"):
        X, failed = extract([*files[:8], str(bad), *files[8:]], cache_dir=tmp_path/"cache", errors="skip", progress=False)
        again = extract(files, cache_dir=tmp_path/"cache", progress=False)
    assert list(failed) == [8] and "bad.wav: not a readable audio file" in failed[8]
    np.testing.assert_array_equal(np.delete(X, 8, axis=0), reference)
    np.testing.assert_array_equal(again, reference)
    assert len(list((tmp_path/"cache").glob("*.npz"))) == 16
