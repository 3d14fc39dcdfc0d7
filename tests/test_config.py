"""maintbot.toml parsing: clear errors naming the key, credentials only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import TalendConfig, load_config
from bot.errors import ConfigError

GOOD = """
[maintbot]
deadline_seconds = 7

[schedulers.talend-prod]
vendor = "talend"
base_url = "https://api.eu.cloud.talend.com"
environment_id = "env-1"
client_id_env = "T_ID"
client_secret_env = "T_SECRET"
deadline_seconds = 3

[schedulers.talend-test]
vendor = "talend"
base_url = "https://api.us.cloud.talend.com"
token_env = "T_PAT"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "maintbot.toml"
    path.write_text(text)
    return path


def test_two_instances_of_one_vendor(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert list(config.schedulers) == ["talend-prod", "talend-test"]
    prod = config.schedulers["talend-prod"]
    assert isinstance(prod, TalendConfig)
    assert prod.rate_per_minute == 1800  # Talend's published limit is the default
    assert config.deadline_for("talend-prod") == 3
    assert config.deadline_for("talend-test") == 7


def test_credentials_come_from_the_named_variables(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    env = {"T_ID": "id-1", "T_SECRET": "s3cret", "T_PAT": "pat"}
    assert config.credentials("talend-prod", env) == {
        "client_id": "id-1",
        "client_secret": "s3cret",
    }
    assert config.credentials("talend-test", env) == {"token": "pat"}


def test_missing_credential_names_the_variable_not_a_value(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError) as err:
        config.credentials("talend-prod", {"T_ID": "id-1"})
    assert "talend-prod" in str(err.value)
    assert "T_SECRET" in str(err.value)
    assert "id-1" not in str(err.value)


def test_env_file_supplies_credentials_without_overriding_the_environment(tmp_path: Path) -> None:
    (tmp_path / "creds.env").write_text("T_PAT=from-file\nT_ID=file-id\nT_SECRET=file-secret\n")
    config = load_config(
        write(tmp_path, GOOD.replace("deadline_seconds = 7", 'env_file = "creds.env"'))
    )
    assert config.credentials("talend-test", {}) == {"token": "from-file"}
    assert config.credentials("talend-test", {"T_PAT": "from-env"}) == {"token": "from-env"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("environment_id", "enviroment_id"),
            "unknown key 'enviroment_id' in [schedulers.talend-prod]",
        ),
        (
            GOOD.replace("[maintbot]", "[maintbot]\ncolour = 1"),
            "unknown key 'colour' in [maintbot]",
        ),
        (GOOD.replace('vendor = "talend"', 'vendor = "airflow"', 1), "vendor must be one of"),
        (GOOD.replace('token_env = "T_PAT"', ""), "give either token_env"),
        (GOOD.replace('client_secret_env = "T_SECRET"', ""), "needs both client_id_env"),
        (GOOD.replace("deadline_seconds = 3", "deadline_seconds = -1"), "deadline_seconds"),
        ("[schedulers.x\n", "is not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)
    assert "maintbot.toml" in str(err.value)


def test_missing_file_and_missing_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="env_file"):
        load_config(write(tmp_path, GOOD.replace("deadline_seconds = 7", 'env_file = "x.env"')))
