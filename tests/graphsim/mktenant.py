#!/usr/bin/env python3
"""Deterministic tenant generator for graphsim (tenant format: README.md).

  mktenant.py --users N --groups G --seed S --out FILE
              [--skus ENTERPRISEPACK:0.4,SPE_E5=100,...] [--headroom 0.1]
              [--no-location 0.05] [--direct 0.2] [--group-licensed 2]
              [--domain contoso.onmicrosoft.com] [--secret S]
              [--cert-thumbprint T]

Users get realistic names and usage locations (a share without one);
groups form a nesting DAG (departments > teams) with overlapping
membership; a share of users hold direct licenses (some with disabled
plans) and some groups carry group-based licenses, whose direct members
inherit them. Seats per SKU are a share of the users plus headroom (never
below what the generated tenant consumes) or an exact number (which may be,
as in real tenants, below it). The same arguments always give the same
file.
"""

import argparse
import json
import math
import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from catalog import Catalog  # noqa: E402

FIRST = """Aaliyah Adele Ahmed Aiko Alan Alex Alice Amara Amelia Ana Andrea
Anna Arjun Astrid Ben Bianca Carlos Chen Chloe Clara Daniel David Diego Elena
Elif Emma Erik Eva Fatima Felix Finn Gabriel Grace Hana Hannah Hugo Ingrid
Isabel Ivan Jack James Jana Javier Jonas Julia Kai Karin Kenji Lars Laura
Lea Leon Liam Lina Lucas Luis Maja Marco Maria Mateo Mei Mia Miguel Mila Nadia
Noah Nora Olivia Omar Oscar Paula Pedro Priya Rafael Rania Rosa Sam Sara
Sofia Sven Tariq Theo Tomas Valentina Victor Wei Yara Yusuf Zoe""".split()
LAST = """Abbott Andersen Bauer Becker Bianchi Brown Carter Chen Costa Dubois
Eriksson Fischer Garcia Gonzalez Hansen Hoffmann Ivanova Jansen Johnson Kato
Khan Kim Klein Kowalski Larsen Lee Lopez Martin Meyer Moreau Muller Nakamura
Nguyen Nielsen Novak Olsen Patel Perez Petrov Rossi Santos Schmidt Schneider
Silva Singh Smith Sousa Suzuki Tanaka Taylor Thomas Varga Wagner Walker Wang
Weber Williams Wilson Wong Yamamoto Young Zhang Zimmermann""".split()
DEPARTMENTS = """Sales Marketing Engineering Finance Legal Support Operations
HR Research Procurement Logistics Security Design Facilities Training
Partners Data Quality Compliance Product""".split()
TEAMS = """North South East West Central Platform Mobile Web Field Inside
Enterprise SMB Payroll Audit Tax Tier1 Tier2 Night Day Core""".split()
LOCATIONS = ["US"] * 8 + ["DE"] * 3 + ["GB"] * 3 + ["FR", "NL", "SE", "CA",
                                                      "AU", "JP", "IN", "BR"]
