/* dcn graph stats|dag: statistics of a connectome or generated graph (the paper's Table 1) and
 * export of the DAG a vertex ordering makes of it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dcn/graph.h"
#include "opts.h"

static const char *GRAPH_SPECS =
    "GRAPH is a file (.graphml, .gml, .txt RandWire \"N M s t...\" or an edge list \"u v\" per line),\n"
    "celegans or mouse (shipped with dcn in data/connectomes), a generator: ws:n=32,k=4,p=0.75,seed=1,\n"
    "er:n=32,p=0.2,seed=1, ba:n=32,m=5,seed=1, gnm:n=195,m=214,seed=1 (G(n, m)), or a degree-preserving\n"
    "rewiring of any of these: rewire:mouse,swaps_per_edge=10,seed=1 (options read from the right).\n";

static void usage_top(FILE *f)
{
    fprintf(f, "usage: dcn graph stats GRAPH [--json] [--order ORDER --order-seed S] [--seed S]\n"
               "       dcn graph dag GRAPH --out FILE [--order ORDER] [--order-seed S] [--format graphml|txt|dot]\n\n"
               "  stats  size, path lengths, clustering, components, modularity, spectra, small-worldness\n"
               "  dag    orient the graph by a vertex order and write the DAG\n\n%s"
               "ORDER is random (default, seeded), identity, degree, bfs or coord.\n", GRAPH_SPECS);
}

static void json_num(FILE *f, const char *key, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "  \"%s\": %.17g%s\n", key, v, last ? "" : ",");
    else
        fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
}

static void json_str(FILE *f, const char *key, const char *s)
{
    fprintf(f, "  \"%s\": ", key);
    dcn_json_string(f, s);
    fputs(",\n", f);
}

static void human_num(const char *name, double v, const char *note)
{
    if (isfinite(v))
        printf("  %-34s %.6g%s%s\n", name, v, note ? "  " : "", note ? note : "");
    else
        printf("  %-34s n/a%s%s\n", name, note ? "  " : "", note ? note : "");
}

static int load_graph(const char *cmd, const char *spec, const char *data_dir, struct dcn_ctx *ctx,
                      struct dcn_graph **g)
{
    if (graph_load(ctx, spec, data_dir, g))
        return cli_report_error(cmd, ctx);
    return 0;
}

static void print_stats_json(const struct dcn_graph *g, const struct dcn_dag *d, const struct dcn_graph_stats *sp,
                             double secs)
{
    const struct dcn_graph_stats s = *sp;
    printf("{\n");
    json_str(stdout, "graph", g->source);
    printf("  \"nodes\": %d,\n  \"edges\": %lld,\n", s.nodes, (long long)s.edges);
    json_num(stdout, "average_path_length", s.average_path_length, 0);
    printf("  \"average_path_length_sampled\": %s,\n  \"path_sources\": %d,\n",
           s.average_path_length_sampled ? "true" : "false", s.path_sources);
    json_num(stdout, "average_clustering", s.average_clustering, 0);
    json_num(stdout, "average_clustering_deg2", s.average_clustering_deg2, 0);
    printf("  \"nodes_deg2\": %d,\n", s.nodes_deg2);
    json_num(stdout, "transitivity", s.transitivity, 0);
    printf("  \"connected_components\": %d,\n  \"largest_component_nodes\": %d,\n"
           "  \"largest_component_edges\": %lld,\n  \"diameter\": %d,\n",
           s.connected_components, s.largest_component_nodes, (long long)s.largest_component_edges, s.diameter);
    json_num(stdout, "average_degree", s.average_degree, 0);
    json_num(stdout, "edges_per_node", s.edges_per_node, 0);
    printf("  \"max_degree\": %d,\n", s.max_degree);
    json_num(stdout, "modularity_greedy", s.modularity_greedy, 0);
    printf("  \"communities_greedy\": %d,\n", s.communities_greedy);
    json_num(stdout, "modularity_louvain", s.modularity_louvain, 0);
    printf("  \"communities_louvain\": %d,\n  \"louvain_seed\": %llu,\n", s.communities_louvain,
           (unsigned long long)s.louvain_seed);
    json_num(stdout, "spectral_radius", s.spectral_radius, 0);
    json_num(stdout, "algebraic_connectivity", s.algebraic_connectivity, 0);
    json_num(stdout, "small_world_sigma", s.small_world_sigma, 0);
    printf("  \"small_world_nrand\": %d,\n", s.small_world_nrand);
    json_num(stdout, "small_world_c_rand", s.small_world_c_rand, 0);
    json_num(stdout, "small_world_l_rand", s.small_world_l_rand, 0);
    printf("  \"directed_input\": %s,\n  \"input_edges\": %lld,\n  \"dropped_self_loops\": %lld,\n"
           "  \"dropped_duplicates\": %lld,\n  \"merged_reciprocal\": %lld,\n",
           g->directed_input ? "true" : "false", (long long)g->input_edges, (long long)g->dropped_self_loops,
           (long long)g->dropped_duplicates, (long long)g->merged_reciprocal);
    if (!strncmp(g->source, "rewire:", 7)) /* degree-preserving null model: what the rewiring did */
        printf("  \"rewire_swaps\": %lld,\n  \"rewire_tries\": %lld,\n", (long long)g->rewire_swaps,
               (long long)g->rewire_tries);
    if (d) {
        printf("  \"order\": \"%s\",\n  \"order_seed\": %llu,\n  \"dag_inputs\": %d,\n  \"dag_outputs\": %d,\n"
               "  \"dag_longest_path\": %d,\n",
               dag_order_name(d->order), (unsigned long long)d->order_seed, d->n_inputs, d->n_outputs,
               d->longest_path);
    }
    json_num(stdout, "seconds", secs, 1);
    printf("}\n");
}

