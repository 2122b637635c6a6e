#!/usr/bin/env python3
"""Compare Prowler's findings with the Citadel agent's on the same estate.

Both sides are reduced to rows keyed by (check id, resource uid) with a status
(PASS / FAIL / MANUAL / ERROR / NOT_APPLICABLE). Only checks that both sides
implement are compared. Each key is then one of:

  agree           same status on both sides
  prowler-only    Prowler has a finding, Citadel none
  citadel-only    Citadel has a finding, Prowler none
  status          both have one, the statuses differ

A difference is "explained" when a row of DIFFERENCES.md matches it (check id
glob, resource, kind). The exit status is 1 if any difference is unexplained.
Severity and text are compared on agreeing rows for information only.
"""

import argparse
import fnmatch
import json
import re
import statistics
import sys
from collections import defaultdict

KINDS = ("prowler-only", "citadel-only", "status")


# ---------------------------------------------------------------- inputs
def load_prowler(path):
    """OCSF findings -> {(check, uid): [finding]}. Prowler writes a JSON array."""
    with open(path) as f:
        findings = json.load(f)
    rows = defaultdict(list)
    for f in findings:
        check = f["metadata"]["event_code"]
        uid = f["resources"][0]["uid"]
        rows[(check, uid)].append(
            {
                "status": f["status_code"].upper(),
                "severity": (f.get("severity") or "").lower(),
                "text": f.get("status_detail") or "",
                # Muted findings keep their verdict (running.md); say so in the report.
                "muted": f.get("status") == "Suppressed",
            }
        )
    return rows


def load_citadel(path):
    """`citadel-agent scan --once --json` report -> {(check, uid): [finding]}."""
    with open(path) as f:
        report = json.load(f)
    rows = defaultdict(list)
    problems = list(report.get("plugin_errors", []))
    for integ in report["integrations"]:
        problems += [f"discovery: {e}" for e in integ.get("discovery_errors", [])]
        problems += [f"check: {e}" for e in integ.get("check_errors", [])]
        for f in integ["findings"]:
            rows[(f["check_id"], f["resource"])].append(
                {
                    "status": f["status"].upper().replace("-", "_"),
                    "severity": f["severity"].lower(),
                    "text": f["status_extended"],
                }
            )
    return rows, problems


def load_citadel_checks(paths):
    """Check ids declared by the packs (`citadel-agent plugin inspect --json`)."""
    ids = set()
    for p in paths:
        with open(p) as f:
            ids |= {c["id"] for c in json.load(f)["checks"]}
    return ids


