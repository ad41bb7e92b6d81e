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
