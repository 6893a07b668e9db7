#!/usr/bin/python3
"""Runs a posprobe suite: expands a suite file into runs with stable ids, skips
runs that already finished, runs the rest in parallel (one single-threaded
process per core), shows overall progress, and summarizes.

usage: scripts/suite.py SUITE_FILE [--results DIR] [-j N] [--quick]
                        [--encodings "a b c" | "+a +b"] [--seeds N] [--posprobe PATH]
                        [--emit parallel|slurm] [--only RUN_ID] [--list]

A suite file has a [suite] section (name, seeds), [defaults] (posprobe train
options for every run), an optional [quick] section (options, and factor
values to keep, used with --quick), and [grid NAME] sections: every key of a
grid is an option; a value with several space-separated words is a factor,
and the grid's runs are the product of its factors (times the seeds).
--encodings "a b" replaces, --encodings "+a +b" adds to, the encoding factor
of every grid that compares encodings (one that lists two or more); a grid of
one encoding (about its own options) runs only if that encoding is named in a
replacement, and stays as it is with an addition. An optional [compare-quick]
section (factor values to keep, and seeds; no options) is the subset that
scripts/compare.py --quick runs with the suite's own configurations.
Unknown sections, empty grids, options the runner sets itself (out, run-id,
seed, quiet, force, ...), bad seeds and names other than letters, digits,
'.', '_' and '-' are errors; a suite has at most 100000 runs. Each distinct
option set is validated once (posprobe train --check-stdin) before any runs.

Run ids: the id factors' values, -sSEED, and 16 hex digits (64 bits) of
SHA-1 over the run's options and seed.

Resuming: a run whose DIR/summary.csv says finished or diverged is done and
never redone; anything else (interrupted, killed, never started) is run again
from scratch. Each run holds a lock (DIR.lock) while it runs, so two runners
on one results directory never run the same run twice.
"""
import argparse
import csv
import fcntl
import hashlib
import io
import math
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from csvrows import ArgumentParser, CatalogueError, catalogue, default_posprobe, in_repository, read, write_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ID_FACTORS = ["task", "encoding", "norm", "mask", "markers", "positions"]
# posprobe train's exit statuses (docs/cli.md; trainer/cli/main.c sets them, tests/report_script.sh
# checks these against it)
EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130
SUITE_KEYS = ["name", "seeds", "fitted-only"]
SECTIONS = "[suite], [defaults], [quick], [compare-quick] or [grid NAME]"
# what the runner sets itself for every run, or what would keep a run from training
RESERVED = {"out": "the runner sets --out", "run-id": "the runner sets --run-id",
            "seed": "seeds come from [suite] seeds", "seeds": "seeds belong in [suite] or [quick]",
            "quiet": "the runner sets --quiet", "force": "the runner never replaces a run",
            "check": "the runner validates every run itself", "check-stdin": "the runner validates every run itself",
            "config": "a suite holds the options itself", "help": "not an option"}
# names that become paths (the suite's results directory) or go into run ids: no '/', no '..', not hidden
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
OPTION = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
MAX_SEEDS = 999999
# a suite expands to at most this many runs, counted before expanding: past it,
# expanding and validating would take minutes and its runs years on one machine
MAX_RUNS = 100000
HASH_HEX = 16   # 64 bits of SHA-1 in every run id


class SuiteError(Exception):
    pass