def load_differences(path, manifest):
    """Rows of the first Markdown table in DIFFERENCES.md whose first cell is a check id."""
    rules = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            cells = [c.strip().strip("`").strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 4 or not re.fullmatch(r"[a-z0-9_*?\[\]]+", cells[0]) or "_" not in cells[0]:
                continue
            check, resource, kind_cell, why = cells[0], cells[1], cells[2], cells[3]
            kind = re.split(r"[\s:(]", kind_cell, 1)[0].lower()
            if kind not in KINDS + ("any",):
                sys.exit(f"{path}:{n}: difference must start with one of {', '.join(KINDS)} or any, got {kind_cell!r}")
            status = None
            m = re.search(r"Prowler (\w+), Citadel (\w+)", kind_cell)
            if m:
                status = (m.group(1).upper(), m.group(2).upper())
            rules.append(
                {
                    "line": n,
                    "check": check,
                    "resource": resource,
                    "kind": kind,
                    "status": status,
                    "why": why,
                    "arns": resolve(resource, manifest, path, n),
                    "used": 0,
                }
            )
    return rules


def resolve(resource, manifest, path, n):
    """`@name` -> that seeded resource's ARN; anything else is a glob on the uid."""
    if resource.startswith("@"):
        names = [r.strip() for r in resource.split(",")]
        arns = []
        for name in names:
            entry = manifest.get(name.lstrip("@"))
            if entry is None:
                sys.exit(f"{path}:{n}: {name} is not a resource seed.py creates")
            arns.append(entry["arn"])
        return arns
    return None


def explain(rules, check, uid, kind, statuses):
    for r in rules:
        if not fnmatch.fnmatchcase(check, r["check"]):
            continue
        if r["arns"] is not None:
            if uid not in r["arns"]:
                continue
        elif not fnmatch.fnmatchcase(uid, r["resource"]):
            continue
        if r["kind"] not in ("any", kind):
            continue
        if r["status"] and kind == "status" and r["status"] != statuses:
            continue
        r["used"] += 1
        return r
    return None


# ---------------------------------------------------------------- timing
def read_time(path):
    """GNU time -f '%e %M %U %S' -o FILE: the last line holds wall seconds, peak
    RSS in KiB, user and system CPU seconds (a 'Command exited…' line may precede it)."""
    with open(path) as f:
        fields = [line.split() for line in f if line.strip()][-1]
    wall, kib, user, system = fields[:4]
    return {
        "wall_s": float(wall),
        "peak_mib": round(int(kib) / 1024, 1),
        "cpu_s": round(float(user) + float(system), 2),
    }


# ---------------------------------------------------------------- main
def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prowler-ocsf", required=True)
    p.add_argument("--prowler-checks", required=True, help="Prowler's check ids, one a line")
    p.add_argument("--citadel-report", required=True)
    p.add_argument("--citadel-checks", nargs="+", required=True, help="plugin inspect --json outputs")
    p.add_argument("--manifest", required=True)
    p.add_argument("--differences", required=True)
    p.add_argument("--prowler-time")
    p.add_argument("--agent-time", nargs="*", default=[])
    p.add_argument("--agent-prepare-time", help="`citadel-agent prepare` on an empty plugin cache")
    p.add_argument("--agent-profile", default="?")
    p.add_argument("--versions", default="", help="free text recorded in the report")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    with open(args.manifest) as f:
        manifest = json.load(f)
    by_arn = {v["arn"]: k for k, v in manifest.items()}
    prowler = load_prowler(args.prowler_ocsf)
    citadel, citadel_problems = load_citadel(args.citadel_report)
    with open(args.prowler_checks) as f:
        prowler_checks = {line.strip() for line in f if line.strip()}
    citadel_checks = load_citadel_checks(args.citadel_checks)
    common = sorted(prowler_checks & citadel_checks)
    rules = load_differences(args.differences, manifest)

    per_check = {c: defaultdict(int) for c in common}
    diffs = []
    for check in common:
        keys = {k for k in prowler if k[0] == check} | {k for k in citadel if k[0] == check}
        counts = per_check[check]
        counts["prowler"] = sum(len(v) for k, v in prowler.items() if k[0] == check)
        counts["citadel"] = sum(len(v) for k, v in citadel.items() if k[0] == check)
        for key in sorted(keys):
            pf, cf = prowler.get(key, []), citadel.get(key, [])
            ps = tuple(sorted({f["status"] for f in pf}))
            cs = tuple(sorted({f["status"] for f in cf}))
            if ps and cs and ps == cs:
                counts["agree"] += 1
                if pf[0]["severity"] != cf[0]["severity"]:
                    counts["severity_differs"] += 1
                    diffs.append(row(key, "severity (info)", pf, cf, by_arn, None))
                if pf[0]["text"] != cf[0]["text"]:
                    counts["text_differs"] += 1
                    diffs.append(row(key, "text (info)", pf, cf, by_arn, None))
                continue
            kind = "prowler-only" if not cs else "citadel-only" if not ps else "status"
            statuses = ("/".join(ps), "/".join(cs))
            rule = explain(rules, check, key[1], kind, statuses)
            counts[kind] += 1
            counts["explained" if rule else "unexplained"] += 1
            diffs.append(row(key, kind, pf, cf, by_arn, rule))

    total_keys = sum(c["agree"] + c["prowler-only"] + c["citadel-only"] + c["status"] for c in per_check.values())
    agree = sum(c["agree"] for c in per_check.values())
    explained = sum(c["explained"] for c in per_check.values())
    unexplained = [d for d in diffs if d["kind"] in KINDS and not d["explained_by"]]
    # Rows for checks Citadel does not implement yet are kept for later, silently.
    stale = [r for r in rules if r["used"] == 0 and any(fnmatch.fnmatchcase(c, r["check"]) for c in common)]

    # ---------------------------------------------------------- table
    width = max([len(c) for c in common] + [10])
    head = f"{'check':<{width}}  {'prowler':>7} {'citadel':>7} {'agree':>5} {'P-only':>6} {'C-only':>6} {'status':>6} {'expl':>4}  {'sev≠':>4} {'text≠':>5}"
    print(head)
    print("-" * len(head))
    for check in common:
        c = per_check[check]
        flag = "" if not c["unexplained"] else "  <-- unexplained"
        print(
            f"{check:<{width}}  {c['prowler']:>7} {c['citadel']:>7} {c['agree']:>5} {c['prowler-only']:>6} "
            f"{c['citadel-only']:>6} {c['status']:>6} {c['explained']:>4}  {c['severity_differs']:>4} {c['text_differs']:>5}{flag}"
        )
    print("-" * len(head))
    pct = 100.0 * agree / total_keys if total_keys else 100.0
    pct_expl = 100.0 * (agree + explained) / total_keys if total_keys else 100.0
    print(
        f"{len(common)} checks in common; {total_keys} (check, resource) keys; "
        f"agreement {agree}/{total_keys} = {pct:.1f}%; with the explained differences {pct_expl:.1f}%"
    )
    only_p = sorted(prowler_checks - citadel_checks)
    only_c = sorted(citadel_checks - prowler_checks)
    print(f"not compared: {len(only_p)} Prowler checks Citadel does not implement" + (f"; Citadel-only checks: {', '.join(only_c)}" if only_c else ""))
    if citadel_problems:
        print("agent problems:")
        for e in citadel_problems:
            print(f"  {e}")

    # Same verdict, different severity or wording: not a parity failure, but
    # users grep for Prowler's texts, so show one example per check and kind.
    shown = set()
    for d in diffs:
        if d["kind"].endswith("(info)") and (d["check"], d["kind"]) not in shown:
            if not shown:
                print("\nsame status, different severity or text (information; all of them in the report):")
            shown.add((d["check"], d["kind"]))
            n = per_check[d["check"]]["severity_differs" if d["kind"].startswith("severity") else "text_differs"]
            print(f"  {d['check']}: {n} x {d['kind']}, e.g. {d['name'] or d['resource']}")
            if d["kind"].startswith("severity"):
                print(f"    Prowler {d['prowler_severity']}  |  Citadel {d['citadel_severity']}")
            else:
                print(f"    Prowler: {d['prowler_text']}\n    Citadel: {d['citadel_text']}")

    if unexplained:
        print(f"\n{len(unexplained)} UNEXPLAINED difference(s) (add them to DIFFERENCES.md once understood, or fix the check):")
        for d in unexplained:
            print(f"  {d['check']}  {d['resource']}" + (f"  (@{d['name']})" if d["name"] else ""))
            print(f"    {d['kind']}: Prowler {d['prowler_status'] or '-'}  |  Citadel {d['citadel_status'] or '-'}")
            if d["prowler_text"]:
                print(f"    Prowler: {d['prowler_text']}")
            if d["citadel_text"]:
                print(f"    Citadel: {d['citadel_text']}")
    for r in stale:
        print(f"note: DIFFERENCES.md line {r['line']} ({r['check']} {r['resource']} {r['kind']}) matched nothing in this run")

    # ---------------------------------------------------------- benchmark
    bench = {"agent_profile": args.agent_profile}
    if args.prowler_time:
        bench["prowler"] = read_time(args.prowler_time)
    if args.agent_time:
        runs = [read_time(t) for t in args.agent_time]
        bench["agent_runs"] = runs
        # The first scan may compile the check packs (the agent caches the
        # compiled code); later scans show the steady state of a scheduled agent.
        bench["agent_first"] = runs[0]
        later = runs[1:] or runs
        bench["agent"] = {
            "wall_s": statistics.median(r["wall_s"] for r in later),
            "peak_mib": max(r["peak_mib"] for r in later),
            "cpu_s": statistics.median(r["cpu_s"] for r in later),
        }
    if args.agent_prepare_time:
        bench["agent_prepare"] = read_time(args.agent_prepare_time)
    if "prowler" in bench and "agent" in bench:
        pr, ag, first = bench["prowler"], bench["agent"], bench["agent_first"]
        ratio = lambda a, b: round(a / b, 1) if b else None  # noqa: E731
        bench["speedup"] = ratio(pr["wall_s"], ag["wall_s"])
        bench["memory_ratio"] = ratio(pr["peak_mib"], ag["peak_mib"])
        bench["speedup_first"] = ratio(pr["wall_s"], first["wall_s"])
        print("\nbenchmark on the same moto estate (wall time, peak RSS, CPU time):")
        lines = [("Prowler", pr), (f"Citadel agent ({args.agent_profile}), first scan", first)]
        if len(runs) > 1:
            lines.append((f"Citadel agent ({args.agent_profile}), median of {len(later)} later scans", ag))
        if "agent_prepare" in bench:
            lines.append(("Citadel agent prepare (compile packs; once per install)", bench["agent_prepare"]))
        label = max(len(name) for name, _ in lines)
        for name, t in lines:
            print(f"  {name:<{label}}  {t['wall_s']:7.2f} s  {t['peak_mib']:5.0f} MiB  (CPU {t['cpu_s']:.2f} s)")
        print(
            f"  agent vs Prowler: {bench['speedup']}x faster ({bench['speedup_first']}x on the first scan), "
            f"{bench['memory_ratio']}x less peak memory"
        )

    report = {
        "versions": args.versions,
        "checks_compared": common,
        "prowler_only_checks": only_p,
        "citadel_only_checks": only_c,
        "keys": total_keys,
        "agree": agree,
        "explained": explained,
        "unexplained": len(unexplained),
        "agreement_pct": round(pct, 2),
        "agreement_with_explained_pct": round(pct_expl, 2),
        "per_check": {c: dict(v) for c, v in per_check.items()},
        "differences": diffs,
        "stale_difference_rows": [r["line"] for r in stale],
        "agent_problems": citadel_problems,
        "benchmark": bench,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nreport: {args.out}")
    sys.exit(1 if unexplained else 0)


def row(key, kind, pf, cf, by_arn, rule):
    return {
        "check": key[0],
        "resource": key[1],
        "name": by_arn.get(key[1]),
        "kind": kind,
        "prowler_status": "/".join(sorted({f["status"] for f in pf})),
        "citadel_status": "/".join(sorted({f["status"] for f in cf})),
        "prowler_severity": pf[0]["severity"] if pf else None,
        "citadel_severity": cf[0]["severity"] if cf else None,
        "prowler_text": pf[0]["text"] if pf else None,
        "citadel_text": cf[0]["text"] if cf else None,
        "prowler_muted": any(f["muted"] for f in pf),
        "explained_by": f"DIFFERENCES.md:{rule['line']}: {rule['why']}" if rule else None,
    }


if __name__ == "__main__":
    main()
