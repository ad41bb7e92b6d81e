/* Graph module: loaders (good and hostile input), generators, DAG orderings, statistics, exports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_main.h"
#include "dcn/graph.h"

/* ---- helpers ---- */

static const char *fixture(const char *name, const char *content)
{
    static char paths[16][512];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 512, "%s/%s", dcn_test_tmpdir(), name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static const char *shared(const char *rel)
{
    static char p[4][1024];
    static int next;
    const char *base = getenv("DCN_PROJECT_DATA");
    char *out = p[next++ % 4];
    snprintf(out, 1024, "%s/%s", base ? base : DCN_SOURCE_DIR "/data", rel);
    return out;
}

#define CELEGANS_GML "connectomes/celegansneural.gml"
#define CELEGANS_TXT "connectomes/nick11roberts-connectomics-learning/celegans.txt"
#define MOUSE_GRAPHML "connectomes/mouse_visual.cortex_2.graphml"

/* Loads spec expecting failure with status st; the message must contain each of the needles. */
static void expect_fail(const char *spec, enum dcn_status st, const char *needle1, const char *needle2)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g = (struct dcn_graph *)0x1;
    enum dcn_status got = graph_load(&ctx, spec, NULL, &g);
    CU_ASSERT_EQUAL(got, st);
    CU_ASSERT_PTR_NULL(g);
    if (needle1 && !strstr(ctx.err, needle1)) {
        fprintf(stderr, "\n  message '%s' lacks '%s'\n", ctx.err, needle1);
        CU_FAIL("message lacks needle1");
    }
    if (needle2 && !strstr(ctx.err, needle2)) {
        fprintf(stderr, "\n  message '%s' lacks '%s'\n", ctx.err, needle2);
        CU_FAIL("message lacks needle2");
    }
    if (got == DCN_OK)
        graph_free(g);
}

static struct dcn_graph *load_ok(const char *spec)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g = NULL;
    enum dcn_status st = graph_load(&ctx, spec, NULL, &g);
    if (st)
        fprintf(stderr, "\n  %s: %s\n", spec, ctx.err);
    CU_ASSERT_EQUAL_FATAL(st, DCN_OK);
    return g;
}

static int has_edge(const struct dcn_graph *g, int u, int v)
{
    int64_t lo = g->off[u], hi = g->off[u + 1];
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (g->adj[mid] == v)
            return 1;
        if (g->adj[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* CSR invariants: sorted, symmetric, no self-loops or duplicates, 2m entries */
static void check_graph(const struct dcn_graph *g)
{
    CU_ASSERT_EQUAL_FATAL(g->off[0], 0);
    CU_ASSERT_EQUAL_FATAL(g->off[g->n], 2 * g->m);
    for (int v = 0; v < g->n; v++)
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++) {
            int w = g->adj[e];
            CU_ASSERT(w >= 0 && w < g->n && w != v);
            if (e > g->off[v])
                CU_ASSERT(g->adj[e - 1] < w);
            CU_ASSERT(has_edge(g, w, v));
        }
}

static struct dcn_dag *build(const struct dcn_graph *g, enum dag_order o, uint64_t seed)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dag *d = NULL;
    enum dcn_status st = dag_build(&ctx, g, o, seed, &d);
    if (st)
        fprintf(stderr, "\n  dag_build(%s): %s\n", g->source, ctx.err);
    CU_ASSERT_EQUAL_FATAL(st, DCN_OK);
    return d;
}

/* Everything the engine relies on: a permutation, acyclic by construction (pred < i < succ), sorted
 * lists, exactly the graph's undirected edge set, inputs/outputs by degree, and the longest path. */
static void check_dag(const struct dcn_graph *g, const struct dcn_dag *d)
{
    CU_ASSERT_EQUAL_FATAL(d->n, g->n);
    CU_ASSERT_EQUAL_FATAL(d->m, g->m);
    int n = d->n;
    char *seen = calloc((size_t)n, 1);
    int *lp = calloc((size_t)n, sizeof *lp);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_FATAL(d->vertex[i] >= 0 && d->vertex[i] < n && !seen[d->vertex[i]]);
        seen[d->vertex[i]] = 1;
    }
    CU_ASSERT_EQUAL(d->pred_off[n], d->m);
    CU_ASSERT_EQUAL(d->succ_off[n], d->m);
    int ni = 0, no = 0, longest = 0;
    for (int i = 0; i < n; i++) {
        for (int64_t e = d->pred_off[i]; e < d->pred_off[i + 1]; e++) {
            int j = d->pred[e];
            CU_ASSERT(j < i);
            if (e > d->pred_off[i])
                CU_ASSERT(d->pred[e - 1] < j);
            if (lp[j] + 1 > lp[i])
                lp[i] = lp[j] + 1;
        }
        if (lp[i] > longest)
            longest = lp[i];
        for (int64_t e = d->succ_off[i]; e < d->succ_off[i + 1]; e++) {
            int j = d->succ[e];
            CU_ASSERT(j > i);
            if (e > d->succ_off[i])
                CU_ASSERT(d->succ[e - 1] < j);
            CU_ASSERT(has_edge(g, d->vertex[i], d->vertex[j])); /* m distinct edges of g = all of them */
        }
        int indeg = (int)(d->pred_off[i + 1] - d->pred_off[i]), outdeg = (int)(d->succ_off[i + 1] - d->succ_off[i]);
        CU_ASSERT_EQUAL(indeg + outdeg, (int)(g->off[d->vertex[i] + 1] - g->off[d->vertex[i]]));
        if (indeg == 0) {
            CU_ASSERT_FATAL(ni < d->n_inputs);
            CU_ASSERT_EQUAL(d->inputs[ni], i);
            ni++;
        }
        if (outdeg == 0) {
            CU_ASSERT_FATAL(no < d->n_outputs);
            CU_ASSERT_EQUAL(d->outputs[no], i);
            no++;
        }
    }
    CU_ASSERT_EQUAL(ni, d->n_inputs);
    CU_ASSERT_EQUAL(no, d->n_outputs);
    CU_ASSERT_EQUAL(longest, d->longest_path);
    free(seen);
    free(lp);
}

static int same_dag(const struct dcn_dag *a, const struct dcn_dag *b)
{
    return a->n == b->n && a->m == b->m && !memcmp(a->vertex, b->vertex, (size_t)a->n * sizeof(int)) &&
           !memcmp(a->pred_off, b->pred_off, ((size_t)a->n + 1) * sizeof(int64_t)) &&
           !memcmp(a->pred, b->pred, (size_t)a->m * sizeof(int));
}

/* ---- hostile and malformed input ---- */

static void test_err_missing_file(void)
{
    char p[600];
    snprintf(p, sizeof p, "%s/no-such-graph.gml", dcn_test_tmpdir());
    expect_fail(p, DCN_EIO, "no-such-graph.gml", "cannot open");
}

/* The named connectomes ship with dcn: an empty data folder still finds them, a copy in the data
 * folder wins over the shipped one, and a shipped file that is missing names every place tried. */
