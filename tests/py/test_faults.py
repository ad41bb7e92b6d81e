#!/usr/bin/python3
"""Faults during sweeps, each ending with a clear message and no finished result lost or corrupted:
- the disk fills up while trials write (a small tmpfs; needs root to mount, as the README's test
  command runs): the sweep exits non-zero with a message naming a file on the full disk;
- a trial file left half-written by a crash;
- a damaged checkpoint (set aside, the trial restarts) and another trial's checkpoint (refused);
- an output folder that cannot be created.
Needs MNIST in the data folder (tests/run.sh fetches it) and root: without either the test fails and
says so."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py

from sweep_files import trial_file, trial_files

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def sweep(yml, *extra):
    return subprocess.run([DCN, "sweep", yml, *extra], env=ENV, capture_output=True, text=True, timeout=600)


def small_sweep(path, out, seeds="0..5", extra=""):
    write(path, f"""output: {out}/results.h5
graphs: ["ws:n=8,k=4,p=0.75,seed=1"]
seeds: {seeds}
epochs: 1
channels: 4
train_limit: 320
test_limit: 100
{extra}""")


def test_disk_full(tmp):
    mnt = os.path.join(tmp, "small-disk")
    os.makedirs(mnt)
    if os.geteuid() != 0:
        # the README's test command (tests/run.sh) runs as root: not being root is a failure, not a skip
        check(False, "the disk-full test needs root to mount a small tmpfs (run the tests as root, as "
                     "tests/run.sh does); it did not run")
        return
    # each trial file is about 60 KiB: 300 KiB holds a few, not all twelve
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        check(False, f"root could not mount a tmpfs for the disk-full test (rc {r.returncode}): {r.stderr.strip()}")
        return
    try:
        out = os.path.join(mnt, "sweep")
        yml = os.path.join(tmp, "full.yaml")
        small_sweep(yml, out, seeds="0..11")
        r = sweep(yml)
        # a runtime failure: status 1 (not 0, not a crash) and the last line, `dcn sweep: <kind>: <message>`,
        # names the file on the full disk that could not be written
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        check(r.returncode == 1, f"the sweep exits with status 1 when the disk fills, got {r.returncode}: "
                                 f"{r.stderr[-800:]}")
        named = re.match(r"dcn sweep: .*?(" + re.escape(out) + r"/\S+?): .*(No space left on device|disk full)", last)
        check(named is not None, f"the disk-full error names the file it could not write: {last!r}")
        done = {}
        for f in trial_files(os.path.join(out, "trials")):
            try:
                a = attrs(f)
            except OSError as e:
                check(False, f"a trial file that looks finished is unreadable: {f}: {e}")
                continue
            if a["status"] == "done":
                with h5py.File(f, "r") as h:
                    check(len(h["metrics/test_accuracy"][:]) == 1 and "fc.w" in h["weights"],
                          f"finished trial {f} is complete")
                done[f] = a["end_time"]
        check(0 < len(done) < 12, f"some trials finished before the disk filled ({len(done)})")
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        r = sweep(yml)
        check(r.returncode == 0, f"after freeing space the sweep completes: {r.stderr[-800:]}")
        with h5py.File(os.path.join(out, "results.h5"), "r") as f:
            s = f["summary"][:]
            check(len(s) == 12 and all(x == b"done" for x in s["status"]), f"all 12 done: {s['status']}")
        for f, end in done.items():
            check(attrs(f)["end_time"] == end, f"trial finished before the disk filled was kept: {f}")
    finally:
        subprocess.run(["umount", "-l", mnt])


def test_half_written_and_checkpoints(tmp):
    out = os.path.join(tmp, "ck")
    yml = os.path.join(tmp, "ck.yaml")
    small_sweep(yml, out, seeds="0..2")
    r = sweep(yml)
    check(r.returncode == 0, f"first run: {r.stderr[-500:]}")
    files = trial_files(os.path.join(out, "trials"))
    check(len(files) == 3, "three trial files")
    # a crash left one trial file half-written: it is not counted as done and is trained again
    victim = files[0]
    with open(victim, "rb") as f:
        head = f.read(2000)
    with open(victim, "wb") as f:
        f.write(head)
    keep = {f: attrs(f)["end_time"] for f in files[1:]}
    listing = subprocess.run([DCN, "sweep", yml, "--dry-run"], env=ENV, capture_output=True, text=True).stdout
    check("2 done" in listing, f"a truncated trial file is not done: {listing[-300:]}")
    # a damaged checkpoint for it: set aside with a message, the trial starts afresh
    ck = victim[:-3] + ".ckpt.h5"
    write(ck, "not an HDF5 file")
    r = sweep(yml)
    check(r.returncode == 0, f"rerun with a damaged checkpoint succeeds: {r.stderr[-800:]}")
    check(os.path.exists(ck + ".bad"), "the damaged checkpoint was kept aside as .bad")
    check(attrs(victim)["status"] == "done", "the half-written trial was trained again")
    for f, end in keep.items():
        check(attrs(f)["end_time"] == end, "other finished trials untouched")
    # another trial's checkpoint under this trial's name: refused, recorded as failed with the reason
    out2 = os.path.join(tmp, "ck2")
    yml2 = os.path.join(tmp, "ck2.yaml")
    small_sweep(yml2, out2, seeds="0..1")
    r = sweep(yml2, "--dry-run")
    ids = [line.split()[1] for line in r.stdout.splitlines() if line.strip() and line.split()[0].isdigit()]
    ck0 = trial_file(os.path.join(out2, "trials"), ids[0], ".ckpt.h5")
    os.makedirs(os.path.dirname(ck0), exist_ok=True)
    with h5py.File(ck0, "w") as f:
        f.attrs["fingerprint"] = "graph=elsewhere;seed=99"
    r = sweep(yml2)
    check(r.returncode == 0, f"a sweep with a foreign checkpoint goes on: {r.stderr[-800:]}")
    t0 = trial_file(os.path.join(out2, "trials"), ids[0])
    a = attrs(t0) if os.path.exists(t0) else {}
    check(a.get("status") == "failed" and "another configuration" in a.get("reason", ""),
          f"foreign checkpoint refused with a reason: {a.get('reason')}")
    check(attrs(trial_file(os.path.join(out2, "trials"), ids[1]))["status"] == "done", "the other trial finished")


def test_unwritable_output(tmp):
    yml = os.path.join(tmp, "unwritable.yaml")
    small_sweep(yml, "/dev/null/results", seeds="0")
    r = sweep(yml)
    check(r.returncode == 1 and "/dev/null" in r.stderr and "cannot create the folder" in r.stderr,
          f"an output folder that cannot be created is named: {r.stderr[-400:]}")


def need_mnist():
    """The sweeps train on MNIST, which the test command provides: its absence is a failure, not a skip."""
    r = subprocess.run([DCN, "data", "info", "mnist"], env=ENV, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print(f"FAIL: MNIST is needed and missing (tests/run.sh fetches it; by hand: dcn data fetch mnist): "
              f"{r.stderr.strip()}", flush=True)
        sys.exit(1)


def main():
    need_mnist()
    with tempfile.TemporaryDirectory(prefix="dcn-faults-") as tmp:
        test_unwritable_output(tmp)
        test_half_written_and_checkpoints(tmp)
        test_disk_full(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all fault checks passed")


if __name__ == "__main__":
    main()