def parse_suite(path):
    """Returns (sections: {name: [(key, value, line)]}) preserving order."""
    sections, headers, current = {}, {}, None
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf"):
            raise SuiteError(f"{path}:1: byte-order mark at start of file (save it as plain text without one)")
        if b"\0" in data:
            no = data.count(b"\n", 0, data.index(b"\0")) + 1
            raise SuiteError(f"{path}:{no}: NUL byte (not a text file)")
        lines = data.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SuiteError(f"{path}: cannot read: {e}")
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):   # comments take a whole line, as in --config files
            continue
        if "#" in line:
            raise SuiteError(f"{path}:{no}: '#' inside a line: a comment takes a whole line, '#' first")
        if any(ord(c) < 32 or ord(c) == 127 for c in line):
            raise SuiteError(f"{path}:{no}: a control character")
        if line.startswith("["):
            if not line.endswith("]"):
                raise SuiteError(f"{path}:{no}: malformed section header")
            current = " ".join(line[1:-1].split())
            words = current.split(" ")
            if current not in ("suite", "defaults", "quick", "compare-quick") and \
                    not (len(words) == 2 and words[0] == "grid"):
                raise SuiteError(f"{path}:{no}: unknown section [{current}] (sections: {SECTIONS})")
            if words[0] == "grid" and not NAME.match(words[1]):
                raise SuiteError(f"{path}:{no}: grid name '{words[1]}': letters, digits, '.', '_' and '-', "
                                 "not first, at most 64")
            if current in sections:
                raise SuiteError(f"{path}:{no}: section [{current}] appears twice")
            sections[current] = []
            headers[current] = no
            continue
        if current is None:
            raise SuiteError(f"{path}:{no}: 'key = value' before any [section]")
        if "=" not in line:
            raise SuiteError(f"{path}:{no}: expected 'key = value'")
        key, value = (x.strip() for x in line.split("=", 1))
        if not key or not value:
            raise SuiteError(f"{path}:{no}: empty key or value")
        if not OPTION.match(key):
            raise SuiteError(f"{path}:{no}: '{key}' is not an option name")
        if key in RESERVED and current != "suite" and not (current in ("quick", "compare-quick") and key == "seeds"):
            raise SuiteError(f"{path}:{no}: '{key}' cannot be set in a suite ({RESERVED[key]})")
        if any(k == key for k, _, _ in sections[current]):
            raise SuiteError(f"{path}:{no}: '{key}' is set twice in [{current}]")
        sections[current].append((key, value, no))
    for sec, items in sections.items():
        if sec.startswith("grid ") and not items:   # it would run the defaults alone
            raise SuiteError(f"{path}:{headers[sec]}: [{sec}] is empty")
    return sections


def summarize_flags(path):
    """posprobe summarize's flags from the [suite] section: 'fitted-only = 1'
    counts runs that did not fit their training lengths without averaging them."""
    meta = dict((k, v) for k, v, _ in parse_suite(path).get("suite", []))
    v = meta.get("fitted-only", "0")
    if v not in ("0", "1"):
        raise SuiteError(f"{path}: [suite] fitted-only must be 0 or 1, not '{v}'")
    return ["--fitted-only"] if v == "1" else []


INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)   # posprobe's grammar (docs/cli.md, "Numbers")


def seed_count(path, where, v):
    """A seeds value (where: "[suite] seeds", "--seeds", ...): an integer in
    posprobe's grammar from 1 to MAX_SEEDS, else a one-line error."""
    if not INTEGER.fullmatch(v):
        raise SuiteError(f"{path}: {where} must be a positive integer, not '{v}'")
    if not 1 <= int(v) <= MAX_SEEDS:
        raise SuiteError(f"{path}: {where} {v} is outside [1, {MAX_SEEDS}]")
    return int(v)


def run_id(opts, seed):
    """The id of the run of opts (without the seed) and seed, and the full SHA-1
    of its option set: the id factors' values (characters other than letters,
    digits, '.', '_', '-' as '_'; 'run' when there are none), the seed, and the
    first HASH_HEX hex digits of SHA-1 over every option and the seed."""
    items = sorted(list(opts.items()) + [("seed", str(seed))])
    full = hashlib.sha1(repr(items).encode()).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(opts.get(f, "default") for f in ID_FACTORS if f in opts))[:80]
    if not slug[:1].isalnum():
        slug = "run" + ("-" + slug if slug else "")
    return f"{slug}-s{seed}-{full[:HASH_HEX]}", full


def integer(v):
    """argparse type: an integer in posprobe's grammar (no blanks, no '_')."""
    if not INTEGER.fullmatch(v):
        raise argparse.ArgumentTypeError(f"'{v}' is not an integer")
    return int(v)


