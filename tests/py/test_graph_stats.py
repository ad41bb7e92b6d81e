#!/usr/bin/python3
"""dcn graph stats / dcn graph dag against networkx 2.8 (an independent implementation).

Each graph is read by networkx from the original file (or from dcn's identity-order RandWire export
for generated graphs, whose positions are the generator's vertex ids), the same measures are computed
there, and dcn's JSON must agree: 1e-6 for the deterministic measures, modularity of dcn's own CNM
partition (read back from its GraphML export) recomputed by networkx, and sanity bounds for the
heuristics (CNM vs networkx's CNM, Louvain). DAG exports must load in networkx, be acyclic and
carry exactly the graph's edges. With an EMPTY data folder, `celegans` and `mouse` must resolve to the
connectomes shipped with the project: Table 1's sizes, and the identity-order RandWire export of
C. elegans must have the authors' edge lines (SHA-256 of the sorted lines, as `LC_ALL=C sort | sha256sum`).
graphviz (`dot`) is required (tests/run.sh installs it): without it the test fails.

Environment (set by ctest): DCN_BIN, DCN_PROJECT_DATA (the project's data/ folder, which ships the connectomes).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import networkx as nx
import numpy as np
from networkx.algorithms import community as nxc

BIN = os.environ.get("DCN_BIN", "dcn")
SHARED = os.environ.get("DCN_PROJECT_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "data"))
CONN = os.path.join(SHARED, "connectomes")
GML = os.path.join(CONN, "celegansneural.gml")
GRAPHML = os.path.join(CONN, "mouse_visual.cortex_2.graphml")
TXT = os.path.join(CONN, "nick11roberts-connectomics-learning", "celegans.txt")
ENV = dict(os.environ, DCN_DATA_DIR=SHARED, OPENBLAS_NUM_THREADS="1")
TMP = tempfile.mkdtemp(prefix="dcn-graph-py-", dir=".")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def close(a, b, tol, what):
    ok = a is not None and b is not None and abs(a - b) <= tol
    check(ok, "%s: dcn %r vs networkx %r (tol %g)" % (what, a, b, tol))


def run(*args, expect=0):
    p = subprocess.run([BIN] + list(args), env=ENV, capture_output=True, text=True)
    if p.returncode != expect:
        print("command:", [BIN] + list(args), "\nstdout:", p.stdout, "\nstderr:", p.stderr)
        if "unknown command 'graph'" in p.stderr:
            print("'dcn graph' is not registered in src/cli/main.c's command table yet")
        sys.exit(1 if expect == 0 else 2)
    return p


def stats(spec, *extra):
    return json.loads(run("graph", "stats", spec, "--json", *extra).stdout)


# SHA-256 of the C. elegans DAG's edge lines (line 3 on of the RandWire file) sorted bytewise, i.e.
# `tail -n +3 celegans.txt | LC_ALL=C sort | sha256sum`: the authors' file and dcn's identity export
CELEGANS_EDGES_SHA256 = "06dc34585a00bb80a262b9bd758408ef341afecefa583867f6916ace2325bf17"


def sorted_edge_lines_sha256(path):
    """Line 1 (node count), line 2 (edge count), the edge lines, and the SHA-256 of the edge lines sorted
    bytewise, each ending in a newline (what `tail -n +3 | LC_ALL=C sort | sha256sum` hashes)."""
    lines = open(path, "rb").read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    edges = lines[2:]
    digest = hashlib.sha256(b"".join(l + b"\n" for l in sorted(edges))).hexdigest()
    return lines[:2], edges, digest


def shipped_connectomes():
    """celegans and mouse with an empty data folder resolve to the connectomes shipped with the project."""
    print("== shipped connectomes (empty DCN_DATA_DIR)", flush=True)
    empty = tempfile.mkdtemp(prefix="empty-data-", dir=TMP)
    env = dict(ENV, DCN_DATA_DIR=empty)

    def go(*args):
        p = subprocess.run([BIN] + list(args), env=env, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, "dcn %s with an empty data folder: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.strip()[-400:]))
        return p

    out = os.path.join(TMP, "x.txt")
    go("graph", "dag", "celegans", "--order", "identity", "--out", out)
    if os.path.exists(out):
        head, edges, digest = sorted_edge_lines_sha256(out)
        check(head == [b"297", b"2148"] and len(edges) == 2148,
              "identity RandWire export of celegans: header %r and %d edge lines, expected 297, 2148 and 2148" % (
                  head, len(edges)))
        check(digest == CELEGANS_EDGES_SHA256, "identity RandWire export of celegans: sorted edge lines have "
              "SHA-256 %s, expected %s" % (digest, CELEGANS_EDGES_SHA256))
    else:
        check(False, "dcn graph dag celegans --order identity --out %s wrote no file" % out)
    _, edges, digest = sorted_edge_lines_sha256(TXT)
    check(digest == CELEGANS_EDGES_SHA256, "the authors' %s: sorted edge lines have SHA-256 %s, expected %s" % (
        TXT, digest, CELEGANS_EDGES_SHA256))
    for spec, n, m in (("celegans", 297, 2148), ("mouse", 195, 214)):
        p = go("graph", "stats", spec, "--json")
        try:
            s = json.loads(p.stdout)
        except ValueError:
            check(False, "dcn graph stats %s --json: not JSON: %r" % (spec, p.stdout[:200]))
            continue
        check(s.get("nodes") == n and s.get("edges") == m, "Table 1: %s with an empty data folder has %r nodes, "
              "%r edges, expected %d and %d" % (spec, s.get("nodes"), s.get("edges"), n, m))
    check(os.listdir(empty) == [], "the empty data folder stayed empty: %r" % os.listdir(empty))


# ---- independent readers ----

def read_gml_simple(path):
    """Newman's file has parallel edges; networkx accepts them only with multigraph 1."""
    text = open(path).read().replace("graph\n[", "graph\n[\n  multigraph 1", 1)
    G = nx.parse_gml(text, label="id")
    H = nx.Graph()
    H.add_nodes_from(G.nodes())  # file order = dcn's vertex order
    H.add_edges_from((u, v) for u, v, _ in G.edges(keys=True) if u != v)
    return nx.convert_node_labels_to_integers(H, ordering="default")


