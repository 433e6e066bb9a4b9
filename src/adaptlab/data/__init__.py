"""Tasks: load and validate them, split them, and report on their quality.

>>> from adaptlab.data import load_task, split_task
>>> task = load_task("tweet-sentiment")
>>> split = split_task(task, seed=0)
>>> len(split.train), len(split.dev), len(split.test)
(900, 150, 450)
"""

from adaptlab.data.bundled import BUNDLED_TASKS, bundled_task_path, list_bundled_tasks
from adaptlab.data.loader import infer_labels, load_task
from adaptlab.data.problems import Problem, TaskFileError
from adaptlab.data.quality import ExampleGroup, LeakagePair, QualityReport, normalize_text, quality_report
from adaptlab.data.spec import TaskSpec
from adaptlab.data.split import TaskSplit, split_task, stratified_sample
from adaptlab.data.summary import LengthStats, TaskSummary, describe_task
from adaptlab.data.task import Example, OutputType, Task

__all__ = [
    "BUNDLED_TASKS",
    "Example",
    "ExampleGroup",
    "LeakagePair",
    "LengthStats",
    "OutputType",
    "Problem",
    "QualityReport",
    "Task",
    "TaskFileError",
    "TaskSpec",
    "TaskSplit",
    "TaskSummary",
    "bundled_task_path",
    "describe_task",
    "infer_labels",
    "list_bundled_tasks",
    "load_task",
    "normalize_text",
    "quality_report",
    "split_task",
    "stratified_sample",
]
