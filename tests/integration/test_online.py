"""The commands around a round: `check --online` against the simulator,
`approve` beside a running round (the round lock), and the process
hardening of every command (not dumpable: no core with the secret in it).
"""
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from simtest import LICENSED, ROOT, Sim, gid, run, tenant, uid, user


def small_tenant():
    users = [user(i) for i in range(1, 6)]
    users[0]["licenses"] = [{"sku": "ENTERPRISEPACK"}]
    groups = [{"id": gid(1), "displayName": "Sales",
               "members": [uid(1), uid(2), gid(2)]},
              {"id": gid(2), "displayName": "Sales EMEA",
               "members": [uid(3), uid(4)]}]
    return tenant(users, groups)


def reads(log):
    """The Graph reads in a request log, as sorted (method, path)."""
    return sorted((e["method"], e["path"]) for e in log
                  if "/v1.0/" in e["path"])


class CheckOnline(unittest.TestCase):
    def check(self, sim, policy):
        return run([LICENSED, "-c", sim.config(policy=policy), "check",
                    "--online"])

    def test_names_every_unknown_group_sku_and_plan(self):
        policy = """[sales]
group = %s
group = %s
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY, NO_SUCH_PLAN, OTHER_PLAN

[ghost]
group = %s
sku = VISIOCLIENT
""" % (gid(1), gid(8), gid(9), gid(9))
        with Sim(small_tenant()) as sim:
            rc, out, err = self.check(sim, policy)
            self.assertEqual(rc, 2, out + err)
            for line in (
                    "policy.ini:1: rule 'sales': group %s does not exist "
                    "in the tenant" % gid(8),
                    "policy.ini:1: rule 'sales': group %s does not exist "
                    "in the tenant" % gid(9),
                    "policy.ini:1: rule 'sales': SKU ENTERPRISEPACK has no "
                    "service plan 'NO_SUCH_PLAN'",
                    "policy.ini:1: rule 'sales': SKU ENTERPRISEPACK has no "
                    "service plan 'OTHER_PLAN'",
                    "policy.ini:8: rule 'ghost': SKU 'VISIOCLIENT' is not "
                    "subscribed in the tenant",
                    "policy.ini:8: rule 'ghost': group %s does not exist "
                    "in the tenant" % gid(9)):
                self.assertIn(line, err)
            self.assertNotIn("of its groups", err)
            # Members still counted over the groups that exist.
            self.assertIn("rule sales: ENTERPRISEPACK to 4 users in 3 groups",
                          out)
            self.assertIn("group %s 'Sales': 4 users (0 disabled)" % gid(1),
                          out)
            self.assertEqual([e for e in sim.log() if e["method"] != "GET"
                              and "/token" not in e["path"]], [])

    def test_reads_what_a_round_reads(self):
        # One reading of the tenant (STYLE.md): check --online and a round
        # send the same reads, so one cannot pass while the other fails.
        policy = """[sales]
group = %s
sku = ENTERPRISEPACK

[ghost]
group = %s
sku = SPE_E5
""" % (gid(1), gid(9))
        with Sim(small_tenant()) as sim:
            rc, out, err = self.check(sim, policy)
            self.assertEqual(rc, 2, out + err)
            online = reads(sim.log())
            sim.reset_log()
            rc, _, err = run([LICENSED, "-c", sim.path("licensed.conf"),
                              "plan"])
            self.assertEqual(rc, 0, err)
            self.assertEqual(online, reads(sim.log()))
            self.assertTrue(any("assignedLicenses" in p for _, p in online),
                            online)

    def test_ok(self):
        policy = "[sales]\ngroup = %s\nsku = ENTERPRISEPACK\n" % gid(1)
        with Sim(small_tenant()) as sim:
            rc, out, err = self.check(sim, policy)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("sku ENTERPRISEPACK", out)
            self.assertIn("group %s 'Sales': 4 users (0 disabled)" % gid(1),
                          out)
            self.assertIn("ok: every SKU, plan and group of the policy is in "
                          "the tenant", out)


