"""maintbot.toml parsing: clear errors naming the key, credentials only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config, load_settings
from bot.connectors.huawei import HuaweiConfig
from bot.connectors.talend import TalendConfig
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


def test_a_schedulers_zone_is_read_in_any_letter_case(tmp_path: Path) -> None:
    text = GOOD.replace('token_env = "T_PAT"', 'token_env = "T_PAT"\ntimezone = "europe/berlin"')
    config = load_config(write(tmp_path, text))
    assert config.schedulers["talend-test"].timezone == "Europe/Berlin"
    assert config.schedulers["talend-prod"].timezone == "UTC"  # the default


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
        (
            GOOD.replace('token_env = "T_PAT"', 'token_env = "T_PAT"\ntimezone = "Mars/Olympus"'),
            "timezone in [schedulers.talend-test]: is not a time zone; write an IANA name "
            'such as "Europe/Berlin"',
        ),
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("deadline_seconds = 7", "deadline_seconds = inf"), "a finite number"),
        (GOOD.replace("deadline_seconds = 7", "deadline_seconds = nan"), "a finite number"),
        (GOOD.replace("deadline_seconds = 7", "deadline_seconds = 1e999"), "a finite number"),
        (GOOD.replace("deadline_seconds = 7", "deadline_seconds = 86400"), "less than or equal"),
        (GOOD.replace("deadline_seconds = 7", "deadline_seconds = true"), "a valid number"),
        (GOOD.replace("deadline_seconds = 7", 'deadline_seconds = "7"'), "a valid number"),
        (GOOD.replace("deadline_seconds = 3", "deadline_seconds = 0"), "greater than 0"),
    ],
)
def test_numbers_are_finite_strict_and_bounded(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert "maintbot.toml: deadline_seconds in [" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("lookback_hours", "inf"),
        ("lookback_hours", "nan"),
        ("rate_per_minute", "inf"),
        ("rate_per_minute", "-5"),
        ("timeout_seconds", "nan"),
        ("max_concurrency", "0"),
        ("max_concurrency", "2.5"),
    ],
)
def test_scheduler_numbers_name_the_table_and_key(tmp_path: Path, key: str, value: str) -> None:
    text = GOOD.replace('token_env = "T_PAT"', f'token_env = "T_PAT"\n{key} = {value}')
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert f"maintbot.toml: {key} in [schedulers.talend-test]:" in str(err.value)


INLINE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWludGJvdCJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Config's own fields are not for the file: extra_env would hold credentials inline.
        (f'extra_env = {{ T_PAT = "{INLINE}" }}\n{GOOD}', "unknown top-level key 'extra_env'"),
        (f'source = "{INLINE}"\n{GOOD}', "unknown top-level key 'source'"),
        (f'api_token = "{INLINE}"\n{GOOD}', "unknown top-level key 'api_token'"),
        (GOOD.replace('"T_PAT"', f'"{INLINE}"'), "token_env in [schedulers.talend-test] must"),
        (GOOD.replace('"T_PAT"', '"my pat"'), "must be the name of an environment variable"),
        (GOOD.replace('"T_PAT"', "42"), "must be the name of an environment variable"),
        (f'{GOOD}client_secret = "{INLINE}"\n', "client_secret in [schedulers.talend-test]"),
        (
            GOOD.replace("[maintbot]", f'[maintbot]\npassword = "{INLINE}"'),
            "password in [maintbot] looks like a credential",
        ),
        (
            GOOD.replace('"env-1"', f'"{INLINE}"'),
            "environment_id in [schedulers.talend-prod] looks like a credential",
        ),
        (
            GOOD.replace('"env-1"', '"password=hunter2hunter2"'),
            "environment_id in [schedulers.talend-prod] looks like a credential",
        ),
    ],
)
def test_credentials_written_inline_are_refused_without_repeating_them(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)
    assert "environment variable" in str(err.value)  # what to do instead
    assert INLINE not in str(err.value)
    assert "hunter2" not in str(err.value)


def test_unreadable_config_files_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "folder.toml")
    (tmp_path / "latin1.toml").write_bytes("[maintbot]\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(tmp_path / "latin1.toml")


def test_bad_settings_name_the_variable_never_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-keep-me-quiet")
    monkeypatch.setenv("MAINTBOT_ALLOW_SELF_APPROVAL", "xoxb-wrong-place")
    monkeypatch.setenv("MAINTBOT_DB_BUSY_TIMEOUT", "inf")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "MAINTBOT_ALLOW_SELF_APPROVAL (Input should be a valid boolean" in str(err.value)
    assert "MAINTBOT_DB_BUSY_TIMEOUT (Input should be a finite number)" in str(err.value)
    assert "xoxb" not in str(err.value)


def test_window_clock_deadlines_come_from_each_scheduler_table(tmp_path: Path) -> None:
    """serve, worker and worker --once all bound the clock's calls the same way: a table's
    own deadline_seconds; tables without one fall back to the clock's vendor_deadline."""
    from bot.lifecycle import clock_deadlines

    config = load_config(write(tmp_path, GOOD))
    assert clock_deadlines(config) == {"talend-prod": 3}


# -- Huawei: AK/SK or password, one per table -----------------------------------------------------

