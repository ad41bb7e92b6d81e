/* graph_load, the spec dispatcher: generator specs go to graph_gen.c, "celegans" and "mouse" are
 * resolved to their files (data folder first, then where dcn ships them), and a file goes to the
 * loader its extension names. The only file that knows every loader. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "graph_internal.h"

enum dcn_status graph_load(struct dcn_ctx *ctx, const char *spec, const char *data_dir, struct dcn_graph **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return dcn_fail(ctx, DCN_EINVAL, "empty graph spec");
    const char *colon = strchr(spec, ':');
    if (colon && !strchr(spec, '/')) {
        size_t kl = (size_t)(colon - spec);
        if ((kl == 2 && (!strncmp(spec, "ws", 2) || !strncmp(spec, "er", 2) || !strncmp(spec, "ba", 2))))
            return graph_generate(ctx, spec, out);
        struct stat st;
        if (stat(spec, &st))
            return dcn_fail(ctx, DCN_EINVAL, "%s: unknown graph spec kind '%.*s' (expected ws:, er:, ba:, "
                            "celegans, mouse or a file)", spec, (int)kl, spec);
    }
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
