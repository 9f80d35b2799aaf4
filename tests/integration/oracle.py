"""Shared by test_crash.py and test_soak.py: a tenant whose group
memberships churn, the policy for it, an independent oracle of what that
policy means (SPEC 5.1-5.3: transitive members, precedence best-first with
plentiful seats, disabled plans as the intersection of the rules' sets,
owned mode, hand-assigned and group-inherited licenses left alone), the
reading of licensed's ownership records, and a harness that runs
`licensed once`, kills it with SIGKILL after K writes seen in the
simulator's request log, and waits until the simulator is idle.

Everything is seeded; every failure message names the seed, the round,
the user (object id and UPN), the SKU and what the request log says
happened to that user and SKU.
"""
import bisect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from simtest import LICENSED, gid, run, tenant, uid, user

E3 = "ENTERPRISEPACK"
E5 = "SPE_E5"
EMS = "EMS"          # not in the policy: never to be touched
SKU_IDS = {E3: "6fd2c87f-b296-42f0-b197-1e91e994b900",
           E5: "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
           EMS: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"}
SKU_PART = {v: k for k, v in SKU_IDS.items()}
MANAGED = (E3, E5)
CHAIN = (E5, E3)     # [precedence] office = SPE_E5 > ENTERPRISEPACK

# Groups.  G_E3/G_E3B/G_E5 carry rules; G_NEST is nested in G_E3 or G_E5
# (the soak moves it), G_SUB is nested in G_NEST; G_GBL gives E3 through
# Entra group-based licensing to a few static members.
G_E3, G_E3B, G_E5, G_NEST, G_SUB, G_GBL = (gid(n) for n in range(1, 7))
GROUP_NAME = {G_E3: "E3", G_E3B: "E3-lite", G_E5: "E5", G_NEST: "Nested",
              G_SUB: "Sub-nested", G_GBL: "GBL"}
CHURNED = (G_E3, G_E3B, G_E5, G_NEST, G_SUB)
USER_GROUPS = ((G_E3, 30), (G_E5, 30), (G_E3B, 15), (G_NEST, 15),
               (G_SUB, 10))

# Rule names are single words that cannot be mistaken for a marker in a
# state file line.
RULES = (("e3-std", G_E3, E3, frozenset({"SWAY", "YAMMER_ENTERPRISE"})),
         ("e3-lite", G_E3B, E3, frozenset({"SWAY", "TEAMS1"})),
         ("e5-all", G_E5, E5, frozenset({"SWAY"})))

SETTLE_SEC = 600     # OWNED_SETTLE_SEC of policy/model.h (SPEC 5.7)

UNCONFIRMED_MARKS = {"unconfirmed", "intent", "u", "?", "unknown",
                     "pending", "unsettled", "no", "false"}
CONFIRMED_MARKS = {"confirmed", "c", "yes", "true", "ok", "settled"}


class World:
    """The test's own model of the tenant: who is directly in which group,
    which licenses were assigned by hand, who inherits what.  Users 1-3
    hold EMS by hand, 4-6 ENTERPRISEPACK by hand (all plans on), 7 SPE_E5
    by hand; 8 is excluded by the policy; 9-10 inherit ENTERPRISEPACK from
    G_GBL; 11-14 have no usage location ([defaults] gives US).  Everyone,
    these included, churns through the rule groups."""

    def __init__(self, n_users, rng):
        self.n = n_users
        self.rng = rng
        self.users = [uid(i) for i in range(1, n_users + 1)]
        self.upn = {u: "user%d@contoso.onmicrosoft.com" % i
                    for i, u in enumerate(self.users, 1)}
        self.members = {g: set() for g in CHURNED}
        self.members[G_E3].add(G_NEST)
        self.members[G_NEST].add(G_SUB)
        self.hand = {}           # user -> {sku part: frozenset(disabled)}
        for i in (1, 2, 3):
            self.hand.setdefault(uid(i), {})[EMS] = frozenset()
        for i in (4, 5, 6):
            self.hand.setdefault(uid(i), {})[E3] = frozenset()
        self.hand.setdefault(uid(7), {})[E5] = frozenset()
        self.excluded = {uid(8)}
        self.gbl = [uid(9), uid(10)]
        self.no_location = {uid(i) for i in (11, 12, 13, 14)}
        for u in self.users:     # a start: about a third in some group
            if rng.random() < 0.35:
                self.members[self._pick_group()].add(u)

    # ---- the tenant and the policy -----------------------------------

    def tenant_doc(self):
        users = []
        for i, u in enumerate(self.users, 1):
            lic = [{"sku": s, "disabledPlans": sorted(p)}
                   for s, p in sorted(self.hand.get(u, {}).items())]
            users.append(user(i, usage=None if u in self.no_location
                              else "US", licenses=lic))
        groups = [{"id": g, "displayName": GROUP_NAME[g],
                   "members": sorted(self.members[g])} for g in CHURNED]
        groups.append({"id": G_GBL, "displayName": "GBL",
                       "members": list(self.gbl),
                       "licenses": [{"sku": E3, "disabledPlans": []}]})
        return tenant(users, groups, skus=[
            {"skuPartNumber": E3, "enabled": 10000},
            {"skuPartNumber": E5, "enabled": 10000},
            {"skuPartNumber": EMS, "enabled": 100}])

    def policy(self):
        text = ("[defaults]\nusage_location = US\n\n[exclude]\nusers = %s\n\n"
                "[precedence]\noffice = %s > %s\n" %
                (", ".join(sorted(self.excluded)), E5, E3))
        for name, g, sku, off in RULES:
            text += ("\n[%s]\ngroup = %s\nsku = %s\ndisabled_plans = %s\n" %
                     (name, g, sku, ", ".join(sorted(off))))
        return text

    def members_doc(self):
        return {g: sorted(self.members[g]) for g in CHURNED}

    # ---- membership churn --------------------------------------------

    def _pick_group(self):
        r = self.rng.uniform(0, sum(w for _, w in USER_GROUPS))
        for g, w in USER_GROUPS:
            r -= w
            if r <= 0:
                return g
        return USER_GROUPS[-1][0]

    def _user_memberships(self):
        return [(g, m) for g in CHURNED for m in sorted(self.members[g])
                if m in self.upn]

    def churn(self, n_ops, nesting=True, waves=False):
        """n_ops random changes; returns them as text for messages.  A
        wave (rare) moves many users at once: a round of 100+ writes."""
        done = []
        for _ in range(n_ops):
            op = self.rng.choices(
                ("join", "leave", "move", "renest", "cycle", "wave"),
                (40, 30, 25, 4 if nesting else 0, 1 if nesting else 0,
                 1 if waves else 0))[0]
            if op == "wave":
                g = self.rng.choice((G_SUB, G_E3B, G_E5))
                users = [m for m in self.members[g] if m in self.upn]
                if len(users) > self.n // 4:
                    self.members[g] -= set(users)
                    done.append("wave: %d users leave %s" % (
                        len(users), GROUP_NAME[g]))
                else:
                    new = self.rng.sample(self.users, self.n * 2 // 5)
                    self.members[g] |= set(new)
                    done.append("wave: %d users join %s" % (
                        len(new), GROUP_NAME[g]))
            elif op == "join":
                u, g = self.rng.choice(self.users), self._pick_group()
                if u not in self.members[g]:
                    self.members[g].add(u)
                    done.append("%s joins %s" % (self.short(u),
                                                 GROUP_NAME[g]))
            elif op == "leave":
                pairs = self._user_memberships()
                if pairs:
                    g, u = self.rng.choice(pairs)
                    self.members[g].discard(u)
                    done.append("%s leaves %s" % (self.short(u),
                                                  GROUP_NAME[g]))
            elif op == "move":      # between the E3 and E5 groups
                pairs = [(g, m) for g, m in self._user_memberships()
                         if g in (G_E3, G_E3B, G_E5)]
                if pairs:
                    g, u = self.rng.choice(pairs)
                    to = G_E5 if g != G_E5 else self.rng.choice((G_E3,
                                                                 G_E3B))
                    self.members[g].discard(u)
                    self.members[to].add(u)
                    done.append("%s moves %s -> %s" % (
                        self.short(u), GROUP_NAME[g], GROUP_NAME[to]))
            elif op == "renest":    # the nested group changes parent
                frm, to = ((G_E3, G_E5) if G_NEST in self.members[G_E3]
                           else (G_E5, G_E3))
                self.members[frm].discard(G_NEST)
                self.members[to].add(G_NEST)
                done.append("group Nested moves %s -> %s" % (
                    GROUP_NAME[frm], GROUP_NAME[to]))
            else:                   # E5 into Sub-nested (maybe a cycle)
                if G_E5 in self.members[G_SUB]:
                    self.members[G_SUB].discard(G_E5)
                    done.append("group E5 leaves Sub-nested")
                else:
                    self.members[G_SUB].add(G_E5)
                    done.append("group E5 joins Sub-nested")
        return done

    def empty(self):
        for g in CHURNED:
            self.members[g] = set()

    # ---- the oracle ----------------------------------------------------

    def transitive(self, g):
        seen, queue, users = {g}, [g], set()
        for cur in queue:
            for m in self.members.get(cur, ()):
                if m in self.upn:
                    users.add(m)
                elif m not in seen:
                    seen.add(m)
                    queue.append(m)
        return users

    def inherited(self, u):
        return {E3} if u in self.gbl else set()

    def expected(self):
        """user -> {managed SKU part: frozenset(disabled plan names)}: the
        direct assignments the tenant must show once licensed converged."""
        rules_of = {}
        for name, g, sku, off in RULES:
            for u in self.transitive(g):
                rules_of.setdefault(u, []).append((sku, off))
        out = {}
        for u in self.users:
            want = {s: p for s, p in self.hand.get(u, {}).items()
                    if s in MANAGED}
            rules = rules_of.get(u, [])
            best = next((s for s in CHAIN if any(r[0] == s for r in rules)),
                        None)
            if (best and u not in self.excluded and best not in want and
                    best not in self.inherited(u)):
                want[best] = frozenset.intersection(
                    *[off for s, off in rules if s == best])
            out[u] = want
        return out

    def hand_pairs(self):
        return {(u, s) for u, d in self.hand.items() for s in d}

    def short(self, u):
        return self.upn.get(u, u).split("@")[0]

    def who(self, u):
        return "%s (%s)" % (u, self.upn.get(u, "?"))


# ---- reading the tenant and the state --------------------------------

def direct(state):
    """user -> {SKU part: frozenset(disabled plans)} of direct licenses."""
    return {u["id"]: {lic["sku"]: frozenset(lic.get("disabledPlans") or [])
                      for lic in u.get("licenses") or []}
            for u in state["users"]}


def inherited(state):
    return {u["id"]: sorted((i["sku"], i["group"], i["state"])
                            for i in u.get("inheritedLicenses") or [])
            for u in state["users"]}


def plans(p):
    return "{%s}" % ", ".join(sorted(p))


class Record:
    def __init__(self, user_id, sku_part, since, confirmed, line):
        self.user, self.sku, self.since = user_id, sku_part, since
        self.confirmed = confirmed   # True, False, or None (no marker)
        self.line = line


def read_records(state_dir):
    """(version, {(user, SKU part): Record}, problem) from the generation
    the next round will load: STATE_DIR/state, or STATE_DIR/state.prev
    when a save was killed between its two renames (state missing).
    Tolerant of the format: lines "owned USER SKU SINCE ..." with a
    confirmed/unconfirmed marker somewhere after SINCE (version 2: c|u),
    or "intent"/"unconfirmed" lines.  Version 1 has no marker: every
    record counts as confirmed."""
    for name in ("state", "state.prev"):
        try:
            with open(os.path.join(state_dir, name), encoding="utf-8",
                      errors="replace") as f:
                return parse_records(f.read())
        except FileNotFoundError:
            continue
    return None, {}, None


def parse_records(text):
    lines = text.split("\n")
    version, problem = None, None
    head = lines[0].split()
    if len(head) == 2 and head[0] == "licensed-state" and head[1].isdigit():
        version = int(head[1])
    else:
        problem = "first line is %r, not 'licensed-state N'" % lines[0][:80]
    if "end" not in lines:
        problem = "no closing 'end' line (cut short?)"
    rule_words = {w for name, _, _, _ in RULES for w in name.split()}
    recs = {}
    for line in lines[1:]:
        toks = line.split()
        if len(toks) < 3 or toks[0] not in ("owned", "intent",
                                            "unconfirmed"):
            continue
        sku = SKU_PART.get(toks[2].lower(), toks[2].lower())
        since = int(toks[3]) if len(toks) > 3 and toks[3].isdigit() else None
        confirmed = True if version == 1 else None
        if toks[0] != "owned":
            confirmed = False
        for t in toks[3:]:
            tl = t.lower().strip("[]()=,;")
            if t in rule_words or t.isdigit() and t == toks[3]:
                continue
            if tl in UNCONFIRMED_MARKS or tl.startswith("unconfirm"):
                confirmed = False
            elif tl in CONFIRMED_MARKS or tl.startswith("confirm"):
                confirmed = True
        recs[(toks[1].lower(), sku)] = Record(toks[1].lower(), sku, since,
                                              confirmed, line)
    return version, recs, problem


# ---- the request log -------------------------------------------------

def is_write(e):
    return (e["method"] in ("POST", "PATCH") and "/users/" in e["path"] and
            (e["path"].endswith("/assignLicense") or e["method"] == "PATCH"))


class Log:
    """The simulator's request log, read incrementally.  Each entry is
    attributed to the round during which it arrived (an inner $batch item
    to the round that sent its envelope, even when the simulator applied
    it after that round was killed and the next one had started)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.entries = []
        self.by_seq = {}
        self.starts = [float("-inf")]   # monotonic start of each round
        self.labels = ["setup"]
        self.first = {"setup": 0}       # label -> index of its first entry

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        new = []
        for raw in lines:
            if raw.strip():
                e = json.loads(raw)
                self.entries.append(e)
                self.by_seq[e["seq"]] = e
                new.append(e)
        return new

    def start(self, label):
        self.poll()
        self.starts.append(time.monotonic())
        self.labels.append(label)
        self.first[label] = len(self.entries)

    def round_of(self, e):
        env = self.by_seq.get(e.get("batch")) if e.get("batch") else None
        return self._round_at((env or e)["t_mono"])

    def _round_at(self, t):
        return self.labels[bisect.bisect_right(self.starts, t) - 1]

    def writes_since(self, index):
        return [e for e in self.entries[index:] if is_write(e)]

    def of_round(self, label):
        """Entries of a round: logged after it started, sent during it."""
        return [e for e in self.entries[self.first.get(label, 0):]
                if self.round_of(e) == label]

    def writes_of(self, label):
        return [e for e in self.of_round(label) if is_write(e)]

    def history(self, user_id, sku_part, limit=12):
        """What the log says happened to (user, SKU): lines for messages."""
        sku = SKU_IDS.get(sku_part, sku_part)
        out = []
        for e in self.entries:
            if not is_write(e) or user_id not in e["path"]:
                continue
            body = e.get("body") or {}
            adds = [a.get("skuId") for a in body.get("addLicenses") or []]
            rems = body.get("removeLicenses") or []
            if e["method"] == "POST" and sku not in adds + rems:
                continue
            what = ("PATCH usageLocation" if e["method"] == "PATCH" else
                    "assignLicense add=%s remove=%s" % (
                        [SKU_PART.get(a, a) for a in adds],
                        [SKU_PART.get(r, r) for r in rems]))
            env = ""
            if e.get("batch") is not None:
                b = self.by_seq.get(e["batch"])
                env = " in $batch #%s -> %s" % (
                    e["batch"], "envelope not yet logged" if b is None else
                    "connection dropped" if b["status"] is None else
                    "envelope %s%s" % (b["status"], " faults %s" % b[
                        "faults"] if b["faults"] else ""))
                applied = self._round_at(e["t_mono"])
                if applied != self.round_of(e):
                    env += ", applied during %s" % applied
            out.append("      [%s] #%d %s -> %s%s%s" % (
                self.round_of(e), e["seq"], what,
                "dropped" if e["status"] is None else e["status"],
                " faults %s" % e["faults"] if e["faults"] else "", env))
        if len(out) > limit:
            out = out[:2] + ["      ..."] + out[-(limit - 2):]
        return out or ["      (no write for it in the request log)"]



# ---- running licensed ------------------------------------------------

class Harness:
    """One simulator, one state dir, one World; rounds of `licensed once`
    labelled for the messages."""

    def __init__(self, test, sim, world, state_dir, seed, env_name,
                 daemon="", safety=""):
        """Rates are Graph's (write_rate and read_rate auto), as shipped."""
        self.test, self.sim, self.world = test, sim, world
        self.state_dir, self.seed, self.env_name = state_dir, seed, env_name
        self.conf = sim.config(
            policy=world.policy(), state_dir=state_dir, daemon=daemon,
            safety="removal_grace = 0\nmax_removal_percent = 100\n"
                   "max_removals = 100000\n" + safety)
        self.log = Log(sim.path("requests.jsonl"))
        self.round_no = 0
        self.stderr = {}            # label -> stderr tail
        self.events = []            # what happened, for messages
        self.slowest = (0.0, None)  # (seconds, label) of the longest round

    # ---- messages ----------------------------------------------------

    def where(self):
        return "%s=%d (rerun: cd tests/integration && %s=%d BUILD=%s " \
               "python3 -m unittest -v %s)" % (
                   self.env_name, self.seed, self.env_name, self.seed,
                   os.environ.get("BUILD", "build"),
                   self.test.id().rsplit(".", 1)[0])

    def fail(self, what, problems, extra=()):
        lines = ["%s; %s" % (what, self.where())]
        lines += ["  " + p for p in problems[:25]]
        if len(problems) > 25:
            lines.append("  ... and %d more" % (len(problems) - 25))
        lines += list(extra)
        try:
            files = sorted(os.listdir(self.state_dir))
        except OSError:
            files = []
        lines.append("  state dir %s: %s" % (self.state_dir,
                                             " ".join(files) or "empty"))
        lines.append("  last events:")
        lines += ["    " + (e if len(e) < 400 else e[:400] + " ...")
                  for e in self.events[-12:]]
        for label in list(self.stderr)[-3:]:
            err = self.stderr[label]
            keep = [x for x in err if any(w in x.lower() for w in (
                "fail", "error", "gave up", "cannot", "warn", "unknown",
                "not held", "held by", "dropped", "lost"))]
            lines.append("  stderr of %s (%d lines; failures and the "
                         "summary):" % (label, len(err)))
            if err and keep and keep[-1] == err[-1]:
                keep.pop()
            lines += ["    " + x for x in (keep[-10:] + err[-1:])]
        self.test.fail("\n".join(lines))

    def note(self, text):
        self.events.append(text)

    # ---- the simulator -------------------------------------------------

    def control(self, method, name, doc=None):
        """A control endpoint over the simulator's plain HTTP port (no TLS
        handshake per poll); each call is idempotent, so retried on a
        connection error."""
        data = json.dumps(doc).encode() if doc is not None else None
        url = "http://127.0.0.1:%d/_sim/%s" % (self.sim.http, name)
        for attempt in range(5):
            req = urllib.request.Request(
                url, data=data, method=method,
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    return json.loads(r.read() or b"null")
            except (urllib.error.URLError, ConnectionError) as e:
                if isinstance(e, urllib.error.HTTPError) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return None

    def set_members(self):
        self.control("POST", "members", self.world.members_doc())

    def set_faults(self, doc):
        self.control("POST", "faults", doc)

    def wait_idle(self, timeout=30):
        """Until the simulator has finished every request (three quiet
        polls in a row): what a killed round sent has taken effect."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 3:
            n = self.control("GET", "inflight")["inflight"]
            quiet = quiet + 1 if n == 0 else 0
            if time.monotonic() > deadline:
                self.fail("the simulator is still busy after %d s" % timeout,
                          ["%d requests in flight" % n])
            time.sleep(0.02)
        self.log.poll()

    def state(self):
        return self.control("GET", "state")

    # ---- licensed ------------------------------------------------------

    def _label(self, kind):
        self.round_no += 1
        label = "round %d (%s)" % (self.round_no, kind)
        self.log.start(label)
        return label

    def once(self, kind, timeout=60):
        """One `licensed once` to its end: (rc, stderr, seconds, label)."""
        label = self._label(kind)
        t0 = time.monotonic()
        try:
            rc, _, err = run([LICENSED, "-c", self.conf, "once"],
                             timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("%s did not end within %d s (an unbounded wait?)" %
                      (label, timeout), self.last_requests(label))
        dt = time.monotonic() - t0
        if dt > self.slowest[0]:
            self.slowest = (dt, label)
        self.stderr[label] = err.splitlines()
        self.log.poll()
        self.note("%s: exit %d in %.1f s; %s" % (
            label, rc, dt, (err.strip().splitlines() or ["(no output)"])[-1]))
        return rc, err, dt, label

    def once_killed(self, kind, k_writes, timeout=60):
        """`licensed once`, SIGKILLed as soon as the request log shows
        k_writes writes of this round.  (killed, rc, writes seen, label)."""
        label = self._label(kind)
        start = len(self.log.entries)
        errf = open(self.state_dir + ".stderr", "w+")
        p = subprocess.Popen([LICENSED, "-c", self.conf, "once"],
                             stdout=subprocess.DEVNULL, stderr=errf)
        t0 = time.monotonic()
        seen, killed, hung = 0, False, False
        try:
            while p.poll() is None:
                self.log.poll()
                seen = len(self.log.writes_since(start))
                if seen >= k_writes:
                    p.send_signal(signal.SIGKILL)
                    killed = True
                    break
                if time.monotonic() - t0 > timeout:
                    hung = True
                    break
                time.sleep(0.003)
        finally:
            if p.poll() is None and not killed:
                p.kill()
            p.wait()
            errf.seek(0)
            self.stderr[label] = errf.read().splitlines()
            errf.close()
        self.log.poll()
        self.note("%s: %s after %d writes (aimed at %d), %.1f s" % (
            label, "killed" if killed else "hung, killed" if hung else
            "ended by itself, exit %d" % p.returncode, seen, k_writes,
            time.monotonic() - t0))
        if hung:
            self.fail("%s did not end within %d s (an unbounded wait?)" %
                      (label, timeout), self.last_requests(label))
        return killed, p.returncode, seen, label

    def writes_of(self, label):
        return self.log.writes_of(label)

    def last_requests(self, label, n=20):
        """The round's last requests, with times since its start."""
        self.log.poll()
        t0 = self.log.starts[self.log.labels.index(label)]
        out = ["the last requests of %s (s after its start):" % label]
        for e in self.log.of_round(label)[-n:]:
            out.append("  %7.2f #%d%s %s %s -> %s%s%s" % (
                e["t_mono"] - t0, e["seq"],
                " (in #%s)" % e["batch"] if e.get("batch") else "",
                e["method"], e["path"][-70:],
                "dropped" if e["status"] is None else e["status"],
                " Retry-After %s" % e["retry_after"] if e.get(
                    "retry_after") else "",
                " faults %s" % e["faults"] if e["faults"] else ""))
        return out

    # ---- checks --------------------------------------------------------

    def tenant_problems(self, st, expected=None):
        """Differences between the tenant and the oracle, one line each."""
        w = self.world
        expected = expected if expected is not None else w.expected()
        have = direct(st)
        out = []
        for u in w.users:
            got = {s: p for s, p in have.get(u, {}).items() if s in MANAGED}
            want = expected[u]
            for s in MANAGED:
                if s in want and s not in got:
                    out.append("%s lacks %s (wanted, plans off %s)" % (
                        w.who(u), s, plans(want[s])))
                elif s in got and s not in want:
                    out.append("%s holds %s directly, which the policy "
                               "does not give it%s" % (
                                   w.who(u), s, " (licensed's orphan)"
                                   if (u, s) not in w.hand_pairs() else ""))
                elif s in got and got[s] != want[s]:
                    out.append("%s holds %s with plans off %s, want %s" % (
                        w.who(u), s, plans(got[s]), plans(want[s])))
        out += self.untouched_problems(st)
        return out

    def untouched_problems(self, st):
        """Hand-assigned and inherited licenses exactly as at the start."""
        w = self.world
        have, inh = direct(st), inherited(st)
        out = []
        for u, d in w.hand.items():
            for s, p in d.items():
                if have.get(u, {}).get(s) != p:
                    out.append("hand-assigned %s of %s was changed: now %s" % (
                        s, w.who(u), "gone" if s not in have.get(u, {})
                        else "plans off " + plans(have[u][s])))
            for s in have.get(u, {}):
                if s not in MANAGED and s not in d:
                    out.append("%s got unmanaged %s" % (w.who(u), s))
        for u in w.gbl:
            if inh.get(u) != [(E3, G_GBL, "Active")]:
                out.append("inherited licenses of %s changed: %s" % (
                    w.who(u), inh.get(u)))
        return out

    def record_problems(self, st, settled):
        """The ownership records against the tenant.  Always: every direct
        managed license that was not assigned by hand has a record (else
        licensed will never remove it) and no record claims a hand-assigned
        license.  settled (a round ran after the simulator went idle):
        records of licenses the user does not hold are only unconfirmed
        intents younger than SETTLE_SEC, and the held ones are confirmed."""
        w = self.world
        version, recs, problem = read_records(self.state_dir)
        out = []
        if problem:
            out.append("state file %s/state: %s" % (self.state_dir, problem))
        hand = w.hand_pairs()
        have = direct(st)
        held = {(u, s) for u, d in have.items() for s in d if s in MANAGED}
        for u, s in sorted(held - hand):
            if (u, s) not in recs:
                out.append("%s holds %s (assigned by licensed, not by hand) "
                           "but licensed has no ownership record: it will "
                           "never remove it" % (w.who(u), s))
        for u, s in sorted(hand & set(recs)):
            out.append("licensed claims the hand-assigned %s of %s: %s" % (
                s, w.who(u), recs[(u, s)].line))
        if settled:
            out += self.status_problems()
            now = time.time()
            for (u, s), r in sorted(recs.items()):
                if (u, s) in held or (u, s) in hand:
                    if (u, s) in held and r.confirmed is False:
                        out.append("record of %s %s still unconfirmed "
                                   "though a complete read showed it: %s" %
                                   (w.who(u), s, r.line))
                    continue
                young = r.since is not None and now - r.since < SETTLE_SEC
                if r.confirmed is True or not young:
                    out.append("record of %s %s, which the user does not "
                               "hold (%s, version %s): %s" % (
                                   w.who(u), s, "confirmed" if r.confirmed
                                   else "unconfirmed" if r.confirmed is False
                                   else "no marker", version, r.line))
        return out

    def status_problems(self):
        """`licensed status --json` agrees with the state file: its "owned"
        count is the number of ownership records, its "state" is "ok"."""
        _, recs, _ = read_records(self.state_dir)
        rc, out, err = run([LICENSED, "-c", self.conf, "status", "--json"])
        if rc != 0:
            return ["status --json exited %d: %s" % (rc, err.strip()[-300:])]
        try:
            doc = json.loads(out)
        except ValueError:
            return ["status --json printed no JSON: %r" % out[:200]]
        out = []
        owned = doc.get("owned")
        if isinstance(owned, int) and owned != len(recs):
            out.append("status --json says owned %d, the state file holds %d "
                       "ownership records" % (owned, len(recs)))
        if doc.get("state", "ok") != "ok":
            out.append("status --json: state %r" % doc.get("state"))
        return out

    def with_history(self, problems):
        """Each problem that names a user and a SKU, with its log history."""
        out = []
        for p in problems:
            out.append(p)
            u = next((x for x in self.world.users if x in p), None)
            s = next((x for x in (E5, E3) if x in p), None)
            if u and s:
                out += self.log.history(u, s)
        return out


def fault_doc(rng, seed, level):
    """A random fault set for one round (level 0-3: how hostile)."""
    p = (0.0, 0.04, 0.08, 0.12)[level]
    faults = [
        {"type": "latency", "ms": rng.choice((2, 5, 10)),
         "path": "/assignLicense$|^/v1\\.0/users/[^/?]+$", "name": "slow"},
        # answered 429, with and without Retry-After (writes and reads)
        {"type": "status", "status": 429, "retry_after": "0.05",
         "probability": p, "path": "/assignLicense$", "name": "429-ra"},
        {"type": "status", "status": 429, "probability": p / 3,
         "path": "/assignLicense$", "name": "429-bare"},
        {"type": "status", "status": 429, "retry_after": "0.02",
         "probability": p / 2, "method": "GET", "name": "429-read"},
        # 5xx: refused, and applied-then-503 (outcome unknown to licensed)
        {"type": "status", "status": 503, "retry_after": "0.05",
         "probability": p / 2, "path": "/assignLicense$", "name": "503"},
        {"type": "status", "status": 500, "apply": True,
         "probability": p / 2, "path": "/assignLicense$",
         "name": "500-applied"},
        {"type": "status", "status": 504, "apply": True, "retry_after": "0.05",
         "probability": p / 3, "path": "/users/[^/?]+$", "method": "PATCH",
         "name": "504-applied-patch"},
        # answers lost after the write was applied: $batch envelopes and
        # single requests
        {"type": "drop", "apply": True, "probability": p * 1.5, "count": 2,
         "path": "\\$batch", "method": "POST", "name": "drop-batch"},
        {"type": "drop", "apply": True, "probability": p, "count": 2,
         "path": "/assignLicense$", "name": "drop-single"},
        {"type": "drop", "probability": p / 3, "count": 1, "method": "GET",
         "name": "drop-read"},
    ]
    return {"seed": seed, "faults": faults}


def run_seeds(test, name, first, count, one_seed):
    """one_seed(seed, state_dir) for seeds first.., each a subTest in its
    own temporary directory; a long run prints its progress per seed."""
    for seed in range(first, first + count):
        with test.subTest(seed=seed):
            work = tempfile.mkdtemp(prefix="licensed-%s." % name)
            t0 = time.monotonic()
            try:
                one_seed(seed, os.path.join(work, "state"))
            finally:
                shutil.rmtree(work, ignore_errors=True)
                if count > 1:
                    print("%s seed %d: %.0f s" % (
                        name, seed, time.monotonic() - t0),
                          file=sys.stderr, flush=True)
