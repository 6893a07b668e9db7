/* CSV through libcsv: an atomic writer (temp file, fsync, rename; devices,
 * FIFOs and symlinks handled as described in csvio.c) and a reader into
 * memory. */
#ifndef POSPROBE_CSVIO_H
#define POSPROBE_CSVIO_H

#include <stddef.h>
#include <stdio.h>

typedef struct csv_out {
    FILE *f;
    char path[1100], tmp[1120];   /* the file written (a symlink's target), its temporary name */
    int fields_in_row;
    const char *const *header;   /* the column names, once csv_out_header wrote them */
    int n_cols;
    int failed;           /* a write failed: commit reports it */
    int saved_errno;
    int to_stdout;        /* writes go to stdout: nothing to rename or remove */
    int through;          /* path is a device or FIFO: written in place, never renamed over or removed */
} csv_out;

/* Opens PATH.XXXXXX.tmp (a new name) for writing, or PATH itself when it is a
 * device or FIFO; a symlink is followed to its target; -1 with a message
 * naming the path on error (a directory, a dangling symlink, ...). */
int csv_out_open(csv_out *w, const char *path, char *err, size_t errlen);
void csv_out_str(csv_out *w, const char *s);
void csv_out_int(csv_out *w, long v);
/* %.9g in the float build's values, %.17g for doubles: both round-trip. */
void csv_out_real(csv_out *w, double v);
void csv_out_float(csv_out *w, float v);
/* The shortest text that reads back as the same double (0.003, not
 * 0.0030000000000000001), for values a person set: learning rates, options. */
void real_format_shortest(double v, char *buf, size_t len);
void csv_out_real_shortest(csv_out *w, double v);
void csv_out_end_row(csv_out *w);
/* Writes a header from a NULL-terminated list, which must outlive the writer.
 * Every row must then have one cell per column: a row of another width ends
 * the program with an internal error naming the file (a cell written out of
 * its place would otherwise shift every column after it). */
void csv_out_header(csv_out *w, const char *const *names);
/* Empty cells up to the column called name, the next one written. */
void csv_out_skip_to(csv_out *w, const char *name);
/* Flushes, fsyncs and renames the temporary file to PATH (flushes only, when
 * written through). */
int csv_out_commit(csv_out *w, char *err, size_t errlen);
/* Flushes what has been written so far (for long runs). */
void csv_out_flush(csv_out *w);
/* Closes and removes the temporary file. */
void csv_out_abort(csv_out *w);
/* csv_out_open, or a writer on stdout when path is NULL or "-". */
int csv_out_open_or_stdout(csv_out *w, const char *path, char *err, size_t errlen);
/* Ends a writer from csv_out_open_or_stdout: when rc != 0 the file is
 * removed and rc returned; else the file is committed (or stdout flushed)
 * and any write error reported. */
int csv_out_finish(csv_out *w, int rc, char *err, size_t errlen);

typedef struct csv_table {
    int n_rows, n_cols;   /* n_rows excludes the header */
    char **header;        /* (n_cols) */
    char ***rows;         /* (n_rows, n_cols) */
} csv_table;

/* Reads a CSV file with a header row; every row must have the header's
 * width. -1 with "PATH:LINE: ..." on error. */
int csv_read(const char *path, csv_table *t, char *err, size_t errlen);
int csv_col(const csv_table *t, const char *name);   /* -1 if absent */
const char *csv_get(const csv_table *t, int row, const char *name);   /* NULL if absent */
void csv_table_free(csv_table *t);

/* Writes bytes to PATH atomically (temp + fsync + rename), by the same rules
 * as csv_out_open for devices, FIFOs and symlinks. */
int file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* mkdir -p; -1 with a message on error (errno ENOTDIR when a component
 * exists and is not a directory). */
int make_dirs(const char *path, char *err, size_t errlen);

#endif
