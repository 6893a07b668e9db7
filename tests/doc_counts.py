#!/usr/bin/python3
"""The numbers the documentation states about the program and its tests,
checked against the program and the tests (the counts most likely to drift).

usage: tests/doc_counts.py POSPROBE [REPO]

Each claim is a regular expression over one document whose first group is a
number (digits or an English number word), and the count it must equal:
rows of a test's table (the elements of the first static array initializer
in a test function of tests/*.c), entries of `posprobe list`, committed
parity fixtures and the Makefile's PARITY_RUNS, broken ledger copies in
tests/claims_ledger.sh, rows of `posprobe diagnose --all`. And every row of
docs/tasks.md's example table is what `posprobe examples` prints for it (the
grid width of probe2d, the alphabet, the layout). Exit status 1 with one
line per claim that does not hold; 2 on a claim whose text is not found
(the documentation was reworded: update the claim here).
"""
import csv
import glob
import io
import os
import re
import subprocess
import sys

WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}


def number(text):
    return int(text.replace(",", "")) if text[0].isdigit() else WORDS[text.lower()]


def strip_c(text):
    """C text without comments, each string or character literal (and a run of them, with the macros
    between, as in "a" MACRO("b") "c") as one S."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
            out.append(" ")
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append("S")
        else:
            out.append(c)
            i += 1
    return re.sub(r"S(\s*(?:[A-Z_][A-Z0-9_]*(?:\([^(){},]*\))?|S))+", "S", "".join(out))


def table_rows(repo, test):
    """The number of elements of the first static array initializer in the C test function `test`."""
    for path in sorted(glob.glob(os.path.join(repo, "tests", "*.c"))):
        text = strip_c(open(path).read())
        m = re.search(r"\bvoid " + re.escape(test) + r"\s*\(", text)
        if not m:
            continue
        a = re.compile(r"static const\s(?:struct\s*\{[^}]*\}|[^;={}])*?\[\]\s*=\s*\{").search(text, m.end())
        if not a:
            raise SystemExit(f"{path}: {test} has no static array")
        depth, n, item = 1, 0, False
        for ch in text[a.end():]:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return n + item
            elif ch == "," and depth == 1:
                n, item = n + item, False
                continue
            if not ch.isspace() and depth >= 1:
                item = True
        raise SystemExit(f"{path}: {test}'s array does not end")
    raise SystemExit(f"no test function {test} in tests/*.c")


def posprobe_csv(posprobe, *args):
    out = subprocess.run([posprobe, *args], capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def claims(posprobe, repo):
    """(document, pattern, count, what the count is) for every stated number."""
    enc = posprobe_csv(posprobe, "list", "encodings", "--csv")
    tasks = posprobe_csv(posprobe, "list", "tasks", "--csv")
    fixtures = len(glob.glob(os.path.join(repo, "tests", "fixtures", "parity_*")))
    runs = open(os.path.join(repo, "Makefile")).read().split("PARITY_RUNS :=", 1)[1].split("\nparity-fixtures:", 1)[0]
    parity_runs = len(re.findall(r'^\s*"[A-Za-z0-9_-]+\|', runs, flags=re.M))
    ledger = len(re.findall(r"^expect_fail ", open(os.path.join(repo, "tests", "claims_ledger.sh")).read(), flags=re.M))
    diagnose = len(posprobe_csv(posprobe, "diagnose", "--all", "--seeds", "1", "--quiet"))
    rows = lambda t: table_rows(repo, t)   # noqa: E731
    return [
        ("README.md", r"one file each, (\d+) of them", len(enc), "registered encodings"),
        ("README.md", r"and (\d+) length-generalization tasks", sum(t["shape"] == "seq2seq" for t in tasks),
         "registered seq2seq tasks"),
        ("docs/tests.md", r"trains the (\d+) committed\s+fixtures", fixtures, "tests/fixtures/parity_*"),
        ("docs/tests.md", r"every layer and head, to 1e-9 in double, for all (\d+) fixtures", fixtures,
         "tests/fixtures/parity_*"),
        ("docs/tests.md", r"(\d+) bad invocations \(`test_cli_errors`\)", rows("test_cli_errors"), "test_cli_errors rows"),
        ("docs/tests.md", r"(\w+) broken copies of the ledger", ledger, "expect_fail lines of tests/claims_ledger.sh"),
        ("docs/failure-behaviour.md", r"`test_cli_errors` \((\d+) command lines\)", rows("test_cli_errors"),
         "test_cli_errors rows"),
        ("docs/failure-behaviour.md", r"`test_config_file_errors` \((\d+)\s+files\)", rows("test_config_file_errors") + 1,
         "test_config_file_errors rows and its over-long line"),
        ("docs/failure-behaviour.md", r"`test_suite_file_errors` \((\d+) suite files", rows("test_suite_file_errors"),
         "test_suite_file_errors rows"),
        ("docs/failure-behaviour.md", r"`test_suite_run_ids`: (\d+) suites", rows("test_suite_run_ids"),
         "test_suite_run_ids rows"),
        ("docs/failure-behaviour.md", r"`test_encoding_option_ranges`: (\d+) rows", rows("test_encoding_option_ranges"),
         "test_encoding_option_ranges rows"),
        ("docs/failure-behaviour.md", r"`test_script_outputs`: (\d+) rows", rows("test_script_outputs"),
         "test_script_outputs rows"),
        ("docs/failure-behaviour.md", r"`test_run_directories`: (\d+) cases", rows("test_run_directories"),
         "test_run_directories rows"),
        ("docs/encodings.md", r"`diagnose --all` \(([\d,]+) configurations", diagnose, "rows of posprobe diagnose --all"),
    ], parity_runs, fixtures


def shape(row):
    """A row of example tokens with every number as #: the layout (markers, blanks, unscored slots, length)."""
    return " ".join("#" if w.isdigit() else w for w in row.split())


