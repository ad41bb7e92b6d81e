#!/usr/bin/python3
"""dcn's null-model graphs against networkx 2.8: G(n, m) ("gnm:") and degree-preserving rewiring
("rewire:BASE,swaps_per_edge=X,seed=Y", networkx's double_edge_swap written in C on dcn's RNG).

networkx reads dcn's graphs from `dcn graph dag SPEC --order identity --format txt`: with the identity
order a RandWire line "s t" is the edge between graph vertices s and t, so the export is the graph.

Exact checks: every vertex of rewire:celegans keeps the degree it has in C. elegans as networkx reads
the GML and reduces it to a simple undirected graph (the way dcn does: parallel edges merged, direction
dropped, self-loops dropped); `dcn graph stats` reports 297 nodes and 2148 edges and the swaps it made;
no export has a self-loop or a repeated pair; the same spec gives a byte-identical export, another seed
another graph; gnm: graphs have exactly n nodes and m edges; bad specs exit 1 with a message naming them.

Statistical check (the rewiring is networkx's Markov chain, not only degree-preserving): over 100
seeds, the mean average clustering and the mean average shortest path length (largest component) of
dcn's rewired C. elegans, both computed by networkx on dcn's exports, must lie within the spread of an
ensemble of NX_SAMPLES seeded nx.double_edge_swap(G, nswap=10*m, max_tries=100*nswap) graphs. "Within"
means |mean_dcn - mean_nx| <= 3 * SE, SE = sqrt(sd_dcn^2/n_dcn + sd_nx^2/n_nx), the standard error of
the difference of two independent means (a two-sided z-test at the 0.27% level per measure; the
seeds are fixed, so the outcome is the same on every run). The ensembles' standard deviations must
also agree within a factor of 2 (a chain that mixes too little would show a smaller spread). The same
rule must REJECT the original C. elegans graph (an ensemble of one graph, sd 0): the check can fail.
The same rule compares dcn's gnm: graphs with nx.gnm_random_graph on average clustering.

Wall time: ~20 s on 2 cores (networkx's double_edge_swap of 21,480 swaps takes ~0.5 s a sample in
Python; samples and measures run in a multiprocessing pool of 2).

Environment (set by ctest): DCN_BIN, DCN_PROJECT_DATA (the project's data/ folder, which ships the connectomes).
"""
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import networkx as nx

