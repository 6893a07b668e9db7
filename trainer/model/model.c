/* The model's parameters and its forward pass. */
#include "model.h"

#include "errors.h"
#include "kvcache.h"
#include "memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_rows(const layout *lo, int n) {
    int T = layout_seq_len(lo, n);
    return lo->form == FORM_DECODER && layout_decode_rows(lo, n) > T ? layout_decode_rows(lo, n) : T;
}

enc_options model_enc_options(const run_config *c) {
    return (enc_options){
        .init_scale = c->init_scale, .rope_base = c->rope_base, .rope_fraction = c->rope_fraction,
        .rope_trainable = c->rope_trainable, .sin_scale = c->sin_scale, .rec_scale = c->rec_scale, .clip_min = c->clip_min,
        .clip_max = c->clip_max, .t5_buckets = c->t5_buckets, .t5_max_distance = c->t5_max_distance,
        .xpos_gamma = c->xpos_gamma, .xpos_zeta = c->xpos_zeta,
        .mult_sinusoidal = c->mult_pos == MULT_SINUSOIDAL, .alibi_asym = c->alibi_asym,
        .sequential_positions = c->positions == POS_SEQUENTIAL, .train_len_max = c->len_max,
        .conv_kernel = c->conv_kernel, .conv_circular = c->conv_circular,
        .rope_schedule = (rope_schedule)c->rope_schedule,
    };
}

int model_check_encoding_options(const run_config *c, char *err, size_t errlen) {
    const encoding_def *e = encoding_find(c->encoding);
    if (!e) return 0;   /* named by the caller's own check */
    run_config d;
    config_defaults(&d);
    const char *name;
    char value[4096], def[4096];
    for (int i = 0; config_option(c, i, &name, value, sizeof value); i++) {
        if (encoding_uses_option(e, name)) continue;
        char users[512] = "";
        size_t n = 0;
        for (int k = 0; encoding_at(k); k++)
            if (encoding_uses_option(encoding_at(k), name) && n < sizeof users)
                n += (size_t)snprintf(users + n, sizeof users - n, "%s%s", n ? ", " : "", encoding_at(k)->name);
        if (!users[0]) continue;   /* not an encoding option */
        config_option(&d, i, &name, def, sizeof def);
        if (strcmp(value, def) == 0) continue;   /* the default: nothing asked of the encoding */
        return errorf(err, errlen, "--%s %.64s does nothing with --encoding %s (it is an option of %s)", name, value, e->name,
                      users);
    }
    return 0;
}

static enc_dims model_enc_dims(const model *m, int max_T) {
    return (enc_dims){m->C, m->H, m->D, m->L, m->V, m->cfg.max_pos, m->mask, model_enc_options(&m->cfg), max_T};
}

double model_step_bytes(const model *m, int B, int T) {
    double C = m->C, F = m->F, H = m->H, b = B, t = T;
    double per_layer = b * t * (32 * C + 8 * F) + 6 * b * H * t * t + 64 * t * C + 8 * t * t + 16384;
    if (m->enc->step_reals) {
        enc_dims d = model_enc_dims(m, T);
        per_layer += m->enc->step_reals(&d, B, T);
    }
    return (m->L * per_layer + b * t * (8 * C + 4 * m->K) + 8 * t * C + 16384) * sizeof(real);
}

/* OpenBLAS takes a work buffer of 128 MiB at its first product. */
#ifdef POSPROBE_OPENBLAS
#define BLAS_BUFFER_BYTES (129.0 * 1024 * 1024)
#else
#define BLAS_BUFFER_BYTES 0.0
#endif