static void print_stats_text(const struct dcn_graph *g, const struct dcn_dag *d, const struct dcn_graph_stats *sp)
{
    const struct dcn_graph_stats s = *sp;
    printf("graph %s\n", g->source);
    printf("  %-34s %d\n  %-34s %lld\n", "nodes", s.nodes, "edges (undirected, simple)", (long long)s.edges);
    printf("  %-34s %lld records%s: %lld self-loops, %lld duplicates, %lld reciprocal pairs merged\n",
           "input", (long long)g->input_edges, g->directed_input ? " (directed)" : "",
           (long long)g->dropped_self_loops, (long long)g->dropped_duplicates, (long long)g->merged_reciprocal);
    printf("  %-34s %d (largest: %d nodes, %lld edges)\n", "connected components", s.connected_components,
           s.largest_component_nodes, (long long)s.largest_component_edges);
    char note[96];
    snprintf(note, sizeof note, "(largest component%s)",
             s.average_path_length_sampled ? ", sampled sources" : "");
    human_num("average path length", s.average_path_length, note);
    printf("  %-34s %d  %s\n", "diameter", s.diameter,
           s.average_path_length_sampled ? "(largest component, lower bound from sampled sources)"
                                         : "(largest component)");
    human_num("average clustering", s.average_clustering, "(networkx: degree < 2 counts as 0)");
    snprintf(note, sizeof note, "(over the %d nodes of degree >= 2, igraph/paper)", s.nodes_deg2);
    human_num("average clustering, degree >= 2", s.average_clustering_deg2, note);
    human_num("transitivity", s.transitivity, NULL);
    human_num("average degree 2E/N", s.average_degree, NULL);
    human_num("edges per node E/N", s.edges_per_node, NULL);
    printf("  %-34s %d\n", "max degree", s.max_degree);
    const char *big = "(skipped: graph too large or without edges)";
    snprintf(note, sizeof note, "(%d communities)", s.communities_greedy);
    human_num("modularity, greedy (CNM)", s.modularity_greedy, isfinite(s.modularity_greedy) ? note : big);
    snprintf(note, sizeof note, "(%d communities, seed %llu)", s.communities_louvain,
             (unsigned long long)s.louvain_seed);
    human_num("modularity, Louvain", s.modularity_louvain, isfinite(s.modularity_louvain) ? note : big);
    human_num("spectral radius", s.spectral_radius, isfinite(s.spectral_radius) ? NULL : big);
    human_num("algebraic connectivity", s.algebraic_connectivity,
              isfinite(s.algebraic_connectivity) ? "(largest component)" : big);
    snprintf(note, sizeof note, "(vs %d G(n,m) graphs: C_r %.4g, L_r %.4g)", s.small_world_nrand,
             s.small_world_c_rand, s.small_world_l_rand);
    human_num("small-world sigma", s.small_world_sigma,
              s.small_world_nrand ? note : "(skipped: too large, or --nrand 0)");
    if (d)
        printf("  DAG (order %s, seed %llu): %d inputs, %d outputs, longest path %d edges\n",
               dag_order_name(d->order), (unsigned long long)d->order_seed, d->n_inputs, d->n_outputs,
               d->longest_path);
}

