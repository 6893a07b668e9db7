/* Test helper: a choice option set by name, as the command line would set it. */
#ifndef POSPROBE_TEST_CONFIG_HELPERS_H
#define POSPROBE_TEST_CONFIG_HELPERS_H

#include "check.h"
#include "config.h"

static inline void set_choice(run_config *c, const char *key, const char *value) {
    char err[256];
    if (config_set(c, key, value, err, sizeof err)) fail_msg("--%s %s: %s", key, value, err);
}

#endif
