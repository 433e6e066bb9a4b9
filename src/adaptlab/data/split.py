"""Train/dev/test splits that are reproducible, stratified, shuffled and never leak an input.

`split_task` orders groups of examples by a seeded SHA-256 of their normalised input, so a
split's membership depends only on the task's content and the seed: not on ``PYTHONHASHSEED``,
the Python version, nor the order of rows in the file. Examples whose inputs are equal after
`normalize_text` form one group and always land in the same split, so splitting never creates
train/test leakage. Classification tasks are stratified: each label's examples are shared out by
largest remainder. Each split comes back shuffled by a seeded hash of the example ids, never
grouped by label or in file order, so any prefix of a split (a quick look, a benchmark, a
screen) sees every class. Dev is the selection data (winning rungs are chosen on it), so a task
large enough to spare them gives dev at least `MIN_DEV_EXAMPLES` examples.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adaptlab.data.quality import duplicate_key
from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError

SPLIT_NAMES = ("train", "dev", "test")
MIN_DEV_EXAMPLES = 50
"""Dev examples a split aims for: fewer make choosing between rungs on dev a coin toss."""


@dataclass(frozen=True)
class TaskSplit:
    """The examples of each split, with the seed and fractions that produced them."""

    train: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    seed: int
    fractions: tuple[float, float, float]

    def __getitem__(self, name: str) -> tuple[Example, ...]:
        if name not in SPLIT_NAMES:
            raise UsageError(f'unknown split "{name}"; use train, dev or test')
        return getattr(self, name)


@dataclass(frozen=True)
class Group:
    """Examples with the same normalised input; they move between splits together."""

    key: str
    indices: tuple[int, ...]  # positions of the examples in the sequence being split
    label: str  # the most common output, for stratification
    rank: str  # seeded hash of the key: the group's place in the shuffled order


def split_task(
    task: Task, *, fractions: tuple[float, float, float] = (0.6, 0.1, 0.3), seed: int = 0
) -> TaskSplit:
    """Split `task` into train, dev and test.

    Examples that came with a split (from spec ``splits`` files) keep it; when the user gave
    train and test but no dev, dev is carved out of train with the share
    ``fractions[1] / (fractions[0] + fractions[1])``. Otherwise every split gets at least one
    example when the task has at least three groups of distinct inputs (a task whose inputs are
    nearly all the same cannot have both non-empty splits and no leakage; no leakage wins).

    Dev is where rungs are chosen, so whenever dev is allocated (not given by the user) and the
    examples being shared out number at least ``4 * MIN_DEV_EXAMPLES``, dev gets at least
    `MIN_DEV_EXAMPLES` of them, taken from train's share (never from test, and never so many
    that train ends up smaller than dev). Smaller tasks keep the plain fractions: 50 dev examples
    out of, say, 120 would starve train, which the tuned rungs and the demos learn from. The
    user's own dev and test examples never move. Every split, the user's own included, is
    returned in a seeded shuffled order (see `shuffled`), so no split is ordered by label.

    >>> split = split_task(load_task("tweet-sentiment"), seed=0)  # doctest: +SKIP
    >>> len(split.train), len(split.dev), len(split["test"])  # doctest: +SKIP
    (900, 150, 450)
    """
    check_fractions(fractions)
    preassigned = {example.split for example in task.examples}
    stratify = task.is_classification
    if preassigned == {None} or not task.examples:
        train, dev, test = allocate(task.examples, fractions, seed, stratify)
    else:
        train, dev, test = preassigned_splits(task.examples, preassigned, fractions, seed, stratify)
    return TaskSplit(shuffled(train, seed), shuffled(dev, seed), shuffled(test, seed), seed, tuple(fractions))


def shuffled(examples: Sequence[Example], seed: int) -> tuple[Example, ...]:
    """`examples` in a seeded pseudo-random order, so that no prefix is one class.

    The order is by a seeded hash of each id (ids are unique within a task), so it is the same
    on every machine and Python run, and does not depend on the order `examples` come in. The
    hash is salted so that it does not coincide with `stratified_sample`'s ranking.
    """
    return tuple(sorted(examples, key=lambda example: seeded_hash(seed, f"order\0{example.id}")))


def check_fractions(fractions: Sequence[float]) -> None:
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        shown = ", ".join(f"{f:g}" for f in fractions)
        raise UsageError(
            f"split fractions must be three positive numbers (train, dev, test) that sum to 1, got {shown}"
        )


def preassigned_splits(
    examples: Sequence[Example],
    names: set[str | None],
    fractions: tuple[float, float, float],
    seed: int,
    stratify: bool,
) -> list[list[Example]]:
    """Keep the user's splits; carve dev out of train when only dev is missing."""
    if None in names:
        raise UsageError("either every example or no example must have a preassigned split")
    unknown = names - set(SPLIT_NAMES)
    if unknown:
        raise UsageError(f'unknown split "{sorted(unknown)[0]}" in the task; use train, dev or test')
    parts = {name: [example for example in examples if example.split == name] for name in SPLIT_NAMES}
    if parts["train"] and not parts["dev"]:
        dev_share = fractions[1] / (fractions[0] + fractions[1])
        parts["train"], parts["dev"] = allocate(parts["train"], (1 - dev_share, dev_share), seed, stratify)
    return [parts[name] for name in SPLIT_NAMES]


