"""Write outcomes under faults (SPEC 4 "Throttling", 5.7; issue 8 items 1,
3, 4, 5, 6): every test injects the fault into the simulator and asserts
what the tenant looks like afterwards, the exit code, the words of the
round and the ownership records.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from simtest import LICENSED, Sim, gid, run, tenant, uid, user

E3_POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
""" % gid(1)

CHAIN_POLICY = E3_POLICY + """
[leaders-e5]
group = %s
sku = SPE_E5

[precedence]
office = SPE_E5 > ENTERPRISEPACK
""" % gid(2)

SAFETY = "removal_grace = 0\nmax_removal_percent = 100\nmax_removals = 1000"


def sales_tenant(n, members=None, leaders=()):
    users = [user(i) for i in range(1, n + 1)]
    if members is None:
        members = [u["id"] for u in users]
    return tenant(users, [
        {"id": gid(1), "displayName": "Sales", "members": members},
        {"id": gid(2), "displayName": "Leaders", "members": list(leaders)}],
        skus=[{"skuPartNumber": "ENTERPRISEPACK", "enabled": n + 10},
              {"skuPartNumber": "SPE_E5", "enabled": n + 10}])


def held(state, user_id):
    u = next(x for x in state["users"] if x["id"] == user_id)
    return {lic["sku"] for lic in u.get("licenses", [])}


def inner(log, suffix):
    return [e for e in log if e.get("batch") is not None
            and e["path"].endswith(suffix)]


