"""What a command needs to know to read a task: its file, the fields, the labels, the split."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ValidationError, field_validator

from adaptlab.data.loader import ScoringOverrides, load_task
from adaptlab.data.scoring_spec import JudgeSpec
from adaptlab.data.task import Task
from adaptlab.errors import UsageError
from adaptlab.settings import Cli, Settings

SCORING = "Scoring"


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
    """Shares of the train, dev and test splits; dev, on which rungs are chosen, gets at least 50
    examples out of train's share when 200 or more are shared out."""
    metric: Annotated[str | None, Cli(metavar="METRIC", group=SCORING)] = None
    """The primary metric, which decisions use: accuracy, exact, contains, regex:PATTERN, json,
    json:SCHEMA.json, json-fields, chrf, bleu, rouge-l, similarity or judge [default: the task
    spec's, else accuracy for closed labels and chrf for free text]."""
    metrics: Annotated[list[str] | None, Cli(metavar="METRIC,...", group=SCORING)] = None
    """Metrics also reported [default: the task spec's, else similarity,exact for free text]."""
    answer_format: Annotated[str | None, Cli("--format", metavar="REGEX", group=SCORING)] = None
    """The layout every answer must have, a regex (or json_schema:FILE); format compliance is
    the share of answers that match it [default: the task spec's format]."""
    judge_model: Annotated[str | None, Cli(metavar="openai:NAME", group=SCORING)] = None
    """The grader of the judge metric, a model behind an OpenAI-compatible server [default: the
    task spec's judge]."""
    judge_base_url: Annotated[str | None, Cli(metavar="URL", group=SCORING)] = None
    """The judge's API root [default: the spec's, else $OPENAI_BASE_URL]."""
    judge_api_key_env: Annotated[str, Cli(metavar="VARIABLE", group=SCORING)] = "OPENAI_API_KEY"
    """Environment variable holding the judge server's API key."""

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
            scoring=ScoringOverrides(
                metric=self.metric,
                metrics=self.metrics,
                answer_format=self.answer_format,
                judge=self.judge(),
            ),
        )

    def judge(self) -> JudgeSpec | None:
        """The judge the command line names, if any (it replaces the spec's)."""
        if self.judge_model is None:
            if self.judge_base_url is not None:
                raise UsageError("--judge-base-url needs --judge-model openai:NAME")
            return None
        try:
            return JudgeSpec(
                model=self.judge_model, base_url=self.judge_base_url, api_key_env=self.judge_api_key_env
            )
        except ValidationError as error:
            raise UsageError(
                f"--judge-model {self.judge_model}: {error.errors()[0]['ctx']['error']}"
            ) from None