def read_graphml_simple(path):
    G = nx.read_graphml(path)
    H = nx.Graph()
    H.add_nodes_from(G.nodes())
    H.add_edges_from((u, v) for u, v in G.edges() if u != v)
    return nx.convert_node_labels_to_integers(H, ordering="default")


def read_randwire(path):
    lines = [l.split() for l in open(path) if l.strip()]
    n, m = int(lines[0][0]), int(lines[1][0])
    H = nx.Graph()
    H.add_nodes_from(range(n))
    H.add_edges_from((int(a), int(b)) for a, b in lines[2:2 + m])
    assert len(lines) == m + 2
    return H


# ---- reference measures ----

def reference(G):
    r = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
    comps = list(nx.connected_components(G))
    lcc = G.subgraph(max(comps, key=len)).copy()
    r["connected_components"] = len(comps)
    r["largest_component_nodes"] = lcc.number_of_nodes()
    r["average_path_length"] = nx.average_shortest_path_length(lcc) if len(lcc) > 1 else 0.0
    r["diameter"] = nx.diameter(lcc) if len(lcc) > 1 else 0
    cl = nx.clustering(G)
    r["average_clustering"] = nx.average_clustering(G)
    deg2 = [cl[v] for v in G if G.degree(v) >= 2]
    r["average_clustering_deg2"] = sum(deg2) / len(deg2) if deg2 else None
    r["transitivity"] = nx.transitivity(G)
    r["average_degree"] = 2.0 * G.number_of_edges() / G.number_of_nodes()
    r["edges_per_node"] = G.number_of_edges() / G.number_of_nodes()
    A = nx.to_numpy_array(G, nodelist=sorted(G))
    r["spectral_radius"] = float(np.linalg.eigvalsh(A)[-1])
    B = nx.to_numpy_array(lcc, nodelist=sorted(lcc))
    L = np.diag(B.sum(axis=1)) - B
    r["algebraic_connectivity"] = float(np.sort(np.linalg.eigvalsh(L))[1]) if len(lcc) > 1 else None
    r["greedy"] = nxc.modularity(G, nxc.greedy_modularity_communities(G)) if G.number_of_edges() else None
    return r


def dag_export(spec, order, seed, fmt, name):
    out = os.path.join(TMP, name)
    run("graph", "dag", spec, "--order", order, "--order-seed", str(seed), "--format", fmt, "--out", out)
    return out


