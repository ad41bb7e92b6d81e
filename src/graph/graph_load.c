/* graph_load, the spec dispatcher: graph_spec.c names the spec's family, generator specs go to
 * graph_gen.c, "rewire:" specs load their base through graph_load itself and rewire it
 * (graph_null.c), "celegans" and "mouse" are resolved to their files (data folder first, then where
 * dcn ships them), and a file goes to the loader its extension names. The only file that knows every
 * loader. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "graph_internal.h"

/* "rewire:BASE,...": BASE with the same data folder, then double edge swaps; the source is the
 * whole spec, so the rewiring's error messages and the JSON name what the user wrote. */
static enum dcn_status load_rewired(struct dcn_ctx *ctx, const char *spec, const struct dcn_graph_spec *gs,
                                    const char *data_dir, struct dcn_graph **out)
{
    struct dcn_graph *g;
    enum dcn_status st = graph_load(ctx, gs->base, data_dir, &g);
    if (st) {
        dcn_err_prefix(ctx, "%s: base graph", spec);
        return st;
    }
    snprintf(g->source, sizeof g->source, "%s", spec);
    if ((st = graph_rewire(ctx, g, gs->swaps_per_edge, (uint64_t)gs->seed))) {
        graph_free(g);
        return st;
    }
    *out = g;
    return DCN_OK;
}

enum dcn_status graph_load(struct dcn_ctx *ctx, const char *spec, const char *data_dir, struct dcn_graph **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return dcn_fail(ctx, DCN_EINVAL, "empty graph spec");
    struct dcn_graph_spec gs;
    enum dcn_status pst = graph_spec_parse(ctx, spec, &gs);
    if (pst)
        return pst;
    if (!strcmp(gs.family, "none"))
        return dcn_fail(ctx, DCN_EINVAL, "graph spec '%s' names no graph (a file of that name needs a path: "
                        "./%s)", spec, spec);
    if (!strcmp(gs.family, "rewire"))
        return load_rewired(ctx, spec, &gs, data_dir, out);
    if (strcmp(gs.family, "file") && strcmp(gs.family, "celegans") && strcmp(gs.family, "mouse"))
        return graph_generate(ctx, spec, out);
    char path[1200];
    const char *file = spec;
    if (!strcmp(spec, "celegans") || !strcmp(spec, "mouse")) {
        const char *name = !strcmp(spec, "celegans") ? "celegansneural.gml" : "mouse_visual.cortex_2.graphml";
        /* a copy in the data folder (e.g. re-downloaded by `dcn data fetch connectomes`) wins over the
         * one shipped with dcn; both are checked against the same SHA-256 by fetch.sh */
        char dd[1024], rel[128];
        if (!data_dir)
            data_dir = dcn_data_dir(dd, sizeof dd);
        snprintf(path, sizeof path, "%s/connectomes/%s", data_dir, name);
        struct stat st;
        snprintf(rel, sizeof rel, "connectomes/%s", name);
        if (stat(path, &st) && dcn_shipped_file(rel, path, sizeof path))
            return dcn_fail(ctx, DCN_EIO, "graph '%s': %s not found in the data folder %s nor where dcn ships "
                            "it (%s); reinstall dcn or run `dcn data fetch connectomes`", spec, name, data_dir, path);
        file = path;
    }
    enum dcn_status st;
    if (graph_has_ext(file, ".graphml") || graph_has_ext(file, ".xml"))
        st = graph_load_graphml(ctx, file, out);
    else if (graph_has_ext(file, ".gml"))
        st = graph_load_gml(ctx, file, out);
    else
        st = graph_load_text(ctx, file, graph_has_ext(file, ".txt"), out);
    if (st == DCN_OK && file != spec) /* keep the name the user gave */
        snprintf((*out)->source, sizeof (*out)->source, "%s", spec);
    return st;
}
