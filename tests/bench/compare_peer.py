#!/usr/bin/python3
"""Side-by-side training throughput and peak memory: `dcn bench` against the PyTorch peer
(../shared/peers/torch_dcn.py beside the repository, or --peer / $DCN_PEER), paper model, MNIST, batch 32, 78 channels, one run per model and
thread count, each tool in turn (never two at once: the C. elegans peer alone needs ~19 GB).

  /usr/bin/python3 tests/bench/compare_peer.py [--dcn build/dcn] [--threads 1,2]
      [--models baseline,ws,mouse,celegans] [--steps 20] [--big-steps 4] [--warmup 2]
      [--out bench-results] [--quick]

Prints the ratio table as Markdown (images/s dcn / peer, peak memory peer / dcn, and the targets)
and writes OUT/compare.json with every raw result. --quick: 5 steps, 2 big steps, 1 warm-up.

Both tools train on the same undirected graph: baseline -> no graph; WS -> our
ws:n=32,k=4,p=0.75,seed=0 exported as a RandWire text file (the peer's own --graph ws would be a
different networkx draw); mouse and C. elegans -> the same files in data/cache/connectomes. Each tool
then orients the graph with its own random vertex order (seed 0); the cost depends on the node and
edge counts, which are equal, and only slightly on the orientation.
"""
import argparse, json, os, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
PEER = os.environ.get("DCN_PEER", os.path.join(SRC, "..", "shared", "peers", "torch_dcn.py"))
CONN = os.path.join(SRC, "data", "connectomes")
MNIST = os.path.join(SRC, "data", "cache", "mnist")
# images/s ratio at least, memory ratio (peer / dcn) at least; None: no target. Issue #18 withdrew the
# earlier speed targets (the peer's own speed varies by a factor of 3 between days here) and keeps one,
# C. elegans at 2.5x; the memory ratios are to stay where they were (C. elegans 18.8 GB / 1.0 GB).
TARGETS = {"baseline": (None, None), "ws": (None, None), "mouse": (None, None), "celegans": (2.5, 15.0)}
LABEL = {"baseline": "baseline, no graph", "ws": "WS n=32 k=4 p=0.75", "mouse": "mouse visual cortex",
         "celegans": "C. elegans"}


def run_json(cmd, env=None):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode or not line:
        sys.stderr.write("FAILED (%d): %s\n%s\n" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
        return None
    r = json.loads(line[-1])
    r["wall_s"] = round(time.time() - t, 1)
    r["command"] = " ".join(cmd)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcn", default=os.environ.get("DCN_BIN", os.path.join(SRC, "build", "dcn")))
    ap.add_argument("--peer", default=PEER)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="baseline,ws,mouse,celegans")
    ap.add_argument("--steps", type=int, default=20, help="timed steps for baseline and WS")
    ap.add_argument("--big-steps", type=int, default=4, help="timed steps for mouse and C. elegans")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.steps, a.big_steps, a.warmup = 5, 2, 1
    os.makedirs(a.out, exist_ok=True)
    ws_txt = os.path.abspath(os.path.join(a.out, "ws_n32_k4_p075_seed0.txt"))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    # the WS graph both tools read: dcn's DAG of ws:n=32,k=4,p=0.75,seed=0 as RandWire text
    if "ws" in a.models.split(","):
        r = run_json([a.dcn, "bench", "--graph", "ws:n=32,k=4,p=0.75,seed=0", "--steps", "1", "--warmup", "0",
                      "--no-peak", "--json", "--export-dag", ws_txt], env)
        if r is None:
            return 1
    spec = {  # model -> (dcn args, peer --graph)
        "baseline": (["--variant", "baseline"], "none"),
        "ws": (["--graph", ws_txt], ws_txt),
        "mouse": (["--graph", os.path.join(CONN, "mouse_visual.cortex_2.graphml")],
                  os.path.join(CONN, "mouse_visual.cortex_2.graphml")),
        "celegans": (["--graph", os.path.join(CONN, "celegansneural.gml")], os.path.join(CONN, "celegansneural.gml")),
    }
    results = []
    for th in [int(t) for t in a.threads.split(",")]:
        for model in a.models.split(","):
            dargs, pgraph = spec[model]
            steps = a.big_steps if model in ("mouse", "celegans") else a.steps
            d = run_json([a.dcn, "bench", *dargs, "--threads", str(th), "--steps", str(steps), "--warmup",
                          str(a.warmup), "--json"], env)
            p = run_json([a.peer, "--graph", pgraph, "--dataset", MNIST, "--threads", str(th), "--steps",
                          str(steps + a.warmup), "--warmup", str(a.warmup), "--no-eval"], env)
            row = {"model": model, "threads": th, "steps": steps, "dcn": d, "peer": p}
            if d and p and p.get("train_images_per_s"):
                row["speed_ratio"] = d["train_images_per_s"] / p["train_images_per_s"]
                row["memory_ratio"] = p["peak_rss_mib"] / d["peak_rss_mib"]
            results.append(row)
            print("%s, %d thread(s): dcn %s img/s %s MiB; peer %s img/s %s MiB" % (
                model, th, d and d["train_images_per_s"], d and d["peak_rss_mib"],
                p and p["train_images_per_s"], p and p["peak_rss_mib"]), file=sys.stderr, flush=True)
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump({"results": results, "targets": TARGETS}, f, indent=1)
    print("| model | threads | dcn img/s | peer img/s | speed ratio (target) | dcn peak MiB | peer peak MiB "
          "| memory ratio peer/dcn (target) | dcn GFLOP/s (% of sgemm peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        d, p = r["dcn"], r["peer"]
        ts, tm = TARGETS[r["model"]]
        if not (d and p):
            print("| %s | %d | failed | | | | | | |" % (LABEL[r["model"]], r["threads"]))
            continue
        sr, mr = r.get("speed_ratio", float("nan")), r.get("memory_ratio", float("nan"))
        def verdict(v, t):
            return "" if t is None else " (>= %gx) %s" % (t, "met" if v >= t else "MISSED")
        print("| %s | %d | %.1f | %.2f | %.2fx%s | %.0f | %.0f | %.1fx%s | %.1f (%.0f%%) |" % (
            LABEL[r["model"]], r["threads"], d["train_images_per_s"], p["train_images_per_s"], sr, verdict(sr, ts),
            d["peak_rss_mib"], p["peak_rss_mib"], mr, verdict(mr, tm), d["gflops"], 100 * d["fraction_of_peak"]))
    print("\nraw results: %s" % os.path.join(a.out, "compare.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
