"""The state file (SPEC section 6) with crafted files in state_dir: a bad
file is moved aside (never overwritten) and the previous generation used,
ownership records are never dropped, a newer format is refused and left
alone, version 1 files still load, and every save keeps the generation
before it.

The tenant of each case: users 1-3 hold ENTERPRISEPACK directly, the Sales
group holds users 1 and 2.  User 3 left, so a round that knows licensed
assigned user 3's license removes it (grace 0): the removal proves the
ownership records were used; an untrusted round would remove nothing.
"""
import glob
import json
import os
import re
import shutil
import tempfile
import time
import unittest

from simtest import E3, LICENSED, Sim, gid, run, tenant, uid, user

POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY
""" % gid(1)

SAFETY = "removal_grace = 0\nmax_removal_percent = 100"
PREV_ROUND = 41


def owned_line(n, flag="c ", since=1700000000):
    return "owned %s %s %d %ssales-e3\n" % (uid(n), E3, since, flag)


def state_text(round_, users=(1, 2, 3), version=2, pending=()):
    flag = "c " if version >= 2 else ""
    return ("licensed-state %d\nround %d\n" % (version, round_)
            + "".join(owned_line(n, flag) for n in users)
            + "".join("pending %s %s 1700000000\n" % (uid(n), E3)
                      for n in pending)
            + "end\n")


GOOD = state_text(PREV_ROUND + 1)

# SPEC 6 / issue 8 item 2: the five truncation points of the fault
# injection, an "end" cut in half, one garbage line, an over-long line.
BAD_FILES = {
    "empty": "",
    "cut in the header": GOOD[:10],
    "cut after the round line": GOOD[:GOOD.index("owned")],
    "cut in a record": GOOD[:GOOD.index("owned") + 50],
    "no end line": GOOD[:GOOD.index("end\n")],
    "end cut short": GOOD[:-2],
    "one garbage line": GOOD.replace(owned_line(2), owned_line(2)
                                     + "\x1b[0m%% garbage ~~ 17\n"),
    "a line over STATE_LINE_MAX": GOOD.replace(
        "end\n", "pending %s %s %s\nend\n" % (uid(9), E3, "1" * 600)),
}


def sales_tenant():
    held = [{"sku": "ENTERPRISEPACK", "disabledPlans": ["SWAY"]}]
    users = [user(i, licenses=held) for i in (1, 2, 3)]
    return tenant(users, [{"id": gid(1), "displayName": "Sales",
                           "members": [uid(1), uid(2)]}])


def skus_of(doc, n):
    u = next(x for x in doc["users"] if x["id"] == uid(n))
    return sorted(lic["sku"] for lic in u.get("licenses", []))


def records(text):
    """The (user, SKU) pairs of a state file's ownership records."""
    return set(re.findall(r"^owned (\S+) (\S+) ", text, re.M))


def writes(log):
    return [e for e in log if e.get("batch") is not None]


