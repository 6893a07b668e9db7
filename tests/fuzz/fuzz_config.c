/* libFuzzer target: the --config parser (key = value lines) and config_validate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/posprobe-fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); unlink(path); return 0; }
    close(fd);
    run_config c;
    config_defaults(&c);
    char err[1024];
    if (config_read_file(&c, path, err, sizeof err) == 0) config_validate(&c, err, sizeof err);
    unlink(path);
    return 0;
}
