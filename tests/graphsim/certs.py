#!/usr/bin/env python3
"""Throwaway certificates for the Graph simulator, made with the openssl CLI.

- make_server_certs(DIR): a CA (DIR/ca.pem, DIR/ca.key) and a server
  certificate for 127.0.0.1 and localhost (DIR/server.pem, DIR/server.key).
  DIR/ca.pem is what the client under test passes as ca_file.
- make_client_cert(DIR, name): a self-signed RSA certificate and its key in
  one file, DIR/<name>.pem (mode 0600), for the certificate (JWT assertion)
  flow; returns its thumbprints. DIR/<name>.thumbprint holds them as JSON.
- cert_info(pem_text): thumbprints of a certificate (SHA-256 and SHA-1 of the
  DER, base64url without padding as in x5t#S256 / x5t, and hex).

Command line:  certs.py client DIR [--name NAME]   (prints the thumbprint JSON)
               certs.py server DIR
"""

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys

DAYS = "2"
CERT_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _openssl(*args, stdin=None):
    """Run openssl; raise with its stderr on failure; return stdout bytes."""
    res = subprocess.run(["openssl", *args], input=stdin,
                         capture_output=True, check=False)
    if res.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (
            args[0], res.stderr.decode(errors="replace").strip()))
    return res.stdout


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def first_cert_pem(text):
    """The first CERTIFICATE block of a PEM text (key blocks are skipped)."""
    m = CERT_RE.search(text)
    if not m:
        raise ValueError("no CERTIFICATE block in PEM text")
    return m.group(0) + "\n"


def cert_info(pem_text):
    """Thumbprints of the first certificate in pem_text."""
    der = _openssl("x509", "-outform", "DER",
                   stdin=first_cert_pem(pem_text).encode())
    s256 = hashlib.sha256(der).digest()
    s1 = hashlib.sha1(der).digest()
    return {
        "x5t#S256": _b64url(s256),
        "x5t": _b64url(s1),
        "sha256_hex": s256.hex().upper(),
        "sha1_hex": s1.hex().upper(),
    }


def public_key_pem(pem_text):
    """The public key (PEM) of the first certificate in pem_text."""
    return _openssl("x509", "-pubkey", "-noout",
                    stdin=first_cert_pem(pem_text).encode()).decode()


def make_server_certs(directory):
    """Write ca.pem/ca.key and server.pem/server.key into directory."""
    ca_key = os.path.join(directory, "ca.key")
    ca_pem = os.path.join(directory, "ca.pem")
    srv_key = os.path.join(directory, "server.key")
    srv_csr = os.path.join(directory, "server.csr")
    srv_pem = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "server.ext")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", ca_key, "-out", ca_pem, "-days", DAYS,
             "-subj", "/CN=graphsim throwaway CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", srv_key,
             "-out", srv_csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w", encoding="ascii") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", srv_csr, "-CA", ca_pem, "-CAkey", ca_key,
             "-CAcreateserial", "-out", srv_pem, "-days", DAYS,
             "-extfile", ext)
    for p in (srv_csr, ext, os.path.join(directory, "ca.srl")):
        if os.path.exists(p):
            os.unlink(p)
    for p in (ca_key, srv_key):
        os.chmod(p, 0o600)
    return {"ca": ca_pem, "cert": srv_pem, "key": srv_key}


def make_client_cert(directory, name="client"):
    """Write DIR/<name>.pem (key + certificate, 0600) and its thumbprints."""
    path = os.path.join(directory, name + ".pem")
    key_path = path + ".key.tmp"
    crt_path = path + ".crt.tmp"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key_path, "-out", crt_path, "-days", DAYS,
             "-subj", "/CN=licensed test client " + name)
    with open(key_path, encoding="ascii") as f:
        key = f.read()
    with open(crt_path, encoding="ascii") as f:
        crt = f.read()
    os.unlink(key_path)
    os.unlink(crt_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + crt)
    os.chmod(path, 0o600)
    info = cert_info(crt)
    info["path"] = path
    with open(os.path.join(directory, name + ".thumbprint"), "w",
              encoding="ascii") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    return info


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("client", "server"))
    ap.add_argument("dir")
    ap.add_argument("--name", default="client")
    args = ap.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    if args.what == "client":
        print(json.dumps(make_client_cert(args.dir, args.name), indent=1))
    else:
        print(json.dumps(make_server_certs(args.dir), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
