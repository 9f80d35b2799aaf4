#!/usr/bin/env python3
"""End-to-end benchmark: licensed's first round on a 10,000-user tenant.

The simulator (tests/graphsim) answers every request after 20 ms and lets
20 writes per second through (token bucket, burst 20; inner $batch
requests count one each, GRAPH.md 6); licensed runs with write_rate = 20.
Writes are the bottleneck (GRAPH.md 7), so the lower bound of a round is
the writes it needs / 20 per second.  Prints the round's wall time, the
requests the simulator saw (its request log), the writes needed (from
`licensed plan --json` just before), the ratio to the lower bound
(target: at most 1.2), then a second `once`, which must send no write.

  BUILD=build python3 tests/bench/bench_e2e.py [--users N] [--keep]

Started by `make bench`.  Exits 0 when the rounds ran, whether or not the
targets were met (the output says which), 1 when something failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import simtest  # noqa: E402

MKTENANT = os.path.join(ROOT, "tests", "graphsim", "mktenant.py")
WRITE_RATE = 20
LATENCY_MS = 20
FAULTS = {"faults": [
    {"type": "latency", "ms": LATENCY_MS},
    {"type": "rate_limit", "kind": "write", "rps": WRITE_RATE,
     "burst": WRITE_RATE},
]}
TARGET_RATIO = 1.2
ROUND_TIMEOUT = 3 * 3600
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def make_tenant(tmp, n_users):
    """mktenant.py: one SKU with a seat for everybody (plus headroom), 5%
    of users with a direct license of their own, 5% without a usage
    location, two groups with group-based licensing."""
    path = os.path.join(tmp, "tenant.json")
    subprocess.run([sys.executable, MKTENANT, "--users", str(n_users),
                    "--groups", "20", "--seed", "1", "--out", path,
                    "--skus", "ENTERPRISEPACK:1.0", "--direct", "0.05",
                    "--secret", simtest.SECRET], check=True)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def make_policy(doc):
    """Office 365 E3 without Sway for the departments: mktenant.py makes
    the first quarter of the groups departments nesting all the teams, so
    every user in a group is a member."""
    departments = doc["groups"][:max(1, len(doc["groups"]) // 4)]
    return "\n".join(
        ["[defaults]", "usage_location = US", "", "[all-staff-e3]"] +
        ["group = %s" % g["id"] for g in departments] +
        ["sku = ENTERPRISEPACK", "disabled_plans = SWAY", ""])


def writes_needed(plan):
    """Inner write requests a round sends for this plan: one assignLicense
    per user with a change, one PATCH per usage location to set."""
    users = [u for u in plan["users"]
             if u["add"] or u["update"] or u["remove"]]
    patches = sum(1 for u in users if any(
        a.get("set_usage_location") for a in u["add"]))
    return len(users), patches


def tally(log):
    """Requests of a request log, by kind."""
    t = {"token": 0, "reads": 0, "batches": 0, "inner_writes": 0,
         "assign": 0, "patch": 0, "direct_writes": 0, "throttled": 0}
    for e in log:
        path = e.get("path", "")
        t["throttled"] += e.get("status") == 429
        if "/oauth2/" in path or e.get("port") == "http":
            t["token"] += 1
        elif "batch" in e:
            if e["method"] in WRITE_METHODS:
                t["inner_writes"] += 1
                t["assign"] += path.endswith("/assignLicense")
                t["patch"] += e["method"] == "PATCH"
        elif path.startswith("/v1.0/$batch"):
            t["batches"] += 1
        elif e["method"] in WRITE_METHODS:
            t["direct_writes"] += 1
        else:
            t["reads"] += 1
    return t


def licensed(conf, *args, timeout=ROUND_TIMEOUT):
    """Run build/licensed; (exit code, stdout, stderr, wall seconds)."""
    t0 = time.monotonic()
    rc, out, err = simtest.run([simtest.LICENSED, "-c", conf] + list(args),
                               timeout=timeout)
    return rc, out, err, time.monotonic() - t0


def last_lines(text, n=5):
    return "\n".join("    " + line for line in text.strip().splitlines()[-n:])


def round_line(name, rc, wall, t):
    return ("%s: exit %d, wall %.1f s; requests: %d reads, %d $batch, "
            "%d inner writes (%d assignLicense, %d PATCH), %d outside "
            "$batch, %d answered 429, %d token" % (
                name, rc, wall, t["reads"], t["batches"], t["inner_writes"],
                t["assign"], t["patch"], t["direct_writes"], t["throttled"],
                t["token"]))


def bench(sim, conf):
    rc, out, err, wall = licensed(conf, "plan", "--json", timeout=600)
    if rc not in (0, 1):
        print("bench_e2e: plan failed (exit %d):\n%s" % (rc, last_lines(err)))
        return 1
    plan = json.loads(out)
    n_assign, n_patch = writes_needed(plan)
    needed = n_assign + n_patch
    t = plan["totals"]
    print("plan before the round (%.1f s): %d add, %d update, %d remove, "
          "%d waiting for seats; writes needed: %d assignLicense + %d "
          "usageLocation PATCH = %d" % (
              wall, t["add"], t["update"], t["remove"],
              t["waiting_for_seats"], n_assign, n_patch, needed))
    sim.reset_log()
    rc, out, err, wall = licensed(conf, "once")
    first = tally(sim.log())
    print(round_line("first once", rc, wall, first))
    if rc not in (0, 1):
        print("bench_e2e: once failed:\n%s" % last_lines(err))
        return 1
    bound = needed / WRITE_RATE
    ratio = wall / bound if bound else float("inf")
    print("lower bound: %d writes / %d per s = %.1f s; wall / lower bound "
          "= %.3f" % (needed, WRITE_RATE, bound, ratio))
    if first["inner_writes"] + first["direct_writes"] != needed:
        print("note: %d writes sent for %d needed (429s are retried)" % (
            first["inner_writes"] + first["direct_writes"], needed))
    sim.reset_log()
    rc2, out, err, wall2 = licensed(conf, "once")
    second = tally(sim.log())
    print(round_line("second once", rc2, wall2, second))
    sent = second["inner_writes"] + second["direct_writes"]
    print("target first round <= %.1fx lower bound: %s (%.3f)" % (
        TARGET_RATIO, "met" if ratio <= TARGET_RATIO else "NOT met", ratio))
    print("target second round sends 0 writes: %s (%d)" % (
        "met" if sent == 0 else "NOT met", sent))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--keep", action="store_true",
                    help="keep the simulator's directory (prints it)")
    args = ap.parse_args(argv)
    if not os.access(simtest.LICENSED, os.X_OK):
        print("bench_e2e: %s missing; run make" % simtest.LICENSED)
        return 1
    if args.keep:
        os.environ["KEEP_SIM"] = "1"
    tmp = tempfile.mkdtemp(prefix="licensed-bench.")
    try:
        doc = make_tenant(tmp, args.users)
        print("bench_e2e: first round on a %d-user simulated tenant (%d "
              "groups, 1 SKU); simulator: %d ms per request, writes %d/s "
              "(burst %d); licensed: write_rate = %d" % (
                  args.users, len(doc["groups"]), LATENCY_MS, WRITE_RATE,
                  WRITE_RATE, WRITE_RATE))
        with simtest.Sim(doc, faults=FAULTS) as sim:
            auth = "client_id = %s\nclient_secret_file = client-secret\n" % (
                doc["apps"][0]["clientId"])
            conf = sim.config(policy=make_policy(doc), auth=auth,
                              extra="write_rate = %d" % WRITE_RATE)
            return bench(sim, conf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
