"""PeerTube and the operator's directory: the plugin's settings and the sync's requests (pure)."""

from __future__ import annotations

import pytest

from fedipanel.core.account_sync import Change, DirectoryUser, PeerTubeAccount, peertube_steps
from fedipanel.core.directory import (
    PEERTUBE_LDAP_PLUGIN,
    Directory,
    peertube_ldap_problem,
    peertube_ldap_settings,
    peertube_username,
)

DIRECTORY = Directory(
    url="ldaps://ldap.acme.example:636",
    bind_dn="cn=panel,dc=acme,dc=example",
    base_dn="ou=people,dc=acme,dc=example",
    user_filter="(objectClass=person)",
    username_attribute="sAMAccountName",
    email_attribute="userPrincipalName",
)


def test_the_plugin_settings_use_the_names_main_js_registers() -> None:
    settings = peertube_ldap_settings(DIRECTORY, "s3cret")
    assert settings["url"] == "ldaps://ldap.acme.example:636"
    assert settings["bind-dn"] == "cn=panel,dc=acme,dc=example"
    assert settings["bind-credentials"] == "s3cret"
    assert settings["search-base"] == "ou=people,dc=acme,dc=example"
    assert settings["search-filter"] == (
        "(&(objectClass=person)(|(sAMAccountName={{username}})(userPrincipalName={{username}})))"
    )
    assert settings["mail-property"] == "userPrincipalName"
    assert settings["username-property"] == "sAMAccountName"
    # No group base: the plugin would refuse users in none of its three groups.
    assert settings["group-base"] == ""
    assert settings["insecure-tls"] is False


@pytest.mark.parametrize(
    ("url", "insecure", "refused"),
    [
        ("ldaps://ldap.acme.example", False, False),
        ("ldap://ldap.acme.example", False, True),
        ("ldap://ldap.acme.example", True, False),
    ],
)
def test_the_plugin_is_not_given_a_directory_it_would_reach_in_clear_unasked(
    url: str, insecure: bool, refused: bool
) -> None:
    directory = Directory(url=url, bind_dn="cn=a,dc=b", base_dn="dc=b", insecure=insecure)
    problem = peertube_ldap_problem(directory)
    assert (problem is not None) == refused
    if problem:
        assert "StartTLS" in problem


def test_peertube_names_are_made_like_the_plugin_makes_them() -> None:
    assert peertube_username("Jean-Luc.Picard") == "jean_luc.picard"
    assert peertube_username("bob") == "bob"


def user(name: str, admin: bool = False) -> DirectoryUser:
    return DirectoryUser(name, f"{name}@acme.example", name.title(), admin)


def account(
    user_id: int, name: str, role: int = 2, blocked: bool = False, plugin: str | None = None
) -> PeerTubeAccount:
    return PeerTubeAccount(user_id, name, role, blocked, plugin or PEERTUBE_LDAP_PLUGIN)


def test_the_sync_touches_only_accounts_the_plugin_made() -> None:
    local = [
        PeerTubeAccount(1, "root", 0, False, None),
        PeerTubeAccount(2, "owner", 0, False, None),
        account(3, "other", plugin="peertube-plugin-auth-openid-connect"),
    ]
    assert peertube_steps([user("bob")], local, PEERTUBE_LDAP_PLUGIN) == []


def test_the_sync_promotes_demotes_blocks_and_unblocks() -> None:
    accounts = [
        account(3, "alice"),
        account(4, "bob", role=0),
        account(5, "carol", blocked=True),
        account(6, "zed"),
        account(7, "mod", role=1),
        account(8, "gone", blocked=True),
    ]
    users = [user("alice", admin=True), user("bob"), user("carol"), user("mod")]
    steps = peertube_steps(users, accounts, PEERTUBE_LDAP_PLUGIN)
    assert [(s.username, s.change, s.method, s.path, s.body) for s in steps] == [
        ("alice", Change.PROMOTE, "PUT", "/api/v1/users/3", {"role": 0}),
        ("bob", Change.DEMOTE, "PUT", "/api/v1/users/4", {"role": 2}),
        ("carol", Change.UNSUSPEND, "POST", "/api/v1/users/5/unblock", {}),
        ("zed", Change.SUSPEND, "POST", "/api/v1/users/6/block", {}),
    ]
    assert steps[0].describe() == "peertube: promote alice"


def test_directory_names_meet_the_accounts_under_the_plugins_spelling() -> None:
    steps = peertube_steps(
        [user("Jean.Luc", admin=True)], [account(3, "jean.luc")], PEERTUBE_LDAP_PLUGIN
    )
    assert [s.change for s in steps] == [Change.PROMOTE]
