#!/usr/bin/python3
"""Checks the claims ledger (CLAIMS.md) against the repository.

Fails (exit 1, one line per problem) if a claim id of the ledger's
`claim-ids` block has no row in the ledger table or more than one, if a row's
id is not in the block, if a verdict does not start with one of the five
verdicts (a "not ..." verdict must also say why), if a row names a test
(`test_...`) that tests/*.c does not both define and register with cmocka,
a report section (report § ID or report § "Heading") that the reference
report lacks, a make target (`make NAME`) the Makefile lacks or a suite grid
([grid NAME]) no suite has, if a claim the reference report's summary
judges has another verdict in the ledger, or if the ledger's **Tally** line
does not count its verdicts.

Usage: claims_ledger.py [LEDGER [REPORT]]  (default: CLAIMS.md and
results/reference/REPORT.md of this repository; tests/, the Makefile and
scripts/suites/ are always this repository's)."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERDICTS = ("held", "did not hold", "inconclusive", "not testable here", "not yet tested")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def cells(line):
    """The cells of a markdown table row (escaped pipes \\| stay in the cell)."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip() for p in parts[1:-1]]


def table_after(text, heading, first_column):
    """Rows (dicts) of the first table after `heading` whose header starts with `first_column`."""
    at = text.find(heading)
    if at < 0:
        return None
    lines = text[at:].splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and cells(line)[:1] == [first_column]:
            names = cells(line)
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(names, cells(row))))
            return rows
    return None


def defined_tests():
    """Test functions both defined and registered with cmocka in tests/*.c."""
    defined, registered = set(), set()
    for path in glob.glob(os.path.join(ROOT, "tests", "*.c")):
        src = read(path)
        defined |= set(re.findall(r"^static void (test_\w+)\(void \*\*\w*\)", src, re.M))
        registered |= set(re.findall(r"cmocka_unit_test\w*\(\s*(test_\w+)", src))
    return defined & registered


def report_sections(report):
    """(ids, headings): the ids a `### ` heading lists before its colon, and the headings' texts."""
    ids, headings = set(), []
    for line in report.splitlines():
        if line.startswith("### "):
            title = line[4:].strip()
            headings.append(title)
            if ":" in title:
                ids |= {t.strip() for t in title.split(":", 1)[0].split(",")}
    return ids, headings


def report_verdicts(report):
    """Claim id -> verdict word(s) from the report's summary table."""
    rows = table_after(report, "## Summary", "claim") or []
    out = {}
    for row in rows:
        verdict = row.get("verdict", "").split(" (")[0].strip()
        for cid in row.get("claim", "").split(","):
            out[cid.strip()] = verdict
    return out


def check(ledger_path, report_path):
    errors = []
    text = read(ledger_path)
    block = re.search(r"^```claim-ids\n(.*?)^```", text, re.M | re.S)
    if not block:
        return ["%s: no ```claim-ids block" % ledger_path]
    ids = block.group(1).split()
    for cid in sorted({c for c in ids if ids.count(c) > 1}):
        errors.append("%s appears twice in the claim-ids block" % cid)
    rows = table_after(text, "## Ledger", "id")
    if rows is None:
        return errors + ["%s: no ledger table (a table with an 'id' column after '## Ledger')" % ledger_path]
    by_id = {}
    for row in rows:
        cid = row.get("id", "")
        if cid in by_id:
            errors.append("%s has more than one ledger row" % cid)
        by_id[cid] = row
        if cid not in ids:
            errors.append("ledger row %r is not a claim of the claim-ids block" % cid)
    for cid in ids:
        if cid not in by_id:
            errors.append("%s has no ledger entry" % cid)

    tests = defined_tests()
    report = read(report_path)
    section_ids, headings = report_sections(report)
    judged = report_verdicts(report)
    makefile = read(os.path.join(ROOT, "Makefile"))
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    grids = set()
    for path in glob.glob(os.path.join(ROOT, "scripts", "suites", "*.suite")):
        grids |= set(re.findall(r"^\[grid ([\w-]+)\]", read(path), re.M))

    n_tests = n_sections = 0
    for cid, row in by_id.items():
        verdict = row.get("verdict", "")
        if not verdict.startswith(VERDICTS):
            errors.append("%s: verdict %r does not start with one of: %s" % (cid, verdict, ", ".join(VERDICTS)))
        elif verdict.startswith("not ") and ":" not in verdict:
            errors.append("%s: %r without a reason ('%s: why')" % (cid, verdict, verdict))
        whole = " ".join(row.values())
        for name in re.findall(r"`(test_\w+)`", whole):
            n_tests += 1
            if name not in tests:
                errors.append("%s names %s, which tests/ does not define and register" % (cid, name))
        for quoted, sid in re.findall(r'report § (?:"([^"]+)"|([A-Z]\d+\b))', whole):
            n_sections += 1
            if sid and sid not in section_ids:
                errors.append("%s names report § %s, which %s has no section for" % (cid, sid, report_path))
            if quoted and not any(h.startswith(quoted) for h in headings):
                errors.append('%s names report § "%s", which %s has no section for' % (cid, quoted, report_path))
        for target in re.findall(r"`make ([\w-]+)`", whole):
            if target not in targets:
                errors.append("%s names make %s, which the Makefile does not define" % (cid, target))
        for grid in re.findall(r"\[grid ([\w-]+)\]", whole):
            if grid not in grids:
                errors.append("%s names [grid %s], which no scripts/suites/*.suite has" % (cid, grid))
        if cid in judged and not verdict.startswith(judged[cid]):
            errors.append("%s: the ledger says %r, the report's summary %r" % (cid, verdict, judged[cid]))
    tally = re.search(r"^\*\*Tally\*\*[^:]*:(.*)$", text, re.M)
    if not tally:
        errors.append("%s: no **Tally** line" % ledger_path)
    else:
        said = {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"([a-z ]+?) (\d+)", tally.group(1))}
        counted = {v: sum(1 for r in by_id.values() if r.get("verdict", "").startswith(v)) for v in VERDICTS}
        if said != counted:
            errors.append("the tally says %s, the ledger's verdicts count %s" % (said, counted))
    if not errors:
        print("claims ledger: %d claims, %d with a report verdict, %d test names and %d report sections checked"
              % (len(ids), len([c for c in ids if c in judged]), n_tests, n_sections))
    return errors


def main(argv):
    ledger = argv[1] if len(argv) > 1 else os.path.join(ROOT, "CLAIMS.md")
    report = argv[2] if len(argv) > 2 else os.path.join(ROOT, "results", "reference", "REPORT.md")
    errors = check(ledger, report)
    for e in errors:
        print("claims ledger: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