def allocate(
    examples: Sequence[Example], fractions: Sequence[float], seed: int, stratify: bool
) -> list[list[Example]]:
    """Share `examples` out into ``len(fractions)`` parts (train, dev, ...), group by group.

    The second part is dev: `reserve_dev` may raise its share out of the first (train). Each
    part keeps file order here; `split_task` shuffles them.
    """
    groups = make_groups(examples, seed)
    strata: dict[str, list[Group]] = defaultdict(list)
    for group in groups:
        strata[group.label if stratify else ""].append(group)
    sizes = {label: sum(len(group.indices) for group in members) for label, members in strata.items()}
    targets = stratum_targets(sizes, fractions)
    floor = reserve_dev(targets, len(examples))
    parts: list[list[Group]] = [[] for _ in fractions]
    for label in sorted(strata):
        need = list(targets[label])
        for group in strata[label]:
            part = max(range(len(need)), key=lambda index: (need[index], -index))
            parts[part].append(group)
            need[part] -= len(group.indices)
    fill_empty_parts(parts)
    top_up_dev(parts, floor)
    return [[examples[i] for i in sorted(i for group in part for i in group.indices)] for part in parts]


def make_groups(examples: Sequence[Example], seed: int) -> list[Group]:
    """Group by normalised input, then shuffle the groups by a seeded hash of their key."""
    members: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        members[duplicate_key(example.input)].append(index)
    groups = [
        Group(key, tuple(indices), majority_output(examples[i] for i in indices), seeded_hash(seed, key))
        for key, indices in members.items()
    ]
    return sorted(groups, key=lambda group: (group.rank, group.key))


def majority_output(examples: Iterable[Example]) -> str:
    counts = Counter(example.output for example in examples)
    return min(counts, key=lambda output: (-counts[output], output))


def seeded_hash(seed: int, text: str) -> str:
    """A stable pseudo-random rank for `text`: the same on every machine and Python run."""
    return hashlib.sha256(f"{seed}\0{text}".encode()).hexdigest()


def stratum_targets(sizes: dict[str, int], fractions: Sequence[float]) -> dict[str, list[int]]:
    """How many examples of each label go to each part (largest remainder, per label).

    Ties between equal remainders go to the part that earlier labels left furthest below its
    share, so that rounding does not favour one part across all labels.
    """
    shortfall = [0.0] * len(fractions)
    targets = {}
    for label in sorted(sizes):
        quotas = [sizes[label] * fraction for fraction in fractions]
        targets[label] = largest_remainder(
            sizes[label], quotas, priority=[-round(behind, 9) for behind in shortfall]
        )
        shortfall = [
            behind + quota - got for behind, quota, got in zip(shortfall, quotas, targets[label], strict=True)
        ]
    return targets


