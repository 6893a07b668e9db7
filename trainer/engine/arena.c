/* Bump allocator for activations; see engine.h for the growth policy. */
#include "engine.h"
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

struct arena_chunk {
    arena_chunk *next;
    size_t cap, used;
    unsigned char *data;
};

static arena_chunk *chunk_new(arena *a, size_t cap) {
    arena_chunk *c = xmalloc(sizeof *c);
    void *mem = NULL;
    if (posix_memalign(&mem, ARENA_ALIGN, cap ? cap : ARENA_ALIGN) != 0) out_of_memory((double)cap, "activations (an arena chunk)");
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    c->data = mem;
    a->capacity += cap;
    a->n_mallocs++;
    return c;
}

static void chunks_free(arena_chunk *c) {
    while (c) {
        arena_chunk *next = c->next;
        free(c->data);
        free(c);
        c = next;
    }
}

void arena_init(arena *a, size_t initial_bytes) {
    memset(a, 0, sizeof *a);
    a->head = chunk_new(a, initial_bytes < 4096 ? 4096 : initial_bytes);
}

void *arena_alloc(arena *a, size_t bytes) {
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (a->head->used + need > a->head->cap) {
        /* Chain a chunk at least as large as everything so far, so the number
         * of chunks grows logarithmically before the first reset merges them. */
        size_t cap = a->capacity > need ? a->capacity : need;
        arena_chunk *c = chunk_new(a, cap);
        c->next = a->head;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += need;
    a->used_total += need;
    if (a->used_total > a->high_water) a->high_water = a->used_total;
    return p;
}

void *arena_calloc(arena *a, size_t bytes) {
    void *p = arena_alloc(a, bytes);
    memset(p, 0, bytes);
    return p;
}

void arena_reset(arena *a) {
    if (a->head->next) {
        /* The step outgrew the arena: merge into one chunk of the high-water size. */
        chunks_free(a->head);
        a->capacity = 0;
        a->head = chunk_new(a, a->high_water);
    }
    a->head->used = 0;
    a->used_total = 0;
}

void arena_free(arena *a) {
    chunks_free(a->head);
    memset(a, 0, sizeof *a);
}