static void test_named_connectomes(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g;
    char empty[1100];
    snprintf(empty, sizeof empty, "%s/empty-data", dcn_test_tmpdir());
    mkdir(empty, 0700);
    CU_ASSERT_EQUAL_FATAL(graph_load(&ctx, "celegans", empty, &g), DCN_OK);
    CU_ASSERT_EQUAL(g->n, 297);
    CU_ASSERT_EQUAL(g->m, 2148);
    graph_free(g);
    CU_ASSERT_EQUAL_FATAL(graph_load(&ctx, "mouse", empty, &g), DCN_OK);
    CU_ASSERT_EQUAL(g->n, 195);
    CU_ASSERT_EQUAL(g->m, 214);
    graph_free(g);

    char own[1100];
    snprintf(own, sizeof own, "%s/own-data", dcn_test_tmpdir());
    mkdir(own, 0700);
    snprintf(own + strlen(own), sizeof own - strlen(own), "/connectomes");
    mkdir(own, 0700);
    char path[1200];
    snprintf(path, sizeof path, "%s/celegansneural.gml", own);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("graph [ directed 1 node [ id 0 ] node [ id 1 ] node [ id 2 ] edge [ source 0 target 1 ] ]\n", f);
    fclose(f);
    own[strlen(own) - strlen("/connectomes")] = '\0';
    CU_ASSERT_EQUAL_FATAL(graph_load(&ctx, "celegans", own, &g), DCN_OK);
    CU_ASSERT_EQUAL(g->n, 3);
    CU_ASSERT_STRING_EQUAL(g->source, "celegans");
    graph_free(g);

    char tried[4096];
    CU_ASSERT_EQUAL(dcn_shipped_file("connectomes/no-such.gml", tried, sizeof tried), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(tried, DCN_SOURCE_DIR "/data/connectomes/no-such.gml"));
    CU_ASSERT_EQUAL(dcn_shipped_file("connectomes/celegansneural.gml", tried, sizeof tried), 0);
}

static void test_err_malformed_xml(void)
{
    const char *p = fixture("bad.graphml", "<?xml version=\"1.0\"?>\n<graphml>\n<graph edgedefault=\"undirected\">\n"
                                           "<node id=\"a\"/>\n<node id=\"b\">\n</graph>\n</graphml>\n");
    expect_fail(p, DCN_EPARSE, "bad.graphml:", "malformed XML");
    /* the line of the mismatched tag */
    expect_fail(p, DCN_EPARSE, "bad.graphml:6:", NULL);
}

static void test_err_graphml_no_nodes(void)
{
    const char *p = fixture("empty.graphml", "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
                                             "  <graph edgedefault=\"undirected\">\n  </graph>\n</graphml>\n");
    expect_fail(p, DCN_EPARSE, "empty.graphml:3:", "no nodes");
}

static void test_err_graphml_unknown_node(void)
{
    const char *p = fixture("unknown.graphml", "<?xml version=\"1.0\"?>\n<graphml>\n<graph edgedefault=\"undirected\">\n"
                                               "<node id=\"a\"/>\n<node id=\"b\"/>\n<edge source=\"a\" target=\"b\"/>\n"
                                               "<edge source=\"a\" target=\"zz\"/>\n</graph>\n</graphml>\n");
    expect_fail(p, DCN_EPARSE, "unknown.graphml:7:", "'zz'");
}

static void test_err_billion_laughs(void)
{
    const char *p = fixture("lol.graphml",
                            "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
                            " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                            " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                            " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                            " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
                            " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
                            " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
                            " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
                            " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
                            " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
                            "]>\n<graphml><graph edgedefault=\"undirected\"><node id=\"&lol9;\"/></graph></graphml>\n");
    expect_fail(p, DCN_EPARSE, "lol.graphml:3:", "entity");
    /* an external entity (XXE) is refused the same way */
    const char *q = fixture("xxe.graphml", "<?xml version=\"1.0\"?>\n<!DOCTYPE g [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                                           "<graphml><graph><node id=\"&x;\"/></graph></graphml>\n");
    expect_fail(q, DCN_EPARSE, "xxe.graphml:2:", "entity");
}

static void test_err_gml_unterminated(void)
{
    const char *p = fixture("open.gml", "graph [\n  directed 0\n  node [ id 0 ]\n  node [ id 1\n  edge [ source 0 target 1 ]\n]\n");
    expect_fail(p, DCN_EPARSE, "open.gml:", "unterminated list");
    const char *q = fixture("open2.gml", "graph [\n  node [ id 0 label \"x ]\n]\n");
    expect_fail(q, DCN_EPARSE, "open2.gml:2:", "unterminated string");
}

static void test_err_gml_unknown_node(void)
{
    const char *p = fixture("unk.gml", "graph [\n  node [ id 0 ]\n  node [ id 1 ]\n  edge [ source 0 target 7 ]\n]\n");
    expect_fail(p, DCN_EPARSE, "unk.gml:4:", "unknown node 7");
}

static void test_err_zero_nodes(void)
{
    expect_fail(fixture("zero.txt", "0\n0\n"), DCN_EPARSE, "zero.txt", "no nodes");
    expect_fail(fixture("zero.edges", "# nothing\n\n"), DCN_EPARSE, "zero.edges", "no nodes");
    expect_fail(fixture("zero.gml", "graph [\n directed 0\n]\n"), DCN_EPARSE, "zero.gml", "no nodes");
    expect_fail("er:n=0,p=0.5", DCN_EINVAL, "er:n=0", "'n'");
}

static void test_err_negative_ids(void)
{
    expect_fail(fixture("neg.edges", "# comment\n0 1\n1 2\n2 -3\n"), DCN_EPARSE, "neg.edges:4:", "negative");
    expect_fail(fixture("junk.edges", "0 1\n1 x\n"), DCN_EPARSE, "junk.edges:2:", NULL);
    expect_fail(fixture("rw-range.txt", "3\n2\n0 1\n1 3\n"), DCN_EPARSE, "rw-range.txt:4:", "out of range");
    expect_fail(fixture("rw-count.txt", "3\n3\n0 1\n1 2\n"), DCN_EPARSE, "rw-count.txt", "declares 3");
}

static void test_err_unknown_spec(void)
{
    expect_fail("xx:n=3", DCN_EINVAL, "xx:n=3", "unknown graph spec kind");
    expect_fail("ws:n=32,k=4,q=0.5", DCN_EINVAL, "ws:n=32,k=4,q=0.5", "'q'");
    expect_fail("ws:n=32,k=4,p=1.5", DCN_EINVAL, "ws:n=32", "'p'");
    expect_fail("ba:n=10,m=10", DCN_EINVAL, "ba:n=10,m=10", "'m'");
    expect_fail("er:n=10,p=0.1,seed=-1", DCN_EINVAL, "er:n=10", "'seed'");
    expect_fail("ws:n=10,p=0.1", DCN_EINVAL, "ws:n=10", "missing key 'k'");
}

/* ---- the real connectomes ---- */

