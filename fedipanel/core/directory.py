"""The operator's LDAP directory: its description, checks, and what each service does with it.

Pure: no I/O. The bind password is never part of these values; it reaches machines as a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fedipanel.core import paths
from fedipanel.core.validators import HOST_PIECE, PORT_PIECE

# Where the bind password goes on a machine (delivered over SSH, mode 0400).
MASTODON_LDAP_ENV = f"{paths.KEYS_DIR}/mastodon-ldap.env"

# How each service meets the directory; the Identity page shows these sentences.
SERVICE_SUPPORT: dict[str, str] = {
    "mastodon": (
        "logs in against the directory (Mastodon's LDAP_* settings); accounts are also created, "
        "given or denied the Admin role and disabled by the sync (tootctl)"
    ),
    "pixelfed": (
        "cannot log in against LDAP: its accounts are synced instead (artisan user:create, "
        "user:admin, user:suspend, user:unsuspend)"
    ),
    "peertube": (
        "logs in against the directory through the peertube-plugin-auth-ldap plugin, which the "
        "deployment installs and configures with PeerTube's admin API (ldaps://, or ldap:// "
        "marked insecure: the plugin has no StartTLS); accounts are made at a user's first "
        "login, then given or denied the Administrator role and blocked by the sync (REST API)"
    ),
}
# Services whose accounts the sync manages with commands on their machine.
SYNCED_SERVICES = ("mastodon", "pixelfed")
# Services whose accounts the sync manages through their REST API.
API_SYNCED_SERVICES = ("peertube",)

# framagit.org/framasoft/peertube/official-plugins, peertube-plugin-auth-ldap (main.js, 0.0.14).
PEERTUBE_LDAP_PLUGIN = "peertube-plugin-auth-ldap"

# Every rule of a directory's fields as a pattern; the API document states the same patterns.
URL_PATTERN = rf"^ldaps?://{HOST_PIECE}(:{PORT_PIECE})?/?$"
_RDN = r"[^=,\n\r\x00]+=[^,\n\r\x00]*"
DN_PATTERN = rf"^{_RDN}(,{_RDN})*$"
GROUP_PATTERN = rf"^({_RDN}(,{_RDN})*)?$"
ATTRIBUTE_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
FILTER_DEPTH = 8
CA_PATTERN = r"^([^\x00]*-----BEGIN CERTIFICATE-----[^\x00]*)?$"


def _balanced(depth: int) -> str:
    """Return a pattern of text whose parentheses pair up, nested at most `depth` deep."""
    inner = r"[^()\x00]*"
    for _ in range(depth - 1):
        inner = rf"([^()\x00]|\({inner}\))*"
    return inner


FILTER_PATTERN = rf"^\({_balanced(FILTER_DEPTH)}\)$"
_URL = re.compile(URL_PATTERN)
_DN = re.compile(DN_PATTERN)
_GROUP = re.compile(GROUP_PATTERN)
_ATTRIBUTE = re.compile(ATTRIBUTE_PATTERN)
_FILTER = re.compile(FILTER_PATTERN)
# Account names the services accept (Mastodon: letters, digits and underscores).
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,30}$")


@dataclass(frozen=True)
class Directory:
    """Where the operator's users are and how to read them (no password)."""

    url: str
    bind_dn: str
    base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    name_attribute: str = "cn"
    admin_group: str = ""
    insecure: bool = False

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (636 if self.scheme == "ldaps" else 389)

    @property
    def start_tls(self) -> bool:
        """Tell whether an ldap:// URL upgrades with StartTLS (always, unless insecure)."""
        return self.scheme == "ldap" and not self.insecure


