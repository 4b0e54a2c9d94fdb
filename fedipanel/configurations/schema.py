"""The operator configuration: one typed model validates forms and the API and yields the schema."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

SERVICE_NAMES: tuple[str, ...] = ("mastodon", "pixelfed", "peertube")

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_USERNAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
RESERVED_USERNAMES = frozenset({"root", "admin", "administrator", "system", "peertube"})


def check_label(value: str) -> str:
    """Accept one lowercase DNS label."""
    if not _LABEL.fullmatch(value):
        raise ValueError(
            "must be 1-63 lowercase letters, digits or hyphens, "
            "not starting or ending with a hyphen"
        )
    return value


def check_domain(value: str) -> str:
    """Accept a lowercase fully qualified domain name such as acme.example."""
    value = value.strip().rstrip(".")
    if value != value.lower():
        raise ValueError("must be lowercase")
    labels = value.split(".")
    if len(labels) < 2:
        raise ValueError("must be a fully qualified domain such as acme.example")
    if len(value) > 200:
        raise ValueError("must be at most 200 characters, to leave room for service subdomains")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"'{label}' is not a valid DNS label")
    if not labels[-1].isalpha():
        raise ValueError("the top-level domain must consist of letters")
    return value


def check_username(value: str) -> str:
    """Accept a username that Mastodon, Pixelfed and PeerTube all allow."""
    if not _USERNAME.fullmatch(value):
        raise ValueError(
            "must start with a lowercase letter and contain only lowercase letters, digits and "
            "underscores (at most 30)"
        )
    if value in RESERVED_USERNAMES:
        raise ValueError(f"'{value}' is reserved by one of the services")
    return value


def check_email(value: str) -> str:
    """Accept a plain address such as alice@acme.example."""
    value = value.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an email address such as alice@acme.example")
    return value


Domain = Annotated[str, AfterValidator(check_domain)]
Label = Annotated[str, AfterValidator(check_label)]
Username = Annotated[str, AfterValidator(check_username)]
Email = Annotated[str, AfterValidator(check_email)]


class Admin(BaseModel):
    """The operator's administrator account, created on every enabled service."""

    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="Login name on every service", examples=["alice"])
    email: Email = Field(description="Email address of the administrator")


class Service(BaseModel):
    """One Fediverse service: whether it runs and under which subdomain."""

    model_config = ConfigDict(extra="forbid")

    enable: bool = Field(default=False, description="Deploy this service")
    subdomain: Label | None = Field(
        default=None, description="Host name below the domain; defaults to the service's name"
    )
    keepData: bool = Field(
        default=True,
        description=(
            "When the service is disabled: keep its buckets, media and key so that enabling it "
            "again finds them (true), or empty and delete them (false)"
        ),
    )


class Services(BaseModel):
    """The services an operator can enable."""

    model_config = ConfigDict(extra="forbid")

    mastodon: Service = Field(default_factory=Service, description="Mastodon (microblogging)")
    pixelfed: Service = Field(default_factory=Service, description="Pixelfed (photo sharing)")
    peertube: Service = Field(default_factory=Service, description="PeerTube (video)")

    @model_validator(mode="after")
    def _distinct_subdomains(self) -> Services:
        seen: dict[str, str] = {}
        for name in SERVICE_NAMES:
            service: Service = getattr(self, name)
            if not service.enable:
                continue
            host = subdomain_of(name, service)
            if host in seen:
                raise ValueError(f"{name} and {seen[host]} cannot share the subdomain '{host}'")
            seen[host] = name
        return self


class Configuration(BaseModel):
    """What an operator wants: a domain, an administrator and a set of services."""

    model_config = ConfigDict(extra="forbid", title="FediPanel operator configuration")

    domain: Domain = Field(description="The operator's domain", examples=["acme.example"])
    admin: Admin
    services: Services = Field(default_factory=Services)

    def enabled(self) -> list[str]:
        """Return the names of the enabled services, in a stable order."""
        return [name for name in SERVICE_NAMES if getattr(self.services, name).enable]

    def service(self, name: str) -> Service:
        """Return the settings of one service by name."""
        service: Service = getattr(self.services, name)
        return service

    def fqdn(self, name: str) -> str:
        """Return the public host name of a service."""
        return f"{subdomain_of(name, self.service(name))}.{self.domain}"


def subdomain_of(name: str, service: Service) -> str:
    """Return the service's subdomain, its name unless the operator chose another."""
    return service.subdomain or name


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of an operator configuration."""
    schema = Configuration.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def error_list(exc: ValidationError) -> list[dict[str, Any]]:
    """Turn a validation error into the API's `[{"loc": [...], "msg": "..."}]` list."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = [part for part in err["loc"] if part not in ("function-after",)]
        msg = err["msg"].removeprefix("Value error, ")
        errors.append({"loc": [str(p) if not isinstance(p, int) else p for p in loc], "msg": msg})
    return errors