static void test_load_celegans_gml(void)
{
    struct dcn_graph *g = load_ok(shared(CELEGANS_GML));
    check_graph(g);
    CU_ASSERT_EQUAL(g->n, 297);
    CU_ASSERT_EQUAL(g->m, 2148);
    CU_ASSERT_EQUAL(g->directed_input, 1);
    CU_ASSERT_EQUAL(g->input_edges, 2359);
    CU_ASSERT_EQUAL(g->dropped_self_loops, 0);
    CU_ASSERT_EQUAL(g->dropped_duplicates, 14);
    CU_ASSERT_EQUAL(g->merged_reciprocal, 197);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->labels);
    CU_ASSERT_STRING_EQUAL(g->labels[0], "1");
    CU_ASSERT_STRING_EQUAL(g->labels[1], "51");
    CU_ASSERT_PTR_NULL(g->coords);
    /* the authors' celegans.txt is exactly this edge set with node index = GML id */
    struct dcn_graph *t = load_ok(shared(CELEGANS_TXT));
    check_graph(t);
    CU_ASSERT_EQUAL(t->n, 297);
    CU_ASSERT_EQUAL(t->m, 2148);
    CU_ASSERT_EQUAL(t->dropped_duplicates + t->merged_reciprocal + t->dropped_self_loops, 0);
    CU_ASSERT_EQUAL(memcmp(g->off, t->off, 298 * sizeof(int64_t)), 0);
    CU_ASSERT_EQUAL(memcmp(g->adj, t->adj, 2 * 2148 * sizeof(int)), 0);
    graph_free(g);
    graph_free(t);
}

static void test_load_named_celegans_identity(void)
{
    /* named spec through data_dir, and the authors' DAG: identity order, 1 source, 49 sinks */
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g;
    const char *dd = getenv("DCN_PROJECT_DATA");
    CU_ASSERT_EQUAL_FATAL(graph_load(&ctx, "celegans", dd ? dd : DCN_SOURCE_DIR "/data", &g), DCN_OK);
    CU_ASSERT_EQUAL(g->m, 2148);
    struct dcn_dag *d = build(g, DAG_ORDER_IDENTITY, 0);
    check_dag(g, d);
    CU_ASSERT_EQUAL(d->n_inputs, 1);
    CU_ASSERT_EQUAL(d->n_outputs, 49);
    /* identity on the GML = the authors' celegans.txt, edge for edge */
    struct dcn_graph *t = load_ok(shared(CELEGANS_TXT));
    struct dcn_dag *dt = build(t, DAG_ORDER_IDENTITY, 0);
    CU_ASSERT(same_dag(d, dt));
    dag_free(dt);
    graph_free(t);
    dag_free(d);
    graph_free(g);
}

static void test_load_mouse(void)
{
    struct dcn_graph *g = load_ok(shared(MOUSE_GRAPHML));
    check_graph(g);
    CU_ASSERT_EQUAL(g->n, 195);
    CU_ASSERT_EQUAL(g->m, 214);
    CU_ASSERT_EQUAL(g->input_edges, 214);
    CU_ASSERT_EQUAL(g->dropped_duplicates + g->merged_reciprocal + g->dropped_self_loops, 0);
    CU_ASSERT_STRING_EQUAL(g->labels[0], "n0");
    CU_ASSERT_STRING_EQUAL(g->labels[194], "n194");
    CU_ASSERT_EQUAL(g->off[1] - g->off[0], 0);   /* n0 isolated */
    CU_ASSERT_EQUAL(g->off[14] - g->off[13], 0); /* n13 isolated */
    struct dcn_dag *d = build(g, DAG_ORDER_RANDOM, 7);
    check_dag(g, d);
    int iso_in = 0, iso_out = 0;
    for (int k = 0; k < d->n_inputs; k++)
        iso_in += d->vertex[d->inputs[k]] == 0 || d->vertex[d->inputs[k]] == 13;
    for (int k = 0; k < d->n_outputs; k++)
        iso_out += d->vertex[d->outputs[k]] == 0 || d->vertex[d->outputs[k]] == 13;
    CU_ASSERT_EQUAL(iso_in, 2);
    CU_ASSERT_EQUAL(iso_out, 2);
    dag_free(d);
    graph_free(g);
}

/* ---- small fixtures: reduction counts, coordinates, GML details ---- */

static void test_reduction_counts(void)
{
    /* directed records: 0->1 twice (1 duplicate), 1->0 (reciprocal), 2->2 (self-loop), 1->2 */
    struct dcn_graph *g = load_ok(fixture("red.txt", "3\n5\n0 1\n0 1\n1 0\n2 2\n1 2\n"));
    CU_ASSERT_EQUAL(g->m, 2);
    CU_ASSERT_EQUAL(g->dropped_duplicates, 1);
    CU_ASSERT_EQUAL(g->merged_reciprocal, 1);
    CU_ASSERT_EQUAL(g->dropped_self_loops, 1);
    graph_free(g);
    /* an undirected edge list: both directions are the same edge, so a duplicate */
    g = load_ok(fixture("red.edges", "0 1\n1 0\n3 3\n5 4 # comment\n"));
    CU_ASSERT_EQUAL(g->n, 6);
    CU_ASSERT_EQUAL(g->m, 2);
    CU_ASSERT_EQUAL(g->dropped_duplicates, 1);
    CU_ASSERT_EQUAL(g->merged_reciprocal, 0);
    CU_ASSERT_EQUAL(g->dropped_self_loops, 1);
    check_graph(g);
    graph_free(g);
    /* a .txt file that is an edge list (two ids on its first line) */
    g = load_ok(fixture("pairs.txt", "0 1\n1 2\n"));
    CU_ASSERT_EQUAL(g->n, 3);
    CU_ASSERT_EQUAL(g->m, 2);
    graph_free(g);
}

static void test_coords_and_coord_order(void)
{
    const char *p = fixture("xy.graphml",
                            "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
                            "<key id=\"kx\" for=\"node\" attr.name=\"x\" attr.type=\"double\"/>\n"
                            "<key id=\"ky\" for=\"node\" attr.name=\"y\" attr.type=\"double\"/>\n"
                            "<graph edgedefault=\"undirected\">\n"
                            "<node id=\"a\"><data key=\"kx\">3.5</data><data key=\"ky\">1</data></node>\n"
                            "<node id=\"b\"><data key=\"kx\">-1</data></node>\n"
                            "<node id=\"c\"><data key=\"kx\">2</data></node>\n"
                            "<node id=\"d\"/>\n"
                            "<edge source=\"a\" target=\"b\"/><edge source=\"b\" target=\"c\"/>"
                            "<edge source=\"c\" target=\"a\"/><edge source=\"c\" target=\"d\"/>\n"
                            "</graph></graphml>\n");
    struct dcn_graph *g = load_ok(p);
    CU_ASSERT_EQUAL(g->n, 4);
    CU_ASSERT_EQUAL(g->m, 4);
    CU_ASSERT_EQUAL(g->directed_input, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->coords);
    CU_ASSERT_DOUBLE_EQUAL(g->coords[0], 3.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(g->coords[1], 1.0, 1e-12);
    struct dcn_dag *d = build(g, DAG_ORDER_COORD, 0);
    check_dag(g, d);
    /* x: b=-1, c=2, a=3.5, d has none and goes last */
    CU_ASSERT_EQUAL(d->vertex[0], 1);
    CU_ASSERT_EQUAL(d->vertex[1], 2);
    CU_ASSERT_EQUAL(d->vertex[2], 0);
    CU_ASSERT_EQUAL(d->vertex[3], 3);
    dag_free(d);
    graph_free(g);
    /* coord on a graph without coordinates names the graph */
    struct dcn_graph *m = load_ok(shared(MOUSE_GRAPHML));
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_dag *dd = NULL;
    CU_ASSERT_EQUAL(dag_build(&ctx, m, DAG_ORDER_COORD, 0, &dd), DCN_EINVAL);
    CU_ASSERT_PTR_NULL(dd);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "mouse_visual.cortex_2.graphml"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "coordinates"));
    graph_free(m);
    /* GML coordinates inside graphics [ ], non-contiguous ids, labels */
    g = load_ok(fixture("xy.gml", "Creator \"t\"\ngraph [\n directed 0\n node [ id 10 label \"ten\" graphics [ x 5.0 y 1 ] ]\n"
                                  " node [ id 4 label \"four\" graphics [ x -2 y 0 ] ]\n edge [ source 10 target 4 value 3 ]\n]\n"));
    CU_ASSERT_EQUAL(g->n, 2);
    CU_ASSERT_EQUAL(g->m, 1);
    CU_ASSERT_STRING_EQUAL(g->labels[0], "ten");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->coords);
    CU_ASSERT_DOUBLE_EQUAL(g->coords[3], -2.0, 1e-12);
    graph_free(g);
}

