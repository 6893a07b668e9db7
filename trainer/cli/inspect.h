/* posprobe inspect: an encoding's own quantities as CSV, without training. */
#ifndef POSPROBE_INSPECT_H
#define POSPROBE_INSPECT_H

#include <stddef.h>

#include "config.h"
#include "errors.h"

/* what: bias | decay | rotation | positions. draws: batches of positions
 * sampled for `positions`. Output to out_path, or stdout when NULL. Returns
 * ERR_USAGE for a request that does not apply to the encoding, ERR_IO when
 * the output cannot be written. */
err_kind inspect_run(const run_config *c, const char *what, int draws, const char *out_path, char *err, size_t errlen);

/* A trained run's rotary frequencies from DIR/checkpoint.bin against their
 * initial values: pair,theta_initial,theta_final,relative_change
 * ((final - initial) / |initial|; nan where the initial value is 0). */
err_kind inspect_frequencies(const char *dir, const char *out_path, char *err, size_t errlen);

#endif
