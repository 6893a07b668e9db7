"""Reading the CSV files posprobe writes, for the plotting and report scripts,
and writing a file the way posprobe does (write_text)."""
import argparse
import csv
import gzip
import io
import math
import os
import stat
import subprocess
import sys
import tempfile


def read(path):
    """The rows of a CSV file as dicts keyed by its header; [] if it is missing."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_summary(path):
    """read(), falling back to path.gz (the committed reference gzips the extrapolation summary)."""
    if os.path.exists(path) or not os.path.exists(path + ".gz"):
        return read(path)
    with gzip.open(path + ".gz", "rt", newline="") as f:
        return list(csv.DictReader(io.StringIO(f.read())))


# The suites whose runs form the length-generalization tables: extrapolation.suite,
# normalizers.suite (claim R11's grids, the same forms under other normalizers) and
# catalogue.suite, whose decoder grid repeats extrapolation's settings for more
# encodings (test_catalogue_suite_matches checks that they do).
LENGTH_SUITES = ("extrapolation", "normalizers", "catalogue")
_warned = set()


def read_length_suites(res, name):
    """The rows of file `name` (runs.csv, horizons.csv, summary.csv) of every length suite under res, pooled.
    Results made before normalizers.suite held R11's runs inside extrapolation/: where normalizers/ has runs,
    extrapolation/'s rows of another normalizer than softmax are those older runs, left out (said once on
    stderr) so that no setting is counted twice; without normalizers/ they are R11's runs and stay."""
    has_norm = bool(read(os.path.join(res, "normalizers", "runs.csv")))
    rows = []
    for s in LENGTH_SUITES:
        part = read_summary(os.path.join(res, s, name))
        if s == "extrapolation" and has_norm:
            old = [r for r in part if r.get("norm", "softmax") != "softmax"]
            if old and res not in _warned:
                _warned.add(res)
                print(f"posprobe: warning: {os.path.join(res, s)}: its normalizer runs from before "
                      "normalizers.suite are left out (normalizers/ holds R11's runs now; remove "
                      f"{os.path.join(res, s, 'runs')}/*-{{l2,nodenom,relu2n,logscaled}}-* and summarize again)",
                      file=sys.stderr)
            part = [r for r in part if r.get("norm", "softmax") == "softmax"]
        rows += part
    return rows


def enc_label(r):
    """A summary row's encoding as the tables and figures name it: the encoding, +rand for randomized positions,
    and how the setting differs from its siblings (its variant; a quarter of RoPE rotated as "1/4 rotated")."""
    v = " ".join(x for x in r.get("variant", "").split() if x != "rope-fraction=1")
    v = v.replace("rope-fraction=0.25", "1/4 rotated")
    return r["encoding"] + ("+rand" if r.get("positions") == "randomized" else "") + (f" ({v})" if v else "")


class CatalogueError(Exception):
    """posprobe could not be asked for its catalogue (the message says why)."""


SCRIPTS = os.path.dirname(os.path.abspath(__file__))


def in_repository():
    """Are the scripts those of a posprobe source tree (its Makefile beside scripts/), not installed ones?"""
    return os.path.isfile(os.path.join(SCRIPTS, "..", "Makefile"))


def default_posprobe():
    """The posprobe binary the scripts ask: $POSPROBE_BIN, else in a source tree its ./posprobe (make all
    links it), else the installed one beside the scripts (make install: PREFIX/share/posprobe/scripts ->
    PREFIX/bin/posprobe)."""
    if os.environ.get("POSPROBE_BIN"):
        return os.environ["POSPROBE_BIN"]
    if in_repository():
        return os.path.join(SCRIPTS, "..", "posprobe")
    return os.path.normpath(os.path.join(SCRIPTS, "..", "..", "..", "bin", "posprobe"))


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are posprobe's one line (posprobe: error: PROG: ...), exit status 2."""

    def error(self, message):
        sys.exit(error(f"{self.prog}: {message} (see {self.prog} --help)"))


# The columns the scripts read from each catalogue: a posprobe without them
# (another program, or a version before them) is refused, never guessed from.
CATALOGUE_COLUMNS = {
    "encodings": ["name", "where", "relative", "directional", "symmetric", "value_side", "reads_prior_rows"],
    "tasks": ["name", "control_encoder", "control_decoder"],
    "norms": ["name", "linear"],
}


