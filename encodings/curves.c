/* The articles' curves, computed from their formulas. */
#include "curves.h"

#include <math.h>

double curve_rope_decay_bound(int d, double r, double base, rope_schedule sched) {
    double re = 0, im = 0, total = 0;
    for (int i = 0; i < d / 2; i++) {
        double th = rope_schedule_theta(sched, 2.0 * i / d, base);
        re += cos(r * th);
        im += sin(r * th);
        total += hypot(re, im);          /* |S_{i+1}| */
    }
    return total / (d / 2);
}

double curve_sinusoid_inner(int d, double r, double base, rope_schedule sched) {
    double s = 0;
    for (int i = 0; i < d / 2; i++) s += cos(r * rope_schedule_theta(sched, 2.0 * i / d, base));
    return s;
}

double curve_sinusoid_integral(double x, double base, rope_schedule sched) {
    const int n = 20000;
    double h = 1.0 / n, s = 0;
    for (int k = 0; k <= n; k++) {
        double w = (k == 0 || k == n) ? 1 : (k % 2 ? 4 : 2);
        s += w * cos(x * rope_schedule_theta(sched, k * h, base));
    }
    return s * h / 3;
}
