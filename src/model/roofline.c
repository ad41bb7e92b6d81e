/* The roofline count of the paper engine (include/dcn/model.h, model_roofline): the least a training
 * step must do, counted from the DAG (README "dcn bench").
 * S = one node activation (batch x channels x H x W floats); d_i = in-degree of node i (an input node
 * reads the stem's output: 1).
 *   pointwise sgemm: 2 B HW C^2 flops per node forward, twice that backward (weights and inputs);
 *   front (aggregation, ReLU, depthwise) forward: read d_i inputs, write 1: (d_i + 1) S;
 *   front backward: read the depthwise output's gradient and the d_i inputs, write the aggregate's
 *     gradient, and each edge's gradient read once by the predecessor: (2 d_i + 2) S;
 *   a node that keeps its aggregation (model.keeps_agg): forward one more write, (d_i + 2) S; backward
 *     reads it instead of the d_i inputs, (d_i + 3) S;
 *   batch norm: forward 2 S (statistics taken while the sgemm output is read), backward 3 S.
 * The sink, head and stem are left out (under 2 % of a step on the graph models). The authors'
 * variant runs layer by layer, which this count does not describe. */
#include <string.h>

#include "dcn/model.h"

int model_roofline(const struct model *m, int batch, struct model_roofline *r)
{
    memset(r, 0, sizeof *r);
    const struct dcn_dag *dag = m->dag;
    if (!dag || m->cfg.variant != MODEL_PAPER)
        return 0;
    const int channels = m->cfg.channels;
    const double S = (double)batch * channels * m->H * m->W * sizeof(float);
    double front = 0;
    for (int i = 0; i < dag->n; i++) {
        double d = (double)(dag->pred_off[i + 1] - dag->pred_off[i]);
        if (d < 1)
            d = 1;
        if (m->keeps_agg && m->keeps_agg[i])
            front += (d + 2) + (d + 3);
        else
            front += (d + 1) + (2 * d + 2);
    }
    r->sgemm_gflop = 6.0 * batch * m->H * m->W * (double)channels * channels * dag->n / 1e9;
    r->front_gb = front * S / 1e9;
    r->bn_gb = 5.0 * dag->n * S / 1e9;
    return 1;
}
