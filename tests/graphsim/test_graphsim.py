"""Self-test of the Graph simulator (stdlib unittest, urllib/http.client).

  python3 -m unittest discover -s tests/graphsim -p 'test_*.py'

One simulator process serves every test; each test that changes the fault
set restores it, and tests that write licenses use users of their own. The
process and its temporary directory are removed at the end.
"""

import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import certs  # noqa: E402
from catalog import Catalog  # noqa: E402
from tenant import Tenant  # noqa: E402

EXAMPLES = os.path.join(HERE, "data")
NS = uuid.UUID("5b0d3c3e-5d1e-4c1e-9a51-0c7c2f4b8a10")
TENANT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DOMAIN = "contoso.onmicrosoft.com"
APP = "11111111-1111-4111-8111-111111111111"
OLD_APP = "22222222-2222-4222-8222-222222222222"
CERT_APP = "33333333-3333-4333-8333-333333333333"
MI_APP = "44444444-4444-4444-8444-444444444444"
SECRET = "s3cret~value"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"      # ENTERPRISEPACK
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"      # SPE_E5
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"  # in the CSV, not owned
N_BIG = 2500


def gid(name):
    return str(uuid.uuid5(NS, name))


def user(name, loc="US", **extra):
    u = {"id": gid(name), "userPrincipalName": "%s@%s" % (name, DOMAIN),
         "displayName": name.title(), "usageLocation": loc}
    u.update(extra)
    return u


