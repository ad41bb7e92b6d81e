#!/usr/bin/python3
"""dcn bench's roofline (README "dcn bench"): the sgemm FLOPs and the minimum bytes of the front and
batch norm are recounted here from the DAG as `dcn graph dag` exports it (in-degrees from the edge
list, read by networkx), with the documented formulas (the nodes that keep their aggregation found by
replaying the backward's slot liveness), and must equal the JSON's; roofline_ms must be
FLOPs (as recounted here) at the model-shape sgemm rate plus bytes (as recounted here) at the STREAM
triad bandwidth, and fraction_of_roofline roofline_ms over the measured ms per step. The bandwidth is
checked against STREAM's Add (a = b + c: the triad's bytes, two 128 MiB arrays read and one written)
measured here with numpy, counting the same 3 arrays: dcn's best of 3 runs must lie within 0.7-1.5
times numpy's best of 3 (0.83-1.17 in 7 runs here under a load of 5-6 on 2 cores; a triad counting
2 arrays instead of 3 gave 0.53-0.66 in 6 runs).
With 1 thread the roofline's sgemm rate is the single-core one printed beside it; with 2 threads both
limits are measured with 2 threads at once, so the sgemm rate is at least 1.2 times one core's (two
cores compute independently: 1.96-2.0 measured, also under load; each thread's rate is its best of 20
short products, so time-slicing does not halve it; rerun up to twice below 1.2), the triad within
0.5-2.6 times numpy's one-core figure (two cores share the memory), and the peak RSS is the model's,
not that of the measurements' buffers (384 MiB a thread). In the sanitizer build (-O0 with ASan, which
the test command runs too) the triad loop is unoptimised and every access checked (1.1-1.9 GB/s
measured): both triad lower bounds drop to 0.01 times numpy's there, and the test says so.
Needs MNIST (tests/run.sh)."""
import json
import os
import subprocess
import sys
import tempfile
import time

import networkx as nx
import numpy as np

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