DEFAULT_SKUS = ("ENTERPRISEPACK:0.35,SPE_E3:0.3,SPE_E5:0.1,EMS:0.3,"
                "POWER_BI_PRO:0.15")


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def guid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def parse_skus(text, catalog, n_users, headroom):
    """[(product, seats, exact)] from PART:SHARE (share of users, plus
    headroom) or PART=SEATS (exact, may be below consumption) items."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if "=" in item:
            part, _, seats = item.partition("=")
            out.append((catalog.lookup(part), int(seats), True))
        else:
            part, _, share = item.partition(":")
            out.append((catalog.lookup(part), math.ceil(
                n_users * float(share or 0.2) * (1 + headroom)), False))
    return out


def make_groups(gen, n_groups):
    """Groups as a DAG: the first quarter are departments whose members
    include teams (higher index only, so no cycles)."""
    groups = []
    n_top = max(1, n_groups // 4)
    for i in range(n_groups):
        if i < n_top:
            name = DEPARTMENTS[i % len(DEPARTMENTS)]
            if i >= len(DEPARTMENTS):
                name += " %d" % (i // len(DEPARTMENTS) + 1)
        else:
            name = "%s %s" % (DEPARTMENTS[gen.rng.randrange(len(DEPARTMENTS))],
                              TEAMS[i % len(TEAMS)])
            name += " %d" % i
        groups.append({"id": gen.guid(), "displayName": name,
                       "securityEnabled": True, "members": []})
    for i in range(n_top, n_groups):
        # each team hangs under one or two departments or earlier teams
        for _ in range(gen.rng.choice((1, 1, 2))):
            parent = gen.rng.randrange(0, i)
            if groups[i]["id"] not in groups[parent]["members"]:
                groups[parent]["members"].append(groups[i]["id"])
    return groups


def make_users(gen, n_users, domain, no_location):
    users, seen = [], set()
    for i in range(n_users):
        first = gen.rng.choice(FIRST)
        last = gen.rng.choice(LAST)
        local = "%s.%s" % (first.lower(), last.lower())
        if local in seen:
            local += str(i)
        seen.add(local)
        users.append({
            "id": gen.guid(),
            "userPrincipalName": "%s@%s" % (local, domain),
            "displayName": "%s %s" % (first, last),
            "givenName": first, "surname": last,
            "accountEnabled": gen.rng.random() >= 0.03,
            "usageLocation": None if gen.rng.random() < no_location
            else gen.rng.choice(LOCATIONS),
            "licenses": [],
        })
    return users


def place_users(gen, users, groups):
    """Every user joins 1-3 groups (mostly teams), so membership overlaps
    and most users are reached through nesting."""
    n_top = max(1, len(groups) // 4)
    leaves = list(range(n_top, len(groups))) or [0]
    for u in users:
        for _ in range(gen.rng.choice((1, 1, 2, 3))):
            idx = gen.rng.choice(leaves) if gen.rng.random() < 0.85 else \
                gen.rng.randrange(len(groups))
            members = groups[idx]["members"]
            if not members or members[-1] != u["id"]:
                members.append(u["id"])


def disabled_plans(gen, prod):
    names = [name for _, name in prod.plans]
    k = gen.rng.choice((0, 0, 1, 2))
    return sorted(set(gen.rng.sample(names, min(k, len(names)))))


def license_users(gen, users, groups, skus, direct, n_group_licensed):
    """Direct licenses for a share of users; group licenses on a few
    groups. Returns consumed seats per skuId (one per user and SKU)."""
    held = {}
    for u in users:
        if gen.rng.random() < direct:
            prod = gen.rng.choice(skus)[0]
            u["licenses"].append({"sku": prod.part,
                                  "disabledPlans": disabled_plans(gen, prod)})
            held.setdefault(prod.sku_id, set()).add(u["id"])
    by_id = {u["id"]: u for u in users}
    for g in groups[-n_group_licensed:] if n_group_licensed else []:
        prod = gen.rng.choice(skus)[0]
        g["licenses"] = [{"sku": prod.part,
                          "disabledPlans": disabled_plans(gen, prod)}]
        for m in g["members"]:
            if m in by_id:
                held.setdefault(prod.sku_id, set()).add(m)
    return {k: len(v) for k, v in held.items()}


def build(args):
    catalog = Catalog(args.csv)
    gen = Gen(args.seed)
    skus = parse_skus(args.skus, catalog, args.users, args.headroom)
    tenant_id = gen.guid()
    groups = make_groups(gen, args.groups)
    users = make_users(gen, args.users, args.domain, args.no_location)
    place_users(gen, users, groups)
    consumed = license_users(gen, users, groups, skus, args.direct,
                             min(args.group_licensed, len(groups)))
    sku_specs = []
    for prod, seats, exact in skus:
        if not exact:
            seats = max(seats, consumed.get(prod.sku_id, 0))
        sku_specs.append({"skuPartNumber": prod.part, "enabled": seats,
                          "capabilityStatus": "Enabled"})
    app = {"clientId": gen.guid(), "displayName": "licensed",
           "secrets": [{"value": args.secret or
                        "graphsim-secret-%d" % args.seed}],
           "certificates": []}
    if args.cert_thumbprint:
        app["certificates"].append({"x5t#S256": args.cert_thumbprint})
    return {
        "tenant": {"id": tenant_id, "displayName": "Contoso",
                   "domains": [args.domain]},
        "tokenLifetime": 3599,
        "managedIdentity": {"clientId": gen.guid()},
        "apps": [app],
        "skus": sku_specs,
        "users": users,
        "groups": groups,
    }


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--groups", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--skus", default=DEFAULT_SKUS,
                    help="PART:SHARE (seats as a share of users) or "
                    "PART=SEATS, comma-separated")
    ap.add_argument("--headroom", type=float, default=0.1,
                    help="extra seats over a share (0.1 = 10%%)")
    ap.add_argument("--secret", help="the app's client secret "
                    "(default graphsim-secret-SEED)")
    ap.add_argument("--no-location", type=float, default=0.05,
                    help="share of users without usageLocation")
    ap.add_argument("--direct", type=float, default=0.2,
                    help="share of users with a direct license")
    ap.add_argument("--group-licensed", type=int, default=2,
                    help="number of groups with group-based licenses")
    ap.add_argument("--domain", default="contoso.onmicrosoft.com")
    ap.add_argument("--cert-thumbprint",
                    help="register a certificate (x5t#S256) for the app")
    ap.add_argument("--csv", help="SKU table (default: shared/data CSV)")
    args = ap.parse_args(argv)
    if args.users < 0 or args.groups < 1:
        ap.error("--users must be >= 0 and --groups >= 1")
    data = build(args)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