def build_tenant(thumb):
    users = [user("alice"), user("bob", loc=None), user("carol"),
             user("dave", licenses=[{"sku": "ENTERPRISEPACK",
                                     "disabledPlans": ["SWAY"]}]),
             user("erin"), user("frank"), user("grace"), user("heidi")]
    users += [user("big%04d" % i) for i in range(N_BIG)]
    big = [u["id"] for u in users if u["userPrincipalName"].startswith("big")]
    groups = [
        # big: 2,500 users through two nested levels, overlapping subgroups
        {"id": gid("g-big"), "displayName": "All staff",
         "members": [gid("g-sub1"), gid("g-sub2"), big[0]]},
        {"id": gid("g-sub1"), "displayName": "Sub 1",
         "members": big[:1500] + [gid("g-sub3")]},
        {"id": gid("g-sub2"), "displayName": "Sub 2",
         "members": big[1000:2000] + [gid("g-sub3")]},
        {"id": gid("g-sub3"), "displayName": "Sub 3", "members": big[1900:]},
        {"id": gid("g-e5"), "displayName": "E5 via group licensing",
         "members": [gid("erin")],
         "licenses": [{"sku": "SPE_E5", "disabledPlans": []}]},
    ]
    return {
        "tenant": {"id": TENANT_ID, "domains": [DOMAIN],
                   "displayName": "Contoso"},
        "tokenLifetime": 3599,
        "managedIdentity": {"clientId": MI_APP},
        "apps": [
            {"clientId": APP, "secrets": [{"value": SECRET}]},
            {"clientId": OLD_APP, "secrets": [
                {"value": "old", "expires": "2020-01-01T00:00:00Z"}]},
            {"clientId": CERT_APP, "certificates": [{"x5t#S256": thumb}]},
        ],
        "skus": [
            {"skuPartNumber": "ENTERPRISEPACK", "enabled": 10},
            {"skuPartNumber": "SPE_E5", "enabled": 1},
            {"skuPartNumber": "POWER_BI_PRO", "enabled": 3,
             "appliesTo": "Company"},
        ],
        "users": users,
        "groups": groups,
    }


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Sim:
    """The simulator process and a keep-alive HTTPS client for it."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="graphsim-test-")
        try:
            self._start()
        except BaseException:
            self.tmp.cleanup()
            raise

    def _start(self):
        self.dir = os.path.join(self.tmp.name, "sim")
        os.makedirs(self.dir)
        self.client_cert = certs.make_client_cert(self.dir)
        self.tenant_file = os.path.join(self.tmp.name, "tenant.json")
        with open(self.tenant_file, "w", encoding="utf-8") as f:
            json.dump(build_tenant(self.client_cert["x5t#S256"]), f)
        self.stderr = open(os.path.join(self.tmp.name, "stderr.txt"), "w+",
                           encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "graphsim.py"),
             "--tenant", self.tenant_file, "--dir", self.dir],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("graphsim ready"):
            self.proc.kill()
            self.proc.wait()
            self.stderr.seek(0)
            raise RuntimeError("graphsim did not start: %s %s" % (
                line, self.stderr.read()))
        with open(os.path.join(self.dir, "ports.json"), encoding="utf-8") as f:
            ports = json.load(f)
        self.port, self.imds_port = ports["https"], ports["http"]
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(self.dir, "ca.pem"))
        self.conn = None

    def stop(self):
        if self.conn:
            self.conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()

    def request(self, method, path, body=None, headers=None, token=None):
        """(status, headers, parsed JSON or raw bytes) over one kept-alive
        connection, reopened when the server closed it."""
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=self.ctx, timeout=10)
        try:
            self.conn.request(method, path, body, hdrs)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw
        return resp.status, resp.headers, data

    def token_request(self, form, tenant=TENANT_ID):
        return self.request("POST", "/%s/oauth2/v2.0/token" % tenant,
                            urllib.parse.urlencode(form),
                            {"Content-Type":
                             "application/x-www-form-urlencoded"})

    def secret_token(self):
        status, _, body = self.token_request({
            "grant_type": "client_credentials", "client_id": APP,
            "client_secret": SECRET,
            "scope": "https://graph.microsoft.com/.default"})
        assert status == 200, body
        return body["access_token"]

    def control(self, method, name, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            "http://127.0.0.1:%d/_sim/%s" % (self.imds_port, name),
            data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log(self):
        with open(os.path.join(self.dir, "requests.jsonl"),
                  encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def assertion(self, alg="PS256", aud=None, iss=CERT_APP, nbf=None,
                  exp=None, thumb=None, key=None):
        now = int(time.time())
        header = {"alg": alg, "typ": "JWT",
                  "x5t#S256": thumb or self.client_cert["x5t#S256"]}
        claims = {"aud": aud or "https://127.0.0.1:%d/%s/oauth2/v2.0/token"
                  % (self.port, TENANT_ID),
                  "iss": iss, "sub": iss, "jti": str(uuid.uuid4()),
                  "nbf": now if nbf is None else nbf,
                  "exp": now + 300 if exp is None else exp}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        cmd = ["openssl", "dgst", "-sha256", "-sign",
               key or self.client_cert["path"]]
        if alg == "PS256":
            cmd += ["-sigopt", "rsa_padding_mode:pss",
                    "-sigopt", "rsa_pss_saltlen:32"]
        sig = subprocess.run(cmd, input=signing_input.encode(),
                             capture_output=True, check=True).stdout
        return signing_input + "." + b64url(sig)


SIM = None


def setUpModule():
    global SIM
    SIM = Sim()


def tearDownModule():
    SIM.stop()
    SIM.tmp.cleanup()


class Base(unittest.TestCase):
    def setUp(self):
        SIM.control("POST", "faults", {})
        self.token = SIM.secret_token()

    def tearDown(self):
        SIM.control("POST", "faults", {})

    def get(self, path, **kw):
        return SIM.request("GET", path, token=self.token, **kw)

    def post(self, path, body, **kw):
        return SIM.request("POST", path, body, token=self.token, **kw)

    def sku(self, sku_id):
        _, _, body = self.get("/v1.0/subscribedSkus")
        return next(s for s in body["value"] if s["skuId"] == sku_id)

    def assign(self, name, add=(), remove=()):
        return self.post("/v1.0/users/%s/assignLicense" % gid(name), {
            "addLicenses": [{"skuId": s, "disabledPlans": list(p)}
                            for s, p in add],
            "removeLicenses": list(remove)})

    def assert_aad(self, status, body, want_status, error, code):
        self.assertEqual(status, want_status, body)
        self.assertEqual(body["error"], error)
        self.assertEqual(body["error_codes"], [code])
        self.assertTrue(body["error_description"].startswith(
            "AADSTS%d: " % code), body["error_description"])
        for k in ("timestamp", "trace_id", "correlation_id", "error_uri"):
            self.assertIn(k, body)

    def assert_graph_error(self, status, body, want_status, code, message):
        self.assertEqual(status, want_status, body)
        self.assertEqual(body["error"]["code"], code)
        self.assertEqual(body["error"]["message"], message)
        self.assertIn("request-id", body["error"]["innerError"])


class TokenTest(Base):
    FORM = {"grant_type": "client_credentials", "client_id": APP,
            "scope": "https://graph.microsoft.com/.default"}

    def test_secret_ok(self):
        status, _, body = SIM.token_request(dict(self.FORM,
                                                 client_secret=SECRET))
        self.assertEqual(status, 200)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 3599)
        status, _, _ = SIM.request("GET", "/v1.0/subscribedSkus",
                                   token=body["access_token"])
        self.assertEqual(status, 200)

    def test_secret_by_domain_and_basic_auth(self):
        cred = base64.b64encode(("%s:%s" % (APP, SECRET)).encode()).decode()
        status, _, body = SIM.request(
            "POST", "/%s/oauth2/v2.0/token" % DOMAIN,
            urllib.parse.urlencode({
                "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default"}),
            {"Content-Type": "application/x-www-form-urlencoded",
             "Authorization": "Basic " + cred})
        self.assertEqual(status, 200, body)

    def test_errors(self):
        st, _, b = SIM.token_request(dict(self.FORM, client_secret="nope"))
        self.assert_aad(st, b, 401, "invalid_client", 7000215)
        st, _, b = SIM.token_request(dict(self.FORM, client_secret=SECRET),
                                     tenant="fabrikam.onmicrosoft.com")
        self.assert_aad(st, b, 400, "invalid_request", 90002)
        st, _, b = SIM.token_request(dict(self.FORM, client_id=OLD_APP,
                                          client_secret="old"))
        self.assert_aad(st, b, 401, "invalid_client", 7000222)
        st, _, b = SIM.token_request(dict(self.FORM, client_id=str(
            uuid.uuid4()), client_secret=SECRET))
        self.assert_aad(st, b, 400, "unauthorized_client", 700016)

    def _assertion_form(self, assertion):
        return {"grant_type": "client_credentials", "client_id": CERT_APP,
                "scope": "https://graph.microsoft.com/.default",
                "client_assertion_type":
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion}

    def test_jwt_assertion_ok(self):
        for alg in ("PS256", "RS256"):
            st, _, b = SIM.token_request(self._assertion_form(
                SIM.assertion(alg=alg)))
            self.assertEqual(st, 200, b)
            self.assertIn("access_token", b)

    def test_jwt_assertion_rejected(self):
        good = SIM.assertion()
        head, claims, sig = good.split(".")
        payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
        payload["exp"] += 60
        tampered = ".".join((head, b64url(json.dumps(payload).encode()),
                             sig))
        st, _, b = SIM.token_request(self._assertion_form(tampered))
        self.assert_aad(st, b, 401, "invalid_client", 700027)
        other = certs.make_client_cert(SIM.tmp.name, "stranger")
        st, _, b = SIM.token_request(self._assertion_form(SIM.assertion(
            thumb=other["x5t#S256"], key=other["path"])))
        self.assert_aad(st, b, 401, "invalid_client", 700027)
        now = int(time.time())
        st, _, b = SIM.token_request(self._assertion_form(SIM.assertion(
            nbf=now - 7200, exp=now - 3600)))
        self.assert_aad(st, b, 401, "invalid_client", 700024)
        st, _, b = SIM.token_request(self._assertion_form(SIM.assertion(
            aud="https://login.microsoftonline.com/%s/oauth2/v2.0/token"
                % TENANT_ID)))
        self.assert_aad(st, b, 401, "invalid_client", 700023)


class ImdsTest(Base):
    URL = ("/metadata/identity/oauth2/token?api-version=2018-02-01&"
           "resource=https://graph.microsoft.com/")

    def imds(self, headers):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (
            SIM.imds_port, self.URL), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_imds(self):
        status, body = self.imds({})
        self.assertEqual((status, body["error"]), (400, "bad_request_102"))
        status, body = self.imds({"Metadata": "true"})
        self.assertEqual(status, 200, body)
        for k in ("expires_in", "expires_on", "not_before"):
            self.assertIsInstance(body[k], str)
            int(body[k])
        self.assertEqual(body["refresh_token"], "")
        st, _, _ = SIM.request("GET", "/v1.0/subscribedSkus",
                               token=body["access_token"])
        self.assertEqual(st, 200)


class ReadTest(Base):
    def test_unauthenticated(self):
        st, hdrs, b = SIM.request("GET", "/v1.0/subscribedSkus")
        self.assertEqual(b["error"]["code"], "InvalidAuthenticationToken")
        st, hdrs, b = SIM.request("GET", "/v1.0/subscribedSkus",
                                  token="made-up")
        self.assertEqual(st, 401)
        self.assertIn("WWW-Authenticate", hdrs)

    def test_subscribed_skus_shape(self):
        st, _, b = self.get("/v1.0/subscribedSkus")
        self.assertEqual(st, 200)
        e3 = next(s for s in b["value"] if s["skuPartNumber"] ==
                  "ENTERPRISEPACK")
        self.assertEqual(e3["skuId"], E3)
        self.assertEqual(e3["id"], "%s_%s" % (TENANT_ID, E3))
        self.assertEqual(set(e3["prepaidUnits"]),
                         {"enabled", "suspended", "warning", "lockedOut"})
        plan = next(p for p in e3["servicePlans"]
                    if p["servicePlanName"] == "SWAY")
        self.assertEqual(set(plan), {"servicePlanId", "servicePlanName",
                                     "provisioningStatus", "appliesTo"})
        st, _, b = self.get("/v1.0/subscribedSkus?$select=skuId,"
                            "consumedUnits")
        self.assertEqual(set(b["value"][0]), {"skuId", "consumedUnits"})

    def test_group_404(self):
        missing = str(uuid.uuid4())
        st, _, b = self.get("/v1.0/groups/" + missing)
        self.assert_graph_error(
            st, b, 404, "Request_ResourceNotFound", "Resource '%s' does not "
            "exist or one of its queried reference-property objects are not "
            "present." % missing)

    def read_all(self, url, headers=None):
        ids, pages = [], 0
        while url and pages < 100:
            st, _, b = self.get(url, headers=headers)
            self.assertEqual(st, 200, b)
            ids += [o["id"] for o in b["value"]]
            pages += 1
            url = b.get("@odata.nextLink")
            if url:
                self.assertIn("$skiptoken=", url)
                url = url[url.index("/v1.0/"):]
        return ids, pages

    def test_transitive_members_paging(self):
        SIM.control("POST", "faults", {"page_size": 100})
        url = ("/v1.0/groups/%s/transitiveMembers?$select=id,"
               "userPrincipalName,assignedLicenses&$top=999" % gid("g-big"))
        ids, pages = self.read_all(url)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), N_BIG + 3)       # + the 3 nested groups
        self.assertEqual(pages, 26)
        cast = url.replace("transitiveMembers", "transitiveMembers/"
                           "microsoft.graph.user") + "&$count=true"
        st, _, b = self.get(cast)
        self.assertEqual(st, 400, "OData cast needs ConsistencyLevel")
        ids, pages = self.read_all(cast, {"ConsistencyLevel": "eventual"})
        self.assertEqual(len(set(ids)), N_BIG)
        self.assertEqual(pages, 25)
        st, _, b = self.get(cast, headers={"ConsistencyLevel": "eventual"})
        self.assertEqual(b["@odata.count"], N_BIG)
        self.assertEqual(b["value"][0]["@odata.type"], "#microsoft.graph.user")

    def test_top_limit(self):
        st, _, b = self.get("/v1.0/groups/%s/transitiveMembers?$top=1000"
                            % gid("g-big"))
        self.assertEqual(st, 400)
        self.assertIn("between 1 and 999", b["error"]["message"])

    def test_users_by_sku(self):
        url = "/v1.0/users?$filter=assignedLicenses/any(x:x/skuId eq %s)&" \
              "$count=true&$select=id" % E3
        st, _, b = self.get(url.replace(" ", "%20"),
                            headers={"ConsistencyLevel": "eventual"})
        self.assertEqual(st, 200, b)
        self.assertIn(gid("dave"), [u["id"] for u in b["value"]])
        self.assertEqual(b["@odata.count"], len(b["value"]))
        st, _, b = self.get(url.replace(" ", "%20"))
        self.assertEqual(st, 200, b)
        self.assertNotIn("@odata.count", b)   # ignored without the header

    def test_keepalive_is_fast(self):
        """50 calls on one connection: no Nagle/delayed-ACK stalls."""
        self.get("/v1.0/users/%s" % gid("alice"))
        t0 = time.monotonic()
        for _ in range(50):
            st, _, _ = self.get("/v1.0/users/%s?$select=id" % gid("alice"))
            self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_unsupported_is_loud(self):
        SIM.control("POST", "reset-log")
        st, _, b = self.get("/v1.0/me/licenseDetails")
        self.assertEqual(st, 400)
        self.assertEqual(b["error"]["code"], "BadRequest")
        self.assertTrue(SIM.log()[-1].get("unsupported"))
        SIM.stderr.seek(0)
        self.assertIn("UNSUPPORTED GET /v1.0/me/licenseDetails",
                      SIM.stderr.read())


class WriteTest(Base):
    def test_seat_accounting(self):
        before = self.sku(E3)["consumedUnits"]
        st, _, b = self.assign("alice", add=[(E3, [])])
        self.assertEqual(st, 200, b)
        self.assertEqual(self.sku(E3)["consumedUnits"], before + 1)
        st, _, b = self.assign("alice", remove=[E3])
        self.assertEqual(st, 200, b)
        self.assertEqual(self.sku(E3)["consumedUnits"], before)

    def test_disabled_plans_replace(self):
        plans = {p["servicePlanName"]: p["servicePlanId"]
                 for p in self.sku(E3)["servicePlans"]}
        self.assign("carol", add=[(E3, [plans["SWAY"]])])
        st, _, b = self.assign("carol",
                               add=[(E3, [plans["YAMMER_ENTERPRISE"]])])
        self.assertEqual(b["assignedLicenses"], [
            {"disabledPlans": [plans["YAMMER_ENTERPRISE"]], "skuId": E3}])

    def test_errors(self):
        st, _, b = self.post("/v1.0/users/%s/assignLicense" % gid("alice"),
                             {"addLicenses": []})
        self.assert_graph_error(
            st, b, 400, "Request_BadRequest", "One or more parameters of the "
            "operation 'assignLicense' are missing from the request payload. "
            "The missing parameters are: removeLicenses.")
        st, _, b = self.assign("alice", remove=[E5])
        self.assert_graph_error(st, b, 400, "Request_BadRequest",
                                "User does not have a corresponding license.")
        st, _, b = self.assign("alice", add=[(FLOW_FREE, [])])
        self.assert_graph_error(st, b, 400, "Request_BadRequest", "License %s"
                                " does not correspond to a valid company "
                                "License." % FLOW_FREE)
        st, _, b = self.assign("alice", add=[(E5, [])])   # erin holds it
        self.assert_graph_error(st, b, 400, "Request_BadRequest",
                                "Subscription with SKU %s does not have any "
                                "available licenses." % E5)
        bi = self.sku("f8a1db68-be16-40ed-86d5-cb42ce701560")
        st, _, b = self.assign("alice", add=[(bi["skuId"], [])])
        self.assertIn("cannot be assigned to a user", b["error"]["message"])
        st, _, b = self.assign("alice", add=[("not-a-guid", [])])
        self.assertIn("Edm.Guid", b["error"]["message"])

    def test_usage_location(self):
        with open(os.path.join(EXAMPLES, "assignLicense-error-invalid-"
                               "usage-location.response.json"),
                  encoding="utf-8") as f:
            example = json.load(f)
        st, _, b = self.assign("bob", add=[(E3, [])])
        self.assertEqual(st, 400)
        self.assertEqual(b["error"]["code"], example["error"]["code"])
        self.assertEqual(b["error"]["message"], example["error"]["message"])
        self.assertEqual(set(b["error"]["innerError"]),
                         set(example["error"]["innerError"]))
        st, _, _ = SIM.request("PATCH", "/v1.0/users/%s" % gid("bob"),
                               {"usageLocation": "DE"}, token=self.token)
        self.assertEqual(st, 204)
        st, _, b = self.assign("bob", add=[(E3, [])])
        self.assertEqual(st, 200, b)

    def test_group_inherited(self):
        _, _, b = self.get("/v1.0/users/%s?$select=licenseAssignmentStates"
                           % gid("erin"))
        states = b["licenseAssignmentStates"]
        self.assertEqual([(s["skuId"], s["assignedByGroup"]) for s in states],
                         [(E5, gid("g-e5"))])
        st, _, b = self.assign("erin", remove=[E5])
        self.assertEqual(b["error"]["message"],
                         "User does not have a corresponding license.")
        before = self.sku(E5)["consumedUnits"]
        st, _, b = self.assign("erin", add=[(E5, [])])     # no new seat
        self.assertEqual(st, 200, b)
        self.assertEqual(self.sku(E5)["consumedUnits"], before)
        _, _, b = self.get("/v1.0/users/%s?$select=assignedLicenses,"
                           "licenseAssignmentStates" % gid("erin"))
        self.assertEqual(len(b["assignedLicenses"]), 1)
        self.assertEqual(sorted(str(s["assignedByGroup"])
                                for s in b["licenseAssignmentStates"]),
                         sorted([gid("g-e5"), "None"]))


class BatchTest(Base):
    def test_batch_with_inner_429(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "rate_limit", "kind": "read", "rps": 0.5, "burst": 19,
             "path": "^/v1\\.0/users/"}]})
        reqs = [{"id": str(i), "method": "GET",
                 "url": "/users/%s?$select=id" % gid("big%04d" % i)}
                for i in range(20)]
        SIM.control("POST", "reset-log")
        st, _, b = self.post("/v1.0/$batch", {"requests": reqs})
        self.assertEqual(st, 200, b)
        by_id = {r["id"]: r for r in b["responses"]}
        self.assertEqual(set(by_id), {str(i) for i in range(20)})
        self.assertEqual(sum(r["status"] == 200 for r in b["responses"]), 19)
        throttled = by_id["19"]
        self.assertEqual(throttled["status"], 429)
        self.assertGreater(float(throttled["headers"]["Retry-After"]), 0)
        inner = [e for e in SIM.log() if "batch" in e]
        self.assertEqual(len(inner), 20)
        self.assertEqual(inner[-1]["status"], 429)
        st, _, b = self.post("/v1.0/$batch", {"requests": reqs + [
            dict(reqs[0], id="20")]})
        self.assertEqual(st, 400)

    def test_depends_on(self):
        st, _, b = self.post("/v1.0/$batch", {"requests": [
            {"id": "1", "method": "PATCH", "url": "/users/%s" % uuid.uuid4(),
             "body": {"usageLocation": "US"},
             "headers": {"Content-Type": "application/json"}},
            {"id": "2", "method": "POST", "dependsOn": ["1"],
             "url": "/users/%s/assignLicense" % gid("frank"),
             "body": {"addLicenses": [{"skuId": E3, "disabledPlans": []}],
                      "removeLicenses": []},
             "headers": {"Content-Type": "application/json"}}]})
        by_id = {r["id"]: r for r in b["responses"]}
        self.assertEqual((by_id["1"]["status"], by_id["2"]["status"]),
                         (404, 424))


class FaultTest(Base):
    def test_429_fractional_retry_after(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "status", "status": 429, "retry_after": 2.128,
             "count": 1}]})
        st, hdrs, b = self.get("/v1.0/subscribedSkus")
        self.assertEqual((st, hdrs["Retry-After"]), (429, "2.128"))
        with open(os.path.join(EXAMPLES, "throttling-429.response.json"),
                  encoding="utf-8") as f:
            example = json.load(f)
        self.assertEqual(b["error"]["code"], example["error"]["code"])
        self.assertEqual(set(b["error"]["innerError"]),
                         set(example["error"]["innerError"]))
        st, _, _ = self.get("/v1.0/subscribedSkus")
        self.assertEqual(st, 200)

    def test_error_after_write(self):
        """"apply": the write happens although the client sees a 503."""
        SIM.control("POST", "faults", {"faults": [
            {"type": "status", "status": 503, "apply": True, "count": 1,
             "path": "/assignLicense$"}]})
        st, _, _ = self.assign("heidi", add=[(E3, [])])
        self.assertEqual(st, 503)
        _, _, b = self.get("/v1.0/users/%s?$select=assignedLicenses"
                           % gid("heidi"))
        self.assertEqual([a["skuId"] for a in b["assignedLicenses"]], [E3])

    def test_rate_limit(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "rate_limit", "kind": "read", "rps": 2, "burst": 2}]})
        statuses = [self.get("/v1.0/subscribedSkus")[:2] for _ in range(3)]
        self.assertEqual([s for s, _ in statuses], [200, 200, 429])
        wait = float(statuses[2][1]["Retry-After"])
        self.assertTrue(0 < wait <= 1.0, wait)
        time.sleep(wait)
        self.assertEqual(self.get("/v1.0/subscribedSkus")[0], 200)

    def test_truncated_body(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "truncate", "count": 1}]})
        with self.assertRaises(http.client.IncompleteRead):
            self.get("/v1.0/subscribedSkus")
        self.assertEqual(self.get("/v1.0/subscribedSkus")[0], 200)

    def test_dropped_connection(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "drop", "count": 1}]})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError, ssl.SSLError)):
            self.get("/v1.0/subscribedSkus")
        self.assertEqual(self.get("/v1.0/subscribedSkus")[0], 200)

    def test_dropped_after_a_garbage_status_line(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "drop", "garbage": True, "count": 1}]})
        with self.assertRaises((http.client.BadStatusLine,
                                http.client.RemoteDisconnected,
                                ConnectionError, ssl.SSLError)):
            self.get("/v1.0/subscribedSkus")
        self.assertEqual(self.get("/v1.0/subscribedSkus")[0], 200)

    def test_token_expiry_after_requests(self):
        SIM.control("POST", "faults", {"faults": [
            {"type": "token_expiry", "after_requests": 2}]})
        token = SIM.secret_token()
        codes = [SIM.request("GET", "/v1.0/subscribedSkus", token=token)[0]
                 for _ in range(3)]
        self.assertEqual(codes, [200, 200, 401])
        fresh = SIM.secret_token()
        self.assertEqual(SIM.request("GET", "/v1.0/subscribedSkus",
                                     token=fresh)[0], 200)

    def test_member_page_fails(self):
        SIM.control("POST", "faults", {"page_size": 500, "faults": [
            {"type": "member_page", "group": gid("g-big"), "page": 2,
             "status": 503, "retry_after": 1}]})
        st, _, b = self.get("/v1.0/groups/%s/members?$select=id"
                            % gid("g-sub1"))
        self.assertEqual(st, 200)
        st, _, b = self.get("/v1.0/groups/%s/transitiveMembers?$select=id"
                            % gid("g-big"))
        self.assertEqual(st, 200)
        nxt = b["@odata.nextLink"]
        st, hdrs, b = self.get(nxt[nxt.index("/v1.0/"):])
        self.assertEqual((st, hdrs["Retry-After"]), (503, "1"))


class MembersTest(Base):
    """POST /_sim/members and GET /_sim/inflight (control endpoints)."""

    def member_ids(self, group, kind="transitiveMembers"):
        _, _, b = self.get("/v1.0/groups/%s/%s?$select=id&$top=999"
                           % (gid(group), kind))
        ids = [v["id"] for v in b["value"]]
        while "@odata.nextLink" in b:
            nxt = b["@odata.nextLink"]
            _, _, b = self.get(nxt[nxt.index("/v1.0/"):])
            ids += [v["id"] for v in b["value"]]
        return ids

    def test_change_members_at_run_time(self):
        before = self.member_ids("g-sub3", "members")
        self.assertNotIn(gid("alice"), self.member_ids("g-big"))
        SIM.control("POST", "members", {gid("g-sub3"): [gid("alice")]})
        try:
            self.assertEqual(self.member_ids("g-sub3", "members"),
                             [gid("alice")])
            self.assertIn(gid("alice"), self.member_ids("g-big"))
            # nested: a group joins another one
            SIM.control("POST", "members", {gid("g-sub3"): [gid("g-e5")]})
            self.assertIn(gid("erin"), self.member_ids("g-big"))
            self.assertNotIn(gid("alice"), self.member_ids("g-big"))
        finally:
            SIM.control("POST", "members", {gid("g-sub3"): before})
        self.assertEqual(self.member_ids("g-sub3", "members"), before)

    def test_bad_members_change_nothing(self):
        before = self.member_ids("g-sub3", "members")
        for doc in ({gid("g-sub3"): [gid("alice"), str(uuid.uuid4())]},
                    {str(uuid.uuid4()): []}, {gid("g-sub3"): "x"}, []):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                SIM.control("POST", "members", doc)
            self.assertEqual(cm.exception.code, 400)
        self.assertEqual(self.member_ids("g-sub3", "members"), before)

    def test_group_licenses_follow_members(self):
        def inherited(name):
            _, _, b = self.get("/v1.0/users/%s?$select="
                               "licenseAssignmentStates" % gid(name))
            return [s["skuId"] for s in b["licenseAssignmentStates"]
                    if s["assignedByGroup"] == gid("g-e5")]
        consumed = self.sku(E5)["consumedUnits"]
        SIM.control("POST", "members", {gid("g-e5"): [gid("frank")]})
        try:
            self.assertEqual(inherited("erin"), [])
            self.assertEqual(inherited("frank"), [E5])
            self.assertEqual(self.sku(E5)["consumedUnits"], consumed)
        finally:
            SIM.control("POST", "members", {gid("g-e5"): [gid("erin")]})
        self.assertEqual(inherited("erin"), [E5])
        self.assertEqual(inherited("frank"), [])
        self.assertEqual(self.sku(E5)["consumedUnits"], consumed)

    def test_inflight(self):
        import threading
        self.assertEqual(SIM.control("GET", "inflight"), {"inflight": 0})
        SIM.control("POST", "faults", {"faults": [
            {"type": "latency", "ms": 600, "count": 1,
             "path": "^/v1\\.0/subscribedSkus"}]})
        token = self.token
        done = []

        def slow():
            conn = http.client.HTTPSConnection("127.0.0.1", SIM.port,
                                               context=SIM.ctx, timeout=10)
            conn.request("GET", "/v1.0/subscribedSkus",
                         headers={"Authorization": "Bearer " + token})
            done.append(conn.getresponse().status)
            conn.close()
        t = threading.Thread(target=slow)
        t.start()
        seen = 0
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            seen = SIM.control("GET", "inflight")["inflight"]
            time.sleep(0.02)
        t.join(10)
        self.assertEqual((seen, done), (1, [200]))
        self.assertEqual(SIM.control("GET", "inflight"), {"inflight": 0})


class LogTest(Base):
    def test_request_log(self):
        SIM.control("POST", "reset-log")
        SIM.secret_token()
        self.get("/v1.0/users?$top=1", headers={"ConsistencyLevel":
                                                "eventual"})
        tok, get = SIM.log()[-2:]
        self.assertEqual(tok["body"]["client_secret"], "<redacted>")
        self.assertEqual(get["headers"]["Authorization"], "Bearer")
        self.assertEqual(get["headers"]["ConsistencyLevel"], "eventual")
        self.assertEqual(get["path"], "/v1.0/users?$top=1")
        self.assertEqual(get["status"], 200)
        self.assertIsInstance(get["t_mono"], float)
        self.assertIsInstance(get["t_wall"], float)
        self.assertGreaterEqual(get["t_mono"], tok["t_mono"])


class ZDumpTest(Base):
    """Runs last: the final tenant dump round-trips through the loader,
    then SIGTERM stops the simulator cleanly."""

    def tearDown(self):
        """The simulator is gone: nothing to reset."""

    def test_dump_round_trip(self):
        self.assign("grace", add=[(E3, [])])
        path = SIM.control("POST", "dump")["path"]
        with open(path, encoding="utf-8") as f:
            dumped = json.load(f)
        grace = next(u for u in dumped["users"] if u["id"] == gid("grace"))
        self.assertEqual(grace["licenses"][0]["sku"], "ENTERPRISEPACK")
        again = Tenant(dumped, Catalog(), [SIM.dir])
        self.assertEqual(again.dump()["skus"], dumped["skus"])
        SIM.stop()
        self.assertEqual(SIM.proc.returncode, 0)
        self.assertTrue(os.path.exists(os.path.join(SIM.dir,
                                                    "tenant.out.json")))


if __name__ == "__main__":
    unittest.main()
