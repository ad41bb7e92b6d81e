#!/usr/bin/python3
"""Trials per hour of a C. elegans sweep on this machine: dcn against the best the PyTorch peer can do.

    /usr/bin/python3 tests/bench/sweep_throughput.py [--dcn build/dcn] [--ranks 2] [--peer PATH]
        [--train-limit 640] [--test-limit 640] [--epochs 50] [--out DIR]
        [--node-cores 64 --node-mem-gb 256 --node-bw-gbs 300]

dcn: a real `mpirun -n RANKS dcn sweep` of RANKS C. elegans trials (paper model, 78 channels, batch 32,
MNIST, one thread each, all ranks training at once, so they share the memory bandwidth as a sweep's
ranks do). Each trial file gives its training rate (train_images_per_s) and its epoch time, and so
the rate of the per-epoch evaluation; peak RSS per rank is sampled from /proc.

PyTorch: the peer holds one C. elegans trial at a time on a 24 GB machine (18.8 GB each), so its best
is one trial with every core: `torch_dcn.py --threads CORES`, warm-up steps first. Its evaluation
rate is not measured (the peer evaluates the whole test set); it is taken to cost the same share of a
training image as dcn's measured one (a forward pass against forward + backward), which the JSON says.

A trial of the paper's protocol is EPOCHS x (60,000 training + 10,000 test images). The machine's
trials per hour is ranks x 3600 / trial seconds. The estimate for a cluster node (--node-*) is on
paper and takes, for each tool, the lesser of two limits, since neither tool's scaling there is
measured: dcn runs one rank per core while its peak RSS fits, each at the lesser of its rate here and
its roofline on the node (sgemm at this machine's per-core rate, the step's bytes at the node's
bandwidth shared by all ranks); the peer runs as many trials as its footprint fits, the cores shared
among them, at the lesser of its per-core rate here times the cores and the node's bandwidth over
twice its footprint per step (each activation written and read once: a lower bound on its traffic).
Prints a JSON summary and a Markdown table.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from sweep_stress import rss_mb, session_pids  # noqa: E402

PEER = os.environ.get("DCN_PEER", os.path.join(SRC, "..", "shared", "peers", "torch_dcn.py"))
TRAIN_IMAGES, TEST_IMAGES = 60000, 10000


def run_sweep(a, env):
    # a fresh sweep every time: one left from an earlier run would be found done and not trained
    sweep = os.path.join(a.out, "sweep")
    shutil.rmtree(sweep, ignore_errors=True)
    os.makedirs(sweep)
    yml = os.path.join(sweep, "throughput.yaml")
    with open(yml, "w") as f:
        f.write(f"output: {sweep}/results.h5\ngraphs: [celegans]\nvariants: [paper]\nseeds: 0..{a.ranks - 1}\n"
                f"epochs: 1\nchannels: 78\nbatch: 32\ntrain_limit: {a.train_limit}\ntest_limit: {a.test_limit}\n")
    t0 = time.time()
    p = subprocess.Popen(["mpirun", "-n", str(a.ranks), a.dcn, "sweep", yml, "--quiet"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = [0.0]

    def sample():
        while p.poll() is None:
            for pid, cmd in session_pids(p.pid):
                if os.path.basename(cmd[0]) == os.path.basename(a.dcn).encode():
                    peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.2)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    err = p.communicate()[1]
    th.join(timeout=5)
    if p.returncode:
        sys.exit(f"the dcn sweep failed ({p.returncode}): {err[-2000:]}")
    listing = json.loads(subprocess.run([a.dcn, "sweep", yml, "--dry-run", "--json"], capture_output=True, text=True,
                                        env=env).stdout)["trials"]
    trials = []
    for t in listing:
        with h5py.File(t["file"], "r") as f:
            tr = float(f.attrs["train_images_per_s"])
            epoch_s = float(f["metrics"]["seconds"][0])
            train_s = a.train_limit / tr
            trials.append(dict(id=t["id"], train_images_per_s=tr, epoch_seconds=epoch_s,
                               eval_images_per_s=a.test_limit / max(epoch_s - train_s, 1e-9)))
    return dict(wall_s=round(time.time() - t0, 1), peak_rank_rss_mib=round(peak[0], 1), trials=trials)


def run_peer(a, env):
    cmd = [a.peer, "--graph", os.path.join(SRC, "data", "connectomes", "celegansneural.gml"), "--dataset",
           os.path.join(SRC, "data", "cache", "mnist"), "--threads", str(a.cores), "--steps",
           str(a.peer_steps + a.peer_warmup), "--warmup", str(a.peer_warmup), "--no-eval"]
    p = subprocess.run(["/usr/bin/python3"] + cmd, capture_output=True, text=True, env=env)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode or not line:
        sys.exit(f"the peer failed ({p.returncode}): {p.stderr[-2000:]}")
    r = json.loads(line[-1])
    r["command"] = " ".join(cmd)
    return r


def bench_split(a, env):
    """dcn bench's roofline parts at one thread: the sgemm seconds and the bytes of a step"""
    r = subprocess.run([a.dcn, "bench", "--graph", "celegans", "--steps", "3", "--warmup", "1", "--json"],
                       capture_output=True, text=True, env=env)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dcn", default=os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn")))
    ap.add_argument("--peer", default=PEER)
    ap.add_argument("--ranks", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="threads the peer's one trial uses")
    ap.add_argument("--train-limit", type=int, default=640)
    ap.add_argument("--test-limit", type=int, default=640)
    ap.add_argument("--epochs", type=int, default=50, help="epochs of the protocol's trial (the paper: 50)")
    ap.add_argument("--peer-steps", type=int, default=6)
    ap.add_argument("--peer-warmup", type=int, default=2)
    ap.add_argument("--peer-rss-gb", type=float, default=0, help="the peer's peak per trial (0: measured)")
    ap.add_argument("--node-cores", type=int, default=64)
    ap.add_argument("--node-mem-gb", type=float, default=256)
    ap.add_argument("--node-bw-gbs", type=float, default=300, help="the node's STREAM triad bandwidth, all cores")
    ap.add_argument("--out", default="sweep-throughput")
    ap.add_argument("--skip-peer", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    a.out = os.path.abspath(a.out)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.setdefault("DCN_DATA_DIR", os.path.join(SRC, "data", "cache"))

    d = run_sweep(a, env)
    tr = sum(t["train_images_per_s"] for t in d["trials"]) / len(d["trials"])
    ev = sum(t["eval_images_per_s"] for t in d["trials"]) / len(d["trials"])
    eval_share = tr / ev  # one test image costs this many training images (a forward pass: about 1/4)
    trial_s = a.epochs * (TRAIN_IMAGES / tr + TEST_IMAGES / ev)
    dcn_tph = a.ranks * 3600 / trial_s
    out = dict(machine=dict(cores=os.cpu_count(), mem_gb=round(os.sysconf("SC_PAGE_SIZE") *
                                                             os.sysconf("SC_PHYS_PAGES") / 2**30, 1)),
               dcn=dict(ranks=a.ranks, per_rank_train_images_per_s=round(tr, 2), per_rank_eval_images_per_s=round(ev, 2),
                        trial_hours=round(trial_s / 3600, 2), trials_per_hour=round(dcn_tph, 4),
                        peak_rank_rss_mib=d["peak_rank_rss_mib"], sweep_wall_s=d["wall_s"], trials=d["trials"]))
    if not a.skip_peer:
        p = run_peer(a, env)
        rss_gb = a.peer_rss_gb or p["peak_rss_mib"] / 1024
        fit = int(out["machine"]["mem_gb"] // rss_gb)
        ptrial_s = a.epochs * (TRAIN_IMAGES + TEST_IMAGES * eval_share) / p["train_images_per_s"]
        peer_tph = max(1, min(fit, 1)) * 3600 / ptrial_s  # one at a time: memory, and all cores to it
        out["peer"] = dict(threads=a.cores, train_images_per_s=p["train_images_per_s"], peak_rss_gb=round(rss_gb, 2),
                           trials_that_fit=fit, trial_hours=round(ptrial_s / 3600, 2),
                           trials_per_hour=round(peer_tph, 4), eval="estimated: a test image costs %.3f of a "
                           "training image, as measured for dcn" % eval_share, command=p["command"])
        out["ratio_trials_per_hour"] = round(dcn_tph / peer_tph, 2)
        # the cluster node, on paper: two limits, since neither tool's scaling there is measured
        b = bench_split(a, env)
        sg_s = b["roofline_sgemm_gflop"] / b["sgemm_model_shape_gflops"]
        bytes_gb = b["roofline_front_gb"] + b["roofline_bn_gb"]
        ranks_node = min(a.node_cores, int(a.node_mem_gb * 1024 // max(d["peak_rank_rss_mib"], 1)))
        bw_rank = a.node_bw_gbs / ranks_node
        dcn_linear = ranks_node * tr
        dcn_roof = ranks_node * b["batch"] / (sg_s + bytes_gb / bw_rank)
        peer_fit = int(a.node_mem_gb // rss_gb)
        peer_linear = p["train_images_per_s"] / a.cores * a.node_cores
        # the peer keeps every activation: a step writes and reads at least its footprint
        peer_bw = a.node_bw_gbs / (2 * rss_gb * 2**30 / 1e9 / b["batch"])
        dcn_node, peer_node = min(dcn_linear, dcn_roof), min(peer_linear, peer_bw)
        out["node_estimate"] = dict(
            cores=a.node_cores, mem_gb=a.node_mem_gb, bw_gbs=a.node_bw_gbs, dcn_ranks=ranks_node,
            dcn_train_images_per_s=round(dcn_node, 1), dcn_linear=round(dcn_linear, 1), dcn_roofline=round(dcn_roof, 1),
            peer_trials_at_once=peer_fit, peer_train_images_per_s=round(peer_node, 1), peer_linear=round(peer_linear, 1),
            peer_bandwidth_bound=round(peer_bw, 1), ratio=round(dcn_node / peer_node, 2),
            assumptions="dcn: one rank per core while its peak RSS fits, each rank at the lesser of its rate measured "
                        "here and its roofline on the node (sgemm at this machine's per-core rate, the step's bytes at "
                        "the node's bandwidth shared by all ranks). Peer: its trials limited by memory, the cores "
                        "shared among them, at the lesser of its per-core rate here times the cores (perfect scaling) "
                        "and the node's bandwidth over 2 x its footprint per step (each activation written and read "
                        "once, a lower bound on its traffic).")
    with open(os.path.join(a.out, "throughput.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    dd = out["dcn"]
    print(f"\n| tool | setup | train img/s (machine) | trial of {a.epochs} epochs | trials per hour |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| dcn | {a.ranks} ranks x 1 thread, {dd['peak_rank_rss_mib']:.0f} MiB each | "
          f"{a.ranks * tr:.1f} | {dd['trial_hours']:.1f} h | {dd['trials_per_hour']:.3f} |")
    if "peer" in out:
        pp = out["peer"]
        print(f"| PyTorch peer | 1 trial x {a.cores} threads, {pp['peak_rss_gb']:.1f} GB | {pp['train_images_per_s']:.2f} "
              f"| {pp['trial_hours']:.1f} h | {pp['trials_per_hour']:.4f} |")
        print(f"\nratio of trials per hour: {out['ratio_trials_per_hour']}x; on a {a.node_cores}-core "
              f"{a.node_mem_gb:.0f} GB node (estimate): {out['node_estimate']['ratio']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
