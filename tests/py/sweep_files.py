"""Where a sweep keeps its per-trial files (README "dcn sweep"): <trials>/<ab>/<id>.h5, <ab> the id's
first two hex digits; checkpoints beside them as <id>.ckpt.h5. Sweeps started by dcn before the
fan-out keep the flat <trials>/<id>.h5, which trial_file also finds."""
import glob
import os


def trial_file(trials, tid, suffix=".h5"):
    """The file of trial tid (suffix ".h5", ".h5.tmp" or ".ckpt.h5") under the trials folder."""
    flat = os.path.join(trials, tid + suffix)
    return flat if os.path.exists(flat) else os.path.join(trials, tid[1:3], tid + suffix)


def trial_files(trials, pattern="t*[0-9a-f].h5"):
    """Every file matching pattern in the trials folder and its fan-out subfolders, sorted by name."""
    found = glob.glob(os.path.join(trials, pattern)) + glob.glob(os.path.join(trials, "??", pattern))
    return sorted(found, key=os.path.basename)


def train_limit_for(dcn, seconds, lo=64, hi=8192):
    """Training images that make one tiny trial (WS n=8, 2 channels, batch 16) train for about `seconds`
    with this build on this machine, within [lo, hi] and a multiple of 16. Tests that must see a sweep
    still running (a kill landing, an update being installed) size their trials with it, so that a
    faster machine or build does not finish before the event and a sanitizer build is not slowed 20x."""
    import json
    import subprocess
    r = subprocess.run([dcn, "train", "--graph", "ws:n=8,k=4,p=0.5,seed=1", "--channels", "2", "--batch", "16",
                        "--train-limit", "512", "--test-limit", "64", "--epochs", "1", "--json", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    rate = json.loads(r.stdout.strip().splitlines()[-1])["train_images_per_s"] if r.returncode == 0 else 0
    return rate, max(lo, min(hi, int(rate * seconds) // 16 * 16))
