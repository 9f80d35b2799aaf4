"""Token issuing: the v2.0 token endpoint, Azure IMDS, and token checks.

- token_endpoint(): client_credentials with a client secret (form field or
  HTTP Basic) or a signed JWT client assertion (GRAPH.md 1.1-1.3); errors
  in the Entra shape of GRAPH.md 1.4.
- imds(): the managed-identity endpoint of GRAPH.md 1.5.
- Tokens: opaque random strings kept in a table with their app, issue time,
  lifetime and use count, so the fault engine can expire them early.
JWT signatures are checked with the openssl CLI (PSS, salt length 32 for
PS256; PKCS#1 v1.5 for RS256). Not thread-safe: callers hold the lock.
"""

import base64
import binascii
import datetime
import glob
import json
import os
import secrets
import subprocess
import time
import urllib.parse
import uuid

import certs
from tenant import parse_time

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CERT_DOC = ("https://learn.microsoft.com/entra/identity-platform/"
            "certificate-credentials")


def _ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%SZ")


class AuthError(Exception):
    """An Entra token-endpoint error (GRAPH.md 1.4)."""

    def __init__(self, status, error, code, text):
        super().__init__(text)
        self.status = status
        self.error = error
        self.code = code
        self.text = text

    def body(self):
        trace, corr, ts = str(uuid.uuid4()), str(uuid.uuid4()), _ts()
        return {
            "error": self.error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\n"
                                 "Correlation ID: %s\r\nTimestamp: %s" % (
                                     self.code, self.text, trace, corr, ts),
            "error_codes": [self.code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d"
                         % self.code,
        }


# invalid_client answers 401 (public tests, GRAPH.md 1.4); the others 400.
def _client(code, text):
    return AuthError(401, "invalid_client", code, text)


def _request(code, text, error="invalid_request"):
    return AuthError(400, error, code, text)


def _b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Tokens:
    """Access tokens issued by either endpoint."""

    def __init__(self):
        self.table = {}

    def issue(self, client_id, lifetime):
        token = secrets.token_urlsafe(48)
        self.table[token] = {"client_id": client_id,
                             "issued": time.monotonic(),
                             "lifetime": lifetime, "uses": 0}
        return token

    def check(self, header, expiry):
        """None if `Authorization: Bearer <token>` is valid, else the Graph
        error message. expiry = (after_seconds, after_requests) or None:
        the token_expiry fault, which cuts every token short."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token is empty."
        rec = self.table.get(token.strip())
        if rec is None:
            # Simulator wording: the token is not one this server issued.
            return "Access token validation failure."
        age = time.monotonic() - rec["issued"]
        limit_s, limit_n = expiry or (None, None)
        if (age >= rec["lifetime"] or
                (limit_s is not None and age >= limit_s) or
                (limit_n is not None and rec["uses"] >= limit_n)):
            return "Access token has expired or is not yet valid."
        rec["uses"] += 1
        return None


class CertStore:
    """Registered certificates of the apps, resolved lazily.

    An app's certificate entry is {"pem": TEXT}, {"pemFile": PATH} or
    {"x5t#S256": THUMBPRINT}; a bare thumbprint is matched against the
    *.pem files of the search directories (the tenant file's directory and
    the simulator's --dir, where certs.py writes client.pem)."""

    def __init__(self, workdir, search_dirs):
        self.workdir = workdir
        self.search_dirs = search_dirs
        self.by_app = {}
        self._scanned = {}      # x5t#S256 -> info of PEM files found

    def _info(self, pem_text):
        info = certs.cert_info(pem_text)
        pub = os.path.join(self.workdir, info["sha256_hex"] + ".pub.pem")
        if not os.path.exists(pub):
            with open(pub, "w", encoding="ascii") as f:
                f.write(certs.public_key_pem(pem_text))
        info["pubkey"] = pub
        return info

    def _find_file(self, path):
        if os.path.isabs(path):
            return path
        for d in self.search_dirs:
            if os.path.exists(os.path.join(d, path)):
                return os.path.join(d, path)
        raise ValueError("certificate file %r not found in %s" % (
            path, self.search_dirs))

    def _scan(self, thumb):
        if thumb not in self._scanned:
            for d in self.search_dirs:
                for path in sorted(glob.glob(os.path.join(d, "*.pem"))):
                    with open(path, encoding="ascii", errors="replace") as f:
                        text = f.read()
                    if "BEGIN CERTIFICATE" in text:
                        info = self._info(text)
                        self._scanned[info["x5t#S256"]] = info
        return self._scanned.get(thumb)

    def for_app(self, app):
        """Infos of an app's certificates (thumbprint-only entries whose
        file is not found are left out: their key cannot be checked)."""
        cid = app["clientId"].lower()
        if cid not in self.by_app:
            out = []
            for entry in app.get("certificates", []):
                if "pem" in entry:
                    out.append(self._info(entry["pem"]))
                elif "pemFile" in entry:
                    with open(self._find_file(entry["pemFile"]),
                              encoding="ascii") as f:
                        out.append(self._info(f.read()))
                else:
                    info = self._scan(entry["x5t#S256"])
                    if info is not None:
                        out.append(info)
            self.by_app[cid] = out
        return self.by_app[cid]

    def verify(self, info, alg, signing_input, signature):
        """True if openssl verifies the JWS signature with info's key."""
        sig_path = _tempfile(self.workdir, signature)
        try:
            cmd = ["openssl", "dgst", "-sha256", "-verify", info["pubkey"],
                   "-signature", sig_path]
            if alg == "PS256":
                cmd += ["-sigopt", "rsa_padding_mode:pss",
                        "-sigopt", "rsa_pss_saltlen:32"]
            res = subprocess.run(cmd, input=signing_input,
                                 capture_output=True, check=False)
            return res.returncode == 0
        finally:
            os.unlink(sig_path)


def _tempfile(directory, data):
    name = os.path.join(directory, "sig-%s.bin" % secrets.token_hex(8))
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return name


def _check_scope(scope, own_resources):
    """Scope must be {resource}/.default for Graph (GRAPH.md 1.1); the
    simulator's own base URLs count as the Graph resource."""
    if not scope:
        raise _request(900144, "The request body must contain the following "
                       "parameter: 'scope'.")
    resources = (GRAPH_RESOURCE, GRAPH_APP_ID) + own_resources
    for s in scope.split():
        res, _, suffix = s.rstrip("/").rpartition("/")
        if suffix != ".default":
            raise _request(1002012, "The provided value for scope %s is not "
                           "valid. Client credential flows must have a scope "
                           "value with /.default suffixed to the resource "
                           "identifier (application ID URI)." % s,
                           "invalid_scope")
        if res.rstrip("/") not in resources:
            raise _request(500011, "The resource principal named %s was not "
                           "found in the tenant." % res, "invalid_resource")


def _basic_credentials(header):
    """(client_id, secret) from HTTP Basic (RFC 6749 2.3.1), else None."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    cid, _, secret = raw.partition(":")
    return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)


class TokenService:
    """POST /{tenant}/oauth2/v2.0/token and the IMDS endpoint."""

    def __init__(self, tenant, tokens, cert_store):
        self.tenant = tenant
        self.tokens = tokens
        self.certs = cert_store

    def token_endpoint(self, tenant_ref, form, auth_header, own_base,
                       own_resources):
        """(status, body) for a token request; form: dict of str. own_base:
        scheme://host[:port] as the client addressed this server."""
        try:
            return 200, self._issue(tenant_ref, form, auth_header, own_base,
                                    own_resources)
        except AuthError as e:
            return e.status, e.body()

    def _issue(self, tenant_ref, form, auth_header, own_base, own_resources):
        t = self.tenant
        if not t.matches_tenant(tenant_ref):
            raise _request(90002, "Tenant '%s' not found. This may happen if "
                           "there are no active subscriptions for the tenant. "
                           "Check to make sure you have the correct tenant "
                           "ID. Check with your subscription administrator."
                           % tenant_ref)
        if form.get("grant_type") != "client_credentials":
            raise _request(70003, "The app requested an unsupported grant "
                           "type '%s'." % form.get("grant_type", ""),
                           "unsupported_grant_type")
        basic = _basic_credentials(auth_header)
        cid = form.get("client_id") or (basic[0] if basic else "")
        assertion = form.get("client_assertion")
        if not cid and assertion:
            cid = self._claims_of(assertion).get("iss", "")
        if not cid:
            raise _request(900144, "The request body must contain the "
                           "following parameter: 'client_id'.")
        _check_scope(form.get("scope", ""), own_resources)
        app = t.apps.get(cid.lower())
        if app is None:
            raise _request(700016, "Application with identifier '%s' was not "
                           "found in the directory '%s'. This can happen if "
                           "the application has not been installed by the "
                           "administrator of the tenant or consented to by "
                           "any user in the tenant. You may have sent your "
                           "authentication request to the wrong tenant."
                           % (cid, t.display_name), "unauthorized_client")
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise _request(50027, "Invalid client_assertion_type.")
            self._check_assertion(app, cid, assertion, tenant_ref, own_base)
        else:
            secret = form.get("client_secret")
            if secret is None and basic:
                secret = basic[1]
            self._check_secret(app, cid, secret)
        lifetime = t.token_lifetime
        token = self.tokens.issue(cid.lower(), lifetime)
        return {"token_type": "Bearer", "expires_in": lifetime,
                "ext_expires_in": lifetime, "access_token": token}

    @staticmethod
    def _check_secret(app, cid, secret):
        if secret is None:
            raise _client(7000218, "The request body must contain the "
                          "following parameter: 'client_assertion' or "
                          "'client_secret'.")
        now = time.time()
        matched = [s for s in app.get("secrets", [])
                   if secrets.compare_digest(str(s["value"]).encode(),
                                             secret.encode())]
        if not matched:
            raise _client(7000215, "Invalid client secret provided. Ensure "
                          "the secret being sent in the request is the client "
                          "secret value, not the client secret ID, for a "
                          "secret added to app '%s'." % cid)
        if all("expires" in s and parse_time(s["expires"]) <= now
               for s in matched):
            raise _client(7000222, "The provided client secret keys for app "
                          "'%s' are expired. Visit the Azure portal to create "
                          "new keys for your app: "
                          "https://aka.ms/NewClientSecret, "
                          "or consider using certificate credentials for "
                          "added security: https://aka.ms/certCreds." % cid)

    @staticmethod
    def _split(assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            raise _request(50027, "JWT token is invalid or malformed.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise _request(50027, "JWT token is invalid or malformed.") \
                from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _request(50027, "JWT token is invalid or malformed.")
        return header, claims, sig, (parts[0] + "." + parts[1]).encode()

    def _claims_of(self, assertion):
        return self._split(assertion)[1]

    def _check_assertion(self, app, cid, assertion, tenant_ref, own_base):
        """GRAPH.md 1.2: header alg PS256 (or RS256) with x5t#S256 (or the
        older x5t); claims aud/iss/sub/jti/nbf/exp; signature."""
        header, claims, sig, signing_input = self._split(assertion)
        alg = header.get("alg")
        if alg not in ("PS256", "RS256") or header.get("typ", "JWT") not in (
                "JWT", "http://openid.net/specs/jwt/1.0"):
            raise _request(50027, "JWT token is invalid or malformed.")
        if claims.get("iss") != cid or claims.get("sub") != cid:
            raise _client(700021, "Client assertion application identifier "
                          "doesn't match 'client_id' parameter. Review the "
                          "documentation at " + CERT_DOC)
        if not self._audience_ok(claims.get("aud"), tenant_ref, own_base):
            raise _client(700023, "Client assertion audience claim does not "
                          "match Realm issuer. Review the documentation at "
                          + CERT_DOC + ".")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            raise _request(50027, "JWT token is invalid or malformed.")
        info = self._key_for(app, header)
        thumb = header.get("x5t#S256") or header.get("x5t") or ""
        if info is None:
            raise _client(700027, "Client assertion contains an invalid "
                          "signature. [Reason - The key was not found., "
                          "Thumbprint of key used by client: '%s', Please "
                          "visit the Azure Portal, Graph Explorer or directly "
                          "use MS Graph to see configured keys for app Id "
                          "'%s'.]" % (thumb, cid))
        if not self.certs.verify(info, alg, signing_input, sig):
            raise _client(700027, "Client assertion contains an invalid "
                          "signature. [Reason - The provided signature value "
                          "did not match the expected signature value., "
                          "Thumbprint of key used by client: '%s']" % thumb)
        self._check_times(claims)

    def _audience_ok(self, aud, tenant_ref, own_base):
        """aud = {authority}/{tenant}/oauth2/v2.0/token as the client used
        it: this server's base URL, any name of this tenant."""
        if not isinstance(aud, str):
            return False
        prefix = own_base + "/"
        suffix = "/oauth2/v2.0/token"
        if not (aud.startswith(prefix) and aud.endswith(suffix)):
            return False
        ref = aud[len(prefix):-len(suffix)]
        return "/" not in ref and self.tenant.matches_tenant(ref) and \
            self.tenant.matches_tenant(tenant_ref)

    def _key_for(self, app, header):
        for info in self.certs.for_app(app):
            if header.get("x5t#S256") == info["x5t#S256"] or (
                    "x5t#S256" not in header and
                    header.get("x5t") == info["x5t"]):
                return info
        return None

    def _check_times(self, claims):
        now, skew = time.time(), self.tenant.clock_skew
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(exp, (int, float)) or (
                nbf is not None and not isinstance(nbf, (int, float))):
            raise _request(50027, "JWT token is invalid or malformed.")
        if (nbf is not None and nbf > now + skew) or exp <= now - skew:
            def fmt(x):
                return datetime.datetime.fromtimestamp(
                    x, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise _client(700024, "Client assertion is not within its valid "
                          "time range. Current time: %s, assertion valid "
                          "from %s, expiry time of assertion %s. Review the "
                          "documentation at %s ." % (
                              fmt(now), fmt(nbf if nbf is not None else now),
                              fmt(exp), CERT_DOC))

    def imds(self, query, metadata_header, own_resources):
        """(status, body) for GET /metadata/identity/oauth2/token."""
        # GRAPH.md 1.5: header Metadata: true, else 400 bad_request_102.
        if (metadata_header or "").lower() != "true":
            return 400, {"error": "bad_request_102",
                         "error_description": "Required metadata header not "
                                              "specified"}
        if not query.get("api-version"):
            return 400, {"error": "invalid_request",
                         "error_description": "Required query variable "
                                              "'api-version' is missing"}
        resource = query.get("resource", "")
        if resource.rstrip("/") not in (GRAPH_RESOURCE,) + own_resources:
            return 400, {"error": "invalid_resource",
                         "error_description": "AADSTS500011: The resource "
                         "principal named %s was not found in the tenant."
                         % resource}
        mi = self.tenant.managed_identity or {}
        wanted = {k: query[k] for k in ("client_id", "object_id", "msi_res_id")
                  if k in query}
        if not mi or any(str(mi.get(_MI_KEYS[k], "")).lower() != v.lower()
                         for k, v in wanted.items()):
            return 400, {"error": "invalid_request",
                         "error_description": "Identity not found"}
        lifetime = self.tenant.token_lifetime
        token = self.tokens.issue(str(mi.get("clientId", "")).lower(),
                                  lifetime)
        now = int(time.time())
        # IMDS returns the numbers as JSON strings (GRAPH.md 1.5).
        return 200, {"access_token": token, "refresh_token": "",
                     "expires_in": str(lifetime),
                     "expires_on": str(now + lifetime),
                     "not_before": str(now), "resource": resource,
                     "token_type": "Bearer"}


_MI_KEYS = {"client_id": "clientId", "object_id": "objectId",
            "msi_res_id": "resourceId"}
