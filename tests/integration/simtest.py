"""Shared fixture of the integration tests: a Graph simulator with a
tenant, a licensed.conf and policy pointing at it, and helpers to run the
real binaries and read the simulator's request log.

Each test gets its own simulator (tests/graphsim/graphsim.py) in a fresh
temporary directory, on free loopback ports, stopped at the end.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
LICENSED = os.path.join(BUILD, "licensed")
GRAPHTOOL = os.path.join(BUILD, "tests", "graphtool")
GRAPHSIM = os.path.join(ROOT, "tests", "graphsim")

TENANT_ID = "5f1e8c2a-7b3d-4e9f-a1c6-2d8b0e4f6a13"
DOMAIN = "contoso.onmicrosoft.com"
CLIENT_ID = "3f2c1b8e-5d4a-4e6f-9a7b-2c1d0e9f8a7b"
SECRET = "s3cret~value.for-tests"

# Real products (shared/data/licensing-service-plan-reference.csv).
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"      # ENTERPRISEPACK
M365_E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"  # SPE_E5
SWAY = "a23b959c-7ce8-4e57-9140-b90eb88a9e97"     # plan of ENTERPRISEPACK
YAMMER = "7547a3fe-08ee-4ccb-b430-5077c5041653"   # YAMMER_ENTERPRISE


def uid(n, prefix="0000"):
    """A deterministic object id: uid(7) -> '00000000-0000-4000-8000-000000000007'."""
    return "%s%04x-0000-4000-8000-%012x" % (prefix, n >> 16, n & 0xFFFFFFFFFFFF)


def gid(n):
    return uid(n, prefix="6700")


def user(n, usage="US", licenses=(), enabled=True):
    return {"id": uid(n), "userPrincipalName": "user%d@%s" % (n, DOMAIN),
            "displayName": "User %d" % n, "accountEnabled": enabled,
            "usageLocation": usage, "licenses": list(licenses)}


def tenant(users, groups, skus=None, **extra):
    t = {"tenant": {"id": TENANT_ID, "displayName": "Contoso",
                    "domains": [DOMAIN]},
         "apps": [{"clientId": CLIENT_ID, "secrets": [{"value": SECRET}]}],
         "skus": skus if skus is not None else [
             {"skuPartNumber": "ENTERPRISEPACK", "enabled": 100},
             {"skuPartNumber": "SPE_E5", "enabled": 10}],
         "users": users, "groups": groups}
    t.update(extra)
    return t


POLICY = """[sales-e3]
group = %s
sku = ENTERPRISEPACK
disabled_plans = SWAY
""" % gid(1)


class Sim:
    """A running simulator; use as a context manager."""

    def __init__(self, tenant_doc, faults=None, page_size=None,
                 client_cert=False):
        self.dir = tempfile.mkdtemp(prefix="licensed-it.")
        self.proc = None
        if client_cert:
            subprocess.run([sys.executable, os.path.join(GRAPHSIM, "certs.py"),
                            "client", self.dir], check=True,
                           stdout=subprocess.DEVNULL)
            tenant_doc["apps"][0].setdefault("certificates", []).append(
                {"pemFile": os.path.join(self.dir, "client.pem")})
        self._write("tenant.json", json.dumps(tenant_doc))
        args = [sys.executable, os.path.join(GRAPHSIM, "graphsim.py"),
                "--tenant", self.path("tenant.json"), "--dir", self.dir]
        if faults is not None:
            self._write("faults.json", json.dumps(faults))
            args += ["--faults", self.path("faults.json")]
        if page_size:
            args += ["--page-size", str(page_size)]
        self.stderr = open(self.path("sim.stderr"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("graphsim ready"):
            self.stop()
            raise RuntimeError("simulator did not start: %s" % line)
        with open(self.path("ports.json")) as f:
            ports = json.load(f)
        self.https, self.http = ports["https"], ports["http"]
        self.url = "https://127.0.0.1:%d" % self.https

    def path(self, name):
        return os.path.join(self.dir, name)

    def _write(self, name, text, mode=0o644):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
        self.stderr.close()
        if os.environ.get("KEEP_SIM"):
            print("kept", self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _control(self, method, path, doc=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.pem"))
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def state(self):
        return self._control("GET", "/_sim/state")

    def set_faults(self, doc):
        self._control("POST", "/_sim/faults", doc)

    def reset_log(self):
        self._control("POST", "/_sim/reset-log", {})

    def log(self):
        with open(self.path("requests.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def config(self, policy=POLICY, auth=None, tenant_id=DOMAIN, extra="",
               ca_file=None, state_dir="state", daemon="", safety=""):
        """Write licensed.conf, policy.ini and the secret; return the conf
        path.  extra goes into [tenant], daemon and safety into theirs."""
        if auth is None:
            auth = "client_id = %s\nclient_secret_file = client-secret\n" % CLIENT_ID
        self._write("client-secret", SECRET + "\n", 0o600)
        self._write("policy.ini", policy)
        self._write("licensed.conf", """[tenant]
tenant_id = %s
%sauthority = %s
graph = %s
ca_file = %s
%s
[daemon]
policy = policy.ini
state_dir = %s
%s
[safety]
%s
""" % (tenant_id, auth, self.url, self.url, ca_file or "ca.pem", extra,
       state_dir, daemon, safety))
        return self.path("licensed.conf")


def run(args, timeout=120, env=None):
    """Run a binary; return (exit code, stdout, stderr)."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def requests_to(log, fragment, method=None):
    return [e for e in log if fragment in e["path"]
            and (method is None or e["method"] == method)]