/* ---- generators ---- */

static int connected(const struct dcn_graph *g)
{
    int *q = malloc((size_t)g->n * sizeof *q);
    char *seen = calloc((size_t)g->n, 1);
    int head = 0, tail = 0;
    q[tail++] = 0;
    seen[0] = 1;
    while (head < tail) {
        int u = q[head++];
        for (int64_t e = g->off[u]; e < g->off[u + 1]; e++)
            if (!seen[g->adj[e]]) {
                seen[g->adj[e]] = 1;
                q[tail++] = g->adj[e];
            }
    }
    free(q);
    free(seen);
    return tail == g->n;
}

static int same_graph(const struct dcn_graph *a, const struct dcn_graph *b)
{
    return a->n == b->n && a->m == b->m && !memcmp(a->off, b->off, ((size_t)a->n + 1) * sizeof(int64_t)) &&
           !memcmp(a->adj, b->adj, (size_t)(2 * a->m) * sizeof(int));
}

static void test_gen_ws(void)
{
    const char *specs[] = {"ws:n=32,k=4,p=0.75,seed=1", "ws:n=32,k=4,p=0.75,seed=2", "ws:n=100,k=6,p=0.1",
                           "ws:n=50,k=4,p=1,seed=3", "ws:n=20,k=4,p=0,seed=9"};
    for (int i = 0; i < 5; i++) {
        struct dcn_graph *g = load_ok(specs[i]);
        check_graph(g);
        int n = g->n, k = i == 2 ? 6 : 4;
        CU_ASSERT_EQUAL(g->m, (int64_t)n * k / 2);
        CU_ASSERT(connected(g));
        graph_free(g);
    }
    /* p = 0 is the ring lattice itself */
    struct dcn_graph *g = load_ok("ws:n=20,k=4,p=0");
    for (int v = 0; v < 20; v++) {
        CU_ASSERT(has_edge(g, v, (v + 1) % 20));
        CU_ASSERT(has_edge(g, v, (v + 2) % 20));
    }
    /* determinism: same spec same graph, other seed other graph; seed defaults to 0 */
    struct dcn_graph *a = load_ok("ws:n=32,k=4,p=0.75,seed=1"), *b = load_ok("ws:n=32,k=4,p=0.75,seed=1"),
                     *c = load_ok("ws:n=32,k=4,p=0.75,seed=2"), *z = load_ok("ws:n=32,k=4,p=0.75"),
                     *z0 = load_ok("ws:n=32,k=4,p=0.75,seed=0");
    CU_ASSERT(same_graph(a, b));
    CU_ASSERT(!same_graph(a, c));
    CU_ASSERT(same_graph(z, z0));
    graph_free(a), graph_free(b), graph_free(c), graph_free(z), graph_free(z0), graph_free(g);
    /* k = n is the complete graph; k > n and a hopeless connectivity requirement are errors */
    g = load_ok("ws:n=6,k=6,p=0.5");
    CU_ASSERT_EQUAL(g->m, 15);
    graph_free(g);
    expect_fail("ws:n=5,k=6,p=0.5", DCN_EINVAL, "'k'", NULL);
    expect_fail("ws:n=10,k=0,p=0.5", DCN_EINVAL, "100 tries", NULL);
}

static void test_gen_er(void)
{
    struct dcn_graph *a = load_ok("er:n=2000,p=0.01,seed=4"), *b = load_ok("er:n=2000,p=0.01,seed=4"),
                     *c = load_ok("er:n=2000,p=0.01,seed=5");
    check_graph(a);
    CU_ASSERT(same_graph(a, b));
    CU_ASSERT(!same_graph(a, c));
    /* E[m] = p n(n-1)/2 = 19990, sd ~ 140: a 5-sigma window */
    CU_ASSERT(a->m > 19990 - 700 && a->m < 19990 + 700);
    graph_free(a), graph_free(b), graph_free(c);
    a = load_ok("er:n=10,p=1");
    CU_ASSERT_EQUAL(a->m, 45);
    graph_free(a);
    a = load_ok("er:n=10,p=0");
    CU_ASSERT_EQUAL(a->m, 0);
    CU_ASSERT_EQUAL(a->n, 10);
    graph_free(a);
    /* the geometric method must be uniform over pairs: vertex 0's degree is Binomial(n-1, p) on average */
    long deg0 = 0, degl = 0;
    for (int s = 0; s < 200; s++) {
        char spec[64];
        snprintf(spec, sizeof spec, "er:n=100,p=0.1,seed=%d", s);
        a = load_ok(spec);
        deg0 += a->off[1] - a->off[0];
        degl += a->off[100] - a->off[99];
        graph_free(a);
    }
    CU_ASSERT(fabs(deg0 / 200.0 - 9.9) < 1.0);
    CU_ASSERT(fabs(degl / 200.0 - 9.9) < 1.0);
}

static void test_gen_ba(void)
{
    const int ns[] = {32, 100, 500}, ms[] = {5, 1, 3};
    for (int i = 0; i < 3; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "ba:n=%d,m=%d,seed=%d", ns[i], ms[i], i);
        struct dcn_graph *g = load_ok(spec);
        check_graph(g);
        CU_ASSERT_EQUAL(g->m, (int64_t)(ns[i] - ms[i]) * ms[i]);
        CU_ASSERT(connected(g));
        for (int v = ms[i] + 1; v < g->n; v++) /* every later node joined with m edges */
            CU_ASSERT(g->off[v + 1] - g->off[v] >= ms[i]);
        graph_free(g);
    }
    struct dcn_graph *a = load_ok("ba:n=200,m=3,seed=1"), *b = load_ok("ba:n=200,m=3,seed=1"),
                     *c = load_ok("ba:n=200,m=3,seed=2");
    CU_ASSERT(same_graph(a, b));
    CU_ASSERT(!same_graph(a, c));
    graph_free(a), graph_free(b), graph_free(c);
}

/* ---- DAG orderings on several graphs ---- */

