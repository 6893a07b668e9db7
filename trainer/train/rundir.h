/* Run directories: one run per directory, one writer per run.
 *
 * `train --out DIR` writes into DIR only when DIR does not exist (posprobe
 * creates it), is empty, or holds an unfinished posprobe run of the same
 * experiment configuration (its config.csv, output-only options aside), which
 * is then started again from scratch. A finished (or diverged) run of the same
 * configuration, or a run of another one, is refused unless --force, which
 * replaces it. Never: a path that is not a directory, `/`, the current
 * directory, or a directory holding anything but posprobe run files (those
 * are refused even with --force). The run's lock, DIR.lock beside DIR (the
 * file the suite runner locks too), is taken with flock before DIR is created
 * or anything in it is written, and held until training ends: a second
 * training into DIR fails at once. */
#ifndef POSPROBE_RUNDIR_H
#define POSPROBE_RUNDIR_H

#include <stddef.h>

#include "config.h"
#include "errors.h"

/* Read-only: may a run of c be written into c->out? ERR_NONE, or ERR_USAGE
 * for a refusal and ERR_IO when the directory cannot be read, with a
 * message. Nothing is created. */
err_kind rundir_check(const run_config *c, char *err, size_t errlen);

/* Claims c->out for a run of c: checks as rundir_check, creates the parent
 * directories, takes the lock, creates DIR (or, under the lock, checks the
 * existing one again and removes its run files). Sets *lock_fd, which the
 * caller keeps until the run's files are written; else a kind and a message. */
err_kind rundir_claim(const run_config *c, int *lock_fd, char *err, size_t errlen);

/* Does dir hold a temporary file of a run file (NAME.XXXXXX.tmp, or NAME.tmp
 * of older versions)? A run killed before its config.csv was in place has
 * only these; summarize lists it as unfinished. */
int rundir_has_temp_files(const char *dir);

/* Releases the lock of rundir_claim. */
void rundir_release(int lock_fd);

#endif