HUAWEI = """
[schedulers.hw]
vendor = "huawei"
base_url = "https://workspace.{region}.myhuaweicloud.com"
project_id = "0123456789abcdef0123456789abcdef"
"""
AKSK = 'access_key_env = "HW_AK"\nsecret_key_env = "HW_SK"\n'
PASSWORD = (
    'iam_url = "https://iam.ap-southeast-1.myhuaweicloud.com"\ndomain_name = "acme"\n'
    'username_env = "HW_USER"\npassword_env = "HW_PASSWORD"\n'
)


def huawei(tmp_path: Path, keys: str, region: str = "ap-southeast-1") -> Path:
    return write(tmp_path, HUAWEI.format(region=region) + keys)


def test_huawei_tables_from_before_aksk_keep_the_password_sign_in(tmp_path: Path) -> None:
    config = load_config(huawei(tmp_path, PASSWORD))
    table = config.schedulers["hw"]
    assert isinstance(table, HuaweiConfig)
    assert table.auth_mode == "password"
    env = {"HW_USER": "ops", "HW_PASSWORD": "pw-1"}
    assert config.credentials("hw", env) == {"username": "ops", "password": "pw-1"}


@pytest.mark.parametrize(
    ("keys", "roles"),
    [
        (AKSK, {"access_key", "secret_key"}),
        ('auth = "aksk"\n' + AKSK, {"access_key", "secret_key"}),
        (AKSK + 'security_token_env = "HW_STS"\n', {"access_key", "secret_key", "security_token"}),
    ],
)
def test_huawei_aksk_tables(tmp_path: Path, keys: str, roles: set[str]) -> None:
    config = load_config(huawei(tmp_path, keys))
    table = config.schedulers["hw"]
    assert isinstance(table, HuaweiConfig)
    assert table.auth_mode == "aksk"
    env = {"HW_AK": "AK", "HW_SK": "SK", "HW_STS": "STS"}
    assert set(config.credentials("hw", env)) == roles


@pytest.mark.parametrize(
    ("region", "extra", "expected"),
    [
        # International regions serve App Streaming on the Workspace host, China on its own.
        ("ap-southeast-1", "", "https://workspace.ap-southeast-1.myhuaweicloud.com"),
        ("la-south-2", "", "https://workspace.la-south-2.myhuaweicloud.com"),
        ("cn-north-4", "", "https://appstream.cn-north-4.myhuaweicloud.com"),
        ("cn-east-3", 'appstream_url = "https://proxy.example.com"\n', "https://proxy.example.com"),
    ],
)
def test_huawei_appstream_url_defaults_from_the_region(
    tmp_path: Path, region: str, extra: str, expected: str
) -> None:
    table = load_config(huawei(tmp_path, AKSK + extra, region)).schedulers["hw"]
    assert isinstance(table, HuaweiConfig)
    assert table.app_base_url == expected


def test_huawei_region_key_names_the_region_of_a_private_endpoint(tmp_path: Path) -> None:
    text = (
        '[schedulers.hw]\nvendor = "huawei"\nbase_url = "https://workspace.internal.example"\n'
        'project_id = "p"\nregion = "cn-south-1"\n' + AKSK
    )
    table = load_config(write(tmp_path, text)).schedulers["hw"]
    assert isinstance(table, HuaweiConfig)
    assert table.app_base_url == "https://appstream.cn-south-1.myhuaweicloud.com"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('access_key_env = "HW_AK"\n', "access_key_env is given without secret_key_env"),
        ('secret_key_env = "HW_SK"\n', "secret_key_env is given without access_key_env"),
        ('auth = "aksk"\n', "access_key_env and secret_key_env are missing"),
        ('security_token_env = "HW_STS"\n', "access_key_env and secret_key_env are missing"),
        (AKSK + PASSWORD, "gives both AK/SK keys (access_key_env, secret_key_env) and password"),
        ('auth = "aksk"\n' + AKSK + 'username_env = "HW_USER"\n', "username_env (password"),
        ('auth = "password"\n' + PASSWORD + AKSK, "so access_key_env, secret_key_env must go"),
        ('username_env = "HW_USER"\n', "password sign-in needs iam_url, domain_name, password_env"),
        ("", "password sign-in needs iam_url, domain_name, username_env, password_env"),
        ('auth = "token"\n' + AKSK, "auth in [schedulers.hw]: Input should be 'aksk' or"),
        ('region = "Singapore"\n' + AKSK, "must be a Huawei region id such as ap-southeast-1"),
    ],
)
def test_huawei_sign_in_mistakes_are_one_clear_error(
    tmp_path: Path, keys: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(huawei(tmp_path, keys))
    assert message in str(err.value)
    assert "[schedulers.hw]" in str(err.value)
    assert err.value.exit_code == 2
    if "Input should be" not in message and "region id" not in message:
        assert 'e.g. auth = "' in str(err.value)  # an example that works


def test_huawei_keys_written_inline_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="looks like a credential") as err:
        load_config(huawei(tmp_path, 'secret_key = "abcdSECRET1234"\naccess_key_env = "HW_AK"\n'))
    assert "abcdSECRET1234" not in str(err.value)
