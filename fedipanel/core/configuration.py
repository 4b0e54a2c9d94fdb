"""The operator configuration: one typed model validates forms and the API and yields the schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from fedipanel.core.registry import SERVICE_NAMES, SERVICES
from fedipanel.core.validators import (
    DOMAIN_MAX,
    DOMAIN_PATTERN,
    EMAIL_MAX,
    EMAIL_PATTERN,
    LABEL_PATTERN,
    RESERVED_USERNAMES,
    USERNAME_PATTERN,
    check_domain,
    check_email,
    check_label,
    check_text,
    check_username,
)


def exactly(check: Callable[[str], str]) -> Callable[[str], str]:
    """Return `check` refusing values it would have to tidy (spaces, a trailing dot).

    Forms tidy what was typed before validating; the API takes exactly what its document states.
    """

    def exact(value: str) -> str:
        if check(value) != value:
            raise ValueError("must not have spaces around it or a trailing dot")
        return value

    return exact


def _rule(pattern: str, max_length: int | None = None, **extra: Any) -> Any:
    """Return the JSON Schema keywords stating a rule, for the API document."""
    keywords: dict[str, Any] = {"pattern": pattern, **extra}
    if max_length is not None:
        keywords["maxLength"] = max_length
    return Field(json_schema_extra=keywords)


# check_text runs first so that no later message quotes text that cannot be encoded.
Domain = Annotated[
    str,
    AfterValidator(check_text),
    AfterValidator(exactly(check_domain)),
    _rule(DOMAIN_PATTERN, DOMAIN_MAX),
]
Label = Annotated[
    str, AfterValidator(check_text), AfterValidator(check_label), _rule(LABEL_PATTERN)
]
Username = Annotated[
    str,
    AfterValidator(check_text),
    AfterValidator(check_username),
    _rule(USERNAME_PATTERN, **{"not": {"enum": sorted(RESERVED_USERNAMES)}}),
]
Email = Annotated[
    str,
    AfterValidator(check_text),
    AfterValidator(exactly(check_email)),
    _rule(EMAIL_PATTERN, EMAIL_MAX),
]


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


class _ServicesBase(BaseModel):
    """The services an operator can enable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _distinct_subdomains(self) -> _ServicesBase:
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


# One field per service in the registry, so that adding a service needs no change here.
Services = create_model(
    "Services",
    __base__=_ServicesBase,
    __doc__="The services an operator can enable.",
    **{
        s.name: (Service, Field(default_factory=Service, description=f"{s.label} ({s.summary})"))
        for s in SERVICES
    },  # type: ignore[call-overload]
)


class Configuration(BaseModel):
    """What an operator wants: a domain, an administrator and a set of services."""

    model_config = ConfigDict(extra="forbid", title="FediPanel operator configuration")

    domain: Domain = Field(description="The operator's domain", examples=["acme.example"])
    admin: Admin
    # Services is built from the registry, so the type checker cannot see its fields.
    services: Services = Field(default_factory=Services)  # type: ignore[valid-type]

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
