"""Settings: every field is documented in the README, and the environment overrides defaults."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from lookalike.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_settings_table(name):
    assert f"`LOOKALIKE_{name.upper()}`" in README.read_text(), f"document LOOKALIKE_{name.upper()} in README.md"


def test_environment_overrides_and_types(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKALIKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOOKALIKE_SOLR_URL", "http://127.0.0.1:9999/solr")
    monkeypatch.setenv("LOOKALIKE_BATCH_SIZE", "8")
    s = Settings()
    assert s.data_dir == tmp_path and s.cache_dir == tmp_path / "cache"
    assert s.solr_port == 9999
    assert s.batch_size == 8


def test_bad_value_is_rejected(monkeypatch):
    monkeypatch.setenv("LOOKALIKE_PCA_DIMS", "4096")
    with pytest.raises(ValidationError):
        Settings()