static void test_dag_all_orders(void)
{
    const char *specs[] = {shared(CELEGANS_GML), shared(MOUSE_GRAPHML), "ws:n=32,k=4,p=0.75,seed=1",
                           "er:n=300,p=0.02,seed=3", "ba:n=100,m=2,seed=5", fixture("iso.edges", "0 1\n1 2\n5 6\n")};
    for (int s = 0; s < 6; s++) {
        struct dcn_graph *g = load_ok(specs[s]);
        for (int o = DAG_ORDER_RANDOM; o <= DAG_ORDER_BFS; o++) {
            struct dcn_dag *d = build(g, (enum dag_order)o, 11), *d2 = build(g, (enum dag_order)o, 11);
            check_dag(g, d);
            CU_ASSERT(same_dag(d, d2));
            CU_ASSERT_EQUAL(d->order, (enum dag_order)o);
            /* isolated vertices are both inputs and outputs */
            for (int i = 0; i < d->n; i++) {
                int v = d->vertex[i];
                if (g->off[v + 1] == g->off[v]) {
                    int in = 0, out = 0;
                    for (int k = 0; k < d->n_inputs; k++)
                        in |= d->inputs[k] == i;
                    for (int k = 0; k < d->n_outputs; k++)
                        out |= d->outputs[k] == i;
                    CU_ASSERT(in && out);
                }
            }
            if (o == DAG_ORDER_RANDOM) {
                struct dcn_dag *d3 = build(g, DAG_ORDER_RANDOM, 12);
                check_dag(g, d3);
                CU_ASSERT(!same_dag(d, d3));
                dag_free(d3);
            }
            if (o == DAG_ORDER_DEGREE)
                for (int i = 1; i < d->n; i++) {
                    int64_t da = g->off[d->vertex[i - 1] + 1] - g->off[d->vertex[i - 1]],
                            db = g->off[d->vertex[i] + 1] - g->off[d->vertex[i]];
                    CU_ASSERT(da > db || (da == db && d->vertex[i - 1] < d->vertex[i]));
                }
            if (o == DAG_ORDER_BFS && g->m > 0) {
                /* the root is the highest-degree vertex, and a connected graph has one input */
                int64_t maxd = 0;
                for (int v = 0; v < g->n; v++)
                    if (g->off[v + 1] - g->off[v] > maxd)
                        maxd = g->off[v + 1] - g->off[v];
                CU_ASSERT_EQUAL(g->off[d->vertex[0] + 1] - g->off[d->vertex[0]], maxd);
                if (connected(g))
                    CU_ASSERT_EQUAL(d->n_inputs, 1);
            }
            dag_free(d);
            dag_free(d2);
        }
        graph_free(g);
    }
}

static void test_dag_order_names(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    enum dag_order o;
    for (int i = 0; i <= DAG_ORDER_COORD; i++) {
        CU_ASSERT_EQUAL(dag_order_parse(&ctx, dag_order_name((enum dag_order)i), &o), DCN_OK);
        CU_ASSERT_EQUAL(o, (enum dag_order)i);
    }
    CU_ASSERT_EQUAL(dag_order_parse(&ctx, "sideways", &o), DCN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "sideways"));
}

/* a path 0-1-2-3: known longest path, inputs/outputs under identity */
static void test_dag_path_graph(void)
{
    struct dcn_graph *g = load_ok(fixture("path.edges", "0 1\n1 2\n2 3\n"));
    struct dcn_dag *d = build(g, DAG_ORDER_IDENTITY, 0);
    CU_ASSERT_EQUAL(d->longest_path, 3);
    CU_ASSERT_EQUAL(d->n_inputs, 1);
    CU_ASSERT_EQUAL(d->n_outputs, 1);
    CU_ASSERT_EQUAL(d->inputs[0], 0);
    CU_ASSERT_EQUAL(d->outputs[0], 3);
    dag_free(d);
    graph_free(g);
}

/* ---- statistics on graphs with known values ---- */

static void test_stats_known(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph_stats s;
    /* K5 plus an isolated vertex 5 */
    struct dcn_graph *g = load_ok(fixture("k5.edges", "0 1\n0 2\n0 3\n0 4\n1 2\n1 3\n1 4\n2 3\n2 4\n3 4\n5 5\n"));
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, NULL, &s), DCN_OK);
    CU_ASSERT_EQUAL(s.nodes, 6);
    CU_ASSERT_EQUAL(s.edges, 10);
    CU_ASSERT_EQUAL(s.connected_components, 2);
    CU_ASSERT_EQUAL(s.largest_component_nodes, 5);
    CU_ASSERT_DOUBLE_EQUAL(s.average_path_length, 1.0, 1e-12);
    CU_ASSERT_EQUAL(s.diameter, 1);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering, 5.0 / 6.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering_deg2, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.transitivity, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.spectral_radius, 4.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.algebraic_connectivity, 5.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.average_degree, 20.0 / 6.0, 1e-12);
    graph_free(g);
    /* two triangles joined by one edge: CNM finds them, Q = 2*(3/7 - (7/14)^2) = 5/14 */
    g = load_ok(fixture("bow.edges", "0 1\n1 2\n2 0\n3 4\n4 5\n5 3\n2 3\n"));
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, NULL, &s), DCN_OK);
    CU_ASSERT_EQUAL(s.communities_greedy, 2);
    CU_ASSERT_DOUBLE_EQUAL(s.modularity_greedy, 5.0 / 14.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.modularity_louvain, 5.0 / 14.0, 1e-12);
    CU_ASSERT_EQUAL(s.diameter, 3);
    /* path 0..5 lengths: sum over ordered pairs / 30 */
    graph_free(g);
    g = load_ok(fixture("p6.edges", "0 1\n1 2\n2 3\n3 4\n4 5\n"));
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, NULL, &s), DCN_OK);
    CU_ASSERT_DOUBLE_EQUAL(s.average_path_length, 70.0 / 30.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering, 0.0, 1e-12);
    graph_free(g);
}

static void test_stats_celegans_table1(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph_stats s;
    struct dcn_graph *g = load_ok(shared(CELEGANS_GML));
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, NULL, &s), DCN_OK);
    /* paper Table 1 (and the networkx values in shared/data/README.md) */
    CU_ASSERT_DOUBLE_EQUAL(s.average_path_length, 2.455, 5e-4);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering_deg2, 0.308, 5e-4);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering, 0.2924, 5e-4);
    CU_ASSERT_EQUAL(s.connected_components, 1);
    CU_ASSERT_EQUAL(s.diameter, 5);
    CU_ASSERT_DOUBLE_EQUAL(s.average_degree, 14.465, 5e-4);
    CU_ASSERT_DOUBLE_EQUAL(s.modularity_greedy, 0.373, 0.01);
    CU_ASSERT(s.average_path_length_sampled == 0);
    graph_free(g);
    g = load_ok(shared(MOUSE_GRAPHML));
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, NULL, &s), DCN_OK);
    CU_ASSERT_DOUBLE_EQUAL(s.average_path_length, 4.271, 5e-4);
    CU_ASSERT_DOUBLE_EQUAL(s.average_clustering_deg2, 0.124, 1e-3);
    CU_ASSERT_EQUAL(s.connected_components, 3);
    CU_ASSERT_EQUAL(s.largest_component_nodes, 193);
    CU_ASSERT_EQUAL(s.diameter, 8);
    CU_ASSERT_DOUBLE_EQUAL(s.edges_per_node, 1.097, 5e-4);
    CU_ASSERT_DOUBLE_EQUAL(s.modularity_greedy, 0.752, 0.01);
    graph_free(g);
}