def task_table(posprobe, repo):
    """docs/tasks.md's example rows against posprobe examples: the same layout (length, markers, answer slots,
    unscored tokens) for every row, and the same tokens and targets for the tasks whose examples are not
    drawn at random (probe, probe2d: its grid width is the default --grid-w)."""
    problems = []
    for line in open(os.path.join(repo, "docs", "tasks.md")):
        m = re.match(r"\| `(\w+)` \(n = (\d+)\) \| [^|]* \| ([^|]*) \| `([^`]*)` \| `([^`]*)` \|", line)
        if not m:
            continue
        task, n, form, tokens, targets = m.groups()
        mask = "causal" if "causal" in form or "decoder" in form else "bidir"
        out = subprocess.run([posprobe, "examples", "--task", task, "--len", n, "--mask", mask, "--count", "1"],
                             capture_output=True, text=True, check=True).stdout
        got = dict(re.findall(r"^\s*(tokens|target): (.*)$", out, flags=re.M))
        same = (lambda a, b: a.split() == b.split()) if task in ("probe", "probe2d") else \
            (lambda a, b: shape(a) == shape(b))
        if not same(got.get("tokens", ""), tokens) or not same(got.get("target", ""), targets):
            problems.append(f"docs/tasks.md: {task} (n = {n}, {form.strip()}): the table says tokens '{tokens}', targets "
                            f"'{targets}'; posprobe examples prints '{got.get('tokens')}', '{got.get('target')}'")
    return problems


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    posprobe = sys.argv[1]
    repo = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stated, parity_runs, fixtures = claims(posprobe, repo)
    problems, missing = [], []
    for doc, pattern, count, what in stated:
        text = open(os.path.join(repo, doc)).read()
        m = re.search(pattern, text)
        if not m:
            missing.append(f"{doc}: no text matching {pattern!r} (reworded? update tests/doc_counts.py)")
        elif number(m.group(1)) != count:
            problems.append(f"{doc}: says {m.group(1)} ({m.group(0)!r}), but there are {count} ({what})")
    if parity_runs != fixtures:
        problems.append(f"Makefile: {parity_runs} PARITY_RUNS, but {fixtures} committed tests/fixtures/parity_*")
    problems += task_table(posprobe, repo)
    for p in missing + problems:
        print(p)
    if missing:
        return 2
    if problems:
        return 1
    print(f"doc_counts: {len(stated)} stated counts and docs/tasks.md's example table hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
