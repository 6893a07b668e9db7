/* Readable task examples (for the README, the golden test and users). */
#include "errors.h"
#include "examples.h"

#include <stdarg.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "layout.h"

static void token_name(const layout *lo, int tok, char *buf, size_t len) {
    int V = lo->info.vocab;
    if (tok == V + TOK_BOS) snprintf(buf, len, lo->markers == MARK_CLS_SEP ? "[CLS]" : "[BOS]");
    else if (tok == V + TOK_SEP) snprintf(buf, len, "[SEP]");
    else if (tok == V + TOK_BLANK) snprintf(buf, len, "_");
    else snprintf(buf, len, "%d", tok);
}

int examples_print(const run_config *cfg, int count, FILE *out, char *err, size_t errlen) {
    run_config c = *cfg;
    c.len_min = c.len_max = c.len;
    c.eval_lens.n = 0;
    char msg[512];
    if (config_validate(&c, msg, sizeof msg)) return errorf(err, errlen, "%s", msg);
    layout lo;
    if (layout_init(&lo, &c, c.len, msg, sizeof msg) || layout_check_len(&lo, c.len, msg, sizeof msg))
        return errorf(err, errlen, "%s", msg);
    batch b;
    batch_alloc(&b, count, layout_seq_len(&lo, c.len));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)c.seed);
    layout_fill(&lo, &b, c.len, r, POS_SEQUENTIAL, c.max_pos, r);
    gsl_rng_free(r);
    const char *form = lo.task->shape == TASK_ALIGNED ? (c.mask == MASK_CAUSAL ? "aligned, causal" : "aligned, bidirectional")
                       : lo.form == FORM_ENCODER ? "encoder (bidirectional)"
                       : lo.eos ? "decoder (causal, [EOS])" : "decoder (causal, given length)";
    fprintf(out, "task %s, n = %d, %s form, markers %s, seed %ld: model length %d, %d scored\n", c.task, c.len, form,
            config_choice_name("markers", c.markers), c.seed, b.T, lo.task->shape == TASK_ALIGNED ? task_input_len(&lo, c.len) : lo.task->answer_len(&lo.info, c.len) + lo.eos);
    for (int s = 0; s < count; s++) {
        char line1[8192] = "  tokens: ", line2[8192] = "  target: ", cell[32];
        for (int t = 0; t < b.T; t++) {
            char a[16], bb[16];
            token_name(&lo, b.tokens[(size_t)s * b.T + t], a, sizeof a);
            int tg = b.targets[(size_t)s * b.T + t];
            if (tg >= 0 && tg == lo.eos_class) snprintf(bb, sizeof bb, "[EOS]");
            else if (tg >= 0) snprintf(bb, sizeof bb, "%d", tg);
            else snprintf(bb, sizeof bb, ".");
            int w = (int)(strlen(a) > strlen(bb) ? strlen(a) : strlen(bb));
            snprintf(cell, sizeof cell, "%-*s ", w, a);
            strncat(line1, cell, sizeof line1 - strlen(line1) - 1);
            snprintf(cell, sizeof cell, "%-*s ", w, bb);
            strncat(line2, cell, sizeof line2 - strlen(line2) - 1);
        }
        for (char *l = line1 + strlen(line1); l > line1 && l[-1] == ' ';) *--l = 0;   /* no trailing blanks */
        for (char *l = line2 + strlen(line2); l > line2 && l[-1] == ' ';) *--l = 0;
        fprintf(out, "%s\n%s\n", line1, line2);
    }
    batch_free(&b);
    return 0;
}