def encoding_change(words):
    """--encodings' words as (mode, names): "a b" replaces the encoding factor ("replace"), "+a +b" adds to it
    ("add"); SuiteError for a mix of the two, a bare '+' or no words."""
    if not words:
        raise SuiteError("--encodings is empty")
    plus = [w.startswith("+") for w in words]
    if any(plus) and not all(plus):
        raise SuiteError(f"--encodings '{' '.join(words)}': either every name with '+' (add to the suite's "
                         "encodings) or none (replace them)")
    names = [w[1:] if w.startswith("+") else w for w in words]
    if any(not n for n in names):
        raise SuiteError("--encodings: '+' without a name")
    return ("add" if all(plus) else "replace"), list(dict.fromkeys(names))


def compares_encodings(grid_items):
    """A grid compares encodings when its encoding factor lists two or more; a grid of one encoding is about
    that encoding's own options (conv's kernel, a quarter of RoPE rotated) and is left to it."""
    return any(k == "encoding" and len(v.split()) > 1 for k, v, _ in grid_items)


def change_encodings(factors, compares, change):
    """The grid's encoding values after --encodings (change: encoding_change's (mode, names)); [] drops the grid."""
    mode, names = change
    own = factors["encoding"]
    if compares:
        return names if mode == "replace" else own + [n for n in names if n not in own]
    return own if mode == "add" or set(own) <= set(names) else []


def comparing_grids(path):
    """The names of the suite's grids that compare encodings (compares_encodings)."""
    return [s[5:] for s, items in parse_suite(path).items() if s.startswith("grid ") and compares_encodings(items)]


def encoding_options(posprobe):
    """{encoding: the encoding options it uses} from posprobe's catalogue (list encodings --csv, its options column)."""
    try:
        rows = catalogue(posprobe, "encodings")
    except CatalogueError as e:
        raise SuiteError(str(e))
    if any("options" not in r for r in rows):
        raise SuiteError(f"{posprobe} list encodings --csv has no options column: a posprobe older than the runner")
    return {r["name"]: set(r["options"].split()) for r in rows}


