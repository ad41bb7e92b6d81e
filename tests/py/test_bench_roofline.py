#!/usr/bin/python3
"""dcn bench's roofline (README "dcn bench"): the sgemm FLOPs and the minimum bytes of the front and
batch norm are recounted here from the DAG as `dcn graph dag` exports it (in-degrees from the edge
list, read by networkx), with the documented formulas (the nodes that keep their aggregation found by
replaying the backward's slot liveness), and must equal the JSON's; roofline_ms must be
FLOPs at the model-shape sgemm rate plus bytes at the STREAM triad bandwidth, and fraction_of_roofline
roofline_ms over the measured ms per step. The bandwidth must be a real measurement (1-1000 GB/s).
With 1 thread the roofline's sgemm rate is the single-core one printed beside it; with 2 threads both
limits are measured with 2 threads at once, so the sgemm rate exceeds one core's (two cores compute
independently), and the peak RSS is the model's, not that of the measurements' buffers (384 MiB a thread).
Needs MNIST (tests/run.sh)."""
import json
import os
import subprocess
import sys
import tempfile

import networkx as nx

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []


def check(ok, what):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


G, B, C = "ws:n=16,k=4,p=0.5,seed=1", 4, 8
def bench(threads):
    r = subprocess.run([DCN, "bench", "--graph", G, "--channels", str(C), "--batch", str(B), "--steps", "2",
                        "--warmup", "1", "--threads", str(threads), "--json"], capture_output=True, text=True, env=ENV,
                       timeout=300)
    j = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
    check(r.returncode == 0 and "roofline_ms" in j, f"dcn bench --threads {threads} --json has the roofline: "
          f"{r.stderr[-300:]}")
    return j


with tempfile.TemporaryDirectory(prefix="dcn-roofline-", dir=".") as tmp:
    j = bench(1)
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
        check(1 < j["stream_triad_gbs"] < 1000 and j["front_gbs"] > 0, f"triad {j['stream_triad_gbs']} GB/s, front "
              f"{j['front_gbs']} GB/s")
    j2 = bench(2)
    if j2:
        check(j2["roofline_sgemm_gflops"] > j2["sgemm_model_shape_gflops"] and 1 < j2["stream_triad_gbs"] < 1000,
              f"2 threads: sgemm {j2['roofline_sgemm_gflops']} GFLOP/s on 2 cores at once against "
              f"{j2['sgemm_model_shape_gflops']} on one; triad {j2['stream_triad_gbs']} GB/s")
        want = 1e3 * (flop / j2["roofline_sgemm_gflops"] + (front + bn) / j2["stream_triad_gbs"])
        check(close(j2["roofline_ms"], want, 2e-2), f"2 threads: roofline_ms {j2['roofline_ms']} = {want:.4f}")
        check(j2["peak_rss_mib"] < 300, f"2 threads: peak RSS {j2['peak_rss_mib']} MiB is the model's, without the "
              "triad's 768 MiB")

for f in failures:
    print("FAIL -", f, flush=True)
sys.exit(1 if failures else 0)
