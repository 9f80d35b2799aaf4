"""The Graph client against the simulator: authentication, paging,
throttling, retries, broken responses, TLS, and $batch writes.

Reads are driven through `licensed check --online` and the test program
graphtool (tests/integration/graphtool.c), writes through graphtool.
Assertions are on exit codes, output, the simulator's request log and
the tenant's final state.
"""
import json
import os
import subprocess
import unittest

from simtest import (CLIENT_ID, E3, GRAPHTOOL, LICENSED, SWAY, YAMMER, Sim,
                     gid, requests_to, run, tenant, uid, user)


def small_tenant():
    users = [user(i) for i in range(1, 6)]
    groups = [{"id": gid(1), "displayName": "Sales",
               "members": [uid(1), uid(2), gid(2)]},
              {"id": gid(2), "displayName": "Sales EMEA",
               "members": [uid(3), uid(4)]}]
    return tenant(users, groups)


def big_group_tenant(n):
    users = [user(i) for i in range(1, n + 1)]
    return tenant(users, [{"id": gid(1), "displayName": "Everyone",
                           "members": [u["id"] for u in users]}])


class Auth(unittest.TestCase):
    def check_online(self, sim, **conf):
        return run([LICENSED, "-c", sim.config(**conf), "check", "--online"])

    def test_secret(self):
        with Sim(small_tenant()) as sim:
            rc, out, err = self.check_online(sim)
            self.assertEqual(rc, 0, err)
            self.assertIn("rule sales-e3: ENTERPRISEPACK to 4 users in 1 group",
                          out)
            self.assertIn("sku ENTERPRISEPACK", out)
            log = sim.log()
            tokens = requests_to(log, "/oauth2/v2.0/token")
            self.assertEqual(len(tokens), 1)
            self.assertEqual(tokens[0]["body"]["grant_type"],
                             "client_credentials")
            self.assertEqual(tokens[0]["body"]["client_secret"], "<redacted>")
            self.assertEqual(len(requests_to(log, "/transitiveMembers")), 1)

    def test_wrong_secret(self):
        t = small_tenant()
        t["apps"][0]["secrets"] = [{"value": "another"}]
        with Sim(t) as sim:
            rc, out, err = self.check_online(sim)
            self.assertEqual(rc, 3)
            self.assertIn("AADSTS7000215", err)
            self.assertIn("client_secret_file", err)
            self.assertNotIn("s3cret", err + out)
            self.assertEqual(requests_to(sim.log(), "/v1.0/"), [])

    def test_expired_secret(self):
        t = small_tenant()
        t["apps"][0]["secrets"][0]["expires"] = "2020-01-01T00:00:00Z"
        with Sim(t) as sim:
            rc, _, err = self.check_online(sim)
            self.assertEqual(rc, 3)
            self.assertIn("AADSTS7000222", err)

    def test_unknown_app(self):
        t = small_tenant()
        t["apps"][0]["clientId"] = uid(999)
        with Sim(t) as sim:
            rc, _, err = self.check_online(sim)
            self.assertEqual(rc, 3)
            self.assertIn("AADSTS700016", err)

    def test_unknown_tenant(self):
        with Sim(small_tenant()) as sim:
            rc, _, err = self.check_online(sim, tenant_id="fabrikam.onmicrosoft.com")
            self.assertEqual(rc, 3)
            self.assertIn("AADSTS90002", err)

    def test_certificate(self):
        with Sim(small_tenant(), client_cert=True) as sim:
            auth = "client_id = %s\ncertificate_file = client.pem\n" % CLIENT_ID
            rc, out, err = self.check_online(sim, auth=auth)
            self.assertEqual(rc, 0, err)
            form = requests_to(sim.log(), "/oauth2/v2.0/token")[0]["body"]
            self.assertEqual(form["client_assertion_type"],
                             "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            self.assertNotIn("client_secret", form)

    def test_certificate_not_registered(self):
        t = small_tenant()
        with Sim(t, client_cert=True) as sim:
            # Registered the simulator's client cert; present another key.
            subprocess.run(["python3", os.path.join(os.path.dirname(__file__),
                            "..", "graphsim", "certs.py"), "client", sim.dir,
                            "--name", "other"], check=True,
                           stdout=subprocess.DEVNULL)
            auth = "client_id = %s\ncertificate_file = other.pem\n" % CLIENT_ID
            rc, _, err = self.check_online(sim, auth=auth)
            self.assertEqual(rc, 3)
            self.assertIn("AADSTS700027", err)

    def test_managed_identity(self):
        t = small_tenant()
        t["managedIdentity"] = {"clientId": uid(77)}
        with Sim(t) as sim:
            conf = sim.config(auth="managed_identity = yes\n")
            text = open(conf).read().replace(
                "authority = %s" % sim.url,
                "authority = http://127.0.0.1:%d" % sim.http)
            open(conf, "w").write(text)
            rc, out, err = run([LICENSED, "-c", conf, "check", "--online"])
            self.assertEqual(rc, 0, err)
            imds = [e for e in sim.log() if e["port"] == "http"]
            self.assertEqual(len(imds), 1)
            self.assertEqual(imds[0]["headers"].get("Metadata"), "true")


class Reads(unittest.TestCase):
    def graphtool(self, sim, *args, **conf):
        return run([GRAPHTOOL, "-c", sim.config(**conf)] + list(args))

    def test_paging_2500_members_pages_of_100(self):
        with Sim(big_group_tenant(2500), page_size=100) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            ids = [line.split()[1] for line in out.splitlines()
                   if line.startswith("user ")]
            self.assertEqual(len(ids), 2500)
            self.assertEqual(len(set(ids)), 2500)
            pages = requests_to(sim.log(), "/transitiveMembers")
            self.assertEqual(len(pages), 25)
            self.assertIn("$top=999", pages[0]["path"])
            self.assertTrue(all("$skiptoken" in p["path"] for p in pages[1:]))

    def test_429_storm_honours_retry_after(self):
        faults = {"faults": [{"type": "rate_limit", "kind": "read", "rps": 4,
                              "burst": 1, "retry_after": "fractional"}]}
        with Sim(big_group_tenant(600), faults=faults, page_size=100) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            self.assertIn("600 users", out)
            reads = [e for e in sim.log() if e["method"] == "GET"
                     and e["path"].startswith("/v1.0/")]
            throttled = [e for e in reads if e["status"] == 429]
            self.assertGreater(len(throttled), 0)
            for e in throttled:
                later = [r for r in reads if r["seq"] > e["seq"]]
                if later:
                    gap = later[0]["t_mono"] - e["t_mono"]
                    self.assertGreaterEqual(gap + 0.005, float(e["retry_after"]),
                                            "request %d came %.3fs after a 429 "
                                            "with Retry-After %s" % (
                                                later[0]["seq"], gap,
                                                e["retry_after"]))

    def test_503_retried(self):
        faults = {"faults": [{"type": "status", "status": 503, "count": 3,
                              "path": "/transitiveMembers"}]}
        with Sim(small_tenant(), faults=faults) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            self.assertIn("4 users", out)
            statuses = [e["status"] for e in requests_to(sim.log(),
                                                         "/transitiveMembers")]
            self.assertEqual(statuses, [503, 503, 503, 200])
            self.assertIn("retries=3", out)

    def test_retry_budget_spent_is_a_failure(self):
        faults = {"faults": [{"type": "status", "status": 503,
                              "retry_after": "0.1",
                              "path": "/transitiveMembers"}]}
        with Sim(small_tenant(), faults=faults) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 3)
            self.assertIn("gave up after 8 retries", err)
            self.assertNotIn("users", out)

    def test_truncated_page_once_is_retried(self):
        faults = {"faults": [{"type": "truncate", "count": 1, "after": 2,
                              "path": "/transitiveMembers"}]}
        with Sim(big_group_tenant(500), faults=faults, page_size=100) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            self.assertIn("500 users", out)

    def test_truncated_page_is_never_a_short_list(self):
        faults = {"faults": [{"type": "truncate", "after": 2,
                              "path": "/transitiveMembers"}]}
        with Sim(big_group_tenant(500), faults=faults, page_size=100) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 3)
            self.assertNotIn(" users", out)

    def test_dropped_connection_retried(self):
        faults = {"faults": [{"type": "drop", "count": 2,
                              "path": "/transitiveMembers"}]}
        with Sim(small_tenant(), faults=faults) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            self.assertIn("4 users", out)

    def test_wrong_ca_fails_without_fallback(self):
        with Sim(small_tenant()) as sim:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                            "-nodes", "-subj", "/CN=other CA", "-days", "1",
                            "-keyout", sim.path("other.key"),
                            "-out", sim.path("other-ca.pem")],
                           check=True, capture_output=True)
            rc, out, err = run([LICENSED, "-c", sim.config(ca_file="other-ca.pem"),
                                "check", "--online"])
            self.assertEqual(rc, 3)
            self.assertIn("certificate", err.lower())
            self.assertEqual(sim.log(), [])

    def test_token_expiry_in_the_middle_of_a_read(self):
        faults = {"faults": [{"type": "token_expiry", "after_requests": 5}]}
        with Sim(big_group_tenant(1000), faults=faults, page_size=100) as sim:
            rc, out, err = self.graphtool(sim, "members", gid(1))
            self.assertEqual(rc, 0, err)
            self.assertIn("1000 users", out)
            log = sim.log()
            expired = [e for e in log if e["status"] == 401]
            self.assertGreaterEqual(len(expired), 1)
            # One new token per expiry, and each 401 read again once.
            self.assertEqual(len(requests_to(log, "/oauth2/v2.0/token")),
                             len(expired) + 1)
            self.assertEqual(len(requests_to(log, "/transitiveMembers")),
                             10 + len(expired))

    def test_watchdog_checkin_between_token_fetch_and_request(self):
        """A token fetch and the request after it may each take up to
        half the watchdog period: the client checks in with the daemon's
        wait hook (which feeds the watchdog) between the two."""
        faults = {"faults": [
            {"type": "token_expiry", "after_requests": 1},
            {"type": "latency", "ms": 200, "path": "/oauth2/v2.0/token"}]}
        with Sim(big_group_tenant(5), faults=faults, page_size=1) as sim:
            conf = sim.config()
            env = dict(os.environ, GRAPHTOOL_CHECKINS="1")
            rc, out, err = run([GRAPHTOOL, "-c", conf, "members", gid(1)],
                               env=env)
            self.assertEqual(rc, 0, err)
            checkins = [float(line.split()[1]) for line in err.splitlines()
                        if line.startswith("checkin ")]
            log = sim.log()
            pairs = [(a, b) for a, b in zip(log, log[1:])
                     if "/oauth2/v2.0/token" in a["path"]
                     and b["path"].startswith("/v1.0/")]
            self.assertGreaterEqual(len(pairs), 5)
            for token, request in pairs:
                self.assertTrue(any(token["t_wall"] < c < request["t_wall"]
                                    for c in checkins),
                                "no check-in between the token fetch at %.3f"
                                " and the request at %.3f" %
                                (token["t_wall"], request["t_wall"]))

    def test_missing_group(self):
        with Sim(small_tenant()) as sim:
            rc, _, err = self.graphtool(sim, "group", gid(42))
            self.assertEqual(rc, 3)
            self.assertIn("404 Request_ResourceNotFound", err)

    def test_holders(self):
        t = small_tenant()
        t["users"][0]["licenses"] = [{"sku": "ENTERPRISEPACK"}]
        t["users"][4]["licenses"] = [{"sku": "ENTERPRISEPACK",
                                      "disabledPlans": ["SWAY"]}]
        with Sim(t) as sim:
            rc, out, err = self.graphtool(sim, "holders", E3)
            self.assertEqual(rc, 0, err)
            self.assertIn("2 users", out)
            self.assertIn("%s:direct:1" % E3, out)


