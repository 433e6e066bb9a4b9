"""Settings are declared once: on a pydantic model, with type, bounds, default and help text.

Every config a run saves (``config.yaml``) is built from `Settings` groups — the task, the
model, the evaluation, the training — and the command line is derived from the same fields
(`adaptlab.cli.config_options`), so a setting added here appears in ``config.yaml``,
``--config``, ``--resume`` and ``--help`` at once, with one default and one set of bounds.

A field's docstring is its help text. `Cli` says how a field appears on the command line
where its name alone does not (a short flag, an older spelling, a positional argument):

the field ::

    learning_rate: Annotated[float | None, Cli("--lr")] = Field(None, gt=0)
    '''Learning rate [default: 3e-4 for lora, 2e-5 for full].'''

(in `adaptlab.learning_curve.TrainingSettings`) is ``--lr`` on the command line, must be
above 0 wherever it is given, and ``--help`` shows its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """A group of settings; `group` names its section in ``--help``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    group: ClassVar[str] = "Options"


@dataclass(frozen=True, init=False)
class Cli:
    """How a settings field appears on the command line, where its name does not say it.

    `flags`: the option's spellings, first the main one (default: ``--field-name``).
    `metavar`: what the value looks like in ``--help``. `argument`: a positional argument
    instead of an option. `file`: for a nested settings model, the option that reads all of it
    from a YAML file (its scalar fields also get options of their own). `group`: the section of
    ``--help``, where it is not the declaring class's `Settings.group`.
    """

    flags: tuple[str, ...]
    metavar: str | None
    argument: bool
    file: str | None
    group: str | None

    def __init__(
        self,
        *flags: str,
        metavar: str | None = None,
        argument: bool = False,
        file: str | None = None,
        group: str | None = None,
    ) -> None:
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "metavar", metavar)
        object.__setattr__(self, "argument", argument)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "group", group)