model_memory model_memory_estimate(const model *m, int max_n) {
    const run_config *c = &m->cfg;
    model_memory e;
    e.params = 4.0 * (double)m->ps.n * sizeof(real);
    int chunk = c->eval_size < 64 ? c->eval_size : 64, T_eval = model_rows(&m->lo, max_n);
    /* the training arena (up to twice its high-water mark while a step outgrows it) and an
     * evaluation's, alive together; an evaluation keeps no gradients and no tape, half a step
     * at most (tested); in decoder form the key/value cache */
    e.activations = 2 * model_step_bytes(m, c->batch, layout_seq_len(&m->lo, c->len_max)) +
                    model_step_bytes(m, chunk, T_eval) / 2 +
                    (m->lo.form == FORM_DECODER ? 2.0 * m->L * chunk * T_eval * m->C * sizeof(real) : 0);
    e.blas = BLAS_BUFFER_BYTES;
    e.total = e.params + e.activations + e.blas;
    return e;
}

int model_check_memory(const model *m, int max_n, char *err, size_t errlen) {
    model_memory e = model_memory_estimate(m, max_n);
    const char *what;
    double limit = memory_limit(&what);
    if (e.total <= limit) return 0;
    char total[32], params[32], act[32], lim[32];
    memory_format(e.total, total, sizeof total);
    memory_format(e.params, params, sizeof params);
    memory_format(e.activations, act, sizeof act);
    memory_format(limit, lim, sizeof lim);
    snprintf(err, errlen,
             "this configuration needs about %s (%.3g parameters with their gradients and AdamW moments: %s; "
             "activations: %s), more than the %s of %s: use a smaller --dim, --layers, --ff-mult, --batch or length",
             total, (double)m->ps.n, params, act, lim, what);
    return -1;
}

