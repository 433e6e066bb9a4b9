"""What a command needs to know to read a task: its file, the fields, the labels, the split."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import field_validator

from adaptlab.data.loader import load_task
from adaptlab.data.task import Task
from adaptlab.settings import Cli, Settings


class TaskSettings(Settings):
    """The task and how to read and split it; shared by every command that reads a task."""

    group: ClassVar[str] = "Task"

    task: Annotated[str, Cli(argument=True, metavar="TASK")]
    """A .jsonl / .csv / .tsv file, a task .yaml, or a bundled task name."""
    labels: Annotated[list[str] | None, Cli(metavar="A,B,...")] = None
    """Declare the closed label set, comma-separated (e.g. neg,pos) [default: the task spec's,
    else inferred from the outputs]."""
    instruction: str | None = None
    """Task instruction used in prompts [default: the task spec's, else a generic one]."""
    input_field: str = "input"
    """Field / column holding the input."""
    output_field: str = "output"
    """Field / column holding the gold output."""
    id_field: str = "id"
    """Field / column holding the example id (optional)."""
    allow_extra_fields: bool = False
    """Ignore fields other than input, output and id (else they are reported)."""
    seed: int = 0
    """Seed of the train/dev/test split (and of --limit sampling)."""
    fractions: Annotated[tuple[float, float, float], Cli(metavar="TRAIN,DEV,TEST")] = (0.6, 0.1, 0.3)
    """Shares of the train, dev and test splits."""

    @field_validator("fractions", mode="before")
    @classmethod
    def _three_shares(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) != 3:
            raise ValueError("must be three shares, e.g. 0.6,0.1,0.3")
        return value

    def load_task(self) -> Task:
        """The task these settings name, loaded and validated."""
        return load_task(
            self.task,
            labels=self.labels,
            instruction=self.instruction,
            input_field=self.input_field,
            output_field=self.output_field,
            id_field=self.id_field,
            allow_extra_fields=self.allow_extra_fields,
        )
