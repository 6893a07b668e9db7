/* The articles' curves, computed from their formulas. */
#include "curves.h"

#include <math.h>

double curve_rope_decay_bound(int d, double r, double base) {
    double re = 0, im = 0, total = 0;
    for (int i = 0; i < d / 2; i++) {
        double th = pow(base, -2.0 * i / d);
        re += cos(r * th);
        im += sin(r * th);
        total += hypot(re, im);          /* |S_{i+1}| */
    }
    return total / (d / 2);
}

double curve_sinusoid_inner(int d, double r, double base) {
    double s = 0;
    for (int i = 0; i < d / 2; i++) s += cos(r * pow(base, -2.0 * i / d));
    return s;
}

double curve_sinusoid_integral(double x, double base) {
    const int n = 20000;
    double h = 1.0 / n, s = 0;
    for (int k = 0; k <= n; k++) {
        double w = (k == 0 || k == n) ? 1 : (k % 2 ? 4 : 2);
        s += w * cos(x * pow(base, -k * h));
    }
    return s * h / 3;
}
