/* Frequency schedules (8231): which frequency each pair of a sinusoidal or
 * rotary ladder gets. Geometric is the standard base^-t; the others are the
 * alternatives article 8231 discusses (theta_t = t, power laws) and one
 * common theta for every pair (its comment reply, claim S6). */
#include <math.h>
#include <string.h>

#include "encoding.h"

static const char *const NAMES[ROPE_SCHEDULE_COUNT] = {"geometric", "linear", "power2", "power4", "constant"};

double rope_schedule_theta(rope_schedule s, double t, double base) {
    switch (s) {
    case ROPE_SCHEDULE_LINEAR: return t;
    case ROPE_SCHEDULE_POWER2: return t * t;
    case ROPE_SCHEDULE_POWER4: return t * t * t * t;
    case ROPE_SCHEDULE_CONSTANT: return pow(base, -0.5);   /* the geometric ladder's middle frequency */
    default: return pow(base, -t);
    }
}

const char *rope_schedule_name(rope_schedule s) { return s >= 0 && s < ROPE_SCHEDULE_COUNT ? NAMES[s] : "?"; }

int rope_schedule_parse(const char *name) {
    for (int i = 0; i < ROPE_SCHEDULE_COUNT; i++)
        if (strcmp(NAMES[i], name) == 0) return i;
    return -1;
}
