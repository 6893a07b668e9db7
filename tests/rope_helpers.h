/* Test helpers for the rotary encodings: a RoPE state without a model, and its
 * rotation as a matrix. */
#ifndef POSPROBE_TEST_ROPE_HELPERS_H
#define POSPROBE_TEST_ROPE_HELPERS_H

#include "rotary.h"

/* A RoPE state of head size D with the standard ladder (two_d: rope2d's
 * split, the first half of the pairs by x, the second by y), and its matrix
 * R (D, D) at coordinates (x, y): R[:, c] = rotary(e_c). */
rope_state *new_rope(int D, int two_d);
void rotation_matrix(rope_state *s, int D, int x, int y, double *R);

#endif