def expand(path, quick=False, encodings=None, seeds=None, subset=False, grids=None, enc_options=None):
    """The suite's runs: a list of (run_id, {option: value}) in a stable order. quick: the [quick] variant;
    subset: the [compare-quick] subset (its factor values kept, its seeds, no option changed); encodings:
    --encodings' words (encoding_change); grids: only the grids of these names. With encodings and
    enc_options (encoding_options), a combination that sets an encoding option its encoding does not use is
    left out: a grid made for one encoding (conv-kernel = 3 17) runs only the given encodings that use its
    options, where posprobe would refuse the others."""
    enc_opts_all = set().union(*enc_options.values()) if enc_options else set()
    sec = parse_suite(path)
    for k, _, no in sec.get("suite", []):
        if k not in SUITE_KEYS:   # a typo (fitted_only) would silently change the summary
            raise SuiteError(f"{path}:{no}: unknown key '{k}' in [suite] (known: {', '.join(SUITE_KEYS)})")
    meta = dict((k, v) for k, v, _ in sec.get("suite", []))
    name = meta.get("name")
    if not name:
        raise SuiteError(f"{path}: [suite] needs a name")
    defaults = dict((k, v) for k, v, _ in sec.get("defaults", []))
    quick_opts = dict((k, v) for k, v, _ in sec.get("quick", [])) if quick else {}
    if subset and "compare-quick" not in sec:
        raise SuiteError(f"{path}: no [compare-quick] section (the subset a quick comparison runs)")
    keep = dict((k, v) for k, v, _ in sec.get("compare-quick", [])) if subset else {}
    n_seeds = seed_count(path, "[suite] seeds", meta.get("seeds", "1"))
    for sname, opts in (("quick", quick_opts), ("compare-quick", keep)):
        if "seeds" in opts:
            n_seeds = seed_count(path, f"[{sname}] seeds", opts["seeds"])
    if seeds is not None:
        n_seeds = seed_count(path, "--seeds", seeds)
    change = encoding_change(encodings) if encodings is not None else None
    if not NAME.match(name):   # it names the results directory: results/NAME
        raise SuiteError(f"{path}: [suite] name '{name}': letters, digits, '.', '_' and '-', not first, at most 64")
    grids = [(s[5:], items) for s, items in sec.items() if s.startswith("grid ") and (grids is None or s[5:] in grids)]
    if not grids:
        raise SuiteError(f"{path}: no [grid NAME] section")
    plans, filtered = [], set()
    for gname, items in grids:
        opts = dict(defaults)
        factors = {}
        for k, v, _ in items:
            words = v.split()
            if len(words) > 1 or k in ID_FACTORS:
                factors[k] = words
            else:
                opts[k] = v
        for k, v in quick_opts.items():
            if k == "seeds":
                continue
            if k in factors:
                factors[k] = [w for w in factors[k] if w in v.split()]
            elif k not in ID_FACTORS:
                opts[k] = v
        for k, v in keep.items():   # filters only: a like-for-like subset changes no option
            if k in factors:
                filtered.add(k)
                factors[k] = [w for w in factors[k] if w in v.split()]
        if change is not None and "encoding" in factors:
            factors["encoding"] = change_encodings(factors, compares_encodings(items), change)
        if any(not vals for vals in factors.values()):
            continue  # --quick, [compare-quick] or --encodings kept no value of some factor: the grid drops out
        plans.append((opts, factors))
    for k, _, no in sec.get("compare-quick", []) if subset else []:
        if k != "seeds" and k not in filtered:   # a typo would silently keep everything
            raise SuiteError(f"{path}:{no}: [compare-quick] '{k}' is not a factor of any grid")
    total = sum(math.prod(len(v) for v in f.values()) for _, f in plans) * n_seeds
    if total > MAX_RUNS:   # counted before anything is expanded
        raise SuiteError(f"{path}: {total} runs, more than the limit of {MAX_RUNS} runs a suite "
                         "(split it into suites, or use fewer factor values or seeds)")
    runs, seen = [], {}
    for opts, factors in plans:
        combos = [{}]
        for k, vals in factors.items():
            combos = [dict(c, **{k: v}) for c in combos for v in vals]
        for c in combos:
            o = dict(opts, **c)
            if encodings is not None and enc_options and "encoding" in factors and \
                    any(k in enc_opts_all and k not in enc_options.get(o["encoding"], set()) for k in o):
                continue
            for seed in range(1, n_seeds + 1):
                rid, full = run_id(o, seed)
                if rid in seen:   # the same options and seed in two grids: one run
                    if seen[rid] != full:
                        raise SuiteError(f"{path}: two runs of different options have the id {rid}")
                    continue
                seen[rid] = full
                runs.append((rid, dict(o, seed=str(seed))))
    if not runs:   # else "0 runs" would start and summarize would fail on an empty directory
        raise SuiteError(f"{path}: no runs" + (" with --quick" if quick else "") +
                         (" in [compare-quick]" if subset else "") +
                         (" with --encodings" if encodings is not None else "") + " (every grid dropped out)")
    return name, runs


def first_invalid(posprobe, runs):
    """Checks every distinct option set (seeds aside) as training would, in one
    `posprobe train --check-stdin` process (one line of tab-separated key=value
    options per set). Returns (number of sets checked, None) when all are valid,
    else (n, (run id or None, posprobe's message)) for the first one refused.
    Its progress lines pass through."""
    seen, lines, rids = set(), [], []
    for rid, o in runs:
        key = tuple(sorted((k, v) for k, v in o.items() if k != "seed"))
        if key in seen:
            continue
        seen.add(key)
        lines.append("\t".join(f"{k}={v}" for k, v in o.items() if k != "seed") + "\n")
        rids.append(rid)
    p = subprocess.Popen([posprobe, "train", "--check-stdin", str(len(lines)), "--progress-every", "2"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))

    def feed():
        try:
            for i in range(0, len(lines), 4096):
                p.stdin.write("".join(lines[i:i + 4096]))
            p.stdin.close()
        except BrokenPipeError:  # it stopped at an invalid configuration
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    error = None
    for line in p.stderr:
        if line.startswith("posprobe: error: "):
            error = line.strip().removeprefix("posprobe: error: ")
        else:   # progress every 2 s of a long validation (not the final count: one line when done)
            m = re.search(r": (\d+)/(\d+) configurations, ", line)
            if m and m.group(1) != m.group(2):
                print(line, end="", file=sys.stderr, flush=True)
    p.wait()
    writer.join()
    if p.returncode == 0:
        return len(lines), None
    m = re.match(r"stdin line (\d+): (.*)", error or "")
    if m and 1 <= int(m.group(1)) <= len(rids):
        return len(lines), (rids[int(m.group(1)) - 1], m.group(2))
    return len(lines), (None, f"validation failed (exit {p.returncode}): {error or 'no message'}")