def largest_remainder(total: int, quotas: Sequence[float], priority: Sequence[object]) -> list[int]:
    """Round `quotas` (which sum to `total`) to integers that still sum to `total`.

    Each quota gets its floor; the units left over go to the largest fractional remainders,
    ties broken by `priority` (smaller first), then by position.
    """
    counts = [math.floor(quota + 1e-9) for quota in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-round(quotas[i] - counts[i], 9), priority[i], i))
    for index in order[: max(0, total - sum(counts))]:
        counts[index] += 1
    return counts


def reserve_dev(targets: dict[str, list[int]], total: int) -> int:
    """Raise dev's targets (part 1) towards `MIN_DEV_EXAMPLES`, out of train's (part 0).

    Applies only when `total` is at least ``4 * MIN_DEV_EXAMPLES``: a smaller task cannot lend
    train 50 examples without starving it. Train never ends up smaller than dev. The examples
    moved are shared among the labels in proportion to their train targets, so both keep their
    label mix. Returns the dev size to hold (0 when no minimum applies).
    """
    if total < 4 * MIN_DEV_EXAMPLES:
        return 0
    labels = sorted(targets)
    train = sum(targets[label][0] for label in labels)
    dev = sum(targets[label][1] for label in labels)
    move = max(0, min(MIN_DEV_EXAMPLES - dev, (train - dev) // 2))
    if move:
        quotas = [move * targets[label][0] / train for label in labels]
        for label, n in zip(labels, largest_remainder(move, quotas, priority=labels), strict=True):
            targets[label][0] -= n
            targets[label][1] += n
    return min(MIN_DEV_EXAMPLES, dev + move)


def top_up_dev(parts: list[list[Group]], floor: int) -> None:
    """Move train groups to dev until dev holds `floor` examples (while train stays larger).

    Groups of duplicate inputs move as a whole, so sharing a label's groups out can leave dev a
    few examples short of its target; the smallest train groups, in seeded order, make it up.
    """

    def count(part: list[Group]) -> int:
        return sum(len(group.indices) for group in part)

    train, dev = parts[0], parts[1]
    while count(dev) < floor and train:
        group = min(train, key=lambda candidate: (len(candidate.indices), candidate.rank))
        if count(train) - len(group.indices) < count(dev) + len(group.indices):
            return
        train.remove(group)
        dev.append(group)


def fill_empty_parts(parts: list[list[Group]]) -> None:
    """Give every empty part one group, taken from the part with the most groups.

    Downstream steps need at least one example in train, dev and test; a tiny task would
    otherwise round a small fraction down to nothing. The smallest group is moved.
    """
    for part in parts:
        if part:
            continue
        donor = max(parts, key=len)
        if len(donor) < 2:
            return
        smallest = min(donor, key=lambda group: len(group.indices))
        donor.remove(smallest)
        part.append(smallest)


def stratified_sample(examples: Sequence[Example], size: int, *, seed: int = 0) -> tuple[Example, ...]:
    """`size` examples keeping the proportions of each output (label), in their original order.

    Used to evaluate on a subset (``--limit``) without changing the label mix. Free-text outputs
    make singleton strata, which reduces to a seeded random sample.
    """
    if size < 1:
        raise UsageError(f"the sample size must be at least 1, got {size}")
    if size >= len(examples):
        return tuple(examples)
    strata: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        strata[example.output].append(index)
    labels = sorted(strata)
    quotas = [len(strata[label]) * size / len(examples) for label in labels]
    counts = largest_remainder(size, quotas, priority=[seeded_hash(seed, label) for label in labels])
    chosen: list[int] = []
    for label, n in zip(labels, counts, strict=True):
        ranked = sorted(strata[label], key=lambda index: (seeded_hash(seed, examples[index].id), index))
        chosen += ranked[:n]
    return tuple(examples[index] for index in sorted(chosen))