BIN = os.environ.get("DCN_BIN", "dcn")
SHARED = os.environ.get("DCN_PROJECT_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "data"))
GML = os.path.join(SHARED, "connectomes", "celegansneural.gml")
ENV = dict(os.environ, DCN_DATA_DIR=SHARED, OPENBLAS_NUM_THREADS="1")
TMP = tempfile.mkdtemp(prefix="dcn-null-py-", dir=".")
DCN_SEEDS = range(1, 101)  # dcn ensemble: rewire:celegans,...,seed=S
NX_SAMPLES = 40            # networkx ensemble (seeds 1..NX_SAMPLES)
SWAPS_PER_EDGE = 10

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(*args, expect=0):
    p = subprocess.run([BIN] + list(args), env=ENV, capture_output=True, text=True, timeout=300)
    if expect is not None and p.returncode != expect:
        print("command:", [BIN] + list(args), "\nexit:", p.returncode, "\nstdout:", p.stdout, "\nstderr:", p.stderr)
        sys.exit(1)
    return p


def stats(spec):
    return json.loads(run("graph", "stats", spec, "--json", "--nrand", "0").stdout)


def export(spec, name, fmt="txt"):
    out = os.path.join(TMP, name)
    run("graph", "dag", spec, "--order", "identity", "--format", fmt, "--out", out)
    return out


def read_export(path):
    """RandWire text -> (networkx Graph, problems): self-loops, repeated pairs, wrong counts."""
    lines = [l.split() for l in open(path) if l.strip()]
    n, m = int(lines[0][0]), int(lines[1][0])
    pairs = [(int(a), int(b)) for a, b in lines[2:]]
    problems = []
    if len(pairs) != m:
        problems.append("header says %d edges, file has %d" % (m, len(pairs)))
    if any(a == b for a, b in pairs):
        problems.append("self-loop")
    if len({frozenset(p) for p in pairs}) != len(pairs):
        problems.append("repeated pair (multi-edge)")
    if any(not (0 <= a < n and 0 <= b < n) for a, b in pairs):
        problems.append("vertex out of range")
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(pairs)
    return G, problems


def read_gml_simple(path):
    """C. elegans as dcn reduces it: networkx accepts Newman's parallel edges only with multigraph 1;
    direction and parallel edges merge into one undirected edge, self-loops go."""
    text = open(path).read().replace("graph\n[", "graph\n[\n  multigraph 1", 1)
    G = nx.parse_gml(text, label="id")
    H = nx.Graph()
    H.add_nodes_from(G.nodes())  # file order = dcn's vertex order
    H.add_edges_from((u, v) for u, v, _ in G.edges(keys=True) if u != v)
    return nx.convert_node_labels_to_integers(H, ordering="default")


def measures(G):
    """(average clustering, average shortest path length of the largest component), both networkx's.
    The component is copied: networkx's path search on a subgraph view is ~7x slower."""
    lcc = G.subgraph(max(nx.connected_components(G), key=len)).copy()
    return nx.average_clustering(G), nx.average_shortest_path_length(lcc)


# ---- pool workers (module level so that multiprocessing can call them) ----

def dcn_sample(seed):
    spec = "rewire:celegans,swaps_per_edge=%g,seed=%d" % (SWAPS_PER_EDGE, seed)
    G, problems = read_export(export(spec, "rw-%d.txt" % seed))
    return seed, [d for _, d in sorted(G.degree())], problems, sorted(map(sorted, G.edges())), measures(G)


def nx_sample(args):
    base, seed = args
    G = base.copy()
    nswap = SWAPS_PER_EDGE * G.number_of_edges()
    nx.double_edge_swap(G, nswap=nswap, max_tries=100 * nswap, seed=seed)
    return measures(G)


def gnm_dcn_sample(seed):
    G, problems = read_export(export("gnm:n=297,m=2148,seed=%d" % seed, "gnm-%d.txt" % seed))
    return G.number_of_nodes(), G.number_of_edges(), problems, nx.average_clustering(G)


def gnm_nx_sample(seed):
    return nx.average_clustering(nx.gnm_random_graph(297, 2148, seed=seed))


# ---- the comparison rule (see the docstring) ----

def within(a, b):
    """Whether the mean of sample a lies within 3 standard errors of the difference from b's mean.
    Returns (ok, z)."""
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    va = statistics.variance(a) if len(a) > 1 else 0.0
    vb = statistics.variance(b) if len(b) > 1 else 0.0
    se = math.sqrt(va / len(a) + vb / len(b))
    z = abs(ma - mb) / se if se > 0 else (0.0 if ma == mb else math.inf)
    return z <= 3.0, z


def spread_agrees(a, b):
    sa, sb = statistics.stdev(a), statistics.stdev(b)
    return 0.5 <= sa / sb <= 2.0, sa, sb


def rewire_ensembles(celegans, pool):
    print("== rewire:celegans over %d seeds vs nx.double_edge_swap over %d seeds" % (len(DCN_SEEDS), NX_SAMPLES),
          flush=True)
    t0 = time.time()
    nx_async = pool.map_async(nx_sample, [(celegans, s) for s in range(1, NX_SAMPLES + 1)])
    dcn = pool.map(dcn_sample, DCN_SEEDS)
    ref = nx_async.get()
    print("   ensembles took %.1f s" % (time.time() - t0), flush=True)
    degrees = [d for _, d in sorted(celegans.degree())]
    edge_sets = set()
    for seed, deg, problems, edges, _ in dcn:
        check(not problems, "rewire:celegans seed %d export: %s" % (seed, problems))
        check(deg == degrees, "rewire:celegans seed %d: degree sequence differs from C. elegans "
              "(vertex by vertex, networkx's reduction of the GML)" % seed)
        check(len(edges) == celegans.number_of_edges(), "rewire:celegans seed %d: %d edges" % (seed, len(edges)))
        edge_sets.add(tuple(map(tuple, edges)))
    check(len(edge_sets) == len(dcn), "different seeds give different graphs: %d distinct of %d" % (
        len(edge_sets), len(dcn)))
    orig = measures(celegans)
    for i, name in enumerate(("average clustering", "average shortest path length (LCC)")):
        a, b = [s[4][i] for s in dcn], [r[i] for r in ref]
        ok, z = within(a, b)
        sd_ok, sa, sb = spread_agrees(a, b)
        print("   %s: dcn %.5f (sd %.5f) nx %.5f (sd %.5f) z %.2f; original C. elegans %.5f" % (
            name, statistics.fmean(a), sa, statistics.fmean(b), sb, z, orig[i]), flush=True)
        check(ok, "%s of rewired C. elegans: dcn's mean %.5f is %.2f standard errors from networkx's %.5f "
              "(allowed 3)" % (name, statistics.fmean(a), z, statistics.fmean(b)))
        check(sd_ok, "%s: spread of dcn's ensemble %.5f vs networkx's %.5f (allowed a factor 2)" % (name, sa, sb))
        ok0, z0 = within([orig[i]], b)
        check(not ok0, "%s: the check must reject the original C. elegans graph (%.5f), but z = %.2f <= 3" % (
            name, orig[i], z0))


def rewire_exact(celegans):
    print("== rewire: stats, determinism, nested specs", flush=True)
    spec = "rewire:celegans,swaps_per_edge=10,seed=1"
    s = stats(spec)
    check(s["graph"] == spec, "JSON graph %r" % s["graph"])
    check(s["nodes"] == celegans.number_of_nodes() == 297 and s["edges"] == celegans.number_of_edges() == 2148,
          "rewired C. elegans: dcn %r nodes %r edges, networkx %d and %d" % (
              s["nodes"], s["edges"], celegans.number_of_nodes(), celegans.number_of_edges()))
    check(s.get("rewire_swaps") == 21480 and 21480 <= s.get("rewire_tries", 0) <= 100 * 21480,
          "swaps recorded: rewire_swaps %r (expected 21480), rewire_tries %r" % (
              s.get("rewire_swaps"), s.get("rewire_tries")))
    check(s["input_edges"] == 2359, "the base file's reduction counts stay: input_edges %r" % s["input_edges"])
    base = stats("celegans")
    check("rewire_swaps" not in base and "rewire_tries" not in base, "rewire_* keys only for rewired graphs")
    check(s["max_degree"] == base["max_degree"], "max degree kept")
    half = stats("rewire:celegans,swaps_per_edge=0.5,seed=2")
    check(half.get("rewire_swaps") == 1074, "swaps_per_edge=0.5: %r swaps, expected round(0.5*2148) = 1074" %
          half.get("rewire_swaps"))
    # same spec, byte-identical exports; the options in any order; another seed, another graph
    for fmt in ("txt", "graphml"):
        a = open(export(spec, "a." + fmt, fmt), "rb").read()
        b = open(export(spec, "b." + fmt, fmt), "rb").read()
        c = open(export("rewire:celegans,seed=1,swaps_per_edge=10", "c." + fmt, fmt), "rb").read()
        d = open(export("rewire:celegans,swaps_per_edge=10,seed=2", "d." + fmt, fmt), "rb").read()
        check(a == b, "same seed, byte-identical %s export" % fmt)
        check(a.replace(b"swaps_per_edge=10,seed=1", b"") == c.replace(b"seed=1,swaps_per_edge=10", b""),
              "options in either order, same %s export (up to the spec's text)" % fmt)
        check(a != d, "another seed, another %s export" % fmt)
    # a generator base with its own seed: base ws:n=32,k=4,p=0.5,seed=1, rewiring seed 3
    nested = "rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=3"
    W, _ = read_export(export("ws:n=32,k=4,p=0.5,seed=1", "ws.txt"))
    R, problems = read_export(export(nested, "ws-rw.txt"))
    check(not problems, nested + ": " + str(problems))
    check(sorted(W.degree()) == sorted(R.degree()) and set(map(frozenset, W.edges())) != set(map(frozenset, R.edges())),
          nested + ": the WS base's degrees, other edges")
    s = stats(nested)
    check(s.get("rewire_swaps") == 640, nested + ": %r swaps, expected 640" % s.get("rewire_swaps"))


def gnm_checks(pool):
    print("== gnm:n=297,m=2148 vs nx.gnm_random_graph", flush=True)
    for seed in (1, 2, 3):
        s = stats("gnm:n=297,m=2148,seed=%d" % seed)
        check(s["nodes"] == 297 and s["edges"] == 2148, "gnm seed %d stats: %r nodes %r edges" % (
            seed, s["nodes"], s["edges"]))
    a = open(export("gnm:n=297,m=2148,seed=1", "g1a.txt"), "rb").read()
    b = open(export("gnm:n=297,m=2148,seed=1", "g1b.txt"), "rb").read()
    c = open(export("gnm:n=297,m=2148,seed=2", "g2.txt"), "rb").read()
    check(a == b and a != c, "gnm: same seed byte-identical, another seed another graph")
    dense, problems = read_export(export("gnm:n=40,m=700,seed=1", "dense.txt"))
    check(not problems and dense.number_of_edges() == 700, "dense gnm:n=40,m=700: %r, %d edges" % (
        problems, dense.number_of_edges()))
    nx_async = pool.map_async(gnm_nx_sample, range(1, 51))
    dcn = pool.map(gnm_dcn_sample, range(1, 51))
    ref = nx_async.get()
    for seed, (n, m, problems, _) in enumerate(dcn, 1):
        check(n == 297 and m == 2148 and not problems, "gnm seed %d export: %d nodes %d edges %s" % (
            seed, n, m, problems))
    ok, z = within([x[3] for x in dcn], ref)
    print("   average clustering: dcn %.5f nx %.5f z %.2f" % (statistics.fmean(x[3] for x in dcn),
                                                             statistics.fmean(ref), z), flush=True)
    check(ok, "gnm average clustering: %.2f standard errors from networkx's G(n, m) (allowed 3)" % z)


def errors():
    print("== errors", flush=True)
    p = run("graph", "stats", "gnm:n=4,m=7", expect=None)
    check(p.returncode == 1 and "gnm:n=4,m=7" in p.stderr and "maximum" in p.stderr and "6" in p.stderr,
          "gnm:n=4,m=7: exit %d, %s" % (p.returncode, p.stderr.strip()))
    star = os.path.join(TMP, "star.edges")
    open(star, "w").write("".join("0 %d\n" % v for v in range(1, 8)))
    p = run("graph", "stats", "rewire:" + star, expect=None)
    check(p.returncode == 1 and "rewire:" + star in p.stderr and "admits no double edge swap" in p.stderr,
          "rewire of a star: exit %d, %s" % (p.returncode, p.stderr.strip()))
    p = run("graph", "stats", "rewire:", expect=None)
    check(p.returncode == 1 and "rewire:" in p.stderr and "base graph" in p.stderr,
          "rewire: without a base: exit %d, %s" % (p.returncode, p.stderr.strip()))
    p = run("graph", "stats", "rewire:celegans,swaps_per_edge=lots", expect=None)
    check(p.returncode == 1 and "swaps_per_edge" in p.stderr, "bad swaps_per_edge: %s" % p.stderr.strip())


def main():
    t0 = time.time()
    celegans = read_gml_simple(GML)
    rewire_exact(celegans)
    errors()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        rewire_ensembles(celegans, pool)
        gnm_checks(pool)
    print("took %.1f s" % (time.time() - t0))
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)
    print("all null-model checks passed")


if __name__ == "__main__":
    main()
