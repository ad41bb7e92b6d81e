/* A trial's state is read from its files, nothing else: <trials_dir>/<ab>/<id>.h5 with status "done" or
 * "failed" is finished; a leftover .tmp or a checkpoint is a trial running or interrupted; no file is
 * pending. The state names are the /summary "status" column's. */
#include <ctype.h>
#include <dirent.h>
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
    char sub[8] = "";
    if (!s->flat_trials)
        snprintf(sub, sizeof sub, "/%.2s", t->id + 1);
    snprintf(file, len, "%s%s/%s.h5", s->trials_dir, sub, t->id);
    if (ckpt)
        snprintf(ckpt, len, "%s%s/%s.ckpt.h5", s->trials_dir, sub, t->id);
}

/* A flat-layout trial file name: t + 16 hex digits, then .h5, .h5.tmp or .ckpt.h5. */
static int flat_trial_name(const char *n)
{
    if (n[0] != 't' || strlen(n) < 20)
        return 0;
    for (int i = 1; i <= 16; i++)
        if (!isxdigit((unsigned char)n[i]))
            return 0;
    return !strcmp(n + 17, ".h5") || !strcmp(n + 17, ".h5.tmp") || !strcmp(n + 17, ".ckpt.h5");
}

int sweep_trials_flat(const char *trials_dir)
{
    DIR *d = opendir(trials_dir);
    if (!d)
        return 0;
    int flat = 0;
    for (struct dirent *e; !flat && (e = readdir(d));)
        flat = flat_trial_name(e->d_name);
    closedir(d);
    return flat;
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