class State(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-state.")
        self.state = os.path.join(self.work, "state")
        os.makedirs(self.state, mode=0o700)

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.state, name)

    def put(self, name, text):
        with open(self.path(name), "wb") as f:
            f.write(text.encode("latin-1"))

    def get(self, name):
        with open(self.path(name), "rb") as f:
            return f.read().decode("latin-1")

    def asides(self):
        return sorted(glob.glob(self.path("state.corrupt-*")))

    def offline_conf(self):
        """A config for the commands that need no network (status)."""
        conf = os.path.join(self.work, "licensed.conf")
        with open(os.path.join(self.work, "client-secret"), "w") as f:
            f.write("secret\n")
        os.chmod(os.path.join(self.work, "client-secret"), 0o600)
        with open(os.path.join(self.work, "policy.ini"), "w") as f:
            f.write(POLICY)
        with open(conf, "w") as f:
            f.write("[tenant]\ntenant_id = %s\nclient_id = %s\n"
                    "client_secret_file = client-secret\n"
                    "[daemon]\npolicy = policy.ini\nstate_dir = %s\n"
                    % (uid(77), uid(78), self.state))
        return conf

    def status(self, conf=None):
        rc, out, err = run([LICENSED, "-c", conf or self.offline_conf(),
                            "status", "--json"])
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def once(self, sim):
        conf = sim.config(policy=POLICY, state_dir=self.state, safety=SAFETY)
        return run([LICENSED, "-c", conf, "once"])

    def last_round(self):
        with open(self.path("last-round.json")) as f:
            return json.load(f)["round"]

    def assert_complete(self, name):
        text = self.get(name)
        self.assertTrue(text.startswith("licensed-state 2\nround "), text)
        self.assertTrue(text.endswith("\nend\n"), text)

    def assert_records_used(self, sim, rc, err):
        """The round trusted the records: user 3's license is removed,
        users 1 and 2 keep theirs, nothing else is written."""
        self.assertEqual(rc, 0, err)
        self.assertNotIn("no removals until", err)
        doc = sim.state()
        self.assertEqual(skus_of(doc, 3), [], err)
        self.assertEqual(skus_of(doc, 1), ["ENTERPRISEPACK"])
        self.assertEqual(skus_of(doc, 2), ["ENTERPRISEPACK"])
        self.assertEqual(len(writes(sim.log())), 1, err)

    def test_bad_state_falls_back_to_the_previous_generation(self):
        for name, bad in BAD_FILES.items():
            with self.subTest(name), Sim(sales_tenant()) as sim:
                shutil.rmtree(self.state)
                os.makedirs(self.state, mode=0o700)
                self.put("state.prev", state_text(PREV_ROUND))
                self.put("state", bad)
                rc, _, err = self.once(sim)
                self.assert_records_used(sim, rc, err)
                self.assertIn("is corrupt", err)
                self.assertIn("state.prev", err)
                # The round counter goes on from the generation used.
                self.assertGreater(self.last_round(), PREV_ROUND, err)
                asides = self.asides()
                self.assertEqual(len(asides), 1, os.listdir(self.state))
                self.assertIn(os.path.basename(asides[0]), err)
                self.assertEqual(self.get(asides[0]), bad)
                self.assert_complete("state")
                self.assert_complete("state.prev")
                st = self.status(sim.path("licensed.conf"))
                self.assertEqual(st["state"], "ok")
                self.assertEqual(st["owned"], 2)
                # Later saves leave the bad file where it was moved.
                self.assertEqual(self.once(sim)[0], 0)
                self.assertEqual(self.asides(), asides)
                self.assertEqual(self.get(asides[0]), bad)

    def test_status_reports_a_bad_state_and_moves_nothing(self):
        bad = BAD_FILES["one garbage line"]
        self.put("state.prev", state_text(PREV_ROUND, users=(1, 2)))
        self.put("state", bad)
        st = self.status()
        self.assertIn("corrupt at line 5", st["state"])
        self.assertIn("state.prev' (round %d)" % PREV_ROUND, st["state"])
        # 1 and 2 from state.prev, 3 kept from the bad file (unconfirmed).
        self.assertEqual(st["owned"], 3)
        self.assertIn("1 ownership records only the bad file had",
                      st["state"])
        self.assertEqual(self.get("state"), bad)
        self.assertEqual(self.asides(), [])

    def test_plan_reports_a_bad_state_and_moves_nothing(self):
        """`plan` holds no round lock: it must not move files a running
        round may be reading."""
        bad = BAD_FILES["one garbage line"]
        self.put("state.prev", state_text(PREV_ROUND, users=(1, 2)))
        self.put("state", bad)
        with Sim(sales_tenant()) as sim:
            conf = sim.config(policy=POLICY, state_dir=self.state,
                              safety=SAFETY)
            rc, _, err = run([LICENSED, "-c", conf, "plan"])
            self.assertEqual(rc, 0, err)
            self.assertIn("corrupt at line 5", err)
        self.assertEqual(self.get("state"), bad)
        self.assertEqual(self.asides(), [])

    def records(self):
        """(user, since, c|u) of the owned lines of state."""
        return [(w[1], int(w[3]), w[4]) for w in
                (line.split() for line in self.get("state").splitlines())
                if w and w[0] == "owned"]

    def test_intents_of_a_file_saved_before_writes_count_from_the_load(self):
        """A round killed at the end of a long write phase left its
        intent file: an add it sent last may still land, however old the
        intent.  The next round must not drop that record on its read."""
        old = int(time.time()) - 3600
        self.put("state", "licensed-state 2\nround 7\nintent\n"
                 + owned_line(4, "u ", since=old) + "end\n")
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
        recs = [r for r in self.records() if r[0] == uid(4)]
        self.assertEqual(len(recs), 1, self.get("state"))
        self.assertGreaterEqual(recs[0][1], int(time.time()) - 60)
        self.assertEqual(recs[0][2], "u")

    def test_old_intent_of_a_finished_round_is_dropped(self):
        """The same record in a file saved after the writes: its add was
        answered long ago, so a read that does not show it drops it."""
        old = int(time.time()) - 3600
        self.put("state", "licensed-state 2\nround 7\n"
                 + owned_line(4, "u ", since=old) + "end\n")
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
        self.assertEqual([r for r in self.records() if r[0] == uid(4)], [])

    def test_times_from_the_future_are_clamped(self):
        far = 9223372036854775000
        self.put("state", "licensed-state 2\nround 7\n"
                 + owned_line(3, "c ", since=far)
                 + "pending %s %s %d\n" % (uid(3), E3, far) + "end\n")
        with Sim(sales_tenant()) as sim:
            conf = sim.config(policy=POLICY, state_dir=self.state,
                              safety="removal_grace = 1h\n"
                              "max_removal_percent = 100")
            rc, _, err = run([LICENSED, "-c", conf, "once"])
            self.assertEqual(rc, 0, err)
            st = self.status(conf)
        self.assertEqual(len(st["pending_removals"]), 1)
        since = [p["since"] for p in st["pending_removals"]][0]
        self.assertTrue(since.startswith(time.strftime("%Y-", time.gmtime())),
                        since)

    def test_temp_files_of_a_killed_save_are_removed(self):
        self.put("state", GOOD)
        self.put(".tmp-AbC123", "x" * 4096)
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
        self.assertEqual(glob.glob(self.path(".tmp-*")), [])

    def test_too_large_state_is_corruption(self):
        self.put("state.prev", state_text(PREV_ROUND))
        with open(self.path("state"), "wb") as f:  # sparse: no disk used
            f.truncate(1024 * 1024 * 1024 + 1)
        st = self.status()
        self.assertIn("is corrupt (larger than 1073741824 bytes)",
                      st["state"])
        self.assertEqual(st["owned"], 3)

    def test_no_usable_generation_keeps_what_the_bad_file_holds(self):
        bad = GOOD[:GOOD.index("end\n")]
        self.put("state", bad)
        st = self.status()
        self.assertIn("no previous generation", st["state"])
        self.assertEqual(st["owned"], 3)
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            self.assertIn("no removals until this round has rebuilt it", err)
            self.assertEqual(writes(sim.log()), [])
            # The salvaged records are kept: user 3 still holds the
            # license licensed assigned, and it is still recorded.
            self.assertEqual(self.status(sim.path("licensed.conf"))["owned"],
                             3)
            self.assertGreater(self.last_round(), PREV_ROUND)
        self.assertEqual([self.get(a) for a in self.asides()], [bad])

    def test_newer_version_is_refused_and_left_alone(self):
        newer = "licensed-state 3\nround 99\nsomething new 1 2 3\nend\n"
        prev = state_text(PREV_ROUND)
        for name in ("state", "state.prev"):
            with self.subTest(name), Sim(sales_tenant()) as sim:
                shutil.rmtree(self.state)
                os.makedirs(self.state, mode=0o700)
                self.put(name, newer)
                if name == "state":
                    self.put("state.prev", prev)
                before = set(os.listdir(self.state))
                rc, _, err = self.once(sim)
                self.assertEqual(rc, 2, err)
                self.assertIn("written by a newer licensed (format 3)", err)
                self.assertEqual(writes(sim.log()), [])
                self.assertEqual(set(os.listdir(self.state)) - {"lock"},
                                 before)
                self.assertEqual(self.get(name), newer)
                if name == "state":
                    self.assertEqual(self.get("state.prev"), prev)
                st = self.status(sim.path("licensed.conf"))
                self.assertIn("written by a newer licensed", st["state"])
                self.assertIsNone(st["owned"])

    def test_version_1_state_loads(self):
        v1 = state_text(9, version=1)
        self.put("state", v1)
        st = self.status()
        self.assertEqual((st["state"], st["owned"]), ("ok", 3))
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assert_records_used(sim, rc, err)
            self.assertEqual(self.last_round(), 10)
        text = self.get("state")
        self.assertTrue(text.startswith("licensed-state 2\nround 10\n"), text)
        self.assertEqual(len(re.findall(
            r"^owned %s %s \d+ [cu] sales-e3$" % (uid(1), E3), text,
            re.M)), 1, text)
        self.assert_complete("state")

    def test_save_keeps_the_previous_generation(self):
        t = sales_tenant()
        for u in t["users"]:
            u["licenses"] = []
        t["groups"][0]["members"] = [uid(1), uid(2), uid(3)]
        with Sim(t) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            self.assertEqual(len(writes(sim.log())), 3)
            self.assert_complete("state")
            self.assert_complete("state.prev")
            doc = sim.state()
        # A crash between the two renames of a save: only state.prev.
        os.remove(self.path("state"))
        st = self.status()
        self.assertIn("state' is missing; using the previous generation",
                      st["state"])
        self.assertEqual(st["owned"], 3)
        doc["groups"][0]["members"] = [uid(1), uid(2)]
        with Sim(doc) as sim:
            rc, _, err = self.once(sim)
            self.assert_records_used(sim, rc, err)
            self.assertEqual(self.last_round(), 2)
            first = self.get("state")
            self.assertEqual(self.once(sim)[0], 0)
            self.assertEqual(self.last_round(), 3)
            # state.prev is the generation the last save replaced (a round
            # saves twice, its intent and then its outcome): this round's
            # intent, holding the records of the round before.
            prev = self.get("state.prev")
            self.assert_complete("state.prev")
            self.assertIn("\nround 3\n", prev)
            self.assertEqual(records(prev), records(first))
            self.assertEqual(records(first), {(uid(1), E3), (uid(2), E3)})
            self.assertEqual(self.asides(), [])


if __name__ == "__main__":
    unittest.main()
