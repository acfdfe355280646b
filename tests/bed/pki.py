# SPDX-License-Identifier: MIT
"""The test PKI, made with the openssl command-line tool (EC P-256).

One Pki object is a directory of certificates and keys: the vendor root CA,
the hub, the appliances, a staff member, and the rogue certificates later
features test against (foreign CA, wrong name, client EKU posing as a server,
expired, a second root CA). Generate it once per test session; it takes about
a second.
"""

import hashlib
import os
import re
import secrets
import ssl
import subprocess

OPENSSL = "openssl"

# What a leaf certificate is for: (keyUsage, extendedKeyUsage).
SERVER_USAGE = ("critical,digitalSignature,keyEncipherment", "serverAuth")
CLIENT_USAGE = ("critical,digitalSignature", "clientAuth")
# No extendedKeyUsage at all: OpenSSL's own purpose check lets such a
# certificate act as a TLS server, so only the plugin's EKU rule stops it.
NO_EKU_USAGE = ("critical,digitalSignature,keyEncipherment", None)

_REQ_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
"""

_CA_EXT = """\
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""


def _leaf_ext(usage):
    ku, eku = usage
    return ("basicConstraints = critical,CA:FALSE\n"
            f"keyUsage = {ku}\n"
            + (f"extendedKeyUsage = {eku}\n" if eku else "") +
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n")


class PkiError(RuntimeError):
    pass


def normalize_fingerprint(text):
    """"sha256:" + 64 lower-case hex digits, from any of the spellings a
    fingerprint comes in (openssl's "sha256 Fingerprint=AB:CD:...", colons
    or not, any case, with or without the "sha256:" prefix)."""
    t = text.strip()
    if "=" in t:
        t = t.split("=", 1)[1]
    if t.lower().startswith("sha256:"):
        t = t[7:]
    t = t.replace(":", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", t):
        raise PkiError(f"not a SHA-256 fingerprint: {text!r}")
    return "sha256:" + t


class Pki:
    """A directory of PEM files: <name>.crt, <name>.key, and tls-crypt.key.

    Names (each with .crt and .key):
      ca              vendor root CA ("Vendor Support Root CA")
      hub             CN hub1.support.example, KU+EKU serverAuth, by ca
      hub2            CN hub2.support.example, serverAuth, by ca (a second
                      hub of the same vendor)
      appliance-0001  EKU clientAuth, by ca (the appliance in ns "dev")
      appliance-0002  EKU clientAuth, by ca (the appliance in ns "dev2")
      staff-alice     EKU clientAuth, by ca (a support workstation)
      foreign-ca      an unrelated root CA
      foreign-hub     CN hub1.support.example, serverAuth, by foreign-ca
      wrongname-hub   CN hub1.evil.example, serverAuth, by ca
      deepname-hub    CN x.hub1.support.example, serverAuth, by ca
      clientasserver  CN hub1.support.example, EKU clientAuth only, by ca
      noeku-hub       CN hub1.support.example, no EKU extension, by ca
      expired-hub     CN hub1.support.example, serverAuth, by ca, expired 2021
      ca2             a second vendor root CA
      ca2-hub         CN hub2.support.example, serverAuth, by ca2

    bundle() adds CA bundles on request (e.g. ca+ca2: a client that trusts
    both vendor roots).
    """

    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.issuer = {}          # leaf name -> CA name
        self.tls_crypt = os.path.join(self.dir, "tls-crypt.key")

    # -- paths and facts -------------------------------------------------
    def crt(self, name):
        return os.path.join(self.dir, name + ".crt")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def ca_of(self, name):
        """The CA certificate path that issued leaf `name`."""
        return self.crt(self.issuer[name])

    def fingerprint(self, name):
        """SHA-256 of the certificate's DER encoding, lower-case hex."""
        with open(self.crt(name)) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        return hashlib.sha256(der).hexdigest()

    def fingerprint_openssl(self, name, whole_line=False):
        """The SHA-256 fingerprint as `openssl x509 -noout -fingerprint
        -sha256` prints it: the part after '=' (upper-case hex with colons),
        or with whole_line the line itself ("sha256 Fingerprint=AB:..."),
        i.e. what an operator pastes into a policy file."""
        out = self._run([OPENSSL, "x509", "-noout", "-fingerprint", "-sha256",
                         "-in", self.crt(name)]).strip()
        if "=" not in out:
            raise PkiError(f"openssl printed no fingerprint for {name}: "
                           f"{out!r}")
        return out if whole_line else out.split("=", 1)[1].strip()

    def bundle(self, name, members):
        """<name>.crt: the PEM certificates of `members` concatenated (a CA
        bundle for openvpn's `ca` option); returns its path."""
        text = ""
        for m in members:
            with open(self.crt(m)) as f:
                text += f.read()
        return self._write(name + ".crt", text)

    def text(self, name):
        return self._run([OPENSSL, "x509", "-noout", "-text",
                          "-in", self.crt(name)])

    # -- generation ------------------------------------------------------
    def _run(self, argv):
        r = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True)
        if r.returncode != 0:
            raise PkiError(f"{' '.join(argv)}: exit {r.returncode}: "
                           f"{r.stderr.strip()}")
        return r.stdout

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def make_ca(self, name, cn):
        self._run([OPENSSL, "req", "-x509", "-config", self._req_cnf,
                   "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", self.key(name), "-out", self.crt(name),
                   "-days", "3650", "-subj", f"/CN={cn}",
                   "-extensions", "v3_ca"])
        os.chmod(self.key(name), 0o600)

    def _csr(self, name, cn):
        csr = os.path.join(self.dir, name + ".csr")
        self._run([OPENSSL, "req", "-new", "-config", self._req_cnf,
                   "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-keyout", self.key(name), "-out", csr,
                   "-subj", f"/CN={cn}"])
        os.chmod(self.key(name), 0o600)
        return csr

    def make_leaf(self, name, cn, ca, usage, days=825):
        csr = self._csr(name, cn)
        ext = self._write(name + ".ext", "[v3]\n" + _leaf_ext(usage))
        self._run([OPENSSL, "x509", "-req", "-in", csr,
                   "-CA", self.crt(ca), "-CAkey", self.key(ca),
                   "-set_serial", "0x" + secrets.token_hex(8),
                   "-days", str(days), "-sha256",
                   "-extfile", ext, "-extensions", "v3", "-out", self.crt(name)])
        self.issuer[name] = ca

    def make_leaf_dated(self, name, cn, ca, usage, start, end):
        """A leaf with explicit validity (YYYYMMDDHHMMSSZ), via `openssl ca`:
        OpenSSL 3.0's `x509 -req` has no -not_before/-not_after."""
        csr = self._csr(name, cn)
        db = os.path.join(self.dir, name + ".cadb")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write(secrets.token_hex(8).upper() + "\n")
        cnf = self._write(name + ".ca.cnf", f"""\
[ca]
default_ca = cadef
[cadef]
dir = {db}
database = {db}/index.txt
new_certs_dir = {db}
serial = {db}/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[v3]
""" + _leaf_ext(usage))
        self._run([OPENSSL, "ca", "-batch", "-notext", "-config", cnf,
                   "-cert", self.crt(ca), "-keyfile", self.key(ca),
                   "-in", csr, "-out", self.crt(name),
                   "-startdate", start, "-enddate", end, "-extensions", "v3"])
        self.issuer[name] = ca

    def generate(self, openvpn="/usr/sbin/openvpn"):
        os.makedirs(self.dir, exist_ok=True)
        self._req_cnf = self._write("req.cnf",
                                    _REQ_CNF + "[v3_ca]\n" + _CA_EXT)
        self.make_ca("ca", "Vendor Support Root CA")
        self.make_leaf("hub", "hub1.support.example", "ca", SERVER_USAGE)
        self.make_leaf("hub2", "hub2.support.example", "ca", SERVER_USAGE)
        self.make_leaf("appliance-0001", "appliance-0001", "ca", CLIENT_USAGE)
        self.make_leaf("appliance-0002", "appliance-0002", "ca", CLIENT_USAGE)
        self.make_leaf("staff-alice", "staff-alice", "ca", CLIENT_USAGE)
        # Rogues, for the plugin's server policy.
        self.make_ca("foreign-ca", "Foreign Root CA")
        self.make_leaf("foreign-hub", "hub1.support.example", "foreign-ca",
                       SERVER_USAGE)
        self.make_leaf("wrongname-hub", "hub1.evil.example", "ca", SERVER_USAGE)
        self.make_leaf("deepname-hub", "x.hub1.support.example", "ca",
                       SERVER_USAGE)
        self.make_leaf("clientasserver", "hub1.support.example", "ca",
                       CLIENT_USAGE)
        self.make_leaf("noeku-hub", "hub1.support.example", "ca",
                       NO_EKU_USAGE)
        self.make_leaf_dated("expired-hub", "hub1.support.example", "ca",
                             SERVER_USAGE, "20200101000000Z", "20210101000000Z")
        self.make_ca("ca2", "Vendor Support Root CA 2")
        self.make_leaf("ca2-hub", "hub2.support.example", "ca2", SERVER_USAGE)
        r = subprocess.run([openvpn, "--genkey", "tls-crypt", self.tls_crypt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PkiError(f"openvpn --genkey tls-crypt: {r.stderr.strip()}")
        os.chmod(self.tls_crypt, 0o600)
        return self
