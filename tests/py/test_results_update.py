#!/usr/bin/python3
"""results.h5 while a sweep runs (README "dcn sweep"): rank 0 updates only the rows of the trials that
changed, in a child process, every update_every seconds. Checked here on a 2-rank sweep of tiny trials
with update_every: 0.2:
- the file is installed many times during the run (a new inode each time: copy, edit, rename), and
  every version seen opens in h5py, has all rows, and counts of done trials that never go back;
- the updated file equals a full rebuild (`dcn sweep --merge`): every /summary column, /graphs, the
  /trials links and the header attributes but the time of the update;
- after the whole job is killed with SIGKILL mid-run, the rerun brings the rows the killed run never
  wrote up to date: again equal to a full rebuild, every trial done once;
- `update_every: 0` is refused naming the file and line.
The trials train for about 0.15 s each on this build and machine (sweep_files.train_limit_for), so that
the run outlasts many update intervals however fast the machine: with a fixed 2,048 images it was
installed 4 times in the optimised build here, one more than the test asks.
Needs MNIST in the data folder (tests/run.sh).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

import sweep_files as sf

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
MPIRUN = ["mpirun", "-n", "2", "--oversubscribe"]
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def merge(yml, res):
    """dcn sweep --merge must succeed and install a new file: a merge that failed before replacing
    results.h5 would leave the comparison after it comparing a file with itself."""
    ino = os.stat(res).st_ino
    r = subprocess.run([DCN, "sweep", yml, "--merge"], env=ENV, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"dcn sweep --merge exits 0: {r.stderr[-300:]}")
    check(os.stat(res).st_ino != ino, "--merge installed a new results.h5 (another inode)")


def snapshot(path):
    """Everything a full rebuild must reproduce, as plain Python values."""
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items() if k != "updated"}
        summ = f["summary"][:]
        graphs = sorted(f["graphs"][:].tolist()) if "graphs" in f else []
        links = {k: f["trials"].get(k, getlink=True).filename for k in f["trials"]}
    return attrs, summ, graphs, links


def same(a, b, label):
    (aa, sa, ga, la), (ab, sb, gb, lb) = a, b
    bad = [k for k in set(aa) | set(ab) if str(aa.get(k)) != str(ab.get(k))]
    cols = [c for c in sa.dtype.names if not (np.array_equal(sa[c], sb[c], equal_nan=sa[c].dtype.kind == "f"))]
    check(not bad and not cols and sa.dtype == sb.dtype and len(ga) == len(gb) and la == lb,
          f"{label}: equal to a full rebuild (attributes differing {bad}, columns {cols}, graphs {len(ga)}/{len(gb)}, "
          f"links {len(la)}/{len(lb)})")


RATE, TRAIN_LIMIT = sf.train_limit_for(DCN, 0.15, lo=256)
print(f"training rate {RATE:.0f} images/s: {TRAIN_LIMIT} training images a trial", flush=True)


def write_sweep(path, out):
    with open(path, "w") as f:
        f.write(f"""output: {out}/results.h5
graphs: ["ws:n=8,k=4,p=0.5,seed=1", "gnm:n=8,m=12,seed=2"]
variants: [paper]
seeds: 0..11
epochs: 1
channels: 2
batch: 16
train_limit: {TRAIN_LIMIT}
test_limit: 128
update_every: 0.2
""")


with tempfile.TemporaryDirectory(prefix="dcn-update-", dir=".") as tmp:
    tmp = os.path.abspath(tmp)
    out = os.path.join(tmp, "s")
    yml = os.path.join(tmp, "s.yaml")
    write_sweep(yml, out)
    res = os.path.join(out, "results.h5")
    p = subprocess.Popen(MPIRUN + [DCN, "sweep", yml, "--quiet"], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    inodes, dones, bad = set(), [], []
    while p.poll() is None:
        try:
            st = os.stat(res)
            with h5py.File(res, "r") as f:
                s = f["summary"][:]
                if len(s) != 24:
                    bad.append(f"{len(s)} rows")
                dones.append(int(np.sum(s["status"] == b"done")))
            inodes.add(st.st_ino)
        except FileNotFoundError:
            pass
        except OSError as e:
            bad.append(str(e))
        time.sleep(0.05)
    err = p.stderr.read()
    check(p.returncode == 0, f"2-rank sweep of 24 trials: exit {p.returncode} {err[-300:]}")
    check(not bad, f"every version read while the sweep ran opens with all 24 rows {bad[:3]}")
    check(len(inodes) >= 3, f"results.h5 was installed {len(inodes)} times during the run (want >= 3)")
    check(all(b >= a for a, b in zip(dones, dones[1:])), f"done counts never go back: {dones[:40]}")
    live = snapshot(res)
    check(int(np.sum(live[1]["status"] == b"done")) == 24, "all 24 done in the final update")
    merge(yml, res)
    same(live, snapshot(res), "the updates of a run")

    # kill everything mid-run: the rows written by no update must be brought up to date by the rerun
    out2 = os.path.join(tmp, "k")
    yml2 = os.path.join(tmp, "k.yaml")
    write_sweep(yml2, out2)
    res2 = os.path.join(out2, "results.h5")
    p = subprocess.Popen(MPIRUN + [DCN, "sweep", yml2, "--quiet"], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 120:
        if os.path.exists(res2):
            with h5py.File(res2, "r") as f:
                if int(np.sum(f["summary"]["status"] == b"done")) >= 4:
                    break
        time.sleep(0.05)
    # mpirun puts each rank in a process group of its own: kill the whole session it was started in
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                sid = int(fh.read().rsplit(")", 1)[1].split()[3])
            if sid == p.pid:
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
    p.wait()
    check(p.returncode != 0, f"the SIGKILL stopped the sweep (mpirun exit {p.returncode})")
    with h5py.File(res2, "r") as f:
        before = int(np.sum(f["summary"]["status"] == b"done"))
    check(before < 24, f"killed mid-run: {before} of 24 done recorded before the rerun")
    r = subprocess.run(MPIRUN + [DCN, "sweep", yml2], env=ENV, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"the rerun after SIGKILL ({before} done recorded) completes: {r.stderr[-600:]}")
    after = snapshot(res2)
    with h5py.File(res2, "r") as f:
        ends = [f["trials"][i].attrs["status"] for i in f["trials"]]
    check(len(ends) == 24 and all(e in (b"done", "done") for e in ends), f"24 trial files done ({len(ends)})")
    merge(yml2, res2)
    same(after, snapshot(res2), "the rerun after SIGKILL")

    # a bad interval is refused with its file and line, before anything runs
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write(f"output: {tmp}/bad/results.h5\nupdate_every: 0\n")
    r = subprocess.run([DCN, "sweep", bad], env=ENV, capture_output=True, text=True)
    check(r.returncode == 1 and "bad.yaml:2: update_every must be a positive number of seconds" in r.stderr
          and not os.path.exists(os.path.join(tmp, "bad")), f"update_every: 0 refused: {r.stderr.strip()}")

for m in failures:
    print("FAIL -", m, flush=True)
sys.exit(1 if failures else 0)