def check_dag_graphml(G, path, what):
    """The export loads in networkx, is acyclic, preserves the edge set, and marks inputs/outputs."""
    D = nx.read_graphml(path)
    check(isinstance(D, nx.DiGraph) and D.is_directed(), what + ": directed graph")
    check(nx.is_directed_acyclic_graph(D), what + ": acyclic")
    check(D.number_of_nodes() == G.number_of_nodes(), what + ": node count")
    vert = {k: int(a["vertex"]) for k, a in D.nodes(data=True)}
    posn = {k: int(a["position"]) for k, a in D.nodes(data=True)}
    check(sorted(vert.values()) == list(range(G.number_of_nodes())), what + ": vertex is a permutation")
    edges = {frozenset((vert[u], vert[v])) for u, v in D.edges()}
    check(edges == {frozenset(e) for e in G.edges()} and D.number_of_edges() == G.number_of_edges(),
          what + ": same undirected edge set")
    check(all(posn[u] < posn[v] for u, v in D.edges()), what + ": edges point to later positions")
    for k, a in D.nodes(data=True):
        if a["is_input"] != (D.in_degree(k) == 0) or a["is_output"] != (D.out_degree(k) == 0):
            check(False, what + ": is_input/is_output of " + k)
            break
    comm = {}
    for k, a in D.nodes(data=True):
        comm.setdefault(int(a["community"]), set()).add(vert[k])
    return D, list(comm.values())


def compare(name, G, spec, greedy_tol=0.02):
    print("==", name, flush=True)
    s = stats(spec)
    r = reference(G)
    for k in ("nodes", "edges", "connected_components", "largest_component_nodes", "diameter"):
        check(s[k] == r[k], "%s %s: dcn %r vs networkx %r" % (name, k, s[k], r[k]))
    for k in ("average_path_length", "average_clustering", "average_clustering_deg2", "transitivity",
              "average_degree", "edges_per_node", "spectral_radius", "algebraic_connectivity"):
        if r[k] is None:
            check(s[k] is None, "%s %s: expected null" % (name, k))
        else:
            close(s[k], r[k], 1e-6, "%s %s" % (name, k))
    check(s["average_path_length_sampled"] is False, name + ": exact paths")
    # dcn's own CNM partition, from its GraphML export, recomputed by networkx
    D, parts = check_dag_graphml(G, dag_export(spec, "identity", 0, "graphml", name + ".graphml"), name + " identity")
    if G.number_of_edges():
        q = nxc.modularity(G, parts)
        close(s["modularity_greedy"], q, 1e-6, name + " modularity_greedy of dcn's partition")
        check(s["communities_greedy"] == len(parts), name + ": community count")
        check(s["modularity_greedy"] >= r["greedy"] - greedy_tol,
              "%s: CNM %.4f vs networkx CNM %.4f" % (name, s["modularity_greedy"], r["greedy"]))
        check(abs(s["modularity_greedy"] - r["greedy"]) <= max(greedy_tol, 0.05),
              "%s: CNM %.4f far from networkx CNM %.4f" % (name, s["modularity_greedy"], r["greedy"]))
        lv = s["modularity_louvain"]
        check(-0.5 <= lv <= 1.0 and lv >= s["modularity_greedy"] - 0.05,
              "%s: Louvain %.4f vs CNM %.4f" % (name, lv, s["modularity_greedy"]))
    print("   dcn: APL %.4f C %.4f C2 %s comps %d diam %d CNM %.4f (nx %.4f) Louvain %.4f sigma %s" % (
        s["average_path_length"], s["average_clustering"], s["average_clustering_deg2"], s["connected_components"],
        s["diameter"], s["modularity_greedy"] or 0, r["greedy"] or 0, s["modularity_louvain"] or 0,
        s["small_world_sigma"]), flush=True)
    return s