class CheckOnline(unittest.TestCase):
    def test_policy_that_does_not_match(self):
        policy = """[sales]
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY, NO_SUCH_PLAN

[ghost]
group = %s
sku = VISIOCLIENT
""" % (gid(1), gid(9))
        with Sim(small_tenant()) as sim:
            rc, out, err = run([LICENSED, "-c", sim.config(policy=policy),
                                "check", "--online"])
            self.assertEqual(rc, 2, out + err)
            self.assertIn("policy.ini:1: rule 'sales': SKU ENTERPRISEPACK has "
                          "no service plan 'NO_SUCH_PLAN'", err)
            self.assertIn("policy.ini:6: rule 'ghost': SKU 'VISIOCLIENT' is not "
                          "subscribed in the tenant", err)
            self.assertIn("policy.ini:6: rule 'ghost': group %s does not "
                          "exist in the tenant" % gid(9), err)
            self.assertEqual([e for e in sim.log() if e["method"] != "GET"
                              and "/token" not in e["path"]], [])


class Writes(unittest.TestCase):
    def apply(self, sim, lines):
        path = sim.path("writes.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return run([GRAPHTOOL, "-c", sim.config(), "apply", path])

    def test_assign_with_usage_location_and_inner_429(self):
        t = small_tenant()
        t["users"][1]["usageLocation"] = None
        faults = {"faults": [{"type": "status", "status": 429, "count": 1,
                              "retry_after": "1.5", "path": "/assignLicense"}]}
        with Sim(t, faults=faults) as sim:
            rc, out, err = self.apply(sim, [
                "%s +%s:%s" % (uid(1), E3, SWAY),
                "%s usage=DE +%s" % (uid(2), E3),
                "%s +%s:%s,%s" % (uid(3), E3, SWAY, YAMMER)])
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(out.count(" applied "), 3, out)
            users = {u["id"]: u for u in sim.state()["users"]}
            self.assertEqual(users[uid(2)]["usageLocation"], "DE")
            lic = users[uid(3)]["licenses"][0]
            self.assertEqual(sorted(lic["disabledPlans"]), ["SWAY",
                                                           "YAMMER_ENTERPRISE"])
            log = sim.log()
            items = [e for e in log if e.get("batch") is not None]
            throttled = [e for e in items if e["status"] == 429]
            self.assertEqual(len(throttled), 1)
            retry = [e for e in items if e["seq"] > throttled[0]["seq"]
                     and e["url"] == throttled[0]["url"]]
            self.assertEqual(len(retry), 1)
            self.assertGreaterEqual(retry[0]["t_mono"] - throttled[0]["t_mono"],
                                    1.5 - 0.005)
            bodies = [e["body"] for e in items if e["path"].endswith("/assignLicense")]
            for b in bodies:
                self.assertIn("addLicenses", b)
                self.assertIn("removeLicenses", b)

    def test_batches_of_twenty(self):
        t = tenant([user(i) for i in range(1, 46)], [],
                   skus=[{"skuPartNumber": "ENTERPRISEPACK", "enabled": 100}])
        with Sim(t) as sim:
            rc, out, err = self.apply(sim, ["%s +%s" % (uid(i), E3)
                                            for i in range(1, 46)])
            self.assertEqual(rc, 0, err)
            batches = requests_to(sim.log(), "/$batch")
            self.assertEqual(len(batches), 3)
            self.assertIn("writes=45 batches=3", out)

    def test_outcomes_are_classified(self):
        t = small_tenant()
        t["skus"] = [{"skuPartNumber": "ENTERPRISEPACK", "enabled": 1}]
        t["users"][0]["licenses"] = [{"sku": "ENTERPRISEPACK"}]
        t["users"][1]["usageLocation"] = None
        with Sim(t) as sim:
            rc, out, err = self.apply(sim, [
                "%s +%s" % (uid(2), E3),      # no usage location
                "%s +%s" % (uid(3), E3),      # no seats left
                "%s -%s" % (uid(4), E3),      # does not hold it
                "%s +%s" % (uid(999), E3)])   # no such user
            self.assertEqual(rc, 1)
            self.assertIn("%s no usage location 400" % uid(2), out)
            self.assertIn("%s no seats 400" % uid(3), out)
            self.assertIn("%s license not held 400" % uid(4), out)
            self.assertIn("%s no such user 404" % uid(999), out)


if __name__ == "__main__":
    unittest.main()
