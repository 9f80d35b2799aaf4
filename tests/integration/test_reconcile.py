"""Reconciliation end to end: the real `licensed` against the simulator,
one scenario per rule of SPEC section 5, asserting the tenant afterwards,
the exit code and the requests sent.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from simtest import (E3, LICENSED, M365_E5, Sim, gid, run, tenant, uid, user)

E3_POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY
""" % gid(1)


def writes(log):
    """Inner write requests (assignLicense, PATCH) in a request log."""
    return [e for e in log if e.get("batch") is not None]


def assigns(log):
    return [e for e in writes(log) if e["path"].endswith("/assignLicense")]


def licenses(state, user_id):
    u = next(x for x in state["users"] if x["id"] == user_id)
    return {lic["sku"]: sorted(lic.get("disabledPlans", []))
            for lic in u.get("licenses", [])}


def sales_tenant(n=5, seats=100, members=None):
    users = [user(i) for i in range(1, n + 1)]
    if members is None:
        members = [u["id"] for u in users]
    return tenant(users, [{"id": gid(1), "displayName": "Sales",
                           "members": members}],
                  skus=[{"skuPartNumber": "ENTERPRISEPACK", "enabled": seats},
                        {"skuPartNumber": "SPE_E5", "enabled": seats}])


class Reconcile(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-state.")
        self.state = os.path.join(self.work, "state")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def once(self, sim, policy=E3_POLICY, safety="", daemon="", args=("once",)):
        conf = sim.config(policy=policy, state_dir=self.state, safety=safety,
                          daemon=daemon)
        return run([LICENSED, "-c", conf] + list(args))

    def test_first_round_then_idempotent(self):
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            st = sim.state()
            for i in range(1, 6):
                self.assertEqual(licenses(st, uid(i)), {"ENTERPRISEPACK": ["SWAY"]})
            self.assertEqual(len(assigns(sim.log())), 5)
            sim.reset_log()
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            self.assertEqual(writes(sim.log()), [])  # SPEC 5.9

    def test_a_second_round_does_not_run_beside_the_first(self):
        import fcntl
        os.makedirs(self.state)
        with Sim(sales_tenant()) as sim, \
                open(os.path.join(self.state, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 3)
            self.assertIn("another licensed round is running", err)
            self.assertEqual(writes(sim.log()), [])

    def test_plan_sends_no_write(self):
        with Sim(sales_tenant()) as sim:
            rc, out, err = self.once(sim, args=("plan",))
            self.assertEqual(rc, 0, err)
            self.assertIn("5 to add", out)
            rc, out, _ = self.once(sim, args=("plan", "--json"))
            self.assertEqual(json.loads(out)["totals"]["add"], 5)
            self.assertEqual([e for e in sim.log()
                              if e["method"] in ("PATCH", "POST")
                              and "/token" not in e["path"]], [])
            self.assertFalse(os.path.exists(os.path.join(self.state, "state")))

    def test_read_failure_on_one_group_writes_nothing(self):
        t = sales_tenant()
        t["users"].append(user(9))
        t["groups"].append({"id": gid(2), "displayName": "Support",
                            "members": [uid(9)]})
        policy = E3_POLICY + "\n[support]\ngroup = %s\nsku = SPE_E5\n" % gid(2)
        with Sim(t) as sim:
            self.assertEqual(self.once(sim, policy=policy)[0], 0)
            before = sim.state()
            sim.set_faults({"faults": [{"type": "member_page", "group": gid(2),
                                        "page": 1, "status": 500,
                                        "retry_after": "0.05"}]})
            sim.reset_log()
            # Sales loses everybody: with a complete read they would lose
            # their license (grace 0); with a failed read nothing happens.
            rc, _, err = self.once(sim, policy=policy.replace(gid(1), gid(3)),
                                   safety="removal_grace = 0")
            self.assertEqual(rc, 3, err)
            self.assertIn("nothing was written", err)
            self.assertEqual(writes(sim.log()), [])
            self.assertEqual(sim.state()["users"], before["users"])
            rc, out, _ = run([LICENSED, "-c", sim.path("licensed.conf"),
                              "status", "--json"])
            self.assertEqual(json.loads(out)["owned"], 6)

    def test_emptied_group_trips_the_cap_then_approve(self):
        members = [uid(i) for i in range(1, 13)]
        with Sim(sales_tenant(12, members=members)) as sim:
            self.assertEqual(self.once(sim)[0], 0)
            doc = sim.state()
        doc["groups"][0]["members"] = []
        safety = "removal_grace = 0\nmax_removals = 5"
        with Sim(doc) as sim:
            rc, _, err = self.once(sim, safety=safety)
            self.assertEqual(rc, 1)
            self.assertIn("12 removals held by the safety cap", err)
            self.assertIn("licensed approve 12", err)
            self.assertEqual(assigns(sim.log()), [])
            conf = sim.path("licensed.conf")
            rc, out, _ = run([LICENSED, "-c", conf, "approve", "12"])
            self.assertEqual(rc, 0)
            rc, _, err = self.once(sim, safety=safety)
            self.assertEqual(rc, 0, err)
            removed = assigns(sim.log())
            self.assertEqual(len(removed), 12)
            self.assertTrue(all(e["body"]["removeLicenses"] == [E3]
                                and e["body"]["addLicenses"] == []
                                for e in removed))
            for i in range(1, 13):
                self.assertEqual(licenses(sim.state(), uid(i)), {})
            rc, out, _ = run([LICENSED, "-c", conf, "status", "--json"])
            self.assertIsNone(json.loads(out)["approval"])  # one-shot

    def test_seat_shortage_sends_nothing_graph_would_refuse(self):
        with Sim(sales_tenant(6, seats=3)) as sim:
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 1)
            self.assertIn("3 users wait for a seat of ENTERPRISEPACK", err)
            sent = assigns(sim.log())
            self.assertEqual(len(sent), 3)
            self.assertTrue(all(e["status"] == 200 for e in sent))
            # Seats go in user-id order (one rule): users 1-3.
            holders = [u["id"] for u in sim.state()["users"]
                       if u.get("licenses")]
            self.assertEqual(sorted(holders), [uid(1), uid(2), uid(3)])

    def test_precedence_swap_is_one_call(self):
        t = sales_tenant(2)
        t["users"][0]["usageLocation"] = "DE"
        t["groups"].append({"id": gid(2), "displayName": "Leaders",
                            "members": [uid(1)]})
        with Sim(t) as sim:
            self.assertEqual(self.once(sim)[0], 0)  # E3 for both, owned
            sim.reset_log()
            policy = E3_POLICY + """
[leaders-e5]
group = %s
sku = SPE_E5

[precedence]
office = SPE_E5 > ENTERPRISEPACK
""" % gid(2)
            rc, _, err = self.once(sim, policy=policy,
                                   safety="removal_grace = 7d\n"
                                   "max_removal_percent = 100")
            self.assertEqual(rc, 0, err)
            sent = assigns(sim.log())
            self.assertEqual(len(sent), 1)
            self.assertEqual(sent[0]["url"], "/users/%s/assignLicense" % uid(1))
            self.assertEqual(sent[0]["body"]["addLicenses"],
                             [{"skuId": M365_E5, "disabledPlans": []}])
            self.assertEqual(sent[0]["body"]["removeLicenses"], [E3])
            self.assertEqual(set(licenses(sim.state(), uid(1))), {"SPE_E5"})
            self.assertEqual(set(licenses(sim.state(), uid(2))),
                             {"ENTERPRISEPACK"})

    def test_precedence_without_a_better_seat_gives_the_next_sku(self):
        """SPEC 5.1: no free E5 seat, so a user entitled to E5 and E3 gets
        E3 now, and the swap to E5 in one call once a seat frees."""
        t = sales_tenant(2)
        t["skus"][1]["enabled"] = 1                       # SPE_E5: one seat
        t["users"][1]["licenses"] = [{"sku": "SPE_E5"}]   # taken by hand
        t["groups"][0]["members"] = [uid(1)]
        t["groups"].append({"id": gid(2), "displayName": "Leaders",
                            "members": [uid(1)]})
        policy = E3_POLICY + """
[leaders-e5]
group = %s
sku = SPE_E5

[precedence]
office = SPE_E5 > ENTERPRISEPACK
""" % gid(2)
        with Sim(t) as sim:
            rc, _, err = self.once(sim, policy=policy)
            self.assertEqual(rc, 1, err)  # one user waits for an E5 seat
            self.assertEqual(set(licenses(sim.state(), uid(1))),
                             {"ENTERPRISEPACK"})
            doc = sim.state()
        doc["users"][1]["licenses"] = []                  # the seat frees
        with Sim(doc) as sim:
            rc, _, err = self.once(sim, policy=policy,
                                   safety="removal_grace = 7d\n"
                                   "max_removal_percent = 100")
            self.assertEqual(rc, 0, err)
            sent = assigns(sim.log())
            self.assertEqual(len(sent), 1)
            self.assertEqual(sent[0]["body"]["removeLicenses"], [E3])
            self.assertEqual(set(licenses(sim.state(), uid(1))), {"SPE_E5"})

    def test_grace_then_regained(self):
        with Sim(sales_tenant(3)) as sim:
            self.assertEqual(self.once(sim)[0], 0)
            doc = sim.state()
        doc["groups"][0]["members"] = [uid(1), uid(2)]
        with Sim(doc) as sim:
            rc, _, err = self.once(sim, safety="removal_grace = 1h")
            self.assertEqual(rc, 0, err)  # waiting is not a failure
            self.assertEqual(writes(sim.log()), [])
            conf = sim.path("licensed.conf")
            st = json.loads(run([LICENSED, "-c", conf, "status", "--json"])[1])
            pending = st["pending_removals"]
            self.assertEqual(len(pending), 1)
            self.assertEqual(pending[0]["user"], uid(3))
            self.assertEqual(pending[0]["sku"], "ENTERPRISEPACK")
            doc = sim.state()
        doc["groups"][0]["members"] = [uid(1), uid(2), uid(3)]
        with Sim(doc) as sim:
            self.assertEqual(self.once(sim, safety="removal_grace = 1h")[0], 0)
            st = json.loads(run([LICENSED, "-c", sim.path("licensed.conf"),
                                 "status", "--json"])[1])
            self.assertEqual(st["pending_removals"], [])  # cancelled

    def test_owned_mode_leaves_hand_assigned_and_inherited_alone(self):
        t = sales_tenant(3, members=[uid(1)])
        t["users"][1]["licenses"] = [{"sku": "ENTERPRISEPACK"}]   # by hand
        t["groups"].append({"id": gid(5), "displayName": "GBL",
                            "members": [uid(3)],
                            "licenses": [{"sku": "ENTERPRISEPACK"}]})
        for mode, kept in (("owned", {uid(2), uid(3)}),
                           ("authoritative", {uid(3)})):
            with Sim(json.loads(json.dumps(t))) as sim:
                shutil.rmtree(self.state, ignore_errors=True)
                rc, _, err = self.once(sim, safety="removal = %s\n"
                                       "removal_grace = 0\n"
                                       "max_removal_percent = 100" % mode)
                self.assertEqual(rc, 0, err)
                holders = {u["id"] for u in sim.state()["users"]
                           if u.get("licenses") or u.get("inheritedLicenses")}
                self.assertEqual(holders, kept | {uid(1)}, mode)

    def test_never_mode_never_removes(self):
        with Sim(sales_tenant(2)) as sim:
            self.assertEqual(self.once(sim)[0], 0)
            doc = sim.state()
        doc["groups"][0]["members"] = []
        with Sim(doc) as sim:
            rc, _, err = self.once(sim, safety="removal = never\n"
                                   "removal_grace = 0")
            self.assertEqual(rc, 0, err)
            self.assertEqual(writes(sim.log()), [])

    def test_usage_location_set_then_assigned(self):
        t = sales_tenant(2)
        t["users"][0]["usageLocation"] = None
        t["users"][1]["usageLocation"] = None
        policy = "[defaults]\nusage_location = FR\n" + E3_POLICY
        with Sim(t) as sim:
            rc, _, err = self.once(sim, policy=policy)
            self.assertEqual(rc, 0, err)
            st = sim.state()
            for i in (1, 2):
                u = next(x for x in st["users"] if x["id"] == uid(i))
                self.assertEqual(u["usageLocation"], "FR")
                self.assertIn("ENTERPRISEPACK", licenses(st, uid(i)))
            log = writes(sim.log())
            patch = next(e for e in log if e["method"] == "PATCH")
            assign = next(e for e in log if e["url"] == patch["url"] +
                          "/assignLicense")
            self.assertLess(patch["seq"], assign["seq"])

    def test_dry_run_writes_nothing(self):
        with Sim(sales_tenant()) as sim:
            rc, _, err = self.once(sim, daemon="dry_run = yes")
            self.assertEqual(rc, 0, err)
            self.assertIn("dry run: would assign ENTERPRISEPACK", err)
            self.assertEqual(writes(sim.log()), [])

    def test_corrupt_state_means_no_removals(self):
        with Sim(sales_tenant(2)) as sim:
            self.assertEqual(self.once(sim)[0], 0)
            doc = sim.state()
        # No usable generation at all: the previous one is gone too.
        os.remove(os.path.join(self.state, "state.prev"))
        with open(os.path.join(self.state, "state"), "w") as f:
            f.write("licensed-state 1\nowned garbage\n")
        doc["groups"][0]["members"] = [uid(1)]
        with Sim(doc) as sim:
            rc, _, err = self.once(sim, safety="removal = authoritative\n"
                                   "removal_grace = 0")
            self.assertIn("no removals until this round has rebuilt it", err)
            self.assertEqual(writes(sim.log()), [])
            self.assertEqual(rc, 0, err)

    def test_kill_9_in_the_middle_then_a_new_round_converges(self):
        n = 200
        t = sales_tenant(n, seats=n)
        faults = {"faults": [{"type": "latency", "ms": 30,
                              "path": "/assignLicense"}]}
        with Sim(t, faults=faults) as sim:
            conf = sim.config(policy=E3_POLICY, state_dir=self.state,
                              daemon="write_rate = 20")
            p = subprocess.Popen([LICENSED, "-c", conf, "once"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            deadline = time.time() + 20
            while time.time() < deadline and len(assigns(sim.log())) < 40:
                time.sleep(0.05)
            p.send_signal(signal.SIGKILL)
            p.wait()
            done = len([u for u in sim.state()["users"] if u.get("licenses")])
            self.assertGreater(done, 0)
            self.assertLess(done, n)
            rc, _, err = run([LICENSED, "-c", conf, "once"])
            self.assertEqual(rc, 0, err[-3000:])
            st = sim.state()
            self.assertTrue(all(licenses(st, uid(i)) == {"ENTERPRISEPACK": ["SWAY"]}
                                for i in range(1, n + 1)))
            status = json.loads(run([LICENSED, "-c", conf, "status",
                                     "--json"])[1])
            self.assertEqual(status["owned"], n)  # every add is ours
            sim.reset_log()
            self.assertEqual(run([LICENSED, "-c", conf, "once"])[0], 0)
            self.assertEqual(writes(sim.log()), [])


if __name__ == "__main__":
    unittest.main()


GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "golden", "plan")


class PlanOutput(unittest.TestCase):
    """`licensed plan` and `plan --json` byte for byte (golden files;
    UPDATE_GOLDEN=1 rewrites them)."""

    def tenant(self):
        users = [user(i) for i in range(1, 9)]
        users[1]["usageLocation"] = None                  # no location
        users[2]["licenses"] = [{"sku": "ENTERPRISEPACK"}]  # by hand, all plans
        users[3]["userPrincipalName"] = "breakglass@contoso.onmicrosoft.com"
        t = tenant(users, [
            {"id": gid(1), "displayName": "Sales",
             "members": [uid(i) for i in range(1, 7)] + [gid(2)]},
            {"id": gid(2), "displayName": "Leaders", "members": [uid(7), uid(8)]}],
            skus=[{"skuPartNumber": "ENTERPRISEPACK", "enabled": 3},
                  {"skuPartNumber": "SPE_E5", "enabled": 1}])
        return t

    POLICY = """[exclude]
users = BreakGlass@contoso.onmicrosoft.com

[precedence]
office = SPE_E5 > ENTERPRISEPACK

[sales-e3]
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY, YAMMER_ENTERPRISE

[leaders-e5]
group = %s
sku = SPE_E5
enabled_plans = EXCHANGE_S_ENTERPRISE, TEAMS1
""" % (gid(1), gid(2))

    def check(self, name, text):
        path = os.path.join(GOLDEN, name)
        if os.environ.get("UPDATE_GOLDEN"):
            with open(path, "w") as f:
                f.write(text)
        with open(path) as f:
            self.assertEqual(text, f.read())

    def test_plan_golden(self):
        work = tempfile.mkdtemp(prefix="licensed-golden.")
        try:
            with Sim(self.tenant()) as sim:
                conf = sim.config(policy=self.POLICY,
                                  state_dir=os.path.join(work, "state"))
                rc, out, err = run([LICENSED, "-c", conf, "plan"])
                self.assertEqual(rc, 0, err)
                self.check("mixed.ok", out)
                rc, out, err = run([LICENSED, "-c", conf, "plan", "--json"])
                self.assertEqual(rc, 0, err)
                self.check("mixed.json.ok", out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
