"""Where a setting's value comes from, and which source wins."""

from __future__ import annotations

import enum

from fedipanel.core.text import N_


class Source(enum.StrEnum):
    DEFAULT = N_("default")
    SAVED = N_("saved in the panel")
    INSTANCE_FILE = "instance/config.py"
    ENVIRONMENT = N_("environment")


# The precedence, in one place: a later source wins. What the host fixes in instance/config.py
# or the environment beats what the provider saved in the panel (the settings page then shows the
# field as fixed), and what the provider saved beats the defaults.
PRECEDENCE: tuple[Source, ...] = (
    Source.DEFAULT,
    Source.SAVED,
    Source.INSTANCE_FILE,
    Source.ENVIRONMENT,
)

# Where the app keeps which keys instance/config.py and the environment set.
ORIGINS = "fedipanel.settings.origins"