def catalogue(posprobe, what):
    """posprobe's own list of encodings, tasks or norms (`posprobe list WHAT --csv`) as dicts, in its order:
    the one source of the encoding classes, the controls and the normalizers (the scripts keep no lists)."""
    try:
        p = subprocess.run([posprobe, "list", what, "--csv"], capture_output=True, text=True, check=False)
    except OSError as e:
        raise CatalogueError(f"{posprobe}: cannot run ({e.strerror}); build it (make all) or name it with --posprobe")
    if p.returncode != 0:
        raise CatalogueError(f"{posprobe} list {what} --csv: exit {p.returncode}: {p.stderr.strip() or 'no message'}")
    reader = csv.DictReader(io.StringIO(p.stdout))
    rows = list(reader)
    missing = [c for c in CATALOGUE_COLUMNS[what] if c not in (reader.fieldnames or [])]
    if missing or not rows or any(not r.get("name") for r in rows):
        raise CatalogueError(f"{posprobe} list {what} --csv: not posprobe's catalogue "
                             f"({'no column ' + ', '.join(missing) if missing else 'no rows'}); "
                             "build it (make all) or name the right binary with --posprobe")
    return rows


# The evaluation mode each form is judged by (eval.csv's eval_mode): the
# encoder form (answer slots, bidirectional mask) by its parallel scoring, the
# decoder form (causal mask) by greedy decoding until [EOS].
FORM_MODE = {"bidir": "parallel", "causal": "greedy"}


def error(msg, status=2):
    """posprobe's one error line on stderr; returns status, for `return error(...)` (2: bad input)."""
    print(f"posprobe: error: {msg}", file=sys.stderr)
    return status


def usage(doc, args):
    """For scripts that read sys.argv themselves: -h/--help prints doc (their docstring) and returns 0, anything
    else returns None; usage_error gives its one error line."""
    if "-h" in args or "--help" in args:
        print(doc)
        return 0
    return None


def usage_error(doc):
    """A usage error of a script: its docstring's usage line as posprobe's one error line, status 2."""
    line = next((ln for ln in doc.splitlines() if ln.startswith("usage:")), "usage: see the script")
    return error(f"{line} (--help for more)")


def write_output(path, text):
    """write_text, or posprobe's one error line when it cannot: 0 when written, 1 when not."""
    try:
        write_text(path, text)
    except OSError as e:
        return error(f"{path}: cannot write: {e.strerror or e}", 1)
    return 0


class GatherError(Exception):
    """A gathering script cannot read the suite results it was given (the message says why)."""


def suite_runs(results, example):
    """The runs.csv rows of a directory scripts/suite.py wrote (example: such a directory, for the message);
    GatherError when results is not one."""
    runs_csv = os.path.join(results, "runs.csv")
    if not os.path.isdir(results):
        raise GatherError(f"{results}: not a directory")
    if not os.path.isfile(runs_csv):   # not a suite's results: nothing to read, nothing to write
        raise GatherError(f"{runs_csv}: no such file (SUITE_RESULTS is a directory scripts/suite.py wrote, "
                          f"e.g. {example})")
    return read(runs_csv)


def steps_done(run_dir):
    """The steps a run took (its summary.csv's steps_done); empty when it wrote no summary."""
    summary = read(os.path.join(run_dir, "summary.csv"))
    return summary[0]["steps_done"] if summary else ""


def write_gathered(path, text, tool, what):
    """A gathering script's output: written whole (write_output), then one line on stderr saying what it holds;
    0 when written, 1 when not."""
    if write_output(path, text):
        return 1
    print(f"posprobe {tool}: {what}; {path}", file=sys.stderr)
    return 0


def fnum(x):
    """A cell as a float; NaN when it is empty or not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def write_text(path, text):
    """Writes text to path as posprobe writes its outputs (trainer/util/csvio.c): a
    new or regular file goes to a fresh temporary name beside it (NAME.*.tmp,
    never one that exists), is fsynced and renamed over it; a symlink is
    resolved and these rules apply to its target, so the link stays a link; a
    device or FIFO is written through, never replaced (as root, a rename over
    /dev/null replaces the device node). A directory or a symlink to nothing
    raises OSError, and nothing is written."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if os.path.islink(path):
            raise OSError(f"{path}: a symlink to nothing; not written") from None
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{target}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)   # no O_CREAT, no O_TRUNC
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".tmp",
                               dir=os.path.dirname(target) or ".")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)   # mkstemp makes 0600; keep the mode open() would give
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
