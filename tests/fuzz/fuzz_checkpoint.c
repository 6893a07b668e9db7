/* libFuzzer target: the checkpoint loader (header, config, parameter table,
 * checksum). Inputs get a valid checksum appended half of the time, so the
 * fuzzer also reaches the parsing behind the checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/posprobe-fuzz-ckpt-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    int fix = size > 0 && (data[0] & 1);
    if (write(fd, data, size) != (ssize_t)size) { close(fd); unlink(path); return 0; }
    if (fix) {
        uint64_t h = fnv1a(data, size);
        if (write(fd, &h, 8) != 8) { close(fd); unlink(path); return 0; }
    }
    close(fd);
    checkpoint_info info;
    model m;
    char err[1024];
    if (checkpoint_load(path, &info, &m, err, sizeof err) == 0) model_free(&m);
    unlink(path);
    return 0;
}