static void test_stats_sampled(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph_stats s, e;
    struct dcn_graph *g = load_ok("ws:n=400,k=6,p=0.2,seed=2");
    struct dcn_graph_stats_opts so = {.exact_path_limit = 100, .path_samples = 100, .nrand = -1};
    struct dcn_graph_stats_opts eo = {.nrand = -1};
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, &so, &s), DCN_OK);
    CU_ASSERT_EQUAL_FATAL(graph_stats_compute(&ctx, g, &eo, &e), DCN_OK);
    CU_ASSERT_EQUAL(s.average_path_length_sampled, 1);
    CU_ASSERT_EQUAL(s.path_sources, 100);
    CU_ASSERT_EQUAL(e.average_path_length_sampled, 0);
    CU_ASSERT(fabs(s.average_path_length - e.average_path_length) < 0.05 * e.average_path_length);
    CU_ASSERT(s.diameter <= e.diameter);
    CU_ASSERT(isnan(s.small_world_sigma));
    graph_free(g);
}

/* ---- exports: written DAGs load back as the same graph ---- */

static void test_exports_roundtrip(void)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g = load_ok(shared(MOUSE_GRAPHML));
    struct dcn_dag *d = build(g, DAG_ORDER_RANDOM, 5);
    char gm[512], tx[512], dt[512];
    snprintf(gm, sizeof gm, "%s/out.graphml", dcn_test_tmpdir());
    snprintf(tx, sizeof tx, "%s/out.txt", dcn_test_tmpdir());
    snprintf(dt, sizeof dt, "%s/out.dot", dcn_test_tmpdir());
    CU_ASSERT_EQUAL_FATAL(graph_export_dag(&ctx, g, d, gm, GRAPH_EXPORT_AUTO), DCN_OK);
    CU_ASSERT_EQUAL_FATAL(graph_export_dag(&ctx, g, d, tx, GRAPH_EXPORT_AUTO), DCN_OK);
    CU_ASSERT_EQUAL_FATAL(graph_export_dag(&ctx, g, d, dt, GRAPH_EXPORT_AUTO), DCN_OK);
    /* both reload with node i = position i; orienting by identity gives back the same DAG */
    const char *files[] = {gm, tx};
    for (int k = 0; k < 2; k++) {
        struct dcn_graph *r = load_ok(files[k]);
        CU_ASSERT_EQUAL(r->n, g->n);
        CU_ASSERT_EQUAL(r->m, g->m);
        CU_ASSERT_EQUAL(r->merged_reciprocal + r->dropped_duplicates, 0);
        struct dcn_dag *rd = build(r, DAG_ORDER_IDENTITY, 0);
        CU_ASSERT_EQUAL(rd->n_inputs, d->n_inputs);
        CU_ASSERT_EQUAL(rd->n_outputs, d->n_outputs);
        CU_ASSERT(!memcmp(rd->pred_off, d->pred_off, ((size_t)d->n + 1) * sizeof(int64_t)));
        CU_ASSERT(!memcmp(rd->pred, d->pred, (size_t)d->m * sizeof(int)));
        dag_free(rd);
        graph_free(r);
    }
    /* DOT: a digraph with one node line per node and one arrow per edge, inputs boxed */
    FILE *f = fopen(dt, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[1024];
    int arrows = 0, nodes = 0, boxes = 0, dig = 0;
    while (fgets(line, sizeof line, f)) {
        dig |= !strncmp(line, "digraph", 7);
        arrows += strstr(line, " -> ") != NULL;
        nodes += strstr(line, "[label=") != NULL && strstr(line, "fillcolor") != NULL;
        boxes += strstr(line, "shape=box") != NULL;
    }
    fclose(f);
    CU_ASSERT(dig);
    CU_ASSERT_EQUAL(arrows, 214);
    CU_ASSERT_EQUAL(nodes, 195);
    CU_ASSERT_EQUAL(boxes, d->n_inputs);
    /* unknown extension without a format is an error naming the file */
    CU_ASSERT_EQUAL(graph_export_dag(&ctx, g, d, "x.unknown", GRAPH_EXPORT_AUTO), DCN_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "x.unknown"));
    CU_ASSERT_EQUAL(graph_export_txt(&ctx, d, "/nonexistent-dir/x.txt"), DCN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.err, "/nonexistent-dir/x.txt"));
    dag_free(d);
    graph_free(g);
}

/* ---- null models: G(n, m), degree-preserving rewiring, the spec describer ---- */

static void test_gen_gnm(void)
{
    /* sparse (rejection), dense (complement drawn), complete, empty and one-node requests */
    const char *specs[] = {"gnm:n=297,m=2148,seed=3", "gnm:n=30,m=400,seed=1", "gnm:n=30,m=435", "gnm:n=30,m=0",
                           "gnm:n=1,m=0", "gnm:n=30,m=218,seed=2"};
    const int ns[] = {297, 30, 30, 30, 1, 30}, ms[] = {2148, 400, 435, 0, 0, 218};
    for (int i = 0; i < 6; i++) {
        struct dcn_graph *g = load_ok(specs[i]);
        check_graph(g);
        CU_ASSERT_EQUAL(g->n, ns[i]);
        CU_ASSERT_EQUAL(g->m, ms[i]);
        CU_ASSERT_STRING_EQUAL(g->source, specs[i]);
        CU_ASSERT_EQUAL(g->rewire_swaps + g->rewire_tries, 0);
        graph_free(g);
    }
    struct dcn_graph *a = load_ok("gnm:n=297,m=2148,seed=3"), *b = load_ok("gnm:n=297,m=2148,seed=3"),
                     *c = load_ok("gnm:n=297,m=2148,seed=4"), *z = load_ok("gnm:n=297,m=2148"),
                     *z0 = load_ok("gnm:n=297,m=2148,seed=0");
    CU_ASSERT(same_graph(a, b));
    CU_ASSERT(!same_graph(a, c));
    CU_ASSERT(same_graph(z, z0));
    graph_free(a), graph_free(b), graph_free(c), graph_free(z), graph_free(z0);
    /* uniform over pairs: vertex 0 and vertex n-1 have mean degree 2m/n = 4 over 200 seeds */
    long deg0 = 0, degl = 0;
    for (int s = 0; s < 200; s++) {
        char spec[64];
        snprintf(spec, sizeof spec, "gnm:n=50,m=100,seed=%d", s);
        a = load_ok(spec);
        deg0 += a->off[1] - a->off[0];
        degl += a->off[50] - a->off[49];
        graph_free(a);
    }
    CU_ASSERT(fabs(deg0 / 200.0 - 4.0) < 0.6);
    CU_ASSERT(fabs(degl / 200.0 - 4.0) < 0.6);
    expect_fail("gnm:n=4,m=7", DCN_EINVAL, "gnm:n=4,m=7", "maximum n(n-1)/2 = 6");
    expect_fail("gnm:n=4", DCN_EINVAL, "gnm:n=4", "missing key 'm'");
    expect_fail("gnm:m=4", DCN_EINVAL, "gnm:m=4", "missing key 'n'");
    expect_fail("gnm:n=0,m=0", DCN_EINVAL, "gnm:n=0,m=0", "'n'");
    expect_fail("gnm:n=10,m=-1", DCN_EINVAL, "gnm:n=10,m=-1", "'m'");
    expect_fail("gnm:n=10,m=5,p=0.1", DCN_EINVAL, "gnm:n=10,m=5,p=0.1", "'p'");
}

static int64_t degree(const struct dcn_graph *g, int v) { return g->off[v + 1] - g->off[v]; }

