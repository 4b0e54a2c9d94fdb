"""What a provider's change means for operators, said in a notice right after it is saved."""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup, escape

from fedipanel.settings import effective

# Sections pinned per operator at their first deployment (fedipanel/parameters/pins.py): a change
# reaches those already deployed only through a rollout.
PINNED = frozenset({"sizes", "proxmox"})

AFFECTS = {
    "sizes": lazy_gettext(
        "New operators, and operators who have not deployed yet, get these sizes. Operators "
        "who have deployed keep theirs until a rollout applies them."
    ),
    "proxmox": lazy_gettext(
        "The connection is used by every operator's next deployment. The template, storage, "
        "pool and nodes go to new operators; operators who have deployed keep theirs until a "
        "rollout applies them."
    ),
    "mail": lazy_gettext(
        "Every operator's next deployment uses the relay; running services keep the old one "
        "until then."
    ),
    "dns": lazy_gettext(
        "Every operator's next deployment writes its records here; existing records are not "
        "moved until then."
    ),
    "garage": lazy_gettext(
        "Every operator's next deployment creates its buckets and keys here; buckets that "
        "exist elsewhere are not moved."
    ),
}


def _rollout_link() -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for("rollouts.new"), gettext("Create a rollout")
    )


def notice_changed(section: str) -> None:
    """Flash whom a saved settings section affects, with the way to reach the others."""
    affects = AFFECTS.get(section)
    if affects is None:
        return
    message = escape(str(affects))
    if section in PINNED:
        message = Markup("{} {}.").format(message, _rollout_link())
    flash(message, "notice")


def notice_quota(email: str) -> None:
    """Flash what a new quota changes for its operator."""
    flash(
        gettext(
            "Quota for %(email)s saved. It applies from their next plan and deployment; "
            "machines that run already are not changed, even above the new limits.",
            email=email,
        )
    )


def notice_pool_added(address: str) -> None:
    """Flash what a new pool VM changes for operators."""
    flash(
        gettext(
            "%(address)s added to the pool. The next operator machine that needs a VM gets a "
            "free one from the pool; machines that run already keep theirs.",
            address=address,
        )
    )
    if effective.current().proxmox is not None:
        flash(
            gettext(
                "Proxmox is configured, so deployments take their machines from Proxmox: the "
                "pool is used only once the Proxmox settings are removed."
            ),
            "notice",
        )


def notice_pool_removed() -> None:
    """Flash what removing a pool VM changes for operators."""
    flash(gettext("Removed from the pool: it is no longer handed to operators' machines."))
