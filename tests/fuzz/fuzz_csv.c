/* libFuzzer target: the CSV reader used by summarize (libcsv), and summarize
 * itself on a run directory whose files are the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvio.h"
#include "summarize.h"

static void write_file(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(d, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char dir[] = "/tmp/posprobe-fuzz-csv-XXXXXX";
    if (!mkdtemp(dir)) return 0;
    char run[128], p[256], err[1024];
    snprintf(run, sizeof run, "%s/run", dir);
    mkdir(run, 0755);
    /* the same bytes as config.csv, summary.csv and eval.csv */
    const char *names[3] = {"config.csv", "summary.csv", "eval.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", run, names[i]);
        write_file(p, data, size);
    }
    csv_table t;
    snprintf(p, sizeof p, "%s/eval.csv", run);
    if (csv_read(p, &t, err, sizeof err) == 0) {
        for (int r = 0; r < t.n_rows; r++) csv_get(&t, r, "step");
        csv_table_free(&t);
    }
    summarize_run(dir, 1, (int)(size & 1), err, sizeof err);
    const char *outs[3] = {"summary.csv", "horizons.csv", "runs.csv"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, outs[i]);
        unlink(p);
        snprintf(p, sizeof p, "%s/%s", run, names[i]);
        unlink(p);
    }
    rmdir(run);
    rmdir(dir);
    return 0;
}
