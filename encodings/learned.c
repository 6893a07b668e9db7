/* Trained absolute positions (BERT, GPT): x_k + p_k, p a (max-pos, C) table. */
#include <stdlib.h>

#include "encoding.h"

typedef struct {
    tensor *table;     /* (max_pos, C) */
    int C;
} learned_state;

static learned_state *new_state(void) { return xcalloc(1, sizeof(learned_state)); }

static void *learned_create(param_store *ps, const enc_dims *d, char *err, size_t errlen) {
    (void)err; (void)errlen;
    learned_state *s = new_state();
    s->C = d->C;
    s->table = params_declare(ps, "enc.pos", 2, (int[]){d->max_pos, d->C}, INIT_NORMAL, d->opt.init_scale, 0);
    return s;
}

static tensor *learned_embed(void *st, graph *g, tensor *x, const positions *pos) {
    learned_state *s = st;
    tensor *p = op_embedding(g, s->table, pos->p + pos->q0, pos->Tq);     /* (Tq, C) */
    return op_add(g, x, p);                                                /* (B, Tq, C) + (Tq, C) */
}

const encoding_def enc_learned = {
    .name = "learned",
    .summary = "trained absolute position table added to the input (max-pos rows)",
    .where = ENC_AT_INPUT,
    .flags = ENC_TABLE,
    .create = learned_create,
    .embed = learned_embed,
    .destroy = free,
};