def validate(posprobe, runs, suite_file):
    """first_invalid, with a refusal as one SuiteError naming the run, so a bad suite fails before anything is
    written; the number of option sets checked."""
    n, bad = first_invalid(posprobe, runs)
    if bad:
        rid, msg = bad
        raise SuiteError(f"{suite_file}: run {rid}: {msg}" if rid else f"{suite_file}: {msg}")
    return n


def run_status(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        return rows[0]["status"] if len(rows) == 1 else None
    except (OSError, KeyError, csv.Error, UnicodeDecodeError):
        return None


def is_done(run_dir):
    return run_status(run_dir) in ("finished", "diverged")


def posprobe_message(err):
    """posprobe's error output without its own 'posprobe: error: ' (ours says it once)."""
    err = err.strip()
    return err[len("posprobe: error: "):] if err.startswith("posprobe: error: ") else err


def train_command(posprobe, run_dir, rid, opts):
    cmd = [posprobe, "train", "--quiet", "--out", run_dir, "--run-id", rid]
    for k, v in opts.items():
        cmd += [f"--{k}", v]
    return cmd


class Runner:
    def __init__(self, posprobe, results, runs, jobs):
        self.posprobe, self.results, self.runs, self.jobs = posprobe, results, runs, jobs
        self.lock = threading.Lock()
        self.done = self.failed = self.skipped = self.busy = 0
        self.start = time.time()
        self.stop = False
        self.procs = set()

    def run_dir(self, rid):
        return os.path.join(self.results, "runs", rid)

    def one(self, rid, opts):
        """Runs one run unless done or locked by another runner. Returns its status."""
        if self.stop:
            return "stopped"
        d = self.run_dir(rid)
        if is_done(d):
            return "skipped"
        os.makedirs(os.path.dirname(d), exist_ok=True)
        # never truncated, never followed through a symlink, never a FIFO or device (as posprobe takes it);
        # open for writing, never written: NFS emulates flock with a write lock on the server, which
        # needs a descriptor open for writing (flock(2), "NFS details"; docs/suites.md)
        try:
            lock = os.open(d + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise SuiteError(f"run {rid}: {d}.lock: cannot be the run's lock: {e.strerror}")
        if not stat.S_ISREG(os.fstat(lock).st_mode):
            os.close(lock)
            raise SuiteError(f"run {rid}: {d}.lock is not a regular file; it cannot be the run's lock")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:   # held: another runner trains this run
            os.close(lock)
            return "busy"
        except OSError as e:      # no lock at all (e.g. a filesystem without locking): never "busy"
            os.close(lock)
            raise SuiteError(f"run {rid}: {d}.lock: cannot lock: {e.strerror}")
        try:
            if is_done(d):  # finished by another runner meanwhile
                return "skipped"
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            # the child inherits the locked descriptor: if this runner dies, the
            # lock lives as long as the training does
            p = subprocess.Popen(train_command(self.posprobe, d, rid, opts), stderr=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, env=env, text=True, pass_fds=(lock,))
            with self.lock:
                self.procs.add(p)
            _, err = p.communicate()
            with self.lock:
                self.procs.discard(p)
            if p.returncode in (0, EXIT_DIVERGED):
                return "diverged" if p.returncode == EXIT_DIVERGED else "finished"
            if p.returncode == EXIT_USAGE:
                raise SuiteError(f"run {rid}: {posprobe_message(err)}")
            if p.returncode == EXIT_INTERRUPTED:   # SIGINT or SIGTERM (Ctrl-C, scancel, a time limit)
                return "interrupted by a signal (left 'interrupted': the next pass trains it again from scratch)"
            return f"failed ({p.returncode}): {posprobe_message(err)[:300]}"
        finally:
            # the lock file stays: removing it would let a second runner lock a
            # fresh inode while a first one still holds the old
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)

    def progress(self, final=False):
        n = len(self.runs)
        finished = self.done + self.skipped
        elapsed = time.time() - self.start
        rate = self.done / elapsed if self.done and elapsed > 0 else 0
        left = n - finished - self.failed - self.busy
        eta = f"{left / rate / 60:.1f} min" if rate > 0 else "?"
        msg = (f"[{finished}/{n}] runs done ({self.skipped} already finished, {self.done} now, "
               f"{self.failed} failed, {self.busy} busy elsewhere), elapsed {elapsed / 60:.1f} min, ETA {eta}")
        end = "\n" if final or not sys.stderr.isatty() else ""
        print(("\r" if sys.stderr.isatty() else "") + msg, end=end, file=sys.stderr, flush=True)

    def run_all(self):
        last = 0.0

        def task(item):
            st = self.one(*item)
            with self.lock:
                if st == "skipped":
                    self.skipped += 1
                elif st == "busy":
                    self.busy += 1
                elif st in ("finished", "diverged"):
                    self.done += 1
                elif st != "stopped":
                    self.failed += 1
                    print(f"\nposprobe suite: run {item[0]} {st}", file=sys.stderr)
            return st

        def on_signal(sig, frame):
            self.stop = True
            with self.lock:
                for p in self.procs:
                    p.send_signal(signal.SIGINT)  # the run finishes its step and writes 'interrupted'

        old = signal.signal(signal.SIGINT, on_signal), signal.signal(signal.SIGTERM, on_signal)
        try:
            with ThreadPoolExecutor(max_workers=self.jobs) as ex:
                futures = [ex.submit(task, r) for r in self.runs]
                while any(not f.done() for f in futures):
                    time.sleep(0.2)
                    if time.time() - last > (1 if sys.stderr.isatty() else 10):
                        self.progress()
                        last = time.time()
                for f in futures:
                    f.result()  # re-raises a SuiteError from a run
        finally:
            signal.signal(signal.SIGINT, old[0])
            signal.signal(signal.SIGTERM, old[1])
        self.progress(final=True)
        return 130 if self.stop else (1 if self.failed else 0)


# what made a run (config.csv's extra keys, results/README.md): results differ in the last bits between them
PROVENANCE = ["version", "precision", "blas", "blas_kernel"]


def source_commit():
    """The commit of this repository (git describe --always --dirty), '' outside a git checkout."""
    try:
        p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                           capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return p.stdout.strip() if p.returncode == 0 else ""


def provenance(results):
    """One row per distinct version, precision, BLAS and kernel among the config.csv of the runs below
    results/runs, with how many runs each made and the source commit now."""
    count = {}
    for rid in sorted(os.listdir(os.path.join(results, "runs"))) if os.path.isdir(os.path.join(results, "runs")) else []:
        cfg = {r.get("key"): r.get("value", "") for r in read(os.path.join(results, "runs", rid, "config.csv"))}
        if cfg:
            k = tuple(cfg.get(x, "") for x in PROVENANCE)
            count[k] = count.get(k, 0) + 1
    commit = source_commit()
    return [dict(zip(PROVENANCE, k), runs=str(n), commit=commit) for k, n in sorted(count.items())]


def write_provenance(results):
    """results/provenance.csv (provenance()), beside the summaries, so a committed reference keeps it."""
    out = io.StringIO()
    w = csv.DictWriter(out, PROVENANCE + ["runs", "commit"], lineterminator="\n")
    w.writeheader()
    w.writerows(provenance(results))
    write_text(os.path.join(results, "provenance.csv"), out.getvalue())


def emit(kind, suite_file, results, runs, posprobe, args):
    """Job lists for GNU parallel and Slurm: each job is this script with --only ID."""
    os.makedirs(results, exist_ok=True)
    base = [sys.executable, os.path.abspath(__file__), os.path.abspath(suite_file), "--results",
            os.path.abspath(results), "--posprobe", os.path.abspath(posprobe)]
    if args.quick:
        base.append("--quick")
    if args.encodings:
        base += ["--encodings", args.encodings]
    if args.seeds:
        base += ["--seeds", args.seeds]
    jobs = os.path.join(results, "jobs.txt")
    write_text(jobs, "".join(" ".join(shlex.quote(x) for x in base + ["--only", rid]) + "\n" for rid, _ in runs))
    if kind == "parallel":
        print(f"wrote {jobs} ({len(runs)} jobs). Run them with GNU parallel, e.g.\n"
              f"  parallel --jobs $(nproc) < {jobs}\n"
              f"  parallel --sshloginfile hosts.txt --jobs 2 < {jobs}   # several hosts, shared filesystem\n"
              f"then: {posprobe} summarize {' '.join(summarize_flags(suite_file) + [results])}")
    else:
        script = os.path.join(results, "slurm.sh")
        write_text(script, "#!/bin/bash\n"
                   f"#SBATCH --job-name=posprobe-{os.path.basename(results)}\n"
                   f"#SBATCH --array=1-{len(runs)}\n"
                   "#SBATCH --cpus-per-task=1\n"
                   f"#SBATCH --output={os.path.abspath(results)}/slurm-%A_%a.log\n"
                   "export OPENBLAS_NUM_THREADS=1\n"
                   f"sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" {shlex.quote(os.path.abspath(jobs))} | bash\n")
        print(f"wrote {script} and {jobs} ({len(runs)} array tasks). Submit with: sbatch {script}\n"
              f"then: {posprobe} summarize {' '.join(summarize_flags(suite_file) + [results])}")


def main():
    ap = ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("suite")
    ap.add_argument("--results", help="results directory (default results/<suite name>)")
    ap.add_argument("-j", "--jobs", type=integer, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="the suite's [quick] variant")
    ap.add_argument("--encodings", help="replace the encoding factor of every grid that compares encodings "
                    "('myenc rope alibi'), or add to it ('+myenc')")
    ap.add_argument("--seeds", help="seeds 1..N instead of the suite's")
    ap.add_argument("--posprobe", default=default_posprobe(),
                    help="the posprobe to run (default: $POSPROBE_BIN, else the repository's or the installed one)")
    ap.add_argument("--emit", choices=["parallel", "slurm"])
    ap.add_argument("--only", help="run just this run id (what emitted jobs call)")
    ap.add_argument("--list", action="store_true", help="print the run ids and exit")
    ap.add_argument("--no-summarize", action="store_true")
    args = ap.parse_args()
    try:
        if args.jobs < 1:
            raise SuiteError("-j must be at least 1")
        encs = args.encodings.split() if args.encodings is not None else None
        name, runs = expand(args.suite, args.quick, encs, args.seeds,
                            enc_options=encoding_options(args.posprobe) if encs is not None else None)
        summarize_flags(args.suite)   # a bad [suite] key fails before anything runs
        # the repository's results/NAME; installed (no repository around the scripts), ./results/NAME
        results = args.results or os.path.join(ROOT if in_repository() else ".", "results", name)
        if not os.access(args.posprobe, os.X_OK):
            raise SuiteError(f"{args.posprobe}: not an executable posprobe (run make first)")
        if args.list:
            try:
                for rid, o in runs:
                    print(rid)
            except BrokenPipeError:  # e.g. piped into head
                sys.stderr.close()
            return 0
        if not args.only:
            validate(args.posprobe, runs, args.suite)
        if args.emit:
            emit(args.emit, args.suite, results, runs, args.posprobe, args)
            return 0
        if args.only:
            match = [r for r in runs if r[0] == args.only]
            if not match:
                raise SuiteError(f"no run '{args.only}' in {args.suite}")
            runs = match
        if args.only:   # an emitted job: its log names the run
            print(f"posprobe suite {name}: run {args.only} into {results}", file=sys.stderr)
        else:
            print(f"posprobe suite {name}: {len(runs)} runs into {results}, {args.jobs} at a time", file=sys.stderr)
        rc = Runner(args.posprobe, results, runs, args.jobs).run_all()
        if rc == 0 and not args.only and not args.no_summarize:
            rc = subprocess.call([args.posprobe, "summarize"] + summarize_flags(args.suite) + [results])
            if rc == 0:
                write_provenance(results)
        return rc
    except SuiteError as e:
        print(f"posprobe: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:   # e.g. jobs.txt a directory or a symlink to nothing
        print(f"posprobe: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