static int do_stats(int argc, char **argv)
{
    const char *cmd = "graph stats", *usage = "GRAPH [options]";
    int json = 0, nrand = 10;
    const char *order_name = NULL, *data_dir = NULL;
    uint64_t order_seed = 0, seed = 0;
    struct opt tab[] = {
        {"json", OPT_FLAG, &json, NULL, "print JSON (networkx names) instead of text"},
        {"order", OPT_STR, &order_name, "ORDER", "also build the DAG: random, identity, degree, bfs, coord"},
        {"order-seed", OPT_U64, &order_seed, "S", "seed of the random order (0)"},
        {"seed", OPT_U64, &seed, "S", "seed of Louvain, path sampling and random references (0)"},
        {"nrand", OPT_INT, &nrand, "K", "G(n,m) references for small-world sigma (10; 0 skips)"},
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder for celegans/mouse ($DCN_DATA_DIR)"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse(cmd, usage, tab, argc, argv, 1, pos, 1, &npos);
    if (rc)
        return rc == 1 ? 0 : DCN_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "dcn %s: expected one GRAPH argument\n%s", cmd, GRAPH_SPECS);
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    enum dag_order order = DAG_ORDER_RANDOM;
    if (order_name && dag_order_parse(&ctx, order_name, &order)) {
        fprintf(stderr, "dcn %s: %s\n", cmd, ctx.err);
        return DCN_EXIT_USAGE;
    }
    struct dcn_graph *g;
    if ((rc = load_graph(cmd, pos[0], data_dir, &ctx, &g)))
        return rc;
    struct dcn_dag *d = NULL;
    if (order_name && dag_build(&ctx, g, order, order_seed, &d)) {
        graph_free(g);
        return cli_report_error(cmd, &ctx);
    }
    struct dcn_graph_stats s;
    struct dcn_graph_stats_opts o = {.seed = seed, .nrand = nrand ? nrand : -1};
    double t0 = dcn_now();
    if (graph_stats_compute(&ctx, g, &o, &s)) {
        graph_free(g);
        dag_free(d);
        return cli_report_error(cmd, &ctx);
    }
    double secs = dcn_now() - t0;
    if (json)
        print_stats_json(g, d, &s, secs);
    else
        print_stats_text(g, d, &s);
    graph_free(g);
    dag_free(d);
    return 0;
}

static int do_dag(int argc, char **argv)
{
    const char *cmd = "graph dag", *usage = "GRAPH --out FILE [options]";
    const char *order_name = "random", *out = NULL, *fmt_name = NULL, *data_dir = NULL;
    uint64_t order_seed = 0;
    struct opt tab[] = {
        {"order", OPT_STR, &order_name, "ORDER", "random (default), identity, degree, bfs, coord"},
        {"order-seed", OPT_U64, &order_seed, "S", "seed of the random order (0)"},
        {"out", OPT_STR, &out, "FILE", "output file (required)"},
        {"format", OPT_STR, &fmt_name, "FMT", "graphml, txt or dot (default: from the extension)"},
        {"data-dir", OPT_STR, &data_dir, "DIR", "data folder for celegans/mouse ($DCN_DATA_DIR)"},
        {NULL, 0, NULL, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = opts_parse(cmd, usage, tab, argc, argv, 1, pos, 1, &npos);
    if (rc)
        return rc == 1 ? 0 : DCN_EXIT_USAGE;
    if (npos != 1 || !out) {
        fprintf(stderr, "dcn %s: expected one GRAPH argument and --out FILE\n%s", cmd, GRAPH_SPECS);
        return DCN_EXIT_USAGE;
    }
    struct dcn_ctx ctx;
    dcn_ctx_init(&ctx);
    enum dag_order order;
    enum graph_export_format fmt;
    if (dag_order_parse(&ctx, order_name, &order) || graph_export_format_parse(&ctx, fmt_name, &fmt)) {
        fprintf(stderr, "dcn %s: %s\n", cmd, ctx.err);
        return DCN_EXIT_USAGE;
    }
    struct dcn_graph *g;
    if ((rc = load_graph(cmd, pos[0], data_dir, &ctx, &g)))
        return rc;
    struct dcn_dag *d;
    if (dag_build(&ctx, g, order, order_seed, &d)) {
        graph_free(g);
        return cli_report_error(cmd, &ctx);
    }
    rc = 0;
    if (graph_export_dag(&ctx, g, d, out, fmt))
        rc = cli_report_error(cmd, &ctx);
    else
        dcn_log(&ctx, 1, "%s: %d nodes, %lld edges, %d inputs, %d outputs, longest path %d (order %s, seed %llu) -> %s\n",
                g->source, d->n, (long long)d->m, d->n_inputs, d->n_outputs, d->longest_path,
                dag_order_name(d->order), (unsigned long long)d->order_seed, out);
    dag_free(d);
    graph_free(g);
    return rc;
}

int cmd_graph(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage_top(argc < 2 ? stderr : stdout);
        return argc < 2 ? DCN_EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "stats"))
        return do_stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dag"))
        return do_dag(argc - 1, argv + 1);
    fprintf(stderr, "dcn graph: unknown subcommand '%s' (expected stats or dag; see dcn graph --help)\n", argv[1]);
    return DCN_EXIT_USAGE;
}
