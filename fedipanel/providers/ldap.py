"""Read an operator's LDAP directory with ldap3: bind, list users, and say plainly what fails.

TLS is always verified (the system's CAs, or the operator's CA certificate); `ldap://` upgrades
with StartTLS unless the operator explicitly allowed a plain connection.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from ldap3 import BASE, SUBTREE, Connection, Server, Tls
from ldap3.core import exceptions as ldap_errors

from fedipanel.core.account_sync import DirectoryUser
from fedipanel.core.directory import USERNAME, Directory

TIMEOUT = 10  # seconds; ldap3 packs it into a socket option, so a whole number
_NO_SUCH_OBJECT = 32
_INVALID_CREDENTIALS = 49
_GROUP_MEMBERS = ("member", "uniqueMember", "memberUid")


class DirectoryError(Exception):
    """The directory could not be used; the message says why in plain words."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Listing:
    """The users the directory lists, and the entries it lists but no service can take."""

    users: list[DirectoryUser]
    skipped: list[str]

    @property
    def admins(self) -> int:
        return sum(1 for user in self.users if user.admin)


def _tls(ca_certificate: str) -> Tls:
    try:
        return Tls(
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_data=ca_certificate.strip() or None,
        )
    except (ssl.SSLError, ValueError, ldap_errors.LDAPSSLConfigurationError):
        raise DirectoryError(
            "the CA certificate is not a PEM certificate", "caCertificate"
        ) from None


def _reachable(directory: Directory) -> None:
    """Raise DirectoryError when nothing answers (ldap3 would leave that socket unclosed)."""
    where = f"{directory.host}:{directory.port}"
    try:
        socket.create_connection((directory.host, directory.port), timeout=TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DirectoryError(
            f"{where} is unreachable: nothing answers there ({reason})", "url"
        ) from None


def _connect(directory: Directory, password: str, ca_certificate: str) -> Connection:
    tls = _tls(ca_certificate)
    _reachable(directory)
    server = Server(
        directory.host,
        port=directory.port,
        use_ssl=directory.scheme == "ldaps",
        tls=tls,
        connect_timeout=TIMEOUT,
        get_info="NO_INFO",
    )
    connection = Connection(
        server,
        user=directory.bind_dn,
        password=password,
        receive_timeout=TIMEOUT,
        read_only=True,
        raise_exceptions=False,
    )
    try:
        _open_and_bind(connection, directory)
    except BaseException:
        _close(connection)
        raise
    return connection


def _close(connection: Connection) -> None:
    """Unbind and close the socket, however far the connection got."""
    try:
        connection.unbind()  # closes the socket of an open connection
    except ldap_errors.LDAPException:
        pass  # the server went away first: the socket is closed below
    finally:
        # A failed open leaves the connection "closed" with its socket (TLS already wrapped) still
        # there, and a failed unbind skips closing it.
        leftover = getattr(connection, "socket", None)
        if leftover is not None:
            leftover.close()


def _open_and_bind(connection: Connection, directory: Directory) -> None:
    where = f"{directory.host}:{directory.port}"
    try:
        connection.open()
        if directory.start_tls and not connection.start_tls():
            raise DirectoryError(f"{where} refused StartTLS: {connection.result.get('message')}")
    except ldap_errors.LDAPSocketOpenError as exc:
        raise DirectoryError(_socket_problem(where, str(exc)), "url") from None
    except (ldap_errors.LDAPStartTLSError, ldap_errors.LDAPSocketReceiveError) as exc:
        raise DirectoryError(_socket_problem(where, str(exc)), "url") from None
    try:
        bound = connection.bind()
    except ldap_errors.LDAPException as exc:
        raise DirectoryError(f"{where} broke off the login: {exc}", "url") from None
    if not bound:
        result = connection.result or {}
        if result.get("result") == _INVALID_CREDENTIALS:
            raise DirectoryError(
                "bad credentials: the directory refused the bind DN and password", "bindPassword"
            )
        raise DirectoryError(f"the directory refused the login: {result.get('description')}")


def _socket_problem(where: str, text: str) -> str:
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered or "hostname" in lowered:
        return (
            f"TLS failed with {where}: its certificate is not trusted or does not name the host "
            "(give the CA certificate, or fix the server's certificate)"
        )
    return f"{where} is unreachable: nothing answers there ({text.strip() or 'no reason given'})"


def _value(entry: object, attribute: str) -> str:
    values = getattr(entry, "entry_attributes_as_dict", {}).get(attribute) or []
    return str(values[0]).strip() if values else ""


def _admins(connection: Connection, group: str) -> tuple[set[str], set[str]]:
    """Return the member DNs (lowercase) and memberUid names of the admin group."""
    if not group:
        return set(), set()
    connection.search(group, "(objectClass=*)", search_scope=BASE, attributes=list(_GROUP_MEMBERS))
    if connection.result.get("result") == _NO_SUCH_OBJECT or not connection.entries:
        raise DirectoryError(f"the admin group {group} does not exist", "adminGroup")
    found = connection.entries[0].entry_attributes_as_dict
    dns = {
        str(v).lower().replace(", ", ",")
        for a in ("member", "uniqueMember")
        for v in found.get(a, [])
    }
    return dns, {str(v) for v in found.get("memberUid", [])}


def list_users(directory: Directory, password: str, ca_certificate: str = "") -> Listing:
    """Bind and return every user the filter matches under the base DN."""
    connection = _connect(directory, password, ca_certificate)
    try:
        attributes = [
            directory.username_attribute,
            directory.email_attribute,
            directory.name_attribute,
        ]
        ok = connection.search(
            directory.base_dn,
            directory.user_filter,
            search_scope=SUBTREE,
            attributes=attributes,
            paged_size=500,
        )
        result = connection.result or {}
        if result.get("result") == _NO_SUCH_OBJECT:
            raise DirectoryError(f"the base DN {directory.base_dn} does not exist", "baseDn")
        if not ok and result.get("result") not in (0, None):
            raise DirectoryError(
                f"the directory refused the search: {result.get('description')} "
                f"{result.get('message') or ''}".strip(),
                "userFilter",
            )
        entries = list(connection.entries)
        member_dns, member_uids = _admins(connection, directory.admin_group)
    except ldap_errors.LDAPInvalidFilterError:
        raise DirectoryError("the filter is not a valid LDAP filter", "userFilter") from None
    except ldap_errors.LDAPException as exc:
        raise DirectoryError(f"the directory broke off the search: {exc}") from None
    finally:
        _close(connection)
    users: list[DirectoryUser] = []
    skipped: list[str] = []
    for entry in entries:
        username = _value(entry, directory.username_attribute)
        email = _value(entry, directory.email_attribute)
        if not USERNAME.fullmatch(username) or "@" not in email:
            skipped.append(entry.entry_dn)
            continue
        dn = entry.entry_dn.lower().replace(", ", ",")
        users.append(
            DirectoryUser(
                username=username,
                email=email,
                display_name=_value(entry, directory.name_attribute) or username,
                admin=dn in member_dns or username in member_uids,
            )
        )
    users.sort(key=lambda user: user.username)
    return Listing(users, skipped)
