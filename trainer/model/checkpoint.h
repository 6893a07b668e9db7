/* Checkpoint file format (checkpoint.bin), all integers little-endian as
 * stored by the host (x86-64 and arm64 are little-endian):
 *
 *   8 bytes  magic "POSPRBCK"
 *   u32      format version (1)
 *   u32      bytes per stored parameter (4: float, 8: double)
 *   u32      max_n: the longest task length the model was built for
 *   u32      steps done
 *   u32      config length, then that many bytes: "key=value\n" for every option
 *   u32      number of parameter tensors, then for each:
 *              u16 name length, name bytes, u8 ndim, ndim x u32 shape
 *   u64      number of parameter scalars, then the scalars in declaration order
 *   u64      FNV-1a 64-bit checksum of every byte before it
 *
 * Loading checks magic, version, checksum, and that the names and shapes match
 * the model rebuilt from the stored config; values are converted when the
 * stored precision differs from the build's. */
#ifndef POSPROBE_CHECKPOINT_H
#define POSPROBE_CHECKPOINT_H

#include <stddef.h>

#include "config.h"
#include "model.h"

int checkpoint_save(const model *m, int max_n, int steps_done, const char *path, char *err, size_t errlen);

typedef struct checkpoint_info {
    run_config cfg;
    int max_n, steps_done;
} checkpoint_info;

/* Reads the header and config of a checkpoint, then (if m != NULL) builds the
 * model and loads its parameters. */
int checkpoint_load(const char *path, checkpoint_info *info, model *m, char *err, size_t errlen);

#endif
