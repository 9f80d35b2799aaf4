"""Write rates (SPEC 4 "Throttling", issue 9 item 3): with the default
write_rate = auto, licensed starts at Graph's documented 20 writes/s,
finds a tenant that allows fewer without being answered 429 often, sizes
each $batch to what its rate pays for in a second, keeps its rate when
429s come with a Retry-After shorter than its own spacing, and never goes
above a configured cap.

The simulator's rate_limit fault is a token bucket that also charges the
requests it refuses (GRAPH.md 6.1); inner $batch requests are logged with
"batch" set to their envelope's sequence number.
"""
import os
import shutil
import tempfile
import time
import unittest

from simtest import LICENSED, Sim, gid, run, tenant, uid, user

POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
""" % gid(1)
WRITES = ("POST", "PATCH")


def sales(n):
    users = [user(i) for i in range(1, n + 1)]
    return tenant(users, [{"id": gid(1), "displayName": "Sales",
                           "members": [u["id"] for u in users]}],
                  skus=[{"skuPartNumber": "ENTERPRISEPACK",
                         "enabled": n + 10}])


def inner_writes(log):
    return [e for e in log if e.get("batch") is not None
            and e["method"] in WRITES]


def batch_sizes(log):
    """Inner writes per $batch envelope, in the order they went out."""
    sizes = {}
    for e in inner_writes(log):
        sizes[e["batch"]] = sizes.get(e["batch"], 0) + 1
    return [sizes[k] for k in sorted(sizes)]


class Rate(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="licensed-rate.")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def once(self, sim, daemon=""):
        conf = sim.config(policy=POLICY, daemon=daemon,
                          state_dir=os.path.join(self.work, "state"))
        t0 = time.monotonic()
        rc, _, err = run([LICENSED, "-c", conf, "once"], timeout=120)
        return rc, err, time.monotonic() - t0

    def assert_all_assigned(self, sim, n):
        held = [u for u in sim.state()["users"]
                if any(lic["sku"] == "ENTERPRISEPACK"
                       for lic in u.get("licenses", []))]
        self.assertEqual(len(held), n)

    def test_tenant_allowing_8_writes_a_second(self):
        """About 20 s of writes at 8/s: every user assigned in the one
        round, at most 10% of the writes answered 429, and after the first
        refusal each $batch holds what a second of the rate pays for."""
        n = 150
        faults = {"faults": [{"type": "rate_limit", "kind": "write",
                              "rps": 8, "burst": 8}]}
        with Sim(sales(n), faults=faults) as sim:
            rc, err, took = self.once(sim)
            self.assertEqual(rc, 0, err[-2000:])
            self.assert_all_assigned(sim, n)
            sent = inner_writes(sim.log())
            refused = [e for e in sent if e["status"] == 429]
            self.assertLessEqual(len(refused) * 10, len(sent),
                                 "%d of %d writes answered 429" % (
                                     len(refused), len(sent)))
            # The first batch is sized to 20/s and meets a bucket of 8.
            sizes = batch_sizes(sim.log())
            self.assertEqual(sizes[0], 20)
            self.assertLessEqual(max(sizes[1:]), 10, sizes)
            self.assertLess(took, 40)

    def test_short_retry_after_keeps_the_rate(self):
        """429s that ask to wait 50 ms (one token at 20/s) do not show a
        slower server: the batches stay full and the round takes about
        what 20 writes a second take."""
        n = 160
        faults = {"seed": 3, "faults": [
            {"type": "status", "status": 429, "retry_after": "0.05",
             "path": "/assignLicense", "probability": 0.1}]}
        with Sim(sales(n), faults=faults) as sim:
            rc, err, took = self.once(sim)
            self.assertEqual(rc, 0, err[-2000:])
            self.assert_all_assigned(sim, n)
            sizes = batch_sizes(sim.log())
            self.assertEqual(sizes[:6], [20] * 6)
            self.assertLess(took, n / 20.0 * 1.6 + 3)

    def test_a_number_caps_the_rate(self):
        n = 30
        with Sim(sales(n)) as sim:
            rc, err, took = self.once(sim, daemon="write_rate = 5")
            self.assertEqual(rc, 0, err[-2000:])
            self.assert_all_assigned(sim, n)
            sizes = batch_sizes(sim.log())
            self.assertEqual(sizes, [5] * 6)
            sent = [e["t_mono"] for e in inner_writes(sim.log())]
            # The first 5 come from a full bucket, the rest at 5/s.
            self.assertGreaterEqual(sent[-1] - sent[0], (n - 5) / 5.0 - 0.5)


if __name__ == "__main__":
    unittest.main()
