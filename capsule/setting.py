"""A setting declared on its dataclass field: default, bound, command-line flag and help.

Only dataclass metadata lives here, so every layer can declare its settings; the server reads
the declarations to build the command line, the validation and the documented defaults.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

_METADATA_KEY = "capsule.setting"


class Bound(enum.Enum):
    """The least value a number setting accepts; each value reads as the rule it states."""

    AT_LEAST_ZERO = "0 or more"
    POSITIVE = "greater than 0"

    def admits(self, value: float) -> bool:
        """Whether `value` keeps to this bound."""
        return value > 0 if self is Bound.POSITIVE else value >= 0


AT_LEAST_ZERO = Bound.AT_LEAST_ZERO
POSITIVE = Bound.POSITIVE


@dataclass(frozen=True, slots=True)
class Declaration:
    """What a field says about itself as a setting, besides its type and default."""

    help: str
    """What the setting does, as the command line's help shows it."""
    flag: str | None = None
    """The command-line flag that sets it; None for settings of the configuration file only."""
    metavar: str | None = None
    """How the flag's value is written in the help (`N`, `SECONDS`, `DIR`...)."""
    bound: Bound = AT_LEAST_ZERO
    """For numbers: the least value accepted."""
    key: str | None = None
    """The configuration key, when it is not the field's name (`logging.level`)."""
    shown_default: str | None = None
    """The default in words, when the value is computed at start or reads badly as it is."""


def declare(
    *,
    help: str,
    flag: str | None = None,
    metavar: str | None = None,
    bound: Bound = AT_LEAST_ZERO,
    key: str | None = None,
    shown_default: str | None = None,
) -> Mapping[str, Declaration]:
    """Field metadata declaring a setting, for fields whose value has no static default."""
    return {_METADATA_KEY: Declaration(help, flag, metavar, bound, key, shown_default)}


def setting(
    default: T,
    *,
    help: str,
    flag: str | None = None,
    metavar: str | None = None,
    bound: Bound = AT_LEAST_ZERO,
    key: str | None = None,
    shown_default: str | None = None,
) -> T:
    """A dataclass field with `default`, declared as a setting."""
    metadata = declare(
        help=help, flag=flag, metavar=metavar, bound=bound, key=key, shown_default=shown_default
    )
    return dataclasses.field(default=default, metadata=metadata)


def declaration_of(field: dataclasses.Field[Any]) -> Declaration | None:
    """The declaration on a dataclass field, or None if the field is not a setting."""
    found = field.metadata.get(_METADATA_KEY)
    return found if isinstance(found, Declaration) else None
