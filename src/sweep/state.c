/* A trial's state is read from its files, nothing else: <trials_dir>/<id>.h5 with status "done" or
 * "failed" is finished; a leftover .tmp or a checkpoint is a trial running or interrupted; no file is
 * pending. The state names are the /summary "status" column's. */
#include <string.h>
#include <sys/stat.h>

#include "dcn/io.h"
#include "dcn/sweep.h"

const char *trial_state_name(enum trial_state st)
{
    switch (st) {
    case TRIAL_PENDING: return "pending";
    case TRIAL_RUNNING: return "running";
    case TRIAL_DONE: return "done";
    case TRIAL_FAILED: return "failed";
    }
    return "?";
}

void sweep_trial_paths(const struct sweep_spec *s, const struct sweep_trial *t, char *file, char *ckpt, size_t len)
{
    snprintf(file, len, "%s/%s.h5", s->trials_dir, t->id);
    if (ckpt)
        snprintf(ckpt, len, "%s/%s.ckpt.h5", s->trials_dir, t->id);
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

enum trial_state sweep_trial_state(const struct sweep_spec *s, const struct sweep_trial *t)
{
    char file[1100], ckpt[1100], tmp[1200];
    sweep_trial_paths(s, t, file, ckpt, sizeof file);
    if (exists(file)) {
        struct dcn_ctx c;
        dcn_ctx_init(&c);
        char st[32];
        if (trial_read_attr_str(&c, file, "status", st, sizeof st))
            return TRIAL_FAILED; /* unreadable: run it again */
        if (!strcmp(st, "done"))
            return TRIAL_DONE;
        if (!strcmp(st, "failed"))
            return TRIAL_FAILED;
        return TRIAL_RUNNING;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    return exists(ckpt) || exists(tmp) ? TRIAL_RUNNING : TRIAL_PENDING;
}