class Approve(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-approve.")
        self.state = os.path.join(self.work, "state")
        os.makedirs(self.state)
        with open(os.path.join(self.work, "client-secret"), "w") as f:
            f.write("s3cret\n")
        os.chmod(os.path.join(self.work, "client-secret"), 0o600)
        with open(os.path.join(self.work, "policy.ini"), "w") as f:
            f.write("[sales]\ngroup = %s\nsku = ENTERPRISEPACK\n" % gid(1))
        self.conf = os.path.join(self.work, "licensed.conf")
        with open(self.conf, "w") as f:
            f.write("[tenant]\ntenant_id = contoso.onmicrosoft.com\n"
                    "client_id = %s\nclient_secret_file = client-secret\n"
                    "[daemon]\npolicy = policy.ini\nstate_dir = %s\n"
                    % (uid(7), self.state))
        self.approval = os.path.join(self.state, "approval")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def hold_lock(self):
        lock = open(os.path.join(self.state, "lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def wait_for_text(self, path, text, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(path) as f:
                if text in f.read():
                    return True
            time.sleep(0.05)
        return False

    def test_waits_for_the_running_round(self):
        err_path = os.path.join(self.work, "approve.err")
        with self.hold_lock() as lock, open(err_path, "w") as err:
            p = subprocess.Popen([LICENSED, "-c", self.conf, "approve", "7"],
                                 stdout=subprocess.PIPE, stderr=err,
                                 text=True)
            try:
                self.assertTrue(self.wait_for_text(
                    err_path, "waiting for the running round to finish"),
                    open(err_path).read())
                time.sleep(0.3)
                self.assertIsNone(p.poll())
                self.assertFalse(os.path.exists(self.approval))
                fcntl.flock(lock, fcntl.LOCK_UN)
                out, _ = p.communicate(timeout=10)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual(p.returncode, 0, open(err_path).read())
        self.assertIn("approved: the next round may apply up to 7", out)
        with open(self.approval) as f:
            self.assertEqual(f.read(), "7\n")

    def test_gives_up_when_the_round_goes_on(self):
        with self.hold_lock():
            start = time.monotonic()
            rc, out, err = run([LICENSED, "-c", self.conf, "approve", "7"],
                               timeout=90)
            took = time.monotonic() - start
        self.assertEqual(rc, 1, out + err)
        self.assertIn("waiting for the running round to finish", err)
        self.assertIn("nothing approved", err)
        self.assertFalse(os.path.exists(self.approval))
        self.assertGreater(took, 25)
        self.assertLess(took, 40)

    def test_without_a_round(self):
        rc, out, err = run([LICENSED, "-c", self.conf, "approve", "3"])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("waiting", err)
        with open(self.approval) as f:
            self.assertEqual(f.read(), "3\n")


class NoCoreDump(unittest.TestCase):
    """A non-dumpable process (prctl PR_SET_DUMPABLE 0) writes no core
    and its /proc/PID files belong to root, whoever runs it: licensed,
    started by another user, must show root as the owner of
    /proc/PID/environ while it is still reading its config (before any
    secret)."""

    UID = 4242

    def test_not_dumpable_from_the_start(self):
        if not os.path.exists("/proc/self/status"):
            self.skipTest("no /proc")
        work = tempfile.mkdtemp(prefix="licensed-dump.")
        try:
            os.chmod(work, 0o755)
            fifo = os.path.join(work, "licensed.conf")
            os.mkfifo(fifo, 0o666)
            kw = {}
            if os.getuid() == 0:  # as root every /proc file is root's
                kw = {"user": self.UID, "group": self.UID,
                      "extra_groups": []}
            want_owner = 0
            dumpable_owner = self.UID if kw else os.getuid()
            self.assertNotEqual(want_owner, dumpable_owner)
            # The config is a FIFO: licensed blocks opening it.
            p = subprocess.Popen([LICENSED, "-c", fifo, "check"],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, **kw)
            try:
                time.sleep(0.3)
                self.assertIsNone(p.poll())
                owner = os.stat("/proc/%d/environ" % p.pid).st_uid
                os.close(os.open(fifo, os.O_WRONLY))  # let it go on
                _, err = p.communicate(timeout=10)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertEqual(p.returncode, 2, err)
            self.assertIn("not a regular file", err)
            self.assertEqual(owner, want_owner,
                             "licensed is dumpable: a core would hold the "
                             "secret")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_units_allow_no_core(self):
        for name in ("licensed.service.in", "licensed@.service.in"):
            with open(os.path.join(ROOT, "systemd", name)) as f:
                text = f.read()
            self.assertRegex(text, re.compile(r"^LimitCORE=0$", re.M), name)


if __name__ == "__main__":
    unittest.main()