def numpy_add_gbs(n=1 << 25, reps=5):
    """STREAM's Add, a = b + c over 3 float32 arrays of 128 MiB (one numpy loop), best of 5 after an
    untimed pass that faults the pages in, counting the 3 arrays: the bytes of the triad (two arrays
    read, one written), without its multiply, which costs nothing at memory speed."""
    b, c, a = np.ones(n, np.float32), np.full(n, 2.0, np.float32), np.zeros(n, np.float32)
    best = 0.0
    for r in range(reps + 1):
        t = time.perf_counter()
        np.add(b, c, out=a)
        dt = time.perf_counter() - t
        if r:
            best = max(best, 3 * n * 4 / dt / 1e9)
    return best if a[n // 2] == 3.0 else 0.0


def numpy_add_apart():
    """numpy_add_gbs in a process of its own: the 384 MiB must not raise this process's peak RSS,
    which a child started from here inherits in its own getrusage maximum across exec."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--numpy-add"], capture_output=True, text=True,
                       timeout=300)
    return float(r.stdout) if r.returncode == 0 else 0.0


if sys.argv[1:] == ["--numpy-add"]:
    print(numpy_add_gbs())
    sys.exit(0)
G, B, C = "ws:n=16,k=4,p=0.5,seed=1", 4, 8
# an ASan build's triad is not the machine's bandwidth (-O0, every access checked): only a lower floor
SANITIZED = "libasan" in subprocess.run(["ldd", DCN], capture_output=True, text=True).stdout
LOW1, LOW2 = (0.01, 0.01) if SANITIZED else (0.7, 0.5)
if SANITIZED:
    print(f"note - {DCN} is a sanitizer build: triad lower bounds {LOW1} and {LOW2} times numpy's", flush=True)
def bench(threads):
    r = subprocess.run([DCN, "bench", "--graph", G, "--channels", str(C), "--batch", str(B), "--steps", "2",
                        "--warmup", "1", "--threads", str(threads), "--json"], capture_output=True, text=True, env=ENV,
                       timeout=300)
    j = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
    check(r.returncode == 0 and "roofline_ms" in j, f"dcn bench --threads {threads} --json has the roofline: "
          f"{r.stderr[-300:]}")
    return j


with tempfile.TemporaryDirectory(prefix="dcn-roofline-", dir=".") as tmp:
    # dcn's 1-thread triad against numpy's: the best of 3 runs each, taken in turn, as a neighbour's memory
    # traffic can slow any one measurement
    t_np, t_dcn = 0.0, 0.0
    for attempt in range(3):
        t_np = max(t_np, numpy_add_apart())
        j = bench(1)
        t_dcn = max(t_dcn, j.get("stream_triad_gbs", 0.0))
    ratio = t_dcn / t_np if t_np > 0 else 0.0
    check(LOW1 <= ratio <= 1.5, f"1 thread: triad {t_dcn} GB/s (best of 3 runs) is {ratio:.2f} times numpy's "
          f"a = b + c, {t_np:.2f} GB/s counting the same 3 arrays ({LOW1}-1.5)")
    dag = os.path.join(tmp, "dag.txt")
    e = subprocess.run([DCN, "graph", "dag", G, "--order", "random", "--order-seed", "0", "--format", "txt",
                        "--out", dag], capture_output=True, text=True)
    with open(dag) as f:
        lines = f.read().split("\n")
    n, m = int(lines[0]), int(lines[1])
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(tuple(map(int, ln.split())) for ln in lines[2:2 + m])
    S = B * C * 14 * 14 * 4
    # which nodes keep their aggregation: replay the backward's slot liveness (a node's dA slot is
    # free once its smallest predecessor has pulled); a node that finds no free slot takes one no
    # backward step has used yet, which holds its aggregation from the forward on (3 inputs or more)
    kept, free_slots = set(), 0
    for i in range(n - 1, -1, -1):
        free_slots += sum(1 for k in g.successors(i) if min(g.predecessors(k)) == i)
        if g.in_degree(i) > 0:
            if free_slots:
                free_slots -= 1
            elif g.in_degree(i) >= 3:
                kept.add(i)
    check(len(kept) > 0, f"the test graph has nodes that keep their aggregation: {sorted(kept)}")
    front = sum(((d + 2) + (d + 3)) if v in kept else ((max(d, 1) + 1) + (2 * max(d, 1) + 2))
                for v, d in g.in_degree()) * S / 1e9
    bn = 5 * n * S / 1e9
    flop = 6 * B * 14 * 14 * C * C * n / 1e9
    if j:
        check(close(j["roofline_front_gb"], front) and close(j["roofline_bn_gb"], bn) and
              close(j["roofline_sgemm_gflop"], flop),
              f"bytes and FLOPs recounted from the DAG: front {j['roofline_front_gb']} vs {front}, batch norm "
              f"{j['roofline_bn_gb']} vs {bn}, sgemm {j['roofline_sgemm_gflop']} vs {flop}")
        check(j["roofline_sgemm_gflops"] == j["sgemm_model_shape_gflops"],
              f"1 thread: the roofline's sgemm rate is the single-core one ({j['roofline_sgemm_gflops']})")
        want = 1e3 * (flop / j["roofline_sgemm_gflops"] + (front + bn) / j["stream_triad_gbs"])
        check(close(j["roofline_ms"], want, 2e-2) and close(j["fraction_of_roofline"], j["roofline_ms"] /
                                                            j["ms_per_step"], 2e-2),
              f"roofline_ms {j['roofline_ms']} = FLOPs/sgemm + bytes/bandwidth = {want:.4f}; fraction "
              f"{j['fraction_of_roofline']}")
        check(j["front_gbs"] > 0, f"front {j['front_gbs']} GB/s")
    # 2 threads: both cores' sgemm at once must beat one core's by 1.2 (one core's rate reused gives 1.0)
    for attempt in range(3):
        j2 = bench(2)
        r2 = j2["roofline_sgemm_gflops"] / j2["sgemm_model_shape_gflops"] if j2 else 0
        if r2 >= 1.2:
            break
        print(f"# 2 threads: sgemm ratio {r2:.2f} (load {os.getloadavg()[0]:.1f}): measuring again", flush=True)
    if j2:
        check(r2 >= 1.2, f"2 threads: sgemm {j2['roofline_sgemm_gflops']} GFLOP/s on 2 cores at once is {r2:.2f} times "
              f"{j2['sgemm_model_shape_gflops']} on one (at least 1.2) after {attempt + 1} attempt(s)")
        check(LOW2 * t_np <= j2["stream_triad_gbs"] <= 2.6 * t_np, f"2 threads: triad {j2['stream_triad_gbs']} GB/s "
              f"within {LOW2}-2.6 times numpy's one-core {t_np:.2f} GB/s")
        want = 1e3 * (flop / j2["roofline_sgemm_gflops"] + (front + bn) / j2["stream_triad_gbs"])
        check(close(j2["roofline_ms"], want, 2e-2), f"2 threads: roofline_ms {j2['roofline_ms']} = {want:.4f}")
        check(j2["peak_rss_mib"] < 300, f"2 threads: peak RSS {j2['peak_rss_mib']} MiB is the model's, without the "
              "triad's 768 MiB")

for f in failures:
    print("FAIL -", f, flush=True)
sys.exit(1 if failures else 0)