int model_build(model *m, const run_config *c, int max_n, char *err, size_t errlen) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    if (layout_init(&m->lo, &m->cfg, max_n, err, errlen)) return -1;
    m->enc = encoding_find(c->encoding);
    if (!m->enc) { snprintf(err, errlen, "unknown encoding '%s' (see: posprobe list encodings)", c->encoding); return -1; }
    m->mask = c->mask;
    m->norm = c->norm;
    if (!model_norm_accepts(m->enc, m->norm)) {
        snprintf(err, errlen,
                 "--norm %s is linear attention: it has no score matrix for encoding '%s' to add to or reweight "
                 "(use an encoding at the input, a rotation or none)",
                 attn_norm_name(m->norm), c->encoding);
        return -1;
    }
    if ((m->enc->flags & ENC_CAUSAL_ONLY) && m->mask != MASK_CAUSAL) {
        snprintf(err, errlen, "encoding '%s' is defined for --mask causal only", c->encoding);
        return -1;
    }
    m->C = c->dim;
    m->H = c->heads;
    m->D = c->dim / c->heads;
    m->L = c->layers;
    m->F = c->dim * c->ff_mult;
    m->V = m->lo.vocab;
    m->K = m->lo.classes;
    m->act = c->act;
    m->n_train = layout_seq_len(&m->lo, c->len_max);
    if (m->norm == NORM_LOGSCALED && m->n_train < 2) {
        snprintf(err, errlen, "--norm logscaled needs a training sequence of at least 2 tokens");
        return -1;
    }
    m->post_ln = c->ln == LN_POST;
    m->rms = c->ln_kind == LN_RMS;
    double s = c->init_scale;
    /* residual projections scaled by 1/sqrt(2L) (GPT-2), so depth does not blow up the stream */
    double s_res = s / sqrt(2.0 * m->L);
    param_store *ps = &m->ps;
    params_init(ps);
    m->tok_emb = params_declare(ps, "tok_emb", 2, (int[]){m->V, m->C}, INIT_NORMAL, s, 0);
    enc_dims d = model_enc_dims(m, model_rows(&m->lo, max_n));
    m->enc_state = m->enc->create(ps, &d, err, errlen);
    if (!m->enc_state) return -1;
    m->blocks = xcalloc((size_t)m->L, sizeof *m->blocks);
    for (int l = 0; l < m->L; l++) {
        block_params *b = &m->blocks[l];
        char name[64];
#define DECL(field, nm, shape, init, sc, decay) \
    (snprintf(name, sizeof name, "block%d.%s", l, nm), b->field = params_declare(ps, name, (int)(sizeof shape / sizeof(int)), shape, init, sc, decay))
        DECL(ln1_g, "ln1.g", ((int[]){m->C}), INIT_ONE, 0, 0);
        if (!m->rms) DECL(ln1_b, "ln1.b", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(wq, "attn.wq", ((int[]){m->C, m->C}), INIT_NORMAL, s, 1);
        DECL(bq, "attn.bq", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(wk, "attn.wk", ((int[]){m->C, m->C}), INIT_NORMAL, s, 1);
        DECL(bk, "attn.bk", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(wv, "attn.wv", ((int[]){m->C, m->C}), INIT_NORMAL, s, 1);
        DECL(bv, "attn.bv", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(wo, "attn.wo", ((int[]){m->C, m->C}), INIT_NORMAL, s_res, 1);
        DECL(bo, "attn.bo", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(ln2_g, "ln2.g", ((int[]){m->C}), INIT_ONE, 0, 0);
        if (!m->rms) DECL(ln2_b, "ln2.b", ((int[]){m->C}), INIT_ZERO, 0, 0);
        DECL(w1, "mlp.w1", ((int[]){m->C, m->F}), INIT_NORMAL, s, 1);
        DECL(b1, "mlp.b1", ((int[]){m->F}), INIT_ZERO, 0, 0);
        DECL(w2, "mlp.w2", ((int[]){m->F, m->C}), INIT_NORMAL, s_res, 1);
        DECL(b2, "mlp.b2", ((int[]){m->C}), INIT_ZERO, 0, 0);
#undef DECL
    }
    if (!m->post_ln) {
        m->lnf_g = params_declare(ps, "lnf.g", 1, (int[]){m->C}, INIT_ONE, 0, 0);
        if (!m->rms) m->lnf_b = params_declare(ps, "lnf.b", 1, (int[]){m->C}, INIT_ZERO, 0, 0);
    }
    m->head_w = params_declare(ps, "head.w", 2, (int[]){m->C, m->K}, INIT_NORMAL, s, 1);
    m->head_b = params_declare(ps, "head.b", 1, (int[]){m->K}, INIT_ZERO, 0, 0);
    if (model_check_memory(m, max_n, err, errlen)) return -1;
    params_allocate(ps);
    m->dropout_rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(m->dropout_rng, config_stream_seed(c, c->seed_dropout, STREAM_DROPOUT));
    return 0;
}

void model_init_params(model *m, gsl_rng *init_rng) {
    params_initialize(&m->ps, init_rng);
    if (m->enc->init) m->enc->init(m->enc_state, init_rng);
}

int model_check_positions(const model *m, int T, const int *pos, char *err, size_t errlen) {
    if (!(m->enc->flags & ENC_TABLE)) return 0;
    for (int t = 0; t < T; t++)
        if (pos[t] >= m->cfg.max_pos) {
            snprintf(err, errlen,
                     "encoding '%s' has a table of --max-pos %d positions, but position %d is needed "
                     "(raise --max-pos or use --positions randomized)",
                     m->enc->name, m->cfg.max_pos, pos[t]);
            return -1;
        }
    return 0;
}

static tensor *norm_apply(model *m, graph *g, tensor *x, tensor *gamma, tensor *beta) {
    return m->rms ? op_rmsnorm(g, x, gamma, (real)1e-5) : op_layernorm(g, x, gamma, beta, (real)1e-5);
}

static tensor *activation(model *m, graph *g, tensor *x) {
    return m->act == ACT_RELU ? op_relu(g, x) : m->act == ACT_SWISH ? op_swish(g, x) : op_gelu(g, x);
}

static double rng_uniform(void *r) { return gsl_rng_uniform(r); }

static tensor *dropout(model *m, graph *g, tensor *x, int train) {
    return train && m->cfg.dropout > 0 ? op_dropout(g, x, (real)m->cfg.dropout, rng_uniform, m->dropout_rng) : x;
}

int model_attention_merged(const model *m) {
    const encoding_def *e = m->enc;
    return !e->rotate && !e->scores && !e->values && !m->logits && !attn_norm_is_linear(m->norm);
}

int model_norm_accepts(const encoding_def *e, attn_norm norm) {
    return !attn_norm_is_linear(norm) || (!e->scores && !e->values);
}

/* Linear attention (8265) on split heads: q, k (B*H, Tq, D) and (B*H, S, D)
 * as the numerator uses them, qd, kd as the denominator does (NULL: q, k);
 * returns (B*H, Tq, Dv). The weights are materialised only when m->attn asks
 * for them, and read at a logged step when m->lin_stats does. */
static tensor *linear_attention(model *m, graph *g, int l, tensor *q, tensor *k, tensor *v, tensor *qd, tensor *kd,
                                tensor *q_plain, tensor *k_plain, const attn_opts *o) {
    real c = m->norm == NORM_COS1 ? 1 : 0;
    tensor *out = op_linear_attention(g, q, k, v, qd, kd, c, o);
    if (o->kv_rows) return out;                                            /* cached decoding reads nothing more */
    if (m->attn) m->attn[l] = op_linear_attn_probs(g, q, k, qd, kd, c, o);
    if (m->logits) m->logits[l] = op_bmm(g, q, k, 0, 1);                   /* the features' inner products */
    if (m->lin_stats) lin_stats_add(&m->lin_stats[l], m->norm, o->mask, q, k, q_plain, k_plain);
    return out;
}

/* h (B, Tq, C) of the query rows -> attention output (B, Tq, C). An encoding
 * that does not touch q, k, v or the scores lets attention read the heads
 * where the projections wrote them (attn_opts.merged), with no split into
 * (B*H, T, D) and back. With a cache, the rows' keys and values join those of
 * the earlier rows there, and attention reads all S of them in place. */
static tensor *attention_block(model *m, graph *g, int l, tensor *h, const positions *pos, kv_cache *kc) {
    block_params *p = &m->blocks[l];
    const encoding_def *e = m->enc;
    attn_opts o = {(real)(1 / sqrt((double)m->D)), m->mask, m->norm, m->n_train, m->H, 0, 0};
    o.merged = model_attention_merged(m);
    tensor *q = op_linear(g, h, p->wq, p->bq), *k = op_linear(g, h, p->wk, p->bk),
           *v = op_linear(g, h, p->wv, p->bv);                            /* (B, Tq, H*D) */
    int linear = attn_norm_is_linear(m->norm);
    tensor *q_plain = NULL, *k_plain = NULL;   /* linear attention: the features before the rotation */
    if (!o.merged) {
        q = op_split_heads(g, q, m->H);                                    /* (B*H, Tq, D) */
        k = op_split_heads(g, k, m->H);
        v = op_split_heads(g, v, m->H);
        if (linear && m->norm != NORM_COS1) {                              /* phi = elu + 1, then RoPE (8265) */
            q = op_elu1(g, q);
            k = op_elu1(g, k);
        }
        q_plain = q;
        k_plain = k;
        if (e->rotate) e->rotate(m->enc_state, g, l, &q, &k, &v, pos);
        if (m->norm == NORM_COS1) {                                        /* cos(q, k) of the rotated q, k */
            q = op_unit_rows(g, q);
            k = op_unit_rows(g, k);
        }
    }
    tensor *k_hook = k;
    if (kc) {
        kv_cache_store(kc, l, k, v);
        k = kv_cache_keys(kc, g, l, 0);                                    /* (B*H, S, D) or merged (B, S, H*D) */
        v = kv_cache_values(kc, g, l, e->values != NULL);
        k_hook = e->flags & ENC_READS_KEYS ? kv_cache_keys(kc, g, l, 1) : NULL;
        o.kv_rows = kc->max_T;
    }
    if (linear) {   /* model_build let no scores or values hook through; the cache refuses linear-num */
        int plain_den = m->norm == NORM_LINEAR_NUM;                        /* RoPE in the numerator only */
        tensor *out = linear_attention(m, g, l, q, k, v, plain_den ? q_plain : NULL, plain_den ? k_plain : NULL,
                                       q_plain, k_plain, &o);
        return op_linear(g, op_merge_heads(g, out, m->H), p->wo, p->bo);   /* (B, Tq, C) */
    }
    tensor *bias = e->scores ? e->scores(m->enc_state, g, l, q, k_hook, pos) : NULL;   /* (H|B*H, Tq, S) */
    tensor *A = op_attn_probs(g, q, k, bias, &o);                          /* (B*H, Tq, S) */
    if (m->attn) m->attn[l] = A;
    if (m->logits) { /* recomputed only when asked for (inspect) */
        tensor *sc = op_scale(g, op_bmm(g, q, k, 0, 1), o.scale);
        m->logits[l] = bias ? op_add(g, sc, bias) : sc;
    }
    tensor *out = e->values ? e->values(m->enc_state, g, l, A, v, pos) : op_attn_values(g, A, v, &o);
    if (!o.merged) out = op_merge_heads(g, out, m->H);                    /* (B, Tq, H*D) */
    return op_linear(g, out, p->wo, p->bo);                                /* (B, Tq, C) */
}

static tensor *mlp_block(model *m, graph *g, int l, tensor *h) {
    block_params *p = &m->blocks[l];
    return op_linear(g, activation(m, g, op_linear(g, h, p->w1, p->b1)), p->w2, p->b2);
}

tensor *model_forward_frozen(model *m, arena *ar, const batch *b) {
    arena_init(ar, 0);
    graph g;
    graph_init(&g, ar, 0);
    return model_forward(m, &g, b, 0);
}

tensor *model_forward(model *m, graph *g, const batch *b, int train) {
    int T = b->T;
    int two_d = (m->lo.task->flags & TASK_2D) != 0;
    positions pos = {.T = T, .B = b->B, .q0 = 0, .Tq = T, .tokens = b->tokens, .p = b->pos,
                     .x = two_d ? b->pos_x : NULL, .y = two_d ? b->pos_y : NULL};
    return model_forward_rows(m, g, &pos, train, NULL);
}

tensor *model_forward_rows(model *m, graph *g, const positions *pos, int train, kv_cache *kc) {
    int B = pos->B, T = pos->Tq;
    tensor *x = op_reshape(g, op_embedding(g, m->tok_emb, pos->tokens, B * T), 3, (int[]){B, T, m->C}); /* (B, T, C) */
    if (m->enc->embed) x = m->enc->embed(m->enc_state, g, x, pos);
    if (m->hidden) m->hidden[0] = x;
    for (int l = 0; l < m->L; l++) {
        block_params *p = &m->blocks[l];
        if (m->post_ln) {
            x = norm_apply(m, g, op_add(g, x, dropout(m, g, attention_block(m, g, l, x, pos, kc), train)), p->ln1_g, p->ln1_b);
            x = norm_apply(m, g, op_add(g, x, dropout(m, g, mlp_block(m, g, l, x), train)), p->ln2_g, p->ln2_b);
        } else {
            x = op_add(g, x, dropout(m, g, attention_block(m, g, l, norm_apply(m, g, x, p->ln1_g, p->ln1_b), pos, kc), train));
            x = op_add(g, x, dropout(m, g, mlp_block(m, g, l, norm_apply(m, g, x, p->ln2_g, p->ln2_b)), train));
        }
        if (m->hidden) m->hidden[l + 1] = x;
    }
    if (!m->post_ln) x = norm_apply(m, g, x, m->lnf_g, m->lnf_b);
    tensor *y = op_linear(g, x, m->head_w, m->head_b);                    /* (B, T, K) */
    return op_reshape(g, y, 2, (int[]){B * T, m->K});                     /* (B*T, K) */
}

tensor *model_loss(model *m, graph *g, const batch *b, tensor *out) {
    if (m->lo.regression)
        return op_mse(g, op_reshape(g, out, 1, (int[]){(int)out->n}), b->values, b->weights);
    return op_cross_entropy(g, out, b->targets);
}

void model_free(model *m) {
    if (m->enc && m->enc->destroy && m->enc_state) m->enc->destroy(m->enc_state);
    params_free(&m->ps);
    free(m->blocks);
    if (m->dropout_rng) gsl_rng_free(m->dropout_rng);
    memset(m, 0, sizeof *m);
}
