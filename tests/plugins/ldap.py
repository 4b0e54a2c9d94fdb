"""Fixtures: a real OpenLDAP `slapd` (Debian's) with TLS from a test CA, loaded from LDIF.

Each test gets its own server in a temporary directory, listening on 127.0.0.1 on two free
ports: `ldaps://` and `ldap://` (which offers StartTLS). The CA and the server certificate are
made with `cryptography`; the server's names are 127.0.0.1 and localhost.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server, Tls

from tests.fakes.tls_ca import TestCa
from tests.helpers import free_port, require_program

BASE = "dc=acme,dc=example"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "root-secret"  # the directory's own superuser: only the test uses it
BIND_DN = f"cn=panel,ou=services,{BASE}"
BIND_PASSWORD = "panel bind secret"
PEOPLE = f"ou=people,{BASE}"
ADMINS = f"cn=admins,ou=groups,{BASE}"


def make_ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """Write a CA certificate and a server key and certificate it signed; return the paths."""
    ca = TestCa(directory)
    issued = ca.issue("localhost", "127.0.0.1")
    return ca.bundle, issued.cert, issued.key


def person(uid: str, name: str, email: str | None = None) -> str:
    """Return the LDIF of one user under ou=people."""
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\n"
        f"sn: {name.split()[-1]}\nmail: {email or f'{uid}@acme.example'}\n"
        f"userPassword: {uid}-password\n\n"
    )


SEED = (
    f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: acme\no: Acme\n\n"
    f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"
    f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"
    f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n"
    f"dn: {BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
    f"cn: panel\nuserPassword: {BIND_PASSWORD}\n\n"
    + person("alice", "Alice Admin")
    + person("bob", "Bob Builder")
    + person("carol", "Carol Cook")
    # groupOfNames needs a member at all times: the service account stays in it.
    + f"dn: {ADMINS}\nobjectClass: groupOfNames\ncn: admins\nmember: {BIND_DN}\n"
    f"member: uid=alice,{PEOPLE}\n\n"
)

CONFIG = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 16777216
suffix "{base}"
rootdn "{root}"
rootpw {rootpw}
directory {tmp}/data
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by dn.exact="{bind}" read by * none
"""


@dataclass
class Slapd:
    """A running slapd and what a test needs to reach and change it."""

    ldaps_url: str
    ldap_url: str
    ca_pem: str
    port: int
    ca_file: Path

    @contextmanager
    def admin(self) -> Iterator[Connection]:
        """Yield a connection bound as the directory's superuser, to change it."""
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file))
        server = Server("127.0.0.1", port=self.port, use_ssl=True, tls=tls)
        connection = Connection(server, ROOT_DN, ROOT_PASSWORD, auto_bind=True)
        try:
            yield connection
        finally:
            connection.unbind()  # leaving `with Connection` alone keeps an auto-bound socket open

    def add_user(self, uid: str, name: str) -> None:
        with self.admin() as conn:
            attributes = {"uid": uid, "cn": name, "sn": name.split()[-1]}
            attributes["mail"] = f"{uid}@acme.example"
            assert conn.add(f"uid={uid},{PEOPLE}", "inetOrgPerson", attributes), conn.result

    def delete_user(self, uid: str) -> None:
        with self.admin() as conn:
            assert conn.delete(f"uid={uid},{PEOPLE}"), conn.result

    def set_admin(self, uid: str, admin: bool) -> None:
        with self.admin() as conn:
            change = MODIFY_ADD if admin else MODIFY_DELETE
            dn = f"uid={uid},{PEOPLE}"
            assert conn.modify(ADMINS, {"member": [(change, [dn])]}), conn.result


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("slapd did not start")
        time.sleep(0.05)


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    """A fresh directory: alice (in cn=admins), bob and carol under ou=people."""
    binary = require_program("slapd")
    slapadd = require_program("slapadd")
    tmp = tmp_path / "slapd"
    (tmp / "data").mkdir(parents=True)
    ca, cert, key = make_ca_and_server(tmp)
    config = tmp / "slapd.conf"
    config.write_text(
        CONFIG.format(
            tmp=tmp,
            ca=ca,
            cert=cert,
            key=key,
            base=BASE,
            root=ROOT_DN,
            rootpw=ROOT_PASSWORD,
            bind=BIND_DN,
        )
    )
    seed = tmp / "seed.ldif"
    seed.write_text(SEED)
    subprocess.run([slapadd, "-f", str(config), "-l", str(seed)], check=True, capture_output=True)
    ldaps, ldap = free_port(), free_port()
    urls = f"ldaps://127.0.0.1:{ldaps}/ ldap://127.0.0.1:{ldap}/"
    process = subprocess.Popen(
        [binary, "-d", "0", "-f", str(config), "-h", urls],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(ldaps, process)
        _wait(ldap, process)
        yield Slapd(
            ldaps_url=f"ldaps://127.0.0.1:{ldaps}",
            ldap_url=f"ldap://127.0.0.1:{ldap}",
            ca_pem=ca.read_text(),
            port=ldaps,
            ca_file=ca,
        )
    finally:
        process.terminate()
        process.wait(10)