def main():
    # the three connectome files, read by networkx from the originals
    celegans = read_gml_simple(GML)
    s = compare("celegans-gml", celegans, GML)
    check(s["input_edges"] == 2359 and s["dropped_duplicates"] == 14 and s["merged_reciprocal"] == 197,
          "celegans reduction counts %r" % ({k: s[k] for k in ("input_edges", "dropped_duplicates", "merged_reciprocal")},))
    txt = read_randwire(TXT)
    check({frozenset(e) for e in txt.edges()} == {frozenset(e) for e in celegans.edges()},
          "celegans.txt and the GML have the same edge set (reference readers)")
    compare("celegans-txt", txt, TXT)
    mouse = read_graphml_simple(GRAPHML)
    compare("mouse", mouse, GRAPHML)

    # named specs resolve in DCN_DATA_DIR; identity on C. elegans is the authors' DAG (1 input, 49 outputs)
    s = stats("celegans", "--order", "identity")
    check(s["nodes"] == 297 and s["edges"] == 2148, "named celegans size")
    check(s["dag_inputs"] == 1 and s["dag_outputs"] == 49, "celegans identity DAG: %r inputs, %r outputs" % (
        s.get("dag_inputs"), s.get("dag_outputs")))
    s = stats("mouse", "--order", "random", "--order-seed", "3")
    check(s["nodes"] == 195 and s["dag_inputs"] >= 2 and s["dag_outputs"] >= 2, "named mouse")
    out = dag_export("celegans", "identity", 0, "txt", "celegans-identity.txt")
    mine, theirs = open(out).read().split("\n"), open(TXT).read().split("\n")
    check(mine[:2] == theirs[:2] and sorted(mine[2:]) == sorted(theirs[2:]),
          "identity RandWire export of the GML == the authors' celegans.txt (same lines)")

    shipped_connectomes()

    # seeded generated graphs: networkx reads dcn's identity-order export (positions = vertex ids)
    for spec in ("ws:n=32,k=4,p=0.75,seed=1", "ws:n=32,k=4,p=0.75,seed=2", "ws:n=200,k=6,p=0.1,seed=3",
                 "er:n=100,p=0.05,seed=1", "er:n=300,p=0.01,seed=2", "ba:n=32,m=5,seed=1", "ba:n=300,m=2,seed=4"):
        path = dag_export(spec, "identity", 0, "txt", spec.replace(":", "_").replace(",", "_") + ".txt")
        G = read_randwire(path)
        if spec.startswith("ws"):
            n, k = int(spec.split("n=")[1].split(",")[0]), int(spec.split("k=")[1].split(",")[0])
            check(G.number_of_edges() == n * k // 2 and nx.is_connected(G), spec + ": WS size and connectivity")
        if spec.startswith("ba"):
            n, m = int(spec.split("n=")[1].split(",")[0]), int(spec.split("m=")[1].split(",")[0])
            check(G.number_of_edges() == (n - m) * m, spec + ": BA edge count")
        compare(spec, G, spec, greedy_tol=0.05)

    # every order: DAG exports load in networkx, are acyclic, keep the edges; same seed, same file
    for spec, G in (("mouse", mouse), ("celegans", celegans), ("ws:n=32,k=4,p=0.75,seed=1", None)):
        if G is None:
            G = read_randwire(dag_export(spec, "identity", 0, "txt", "ws-ref.txt"))
        for order in ("random", "identity", "degree", "bfs"):
            a = dag_export(spec, order, 5, "graphml", "%s-%s-a.graphml" % (spec[:8], order))
            b = dag_export(spec, order, 5, "graphml", "%s-%s-b.graphml" % (spec[:8], order))
            check_dag_graphml(G, a, "%s %s" % (spec, order))
            check(open(a).read() == open(b).read(), "%s %s: same seed, same export" % (spec, order))
        c = dag_export(spec, "random", 6, "graphml", "%s-random-c.graphml" % spec[:8])
        a = os.path.join(TMP, "%s-random-a.graphml" % spec[:8])
        check(open(c).read() != open(a).read(), spec + ": another seed, another DAG")

    # DOT export renders with graphviz (installed by tests/run.sh: its absence is a failure)
    dot = dag_export("mouse", "random", 1, "dot", "mouse.dot")
    text = open(dot).read()
    check(text.startswith("//") and "digraph" in text and text.count(" -> ") == 214, "DOT export content")
    try:
        p = subprocess.run(["dot", "-Tplain", dot], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and p.stdout.startswith("graph"), "graphviz renders the DOT export: " + p.stderr[:200])
    except FileNotFoundError:
        check(False, "graphviz is not installed (no `dot` on PATH): the DOT export cannot be rendered; "
                     "install it (apt-get install graphviz; tests/run.sh does)")

    # errors: non-zero exit and a message naming the file
    bad = os.path.join(TMP, "neg.edges")
    open(bad, "w").write("0 1\n2 -1\n")
    p = run("graph", "stats", bad, expect=1)
    check("neg.edges:2:" in p.stderr and "negative" in p.stderr, "negative id message: " + p.stderr)
    p = run("graph", "stats", os.path.join(TMP, "missing.graphml"), expect=1)
    check("missing.graphml" in p.stderr, "missing file message: " + p.stderr)
    p = run("graph", "stats", "zz:n=3", expect=1)
    check("zz:n=3" in p.stderr, "unknown spec message: " + p.stderr)
    p = run("graph", "dag", GRAPHML, "--order", "coord", "--out", os.path.join(TMP, "x.txt"), expect=1)
    check("coordinates" in p.stderr, "coord order without coordinates: " + p.stderr)
    run("graph", "dag", GRAPHML, "--order", "sideways", "--out", os.path.join(TMP, "x.txt"), expect=2)

    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)
    print("all graph checks passed")


if __name__ == "__main__":
    main()