class DirectoryInputError(ValueError):
    """One field of a directory description is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_directory(directory: Directory) -> Directory:
    """Return the directory if every field is usable; raise DirectoryInputError naming one."""
    if not _URL.fullmatch(directory.url):
        raise DirectoryInputError(
            "url", "must look like ldaps://host[:port] or ldap://host[:port] (port 1 to 65535)"
        )
    for field, value in (("bindDn", directory.bind_dn), ("baseDn", directory.base_dn)):
        if not _DN.fullmatch(value):
            raise DirectoryInputError(field, "must be a DN such as cn=panel,dc=acme,dc=example")
    if not _GROUP.fullmatch(directory.admin_group):
        raise DirectoryInputError("adminGroup", "must be the DN of a group, or empty")
    if not _FILTER.fullmatch(directory.user_filter):
        raise DirectoryInputError(
            "userFilter",
            f"must be an LDAP filter in parentheses that pair up (at most {FILTER_DEPTH} deep)",
        )
    for field, value in (
        ("usernameAttribute", directory.username_attribute),
        ("emailAttribute", directory.email_attribute),
        ("nameAttribute", directory.name_attribute),
    ):
        if not _ATTRIBUTE.fullmatch(value):
            raise DirectoryInputError(field, "must be an attribute name such as uid or mail")
    return directory


def mastodon_ldap_config(directory: Directory) -> dict[str, str]:
    """Return Mastodon's LDAP_* variables (config/initializers/devise.rb reads them).

    LDAP_PASSWORD is not here: it comes from MASTODON_LDAP_ENV through extraEnvFiles.
    LDAP_METHOD takes net-ldap's encryption names: simple_tls (ldaps), start_tls, plain.
    """
    if directory.scheme == "ldaps":
        method = "simple_tls"
    else:
        method = "start_tls" if directory.start_tls else "plain"
    uid, mail = directory.username_attribute, directory.email_attribute
    user_filter = directory.user_filter
    # Devise formats the filter with %{uid}, %{mail} and %{email} (the login typed in);
    # a literal % in the operator's filter must survive Ruby's format().
    login = "(|(%{uid}=%{email})(%{mail}=%{email}))"
    return {
        "LDAP_ENABLED": "true",
        "LDAP_HOST": directory.host,
        "LDAP_PORT": str(directory.port),
        "LDAP_METHOD": method,
        "LDAP_BASE": directory.base_dn,
        "LDAP_BIND_DN": directory.bind_dn,
        "LDAP_UID": uid,
        "LDAP_MAIL": mail,
        "LDAP_SEARCH_FILTER": f"(&{user_filter.replace('%', '%%')}{login})",
        "LDAP_UID_CONVERSION_ENABLED": "true",
    }


def mastodon_ldap_env(password: str) -> str:
    """Return the contents of the file holding Mastodon's bind password."""
    # systemd EnvironmentFile: double quotes keep spaces; backslashes and quotes escaped.
    escaped = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'LDAP_PASSWORD="{escaped}"\n'


def peertube_ldap_problem(directory: Directory) -> str | None:
    """Return why PeerTube's plugin cannot use the directory safely, or None."""
    if directory.start_tls:
        # main.js hands ldapauth-fork only url and tlsOptions: ldap:// stays plain text.
        return (
            "PeerTube's LDAP plugin cannot use StartTLS and would send the bind password in "
            "clear: give an ldaps:// URL (or tick insecure to allow plain LDAP)"
        )
    return None


def peertube_ldap_settings(directory: Directory, password: str) -> dict[str, str | bool]:
    """Return the plugin's settings (the names main.js registers) for the directory.

    The groups are left empty on purpose: with a group base set, main.js refuses every user
    who is in none of its admin, moderator and user groups; roles are the sync's work instead.
    """
    uid, mail = directory.username_attribute, directory.email_attribute
    # ldapauth-fork replaces {{username}} (escaped) with what the user typed: name or email.
    login = f"(|({uid}={{{{username}}}})({mail}={{{{username}}}}))"
    return {
        "url": directory.url,
        "insecure-tls": False,
        "custom-ca": "",
        "bind-dn": directory.bind_dn,
        "bind-credentials": password,
        "search-base": directory.base_dn,
        "search-filter": f"(&{directory.user_filter}{login})",
        "mail-property": mail,
        "mail-property-index": "0",
        "username-property": uid,
        "group-base": "",
        "group-filter": "(member={{dn}})",
        "group-admin": "",
        "group-mod": "",
        "group-user": "",
        "no-group-user": False,
    }


def peertube_username(name: str) -> str:
    """Return the PeerTube account name the plugin makes from a directory username (main.js)."""
    return re.sub(r"[^a-z0-9._]", "_", name.lower())
