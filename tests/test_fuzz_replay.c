/* Replays the fuzz corpora and every saved regression input through the fuzz
 * targets (linked in with renamed entry points), so inputs that once crashed
 * stay fixed; under `make asan` this runs with the sanitizers. */
#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fuzz_config_one(const uint8_t *data, size_t size);
int fuzz_list_one(const uint8_t *data, size_t size);
int fuzz_csv_one(const uint8_t *data, size_t size);
int fuzz_checkpoint_one(const uint8_t *data, size_t size);

static int replay_dir(const char *dir, int (*one)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        uint8_t *buf = malloc(1 << 20);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        one(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void test_fuzz_replay(void **state) {
    (void)state;
    static const struct { const char *name; int (*one)(const uint8_t *, size_t); } T[] = {
        {"config", fuzz_config_one}, {"list", fuzz_list_one}, {"csv", fuzz_csv_one}, {"checkpoint", fuzz_checkpoint_one}};
    int total = 0;
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        char dir[128];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", T[i].name);
        int n = replay_dir(dir, T[i].one);
        assert_true(n > 0);   /* every target has a seed corpus */
        snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", T[i].name);
        total += n + replay_dir(dir, T[i].one);
    }
    /* a few hand-made nasty inputs, each must be handled without a crash */
    static const char *const nasty[] = {"", "=", "key", "steps = 1e400", "\xff\xfe", "eval-lens = 1-99999999999999999999",
                                        "task = probe\ntask = probe", "1-", "-5", ",,,", "1-10:0", "\"a,b\"\n\"", "POSPRBCK"};
    for (size_t i = 0; i < sizeof nasty / sizeof *nasty; i++) {
        const uint8_t *p = (const uint8_t *)nasty[i];
        size_t n = strlen(nasty[i]);
        fuzz_config_one(p, n);
        fuzz_list_one(p, n);
        fuzz_csv_one(p, n);
        fuzz_checkpoint_one(p, n);
    }
    assert_true(total >= 6);
}

static const struct CMUnitTest TESTS[] = {
    cmocka_unit_test(test_fuzz_replay),
};
const test_group test_group_fuzz = {"fuzz", TESTS, sizeof TESTS / sizeof *TESTS};
