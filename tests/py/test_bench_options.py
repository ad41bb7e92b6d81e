#!/usr/bin/python3
"""`dcn bench`'s options (README "dcn bench": it builds a model exactly as `dcn train` does):
- --help offers the nine trial fields a bench run takes (graph, variant, batch, channels, order,
  order-seed, seed, frozen, dataset) and bench's own options, each once;
- without options the run is the trial table's default one: the WS graph ws:n=32,k=4,p=0.75,seed=0
  (32 nodes), batch 32, 78 channels, paper variant, random order with seed 0;
- --variant authors takes the authors' code's batch of 128 (README "the authors' code": batch 128,
  as dcn train does), and an explicit --batch still wins over it;
- a bad field value is refused naming the option, with exit status 2.
Needs MNIST in the data folder (tests/run.sh provides it)."""
import json
import os
import subprocess
import sys

DCN = os.environ.get("DCN_BIN", "build/dcn")
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
failures = []
SMALL = ["--graph", "ws:n=8,k=4,p=0.5,seed=0", "--channels", "4"]
QUICK = ["--steps", "1", "--warmup", "0", "--no-peak", "--no-profile", "--json"]


def check(cond, msg):
    print(("ok   - " if cond else "FAIL - ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def bench(*args):
    r = subprocess.run([DCN, "bench", *args, *QUICK], env=ENV, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"dcn bench {' '.join(args) or '(defaults)'}: exit {r.returncode}: {r.stderr[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}


h = subprocess.run([DCN, "bench", "--help"], env=ENV, capture_output=True, text=True, timeout=60)
offered = [ln.split()[0] for ln in h.stdout.splitlines() if ln.startswith("  --")]
want = ["--graph", "--variant", "--batch", "--channels", "--order", "--order-seed", "--seed", "--frozen", "--dataset",
        "--steps", "--warmup", "--threads", "--data-dir", "--train-limit", "--export-dag", "--no-profile", "--no-peak",
        "--json", "--help"]
check(h.returncode == 0 and sorted(offered) == sorted(want), f"--help offers {offered}")

d = bench()
check((d.get("graph"), d.get("dag_nodes"), d.get("batch"), d.get("channels"), d.get("variant"), d.get("order"),
       d.get("order_seed")) == ("ws:n=32,k=4,p=0.75,seed=0", 32, 32, 78, "paper", "random", 0),
      f"defaults: graph {d.get('graph')} ({d.get('dag_nodes')} nodes), batch {d.get('batch')}, channels "
      f"{d.get('channels')}, variant {d.get('variant')}, order {d.get('order')} seed {d.get('order_seed')}")
a = bench(*SMALL, "--variant", "authors")
check(a.get("variant") == "authors" and a.get("batch") == 128, f"--variant authors: batch {a.get('batch')} (128)")
a16 = bench(*SMALL, "--variant", "authors", "--batch", "16")
check(a16.get("batch") == 16, f"--variant authors --batch 16: batch {a16.get('batch')}")
p = bench(*SMALL, "--batch", "8", "--order", "degree", "--seed", "3")
check((p.get("batch"), p.get("order")) == (8, "degree"), f"--batch 8 --order degree: {p.get('batch')}, {p.get('order')}")

for args, opt in ((["--batch", "0"], "--batch"), (["--variant", "resnet"], "--variant"),
                  (["--order", "sideways"], "--order"), (["--seed", "-1"], "--seed")):
    r = subprocess.run([DCN, "bench", *SMALL, *args, *QUICK], env=ENV, capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and f"option {opt}" in r.stderr, f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")

sys.exit(1 if failures else 0)