/* Rewiring keeps n, m, every degree, labels and coordinates, stays simple and changes the edges. */
static void check_rewired(const struct dcn_graph *base, const struct dcn_graph *r)
{
    check_graph(r);
    CU_ASSERT_EQUAL_FATAL(r->n, base->n);
    CU_ASSERT_EQUAL(r->m, base->m);
    for (int v = 0; v < base->n; v++)
        CU_ASSERT_EQUAL(degree(r, v), degree(base, v));
    CU_ASSERT(!same_graph(base, r));
    CU_ASSERT(r->rewire_swaps > 0 && r->rewire_tries >= r->rewire_swaps);
    CU_ASSERT_EQUAL(!base->labels, !r->labels);
    for (int v = 0; base->labels && r->labels && v < base->n; v++)
        CU_ASSERT_STRING_EQUAL(r->labels[v], base->labels[v]);
    CU_ASSERT_EQUAL(!base->coords, !r->coords);
    if (base->coords && r->coords)
        CU_ASSERT(!memcmp(base->coords, r->coords, (size_t)base->n * 3 * sizeof(double)));
}

static void test_rewire_degrees(void)
{
    const char *xy = fixture("hex.graphml",
                             "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
                             "<key id=\"kx\" for=\"node\" attr.name=\"x\" attr.type=\"double\"/>\n"
                             "<graph edgedefault=\"undirected\">\n"
                             "<node id=\"a\"><data key=\"kx\">1</data></node><node id=\"b\"><data key=\"kx\">2</data></node>"
                             "<node id=\"c\"><data key=\"kx\">3</data></node><node id=\"d\"><data key=\"kx\">4</data></node>"
                             "<node id=\"e\"><data key=\"kx\">5</data></node><node id=\"f\"><data key=\"kx\">6</data></node>\n"
                             "<edge source=\"a\" target=\"b\"/><edge source=\"b\" target=\"c\"/><edge source=\"c\" target=\"d\"/>"
                             "<edge source=\"d\" target=\"e\"/><edge source=\"e\" target=\"f\"/><edge source=\"f\" target=\"a\"/>\n"
                             "</graph></graphml>\n");
    char rxy[600];
    snprintf(rxy, sizeof rxy, "rewire:%s,seed=2", xy);
    const char *bases[] = {"ws:n=20,k=4,p=0", "ws:n=32,k=4,p=0.5,seed=1", shared(CELEGANS_GML), xy};
    const char *specs[] = {"rewire:ws:n=20,k=4,p=0", "rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=3",
                           NULL, rxy};
    char rc[1200];
    snprintf(rc, sizeof rc, "rewire:%s,swaps_per_edge=2.5,seed=7", shared(CELEGANS_GML));
    specs[2] = rc;
    for (int i = 0; i < 4; i++) {
        struct dcn_graph *b = load_ok(bases[i]), *r = load_ok(specs[i]);
        check_rewired(b, r);
        CU_ASSERT_STRING_EQUAL(r->source, specs[i]);
        CU_ASSERT_EQUAL(r->input_edges, b->input_edges); /* the base file's reduction counts stay */
        graph_free(b), graph_free(r);
    }
    /* a sparse graph makes every requested swap: round(swaps_per_edge * m) */
    struct dcn_graph *r = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=0.25,seed=3");
    CU_ASSERT_EQUAL(r->rewire_swaps, 16);
    graph_free(r);
    r = load_ok(rc);
    CU_ASSERT_EQUAL(r->rewire_swaps, 5370);
    graph_free(r);
    /* swaps_per_edge=0 is the base graph itself */
    struct dcn_graph *b = load_ok("ws:n=32,k=4,p=0.5,seed=1");
    r = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=0,seed=3");
    CU_ASSERT(same_graph(b, r));
    CU_ASSERT_EQUAL(r->rewire_swaps + r->rewire_tries, 0);
    graph_free(r);
    /* graph_load("rewire:...") is graph_rewire on the loaded base */
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    CU_ASSERT_EQUAL_FATAL(graph_rewire(&ctx, b, 10, 3), DCN_OK);
    r = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=3");
    CU_ASSERT(same_graph(b, r));
    CU_ASSERT_EQUAL(b->rewire_swaps, r->rewire_swaps);
    CU_ASSERT_EQUAL(b->rewire_tries, r->rewire_tries);
    graph_free(b), graph_free(r);
}

static void test_rewire_seeds(void)
{
    struct dcn_graph *a = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=3"),
                     *b = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,seed=3,swaps_per_edge=10"),
                     *c = load_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=4"),
                     *z = load_ok("rewire:celegans,swaps_per_edge=10"), *z0 = load_ok("rewire:celegans,seed=0"),
                     *d = load_ok("rewire:celegans,seed=1"), *e = load_ok("rewire:celegans,seed=1"),
                     *f = load_ok("rewire:celegans,seed=2");
    CU_ASSERT(same_graph(a, b)); /* the options' order does not matter */
    CU_ASSERT(!same_graph(a, c));
    CU_ASSERT(same_graph(z, z0));
    CU_ASSERT(same_graph(d, e));
    CU_ASSERT(!same_graph(d, f));
    CU_ASSERT_EQUAL(d->rewire_swaps, 21480); /* the default swaps_per_edge is 10 */
    graph_free(a), graph_free(b), graph_free(c), graph_free(z), graph_free(z0), graph_free(d), graph_free(e),
        graph_free(f);
}

static void test_rewire_errors(void)
{
    const char *star = fixture("star.edges", "0 1\n0 2\n0 3\n0 4\n0 5\n0 6\n");
    const char *one = fixture("one.edges", "0 1\n1 0\n2 2\n"), *path = fixture("path.edges", "0 1\n1 2\n");
    char spec[600];
    snprintf(spec, sizeof spec, "rewire:%s,seed=1", star);
    expect_fail(spec, DCN_EINVAL, spec, "admits no double edge swap");
    snprintf(spec, sizeof spec, "rewire:%s", one);
    expect_fail(spec, DCN_EINVAL, spec, "admits no double edge swap");
    snprintf(spec, sizeof spec, "rewire:%s,swaps_per_edge=0.5", path);
    expect_fail(spec, DCN_EINVAL, spec, "admits no double edge swap");
    expect_fail("rewire:gnm:n=5,m=10", DCN_EINVAL, "rewire:gnm:n=5,m=10", "admits no double edge swap");
    expect_fail("rewire:", DCN_EINVAL, "rewire:", "without a base graph");
    expect_fail("rewire:,seed=3", DCN_EINVAL, "rewire:,seed=3", "without a base graph");
    expect_fail("rewire:seed=3,swaps_per_edge=1", DCN_EINVAL, "rewire:seed=3", "without a base graph");
    expect_fail("rewire:none", DCN_EINVAL, "rewire:none", "names no graph");
    expect_fail("rewire:celegans,swaps_per_edge=-1", DCN_EINVAL, "rewire:celegans", "'swaps_per_edge'");
    expect_fail("rewire:celegans,swaps_per_edge=nan", DCN_EINVAL, "rewire:celegans", "'swaps_per_edge'");
    expect_fail("rewire:celegans,seed=x", DCN_EINVAL, "rewire:celegans,seed=x", "'seed'");
    expect_fail("rewire:ws:n=5,k=6,p=0.5,seed=1", DCN_EINVAL, "rewire:ws:n=5", "'k'");
    expect_fail("rewire:xx:n=3", DCN_EINVAL, "rewire:xx:n=3", "unknown graph spec kind");
    expect_fail("rewire:no-such-file.edges", DCN_EIO, "rewire:no-such-file.edges", "no-such-file.edges");
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph *g = load_ok(star);
    int64_t off5 = g->off[5];
    CU_ASSERT_EQUAL(graph_rewire(&ctx, g, 10, 0), DCN_EINVAL); /* and g is left as it was */
    CU_ASSERT_EQUAL(g->off[5], off5);
    CU_ASSERT_EQUAL(g->rewire_swaps, 0);
    graph_free(g);
}

