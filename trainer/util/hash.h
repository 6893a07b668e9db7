/* FNV-1a, 64 bits: the checkpoint checksum and the id of a run's setting in
 * summarize. Not cryptographic: it tells apart, it does not authenticate. */
#ifndef POSPROBE_HASH_H
#define POSPROBE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t fnv1a64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

#endif
