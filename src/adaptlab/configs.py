"""The config of each command that runs rungs, built from settings groups.

``eval`` takes an `EvalConfig` (task, model, evaluation), ``tune`` a `TuneRunConfig` (plus
training), ``run`` a `RunConfig` (plus the ladder's choices, budget and costs). Each is saved as
the run's ``config.yaml``, re-run with ``--config`` or ``--resume``, and derives the command's
options (`adaptlab.cli.config_options`). This module stays light on purpose — no torch, no
transformers — because ``adaptlab --help`` imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator, model_validator

from adaptlab.data.problems import did_you_mean
from adaptlab.data.settings import TaskSettings
from adaptlab.decide.costs import CostSettings
from adaptlab.errors import UsageError
from adaptlab.evaluation.settings import EvaluationSettings
from adaptlab.models.catalog import DEFAULT_MODEL, endpoint_model
from adaptlab.models.settings import ModelSettings
from adaptlab.retrieval.settings import RetrievalSettings
from adaptlab.settings import Cli, Settings
from adaptlab.tuning.config import DEFAULT_SIZES, TuneConfig, TuneMode

LADDER_KEYWORD = "ladder"
"""The strategy name that stands for every prompt rung."""


class EvalConfig(RetrievalSettings, EvaluationSettings, ModelSettings, TaskSettings):
    """Everything that determines an evaluation run; saved as the run's ``config.yaml``.

    The fields are declared on the groups it is made of (task, model, evaluation, retrieval); the command
    line is derived from them (`adaptlab.cli.config_options`).
    """


class SelectionSettings(Settings):
    """How the winners are chosen: on dev examples, so that the test figures the decision cites
    were not used to choose them (`adaptlab.selection`). Shared by ``tune`` and ``run``."""

    group: ClassVar[str] = "Selection"

    selection_examples: Annotated[int | None, Field(ge=0)] = None
    """Dev examples every rung is also scored on to choose the best prompt, the best tuned rung
    and the hybrid's prompt; the figures reported are the test split's [default: as many as the
    test examples, at most the dev split]. 0 chooses on the test figures themselves, which
    flatters the winners."""
    screen_examples: Annotated[int, Field(ge=1)] = 20
    """Dev examples every prompt rung is first scored on: a rung worse than the best there
    beyond the 95% interval is pruned, and neither scored further nor probed."""


class TrainingSettings(SelectionSettings, EvalConfig):
    """An evaluation config plus how to train: shared by ``adaptlab tune`` and ``adaptlab run``."""

    group: ClassVar[str] = "Training"

    mode: TuneMode = "lora"
    """lora (adapters on all linear layers) or full (every weight)."""
    sizes: Annotated[list[int], Cli(metavar="N,...")] = Field(default_factory=lambda: list(DEFAULT_SIZES))
    """Training-set sizes of the learning curve; one larger than the train split means all of it."""
    epochs: Annotated[float, Field(gt=0)] = 3.0
    """Passes over the training examples."""
    learning_rate: Annotated[float | None, Field(gt=0), Cli("--lr")] = None
    """Learning rate [default: 3e-4 for lora, 2e-5 for full]."""
    train_batch_size: Annotated[int, Field(ge=1)] = 8
    """Training examples per optimizer step."""
    lora_r: Annotated[int, Field(ge=1)] = 16
    """LoRA rank (alpha is twice the rank)."""
    early_stopping_patience: Annotated[int | None, Field(ge=0), Cli("--patience")] = 2
    """Dev-loss evaluations without improvement before training stops; 0: never stop early."""
    checkpoint_steps: Annotated[int | None, Field(ge=1)] = None
    """Save a checkpoint every this many steps, to resume a killed training [default: every
    epoch]."""
    forgetting: bool = True
    """Measure general ability (a bundled probe) before and after tuning."""

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        if not sizes or any(n < 1 for n in sizes):
            raise ValueError("must be positive numbers of training examples, e.g. 25,50,100")
        return sorted(set(sizes))

    @field_validator("split")
    @classmethod
    def _not_the_training_split(cls, split: str) -> str:
        if split == "train":
            raise ValueError("tuned rungs learn from the train split; measure them on dev or test")
        return split

    def tune_config(self) -> TuneConfig:
        return TuneConfig(
            mode=self.mode,
            epochs=self.epochs,
            learning_rate=self.learning_rate,
            batch_size=self.train_batch_size,
            lora_r=self.lora_r,
            lora_alpha=2 * self.lora_r,
            early_stopping_patience=self.early_stopping_patience or None,
            seed=self.seed,
        )

    def training_fields(self) -> dict[str, Any]:
        """The evaluation and training settings, to build another config from this one."""
        return self.model_dump(include=set(TrainingSettings.model_fields))


class TuneRunConfig(TrainingSettings):
    """What ``adaptlab tune`` does."""

    group: ClassVar[str] = "Tuning run"

    strategies: Annotated[list[str], Cli("--strategy", "-s", metavar="RUNG")] = Field(
        default_factory=lambda: ["zero-shot"]
    )
    """The one prompt the model is trained and evaluated with; another than zero-shot makes a
    hybrid rung."""
    compare: Annotated[list[str], Cli(metavar="RUNG,...")] = Field(default_factory=list)
    """Prompt rungs to evaluate on the untuned model beside the curve (`ladder` for all);
    answers cached by earlier runs are reused."""
    hybrid: Annotated[list[str], Cli(metavar="RUNG,...")] = Field(default_factory=list)
    """Prompt rungs to also ask the largest tuned model with, e.g. few-shot-knn-4."""
    distill: Annotated[str | None, Cli(metavar="RUNG")] = None
    """Context distillation: train on the untuned model's answers under this long prompt (e.g.
    few-shot-knn-8) and ask the tuned model with the short --strategy prompt."""
    base_rung: bool = True
    """Also evaluate the untuned model with the training prompt (the curve's starting point)."""


class BudgetSettings(Settings):
    """What a run may spend, and what things cost: the ladder stops climbing before a budget
    would be overrun, and the decision prices every rung with `costs`."""

    group: ClassVar[str] = "Budget and costs"

    budget_minutes: Annotated[float | None, Field(gt=0)] = None
    """Stop climbing before this much wall time is spent."""
    budget_tokens: Annotated[int | None, Field(ge=1)] = None
    """Stop climbing once this many model tokens are used."""
    budget_usd: Annotated[float | None, Field(gt=0)] = None
    """Stop climbing once this many dollars are spent."""
    tuning_share: Annotated[float, Field(ge=0, lt=1)] = 0.4
    """Share of --budget-minutes kept for the learning curve: the prompt rungs stop when only
    this much is left (unless the run will not tune)."""
    costs: Annotated[CostSettings, Cli(file="--costs")] = Field(default_factory=CostSettings)
    """YAML cost settings: machine_usd_per_hour, prices (per model, $ per million input/output
    tokens), labelling_usd_per_example, value_per_correct_usd, expected_requests; the options
    below override single values."""


class ModelsSettings(Settings):
    """Several models in one run: each climbs its ladder on the same test examples, a teacher
    may label the training inputs of the others, and the decision names the cheapest
    configuration (model x rung) that reaches a target (`adaptlab.multi_model`)."""

    group: ClassVar[str] = "Several models"

    models: Annotated[list[str], Cli("--model", "-m", metavar="MODEL", group="Model")] = Field(
        default_factory=lambda: [DEFAULT_MODEL]
    )
    """Model to climb the ladder with, repeated for several: a bundled name (see `adaptlab
    models`), a HF model directory, a .gguf file, or openai:NAME behind --base-url (prompt rungs
    only). With several, the decision names the cheapest that reaches --target."""
    teacher: Annotated[str | None, Cli(metavar="MODEL[:RUNG]")] = None
    """One of the --model models whose prompted answers (its best prompt rung on dev, or RUNG)
    label the training inputs of the other local models: they are also tuned on them."""
    unlabeled: Annotated[Path | None, Cli(metavar="FILE")] = None
    """Inputs without gold outputs (JSONL, CSV or chat messages) that the --teacher labels as
    extra training data for the other models."""
    target: Annotated[float | None, Field(ge=0, le=1)] = None
    """The primary-metric level a configuration must reach (0.8: 80% accuracy, or chrF 80)
    [default: within the 95% interval of the best configuration measured]."""


class RunConfig(ModelsSettings, BudgetSettings, TrainingSettings):
    """Everything ``adaptlab run`` does; saved as the run's ``config.yaml`` and re-runnable
    with ``adaptlab run --config config.yaml``.

    ``model`` follows ``models``: it is the first of them, the one a single-model run asks (a
    config with ``model`` alone, as runs before several models wrote, means that one model).
    """

    group: ClassVar[str] = "Ladder"

    @model_validator(mode="before")
    @classmethod
    def _model_is_the_first_of_models(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        models = data.get("models")
        if isinstance(models, list) and models:
            return {**data, "model": models[0]}
        if models is None and data.get("model") is not None:
            return {**data, "models": [data["model"]]}
        return data  # the field validators say what is wrong with the value

    @field_validator("models")
    @classmethod
    def _distinct_models(cls, models: list[str]) -> list[str]:
        if not models:
            raise ValueError("give at least one model")
        repeated = sorted({spec for spec in models if models.count(spec) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} is given more than once; give each model once")
        return models

    @model_validator(mode="after")
    def _several_models_for_teacher_and_target(self) -> RunConfig:
        if len(self.models) == 1:
            given = (("--teacher", self.teacher), ("--unlabeled", self.unlabeled), ("--target", self.target))
            for flag, value in given:
                if value is not None:
                    raise UsageError(
                        f"{flag} is for several models (give --model twice or more): the teacher is"
                        " one of them and labels the others' training inputs; the target chooses"
                        " among their configurations"
                    )
        if self.unlabeled is not None and self.teacher is None:
            raise UsageError("--unlabeled inputs are labelled by a --teacher: give one")
        return self

    def model_specs(self) -> list[str]:
        return list(self.models)

    def for_model(self, spec: str) -> RunConfig:
        """This config for one of its models alone: what that model's own run climbs (the
        endpoint settings only for a model behind an endpoint)."""
        data = self.model_dump() | {"models": [spec], "teacher": None, "unlabeled": None, "target": None}
        if endpoint_model(spec) is None:
            data["base_url"] = None
        return RunConfig.model_validate(data)

    strategies: Annotated[list[str], Cli("--strategies", "--strategy", "-s", metavar="RUNG,...")] = Field(
        default_factory=lambda: [LADDER_KEYWORD]
    )
    """Prompt rungs, comma-separated or repeated; `ladder` means all of them."""
    tune: bool = True
    """Climb to the fine-tuning rungs (skipped anyway for API-only models)."""
    hybrid: bool = True
    """Also ask the largest tuned model with the best prompt rung."""
    distill: bool = True
    """Distil the best prompt rung into the weights (asked with a short prompt) when it is much
    longer than zero-shot."""
    distill_size: Annotated[int | None, Field(ge=1)] = None
    """Training examples of the distilled rung [default: the largest size the curve trained]."""
    documents: bool = True
    """With a corpus, also tune on its text (continued training: the knowledge in the weights)
    and ask the tuned model closed-book."""
    documents_with_pairs: bool = True
    """Also tune on the corpus text and the curve's largest set of question-answer pairs
    together (with --documents)."""
    documents_then_pairs: bool = True
    """Also tune on the corpus text, then continue on the curve's largest set of
    question-answer pairs (the paper's unsupervised fine-tuning followed by SFT; with
    --documents); --no-documents-then-pairs leaves it out."""


@dataclass(frozen=True)
class DemoPlan:
    """What ``adaptlab demo`` climbs on one bundled task, sized to finish within 15 minutes on a
    2-core CPU (machines differ up to 2x: measured well inside it)."""

    rungs: tuple[str, ...]
    limit: int
    """Test examples: enough to tell the rungs apart (95% intervals near ±10 points)."""
    sizes: tuple[int, ...]
    epochs: float
    distill_size: int | None
    """Training examples of the distilled rung; None: no distillation."""
    selection_examples: int = 32
    """Dev examples every rung is also scored on to choose the winners: fewer than the test
    examples, for time. Choosing on dev (the dev screen, dev scores, demo draws) took the
    classification demo to 8 min 34 s and 9 min 5 s with its 20/40/80 curve, on a machine where
    it took about 7 min 30 s before, so its curve became 16/32/64 (7 min 48 s)."""
    demo_seeds: int = 3
    consistency_sample: int = 10
    robustness_sample: int = 10
    """Consistency, injection and input-edit probes on 10 examples per rung each: 40 extra
    requests per rung (the `run` defaults ask 168). With 100 test examples and 20 per probe the
    classification demo took 16 min 43 s on a 2-core CPU, over its 15 minutes; the kNN rungs,
    whose prompts share no prefix, cost most."""
    documents_with_pairs: bool = True
    """With a corpus: also tune on the corpus and the curve's largest pair set together."""
    documents_then_pairs: bool = True
    """With a corpus: also tune on the corpus, then on the curve's largest pair set."""


DEMO_TASK = "tweet-sentiment"
DEMOS = {
    DEMO_TASK: DemoPlan(
        rungs=("zero-shot", "few-shot-random-4", "few-shot-knn-4", "label-scoring"),
        limit=80,
        sizes=(16, 32, 64),
        epochs=2.0,
        distill_size=32,
    ),
    # Free text: every rung generates a sentence (no label scoring), a slower climb than labels,
    # so fewer test examples (chrF intervals near ±8 points: few-shot-knn-4 leads zero-shot by
    # 25), fewer probes and no distilled rung. With 60 examples, 10 probes, a 25/50/100 curve and
    # distillation it took 12 min 41 s where the classification demo takes 6 min 56 s. Choosing on
    # 20 dev examples took it to 8 min 1 s on a machine where the demo before took 7 min 50 s, so
    # its curve became 12/24/48 (7 min 48 s).
    "python-docstrings": DemoPlan(
        rungs=("zero-shot", "few-shot-random-4", "few-shot-knn-4"),
        limit=40,
        sizes=(12, 24, 48),
        epochs=2.0,
        distill_size=None,
        selection_examples=20,
        demo_seeds=2,
        consistency_sample=5,
        robustness_sample=5,
    ),
    # Knowledge the model lacks: zero-shot (closed book) against rag-3, one tuned size (asked
    # closed-book, with the passages, and trained with them), and one epoch over the corpus
    # (docs-lora-426). Every answer is generated and the prompts with passages are long: with
    # 40 test examples, kNN demos, rag-3 with kNN demos, a 64/256 curve over 2 epochs and the
    # corpus also mixed with the pairs, the prompt rungs alone took 7.5 minutes (on a machine
    # busy with tests as well) and lora-64 trained 16 steps in 46 s; this plan took 7 min 10 s,
    # and 6 min 44 s with the streamed index (README).
    "country-facts": DemoPlan(
        rungs=("zero-shot", "rag-3"),
        limit=30,
        sizes=(128,),
        epochs=1.0,
        distill_size=None,
        selection_examples=20,
        demo_seeds=1,
        consistency_sample=5,
        robustness_sample=5,
        documents_with_pairs=False,
        documents_then_pairs=False,
    ),
}
"""The bundled tasks ``adaptlab demo --task`` climbs, and how."""
DEMO_LIMIT = DEMOS[DEMO_TASK].limit


def demo_config(*, task: str = DEMO_TASK, limit: int | None = None) -> RunConfig:
    """``adaptlab demo``: the whole ladder on a bundled task and the bundled model, sized for a
    2-core CPU: a few prompt rungs (`adaptlab run` climbs the whole prompt ladder, instructions,
    CoT, formats and prompt search included), a three-point learning curve, the hybrid and a
    distilled rung.
    """
    if task not in DEMOS:
        raise UsageError(f'no demo for "{task}"{did_you_mean(task, list(DEMOS))}; demos: {", ".join(DEMOS)}')
    plan = DEMOS[task]
    return RunConfig(
        task=task,
        strategies=list(plan.rungs),
        limit=limit or plan.limit,
        sizes=list(plan.sizes),
        epochs=plan.epochs,
        selection_examples=plan.selection_examples,
        demo_seeds=plan.demo_seeds,
        consistency_sample=plan.consistency_sample,
        robustness_sample=plan.robustness_sample,
        distill=plan.distill_size is not None,
        distill_size=plan.distill_size,
        documents_with_pairs=plan.documents_with_pairs,
        documents_then_pairs=plan.documents_then_pairs,
    )