static struct dcn_graph_spec parse_ok(const char *spec, const char *family)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph_spec gs;
    enum dcn_status st = graph_spec_parse(&ctx, spec, &gs);
    if (st)
        fprintf(stderr, "\n  %s: %s\n", spec, ctx.err);
    CU_ASSERT_EQUAL_FATAL(st, DCN_OK);
    CU_ASSERT_STRING_EQUAL(gs.family, family);
    return gs;
}

static void parse_fail(const char *spec, const char *needle)
{
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    struct dcn_graph_spec gs;
    CU_ASSERT_EQUAL(graph_spec_parse(&ctx, spec, &gs), DCN_EINVAL);
    if (!strstr(ctx.err, spec) || !strstr(ctx.err, needle)) {
        fprintf(stderr, "\n  message '%s' lacks '%s' or '%s'\n", ctx.err, spec, needle);
        CU_FAIL("graph_spec_parse message");
    }
}

/* -1 for the integer parameters, NaN for the real ones: what a family lacks */
static void expect_params(const struct dcn_graph_spec *gs, long long n, long long m, long long k, double p,
                          long long seed, double spe, const char *base)
{
    CU_ASSERT_EQUAL(gs->n, n);
    CU_ASSERT_EQUAL(gs->m, m);
    CU_ASSERT_EQUAL(gs->k, k);
    CU_ASSERT(isnan(p) ? isnan(gs->p) : gs->p == p);
    CU_ASSERT_EQUAL(gs->seed, seed);
    CU_ASSERT(isnan(spe) ? isnan(gs->swaps_per_edge) : gs->swaps_per_edge == spe);
    CU_ASSERT_STRING_EQUAL(gs->base, base);
}

static void test_graph_spec_parse(void)
{
    struct dcn_graph_spec g = parse_ok("", "none");
    expect_params(&g, -1, -1, -1, NAN, -1, NAN, "");
    g = parse_ok("none", "none");
    expect_params(&g, -1, -1, -1, NAN, -1, NAN, "");
    g = parse_ok("celegans", "celegans");
    expect_params(&g, -1, -1, -1, NAN, -1, NAN, "");
    g = parse_ok("mouse", "mouse");
    g = parse_ok(shared(MOUSE_GRAPHML), "file");
    expect_params(&g, -1, -1, -1, NAN, -1, NAN, "");
    g = parse_ok("ws:n=32,k=4,p=0.75,seed=1", "ws");
    expect_params(&g, 32, -1, 4, 0.75, 1, NAN, "");
    g = parse_ok("er:n=32,p=0.2", "er");
    expect_params(&g, 32, -1, -1, 0.2, 0, NAN, "");
    g = parse_ok("ba:n=32,m=5,seed=9", "ba");
    expect_params(&g, 32, 5, -1, NAN, 9, NAN, "");
    g = parse_ok("gnm:n=297,m=2148,seed=3", "gnm");
    expect_params(&g, 297, 2148, -1, NAN, 3, NAN, "");
    g = parse_ok("rewire:ws:n=32,k=4,p=0.5,seed=1,swaps_per_edge=10,seed=3", "rewire");
    expect_params(&g, -1, -1, -1, NAN, 3, 10.0, "ws:n=32,k=4,p=0.5,seed=1");
    g = parse_ok("rewire:celegans", "rewire");
    expect_params(&g, -1, -1, -1, NAN, 0, 10.0, "celegans");
    g = parse_ok("rewire:celegans,seed=2,swaps_per_edge=2.5", "rewire");
    expect_params(&g, -1, -1, -1, NAN, 2, 2.5, "celegans");
    g = parse_ok("rewire:rewire:mouse,seed=1,seed=2", "rewire"); /* the repeated seed= ends the options */
    expect_params(&g, -1, -1, -1, NAN, 2, 10.0, "rewire:mouse,seed=1");
    g = parse_ok("rewire:ws:n=32,k=4,p=0.5,seed=1", "rewire"); /* without options the base's seed is taken */
    expect_params(&g, -1, -1, -1, NAN, 1, 10.0, "ws:n=32,k=4,p=0.5");
    g = parse_ok(g.base, "ws"); /* the base's parameters: a second call */
    expect_params(&g, 32, -1, 4, 0.5, 0, NAN, "");
    parse_fail("ws:n=5,k=6,p=0.5", "'k'");
    parse_fail("ws:n=32,k=4", "missing key 'p'");
    parse_fail("ba:n=10,m=10", "'m'");
    parse_fail("er:n=10,p=2", "'p'");
    parse_fail("gnm:n=4,m=7", "6");
    parse_fail("gnm:n=4,m=2,seed=99999999999999999999", "'seed'");
    parse_fail("xx:n=3", "unknown graph spec kind");
    parse_fail("rewire:", "without a base graph");
    parse_fail("rewire:ba:n=3,m=3,swaps_per_edge=1", "'m'");
    parse_fail("rewire:celegans,swaps_per_edge=1e9", "'swaps_per_edge'");
}

void dcn_register_tests(void)
{
    DCN_SUITE("graph_errors", DCN_TEST(test_err_missing_file), DCN_TEST(test_named_connectomes),
              DCN_TEST(test_err_malformed_xml), DCN_TEST(test_err_graphml_no_nodes),
              DCN_TEST(test_err_graphml_unknown_node), DCN_TEST(test_err_billion_laughs),
              DCN_TEST(test_err_gml_unterminated), DCN_TEST(test_err_gml_unknown_node), DCN_TEST(test_err_zero_nodes),
              DCN_TEST(test_err_negative_ids), DCN_TEST(test_err_unknown_spec));
    DCN_SUITE("graph_load", DCN_TEST(test_load_celegans_gml), DCN_TEST(test_load_named_celegans_identity),
              DCN_TEST(test_load_mouse), DCN_TEST(test_reduction_counts), DCN_TEST(test_coords_and_coord_order));
    DCN_SUITE("graph_generate", DCN_TEST(test_gen_ws), DCN_TEST(test_gen_er), DCN_TEST(test_gen_ba));
    DCN_SUITE("graph_dag", DCN_TEST(test_dag_all_orders), DCN_TEST(test_dag_order_names),
              DCN_TEST(test_dag_path_graph));
    DCN_SUITE("graph_stats", DCN_TEST(test_stats_known), DCN_TEST(test_stats_celegans_table1),
              DCN_TEST(test_stats_sampled));
    DCN_SUITE("graph_export", DCN_TEST(test_exports_roundtrip));
    DCN_SUITE("graph_null", DCN_TEST(test_gen_gnm), DCN_TEST(test_rewire_degrees), DCN_TEST(test_rewire_seeds),
              DCN_TEST(test_rewire_errors), DCN_TEST(test_graph_spec_parse));
}