class Writes(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-writes.")
        self.state = os.path.join(self.work, "state")

    def tearDown(self):
        subprocess.run(["umount", "-l", self.state], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def conf(self, sim, policy=E3_POLICY, daemon="", safety=SAFETY):
        return sim.config(policy=policy, state_dir=self.state, daemon=daemon,
                          safety=safety)

    def once(self, sim, timeout=120, **kw):
        return run([LICENSED, "-c", self.conf(sim, **kw), "once"],
                   timeout=timeout)

    def status(self, sim):
        rc, out, err = run([LICENSED, "-c", sim.path("licensed.conf"),
                            "status", "--json"])
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def owned(self):
        """(user, sku, confirmed) of every ownership record on disk."""
        recs = set()
        with open(os.path.join(self.state, "state")) as f:
            for line in f:
                w = line.split()
                if w and w[0] == "owned":
                    recs.add((w[1], w[2]))
        return recs

    def last_round(self):
        with open(os.path.join(self.state, "last-round.json")) as f:
            return json.load(f)

    def set_members(self, sim, doc):
        sim._control("POST", "/_sim/members", doc)

    # ---- item 1: unanswered writes keep their ownership records --------

    def test_swap_retry_answered_not_held_was_applied(self):
        """The swap's envelope is applied, its answer lost; the retry is
        refused "not held".  That is evidence of the first attempt: the
        E5 it assigned is owned and removed when the user leaves."""
        with Sim(sales_tenant(1)) as sim:
            rc, _, err = self.once(sim, policy=CHAIN_POLICY)
            self.assertEqual(rc, 0, err)
            self.assertEqual(held(sim.state(), uid(1)), {"ENTERPRISEPACK"})
            self.set_members(sim, {gid(2): [uid(1)]})
            sim.set_faults({"faults": [{"type": "drop", "apply": True,
                                        "path": r"\$batch", "count": 1}]})
            rc, _, err = self.once(sim, policy=CHAIN_POLICY)
            self.assertEqual(held(sim.state(), uid(1)), {"SPE_E5"})
            sent = inner(sim.log(), "/assignLicense")
            self.assertEqual(sent[-1]["status"], 400)  # the retry: not held
            self.assertEqual(rc, 0, err)
            self.assertIn("a retry found it done", err)
            self.assertIn((uid(1), "06ebc4ee-1bb5-47dd-8120-11324bc54e06"),
                          self.owned())
            sim.set_faults({})
            self.set_members(sim, {gid(1): [], gid(2): []})
            rc, _, err = self.once(sim, policy=CHAIN_POLICY)
            self.assertEqual(rc, 0, err)
            self.assertEqual(held(sim.state(), uid(1)), set())

    def test_batch_unanswered_then_refused_keeps_the_records(self):
        """20 adds applied, the answer lost, the retried envelope refused:
        the outcome is unknown, the records stay, the exit code is 1 and
        the round says what went out; when the users leave, the licenses
        licensed assigned are removed."""
        n = 20
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"faults": [
                {"type": "drop", "apply": True, "path": r"\$batch",
                 "count": 1},
                {"type": "status", "status": 400, "path": r"\$batch",
                 "after": 1, "count": 1}]})
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 1, err)
            self.assertIn("writes stopped", err)
            self.assertIn("20 without answer", err)
            self.assertNotIn("nothing was written", err)
            st = sim.state()
            self.assertTrue(all(held(st, uid(i)) == {"ENTERPRISEPACK"}
                                for i in range(1, n + 1)))
            self.assertEqual(len(self.owned()), n)
            self.assertEqual(self.last_round()["unknown"], n)
            sim.set_faults({})
            self.set_members(sim, {gid(1): []})
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            st = sim.state()
            self.assertEqual([i for i in range(1, n + 1) if held(st, uid(i))],
                             [])

    def test_add_in_flight_at_kill_lands_after_the_next_read(self):
        """kill -9 while an add is in flight; the user leaves the group;
        the next round reads the tenant before the add lands.  That
        round must not drop the intent record, so the round after removes
        the license it finds."""
        with Sim(sales_tenant(1)) as sim:
            sim.set_faults({"faults": [{"type": "latency", "ms": 4000,
                                        "path": "/assignLicense"}]})
            conf = self.conf(sim)
            p = subprocess.Popen([LICENSED, "-c", conf, "once"],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            # The intent is on disk before the first write goes out; after
            # it, the only requests are writes.
            deadline = time.time() + 20
            while time.time() < deadline and not (
                    os.path.exists(os.path.join(self.state, "state")) and
                    self.owned() and
                    sim._control("GET", "/_sim/inflight")["inflight"]):
                time.sleep(0.02)
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.set_members(sim, {gid(1): []})
            rc, _, err = run([LICENSED, "-c", conf, "once"])
            self.assertEqual(rc, 0, err)
            self.assertEqual(held(sim.state(), uid(1)), set())  # not yet
            self.assertEqual(len(self.owned()), 1, "intent record dropped")
            deadline = time.time() + 20
            while time.time() < deadline and \
                    sim._control("GET", "/_sim/inflight")["inflight"]:
                time.sleep(0.05)
            self.assertEqual(held(sim.state(), uid(1)), {"ENTERPRISEPACK"})
            rc, _, err = run([LICENSED, "-c", conf, "once"])
            self.assertEqual(rc, 0, err)
            self.assertEqual(held(sim.state(), uid(1)), set())
            self.assertEqual(self.owned(), set())

    def test_answer_not_http_after_apply_is_unknown_not_unsent(self):
        """The envelope is applied and answered with a status line that is
        not HTTP: the adds may have been made, so they stay owned."""
        n = 5
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"faults": [{"type": "drop", "apply": True,
                                        "garbage": True, "path": r"\$batch",
                                        "count": 1}]})
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 1, err)
            self.assertIn("%d without answer" % n, err)
            self.assertNotIn("not sent in this round", err)
            st = sim.state()
            self.assertTrue(all(held(st, uid(i)) == {"ENTERPRISEPACK"}
                                for i in range(1, n + 1)))
            self.assertEqual(len(self.owned()), n)

    def test_inner_424_without_a_patch_is_bounded(self):
        with Sim(sales_tenant(2)) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 424,
                                        "retry_after": "0.05",
                                        "path": "/assignLicense"}]})
            t0 = time.monotonic()
            rc, _, err = self.once(sim, timeout=60)
            self.assertLess(time.monotonic() - t0, 20)
            self.assertEqual(rc, 1, err)
            # Each of the two: the first send and GRAPH_MAX_RETRIES (8).
            self.assertEqual(len(inner(sim.log(), "/assignLicense")), 2 * 9)
            self.assertEqual(self.owned(), set())  # refused every time

    def test_retry_after_equal_to_the_interval_is_waited_out(self):
        with Sim(sales_tenant(3)) as sim:
            # Every write of the batch throttled once: no progress before
            # the wait.
            sim.set_faults({"faults": [{"type": "status", "status": 429,
                                        "retry_after": "2", "count": 3,
                                        "path": "/assignLicense"}]})
            rc, _, err = self.once(sim, daemon="interval = 2s")
            self.assertEqual(rc, 0, err)
            st = sim.state()
            self.assertTrue(all(held(st, uid(i)) == {"ENTERPRISEPACK"}
                                for i in range(1, 4)))

    # ---- item 3: a PATCH is not the assignment -------------------------

    def test_usage_location_set_but_assign_throttled_is_not_assigned(self):
        t = sales_tenant(1)
        t["users"][0]["usageLocation"] = None
        policy = "[defaults]\nusage_location = FR\n" + E3_POLICY
        with Sim(t) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 429,
                                        "retry_after": "0.05",
                                        "path": "/assignLicense"}]})
            rc, _, err = self.once(sim, policy=policy)
            self.assertEqual(rc, 1, err)
            u = sim.state()["users"][0]
            self.assertEqual(u["usageLocation"], "FR")
            self.assertEqual(held(sim.state(), uid(1)), set())
            self.assertIn("failed to assign ENTERPRISEPACK", err)
            self.assertIn("throttled", err)
            last = self.last_round()
            self.assertEqual(last["assigned"], 0)
            self.assertEqual(last["failed"], 1)
            self.assertEqual(self.owned(), set())

    # ---- item 4: words and exit code from what was sent ----------------

    def test_424_envelope_with_inner_429_is_answered(self):
        n = 30
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"faults": [
                {"type": "batch_envelope", "status": 424},
                {"type": "status", "status": 429, "retry_after": "0.1",
                 "path": "/assignLicense", "count": 5}]})
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 0, err)
            st = sim.state()
            self.assertTrue(all(held(st, uid(i)) == {"ENTERPRISEPACK"}
                                for i in range(1, n + 1)))

    def test_malformed_batch_answer_stops_writes_with_exit_1(self):
        n = 45  # three batches: the second is answered with garbage
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 200,
                                        "path": r"\$batch", "after": 1,
                                        "count": 1}]})
            rc, _, err = self.once(sim)
            self.assertEqual(rc, 1, err)
            self.assertIn("writes stopped", err)
            self.assertIn("unexpected response", err)
            self.assertNotIn("nothing was written", err)
            last = self.last_round()
            self.assertEqual(last["exit_code"], 1)
            self.assertEqual(last["assigned"], 20)
            self.assertEqual(last["unknown"], 20)
            self.assertEqual(last["not_sent"], 5)
            self.assertIn("writes stopped", last["problem"])
            # The first batch's 20 are owned, the second's kept as intents.
            self.assertEqual(len(self.owned()), 40)

    def test_token_renewal_failure_mid_write_exits_1(self):
        n = 60
        with Sim(sales_tenant(n)) as sim:
            rc, _, err = run([LICENSED, "-c", sim.config(policy=E3_POLICY, state_dir=self.state, safety=SAFETY), "once"])
            self.assertEqual(rc, 0, err)
            self.set_members(sim, {gid(1): []})
            # The token expires after a few requests; renewal is refused.
            sim.set_faults({"faults": [
                {"type": "token_expiry", "after_requests": 5},
                {"type": "status", "status": 400, "code": "invalid_client",
                 "path": "/oauth2/v2.0/token", "after": 1}]})
            rc, _, err = run([LICENSED, "-c", sim.config(policy=E3_POLICY, state_dir=self.state, safety=SAFETY), "once"])
            self.assertEqual(rc, 1, err)
            self.assertIn("writes stopped", err)
            self.assertNotIn("nothing was written", err)
            last = self.last_round()
            self.assertGreater(last["removed"], 0)
            self.assertGreater(last["not_sent"], 0)

    def test_state_unsaved_after_writes_exits_1_and_says_what_went_out(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        n = 40
        os.makedirs(self.state)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                        self.state], check=True)
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"faults": [{"type": "latency", "ms": 300,
                                        "path": r"\$batch"}]})
            conf = self.conf(sim)
            p = subprocess.Popen([LICENSED, "-c", conf, "once"],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            deadline = time.time() + 20
            while time.time() < deadline and not os.path.exists(
                    os.path.join(self.state, "state")):
                time.sleep(0.01)
            # The intent is saved; fill the disk before the outcome is.
            subprocess.run(["dd", "if=/dev/zero",
                            "of=" + os.path.join(self.state, "filler"),
                            "bs=4k"], capture_output=True)
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 1, err)
            self.assertIn("cannot save the state", err)
            self.assertIn("40 of 40 changes sent (40 applied", err)
            self.assertNotIn("nothing was written", err)
            # The intent generation on disk still owns every add.
            self.assertEqual(len(self.owned()), n)

    # ---- item 10: an approval too small is used up, and says so -------

    def test_approval_smaller_than_the_held_removals_says_so(self):
        n = 8
        safety = "removal_grace = 0\nmax_removals = 3"
        with Sim(sales_tenant(n)) as sim:
            self.assertEqual(self.once(sim, safety=safety)[0], 0)
            self.set_members(sim, {gid(1): []})
            rc, out, err = run([LICENSED, "-c", sim.path("licensed.conf"),
                                "approve", "5"])
            self.assertEqual(rc, 0, err)
            rc, _, err = self.once(sim, safety=safety)
            self.assertEqual(rc, 1, err)
            self.assertIn("the approval of 5 removals was not enough for "
                          "the 8 this round holds, and is used up", err)
            self.assertIn("licensed approve 8", err)
            self.assertEqual(inner(sim.log(), "/assignLicense")[n:], [])
            self.assertIsNone(self.status(sim)["approval"])

    def test_approval_stays_when_the_writes_stop_before_the_removals(self):
        n = 6
        safety = "removal_grace = 0\nmax_removals = 2"
        with Sim(sales_tenant(n)) as sim:
            self.assertEqual(self.once(sim, safety=safety)[0], 0)
            self.set_members(sim, {gid(1): []})
            rc, _, err = run([LICENSED, "-c", sim.path("licensed.conf"),
                              "approve", "6"])
            self.assertEqual(rc, 0, err)
            sim.set_faults({"faults": [{"type": "status", "status": 429,
                                        "retry_after": "999999",
                                        "path": "/assignLicense"}]})
            rc, _, err = self.once(sim, safety=safety)
            self.assertEqual(rc, 1, err)
            self.assertIn("the approval stays for the next round", err)
            self.assertEqual(self.status(sim)["approval"], 6)
            sim.set_faults({})
            rc, _, err = self.once(sim, safety=safety)
            self.assertEqual(rc, 0, err)
            st = sim.state()
            self.assertEqual([i for i in range(1, n + 1) if held(st, uid(i))],
                             [])
            self.assertIsNone(self.status(sim)["approval"])

    # ---- item 5: retries per request -----------------------------------

    def test_light_throttling_does_not_end_the_write_phase(self):
        n = 300
        with Sim(sales_tenant(n)) as sim:
            sim.set_faults({"seed": 7, "faults": [
                {"type": "status", "status": 429, "retry_after": "0.05",
                 "path": "/assignLicense", "probability": 0.1}]})
            rc, _, err = run([LICENSED, "-c", sim.config(policy=E3_POLICY, state_dir=self.state, safety=SAFETY), "once"])
            self.assertEqual(rc, 0, err[-2000:])
            st = sim.state()
            self.assertEqual([i for i in range(1, n + 1)
                              if held(st, uid(i)) != {"ENTERPRISEPACK"}], [])
            throttled = [e for e in inner(sim.log(), "/assignLicense")
                         if e["status"] == 429]
            self.assertGreater(len(throttled), 10)

    # ---- item 6: bounded waits -----------------------------------------

    def test_huge_retry_after_on_a_read_ends_the_round_at_once(self):
        for value in ("86399", "Wed, 01 Jan 2098 00:00:00 GMT"):
            with Sim(sales_tenant(2)) as sim:
                sim.set_faults({"faults": [{"type": "status", "status": 429,
                                            "retry_after": value,
                                            "path": "/subscribedSkus"}]})
                t0 = time.monotonic()
                rc, _, err = self.once(sim, timeout=60)
                self.assertLess(time.monotonic() - t0, 15)
                self.assertEqual(rc, 3, err)
                self.assertIn("asks to wait", err)
                self.assertIn("nothing was written", err)

    def test_huge_inner_retry_after_ends_the_writes_with_state_saved(self):
        with Sim(sales_tenant(3)) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 429,
                                        "retry_after": "999999999",
                                        "path": "/assignLicense"}]})
            t0 = time.monotonic()
            rc, _, err = self.once(sim, timeout=60)
            self.assertLess(time.monotonic() - t0, 15)
            self.assertEqual(rc, 1, err)
            self.assertIn("asks to wait 999999999 s", err)
            self.assertEqual(self.last_round()["failed"], 3)  # throttled
            self.assertEqual(self.owned(), set())  # refused: nothing owned

    def test_inner_retry_after_as_an_http_date_is_honoured(self):
        """Found by the soak: an inner Retry-After given as an HTTP date
        was read as none and the write retried at once."""
        with Sim(sales_tenant(2)) as sim:
            sim.set_faults({"faults": [{"type": "status", "status": 429,
                                        "retry_after":
                                        "Wed, 01 Jan 2098 00:00:00 GMT",
                                        "path": "/assignLicense",
                                        "count": 2}]})
            t0 = time.monotonic()
            rc, _, err = self.once(sim, timeout=60)
            self.assertLess(time.monotonic() - t0, 15)
            self.assertEqual(rc, 1, err)
            self.assertIn("the server asks to wait", err)
            self.assertEqual(len(inner(sim.log(), "/assignLicense")), 2)

    def test_write_path_that_never_answers_ends_within_a_minute(self):
        with Sim(sales_tenant(45)) as sim:
            sim.set_faults({"faults": [{"type": "drop", "reset": True,
                                        "path": r"\$batch"}]})
            t0 = time.monotonic()
            rc, _, err = self.once(sim, timeout=240)
            took = time.monotonic() - t0
            self.assertLess(took, 90)
            self.assertEqual(rc, 1, err)
            self.assertIn("writes stopped", err)
            self.assertIn("no progress", err)
            last = self.last_round()
            self.assertEqual(last["unknown"], 20)   # the batch that went out
            self.assertEqual(last["not_sent"], 25)
            self.assertEqual(len(self.owned()), 20)


if __name__ == "__main__":
    unittest.main()
