"""The one redaction rule: which variables are secret, and every form a secret is blanked in."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from session_store_harness.judging.gate import GateLimits
from session_store_harness.measuring.calibration import CalibrationConfig, CalibrationResult
from session_store_harness.measuring.environment import ENV_NAMES, recorded_env
from session_store_harness.measuring.stress import ConcurrencyResult, StressConfig, StressReport
from session_store_harness.model.redaction import (
    REDACTED,
    is_secret_name,
    redact_argv,
    redact_document,
    redact_env,
    redact_environment,
    redact_text,
    secret_values,
    secrets_to_hide,
)
from session_store_harness.model.result_folder import meta_json, write_run
from session_store_harness.model.run import Run, StoreInfo
from session_store_harness.model.store_spec import parse_store_spec
from session_store_harness.writers.calibration_json import calibration_json
from session_store_harness.writers.stress_json import stress_json
from session_store_harness.writers.sweep_json import sweep_json
from tests.fakes import fake_run

NO_ENVIRON: dict[str, str] = {}  # redact_argv reads os.environ unless told otherwise
SECRET_ARGV = ("harness", "run", "--env", "OPENCLAW_API_KEY=key-value-1", "--env=HARNESS_DB_"
               "PASSWORD=pw-value-2", "--label", "x")


@pytest.mark.parametrize("name", [
    "OPENCLAW_TOKEN", "OPENCLAW_API_KEY", "HARNESS_DB_PASSWORD", "DB_PASSWD", "AWS_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS", "HARNESS_AUTH_HEADER", "OPENCLAW_COOKIE", "apikey",
    "SSH_PRIVATE_KEY_PATH", "OPENCLAW_SESSION_ID", "OPENCLAW_SESSIONID", "CONNECT_SID",
    "DB_PASS", "DB_PWD", "GH_PAT", "SENTRY_DSN", "OPENCLAW_JWT", "harness-auth",
])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    *ENV_NAMES, "OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES", "HARNESS_BALLAST_MB",
    "HARNESS_PAD_KB", "HARNESS_MEMORY_LIMIT_MB", "OPENCLAW_INSIDE", "HARNESS_RESIDENT",
    "HARNESS_PATH", "OPENCLAW_PASSAGE", "OPENCLAW_SESSIONS_DIR", "PWD", "OLDPWD",
])
def test_names_the_harness_reads_are_not_secret(name: str) -> None:
    # short words (SID, PASS, PAT) count only whole: INSIDE, PASSAGE and PATH keep their values;
    # the shell's folders are no secret, and would blank every path under the user's folder
    assert not is_secret_name(name)


def test_env_records_keep_names_and_unset_markers_but_not_secret_values() -> None:
    env = {"OPENCLAW_TOKEN": "t0k3n", "HARNESS_BALLAST_MB": "4", "PYTHONMALLOC": None,
           "HARNESS_AUTH": ""}
    assert redact_env(env) == {"OPENCLAW_TOKEN": REDACTED, "HARNESS_BALLAST_MB": "4",
                               "PYTHONMALLOC": None, "HARNESS_AUTH": REDACTED}
    assert list(redact_env(env)) == list(env)  # order kept: meta.json diffs stay small
    environment = {"cpu_count": 4, "env": env}
    assert redact_environment(environment)["env"]["OPENCLAW_TOKEN"] == REDACTED
    assert redact_environment({"cpu_count": 4}) == {"cpu_count": 4}  # an old record: no env


def test_only_the_variables_the_harness_needs_are_recorded() -> None:
    recorded = recorded_env({"GITHUB_TOKEN": "ghp-1", "HOME": "/root", "OPENCLAW_TOKEN": "oc-2",
                             "HARNESS_BALLAST_MB": "4", "MALLOC_ARENA_MAX": "2"})
    assert recorded == {"PYTHONMALLOC": None, "MALLOC_ARENA_MAX": "2",
                        "MALLOC_TRIM_THRESHOLD_": None, "PYTHONHASHSEED": None,
                        "HARNESS_BALLAST_MB": "4", "OPENCLAW_TOKEN": REDACTED}


def test_argv_settings_are_blanked_in_every_form() -> None:
    argv = ["harness", "run", "--env", "OPENCLAW_API_KEY=k=with=equals", "--env=HARNESS_DB_"
            "PASSWORD=pw", "--env", "HARNESS_BALLAST_MB=4", "GITHUB_TOKEN=bare", "--env",
            "odd name token=x"]
    assert redact_argv(argv, environ=NO_ENVIRON) == [
        "harness", "run", "--env", f"OPENCLAW_API_KEY={REDACTED}",
        f"--env=HARNESS_DB_PASSWORD={REDACTED}", "--env", "HARNESS_BALLAST_MB=4",
        f"GITHUB_TOKEN={REDACTED}", "--env", f"odd name token={REDACTED}"]


def test_a_worker_commands_words_are_blanked_as_arguments_are(tmp_path: Path) -> None:
    # GIVEN a --worker-cmd holding a secret setting, in both option forms
    argv = ["harness", "run", "--worker-cmd", "prog API_TOKEN=t0ken-value --fast",
            "--worker-cmd=prog DB_PASSWORD=pw-value"]
    redacted = redact_argv(argv, environ=NO_ENVIRON)
    assert redacted[3] == f"prog 'API_TOKEN={REDACTED}' --fast"
    assert redacted[4] == f"--worker-cmd=prog 'DB_PASSWORD={REDACTED}'"
    # AND the run's recorded spec keeps its words, blanked the same way
    (tmp_path / "prog").write_text("")
    spec = parse_store_spec(None, worker_cmd="python3 prog API_TOKEN=t0ken-value", cwd=tmp_path)
    run = replace(fake_run("cmd", [10.0, 11.0], 5, 12), argv=tuple(argv))
    run = replace(run, config=replace(run.config, store=spec.target, runtime="command",
                                      store_spec=spec))
    text = meta_json(run)
    assert "t0ken-value" not in text and "pw-value" not in text
    assert json.loads(text)["config"]["store_spec"]["command"] == [
        "python3", "prog", f"API_TOKEN={REDACTED}"]


def test_secret_values_seen_in_the_environment_or_config_are_blanked_anywhere() -> None:
    environ = {"OPENCLAW_TOKEN": "s3cr3t-token", "HOME": "/root", "HARNESS_AUTH": "42"}
    config_env = (("OPENCLAW_API_KEY", "abcd1234"),)
    argv = ["harness", "run", "--label", "x-s3cr3t-token-y", "--store-file",
            "/data/abcd1234/sessions.json", "/root", "--cycles", "42"]
    assert redact_argv(argv, config_env, environ) == [
        "harness", "run", "--label", f"x-{REDACTED}-y", "--store-file",
        f"/data/{REDACTED}/sessions.json", "/root", "--cycles", "42"]
    # a value too short to be a secret is not hunted through the command line
    assert secret_values(environ) == {"s3cr3t-token", "42"}


def test_a_secret_holding_another_is_blanked_whole() -> None:
    environ = {"A_TOKEN": "abcd", "B_TOKEN": "abcdefgh"}
    assert redact_argv(["x-abcdefgh"], environ=environ) == [f"x-{REDACTED}"]


def test_the_default_environment_is_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCLAW_TOKEN", "from-the-process-env")
    assert redact_argv(["--label", "from-the-process-env"]) == ["--label", REDACTED]


def test_sweep_json_argv_is_redacted() -> None:
    data = json.loads(sweep_json("1/1", [], [], SECRET_ARGV))
    assert data["argv"][3:5] == [f"OPENCLAW_API_KEY={REDACTED}",
                                 f"--env=HARNESS_DB_PASSWORD={REDACTED}"]
    assert "value" not in json.dumps(data)


def test_stress_json_argv_is_redacted() -> None:
    config = StressConfig(store="wholefile", generate=None, store_file=Path("s.json"))
    result = ConcurrencyResult(writers=4, updates_each=200, reuse_loaded_store=False,
                               shared_count=800, own_counts={}, writer_failures=[], reads=10,
                               invalid_reads=0, leftovers=[])
    text = stress_json(StressReport(config, SECRET_ARGV, result, None))
    assert "key-value-1" not in text and "pw-value-2" not in text
    assert f"OPENCLAW_API_KEY={REDACTED}" in json.loads(text)["argv"]


def test_calibration_json_records_argv_redacted_when_given() -> None:
    config = CalibrationConfig(limits=GateLimits(max_regression=0.1))
    result = CalibrationResult(config, pads={"plant-1%": 64})
    assert "argv" not in json.loads(calibration_json(result))
    data = json.loads(calibration_json(result, SECRET_ARGV))
    assert data["argv"][3] == f"OPENCLAW_API_KEY={REDACTED}"
    assert "value" not in json.dumps(data)


# ---- by value, across whole documents ---------------------------------------------------------

PROCESS_SECRET = "s3cr3t-tok"  # OPENCLAW_TOKEN in the process environment
ENV_SECRET = "k3y-from-env"  # a run's own secret-named --env


def leaky_run(store_file: Path) -> Run:
    """A run whose secret values turn up under harmless names and in free text."""
    run = fake_run(f"lbl-{PROCESS_SECRET}", [50.0, 51.0], 2.0, 52.0)
    config = replace(run.config, generate=None, store_file=store_file,
                     env=(("PYTHONWARNINGS", PROCESS_SECRET), ("OPENCLAW_API_KEY", ENV_SECRET)))
    worker = replace(run.repeats[0].worker,
                     stderr_tail=f"token={PROCESS_SECRET} key={ENV_SECRET}\n")
    return replace(run, config=config, store=StoreInfo(str(store_file), 1, "abc"),
                   argv=("harness", "run", "--label", f"lbl-{PROCESS_SECRET}"),
                   environment={"env": {"HARNESS_PAD": ENV_SECRET}},
                   repeats=(replace(run.repeats[0], worker=worker, error=ENV_SECRET),))


def test_secrets_to_hide_are_long_enough_and_longest_first() -> None:
    hidden = secrets_to_hide((("A_KEY", "abcd"), ("HOME", "/root-xyz")),
                             {"B_TOKEN": "abcdefgh", "C_TOKEN": "42"})
    assert hidden == ("abcdefgh", "abcd")
    assert redact_text("x abcdefgh abcd 42", hidden) == f"x {REDACTED} {REDACTED} 42"


def test_redact_document_blanks_every_string_keys_and_paths_too() -> None:
    doc = {"a": ["x-abcd-y", ("abcd", 4)], "abcd": Path("/p/abcd"), "n": None, "f": 1.5,
           "b": True}
    assert redact_document(doc, ("abcd",)) == {
        "a": [f"x-{REDACTED}-y", [REDACTED, 4]], REDACTED: f"/p/{REDACTED}", "n": None,
        "f": 1.5, "b": True}


def test_meta_json_blanks_secret_values_wherever_they_are(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("OPENCLAW_TOKEN", PROCESS_SECRET)
    run = leaky_run(tmp_path / PROCESS_SECRET / "sessions.json")
    text = meta_json(run)
    assert PROCESS_SECRET not in text and ENV_SECRET not in text
    meta = json.loads(text)
    assert meta["config"]["label"] == f"lbl-{REDACTED}"
    assert meta["config"]["env"] == {"PYTHONWARNINGS": REDACTED, "OPENCLAW_API_KEY": REDACTED}
    assert meta["config"]["store_file"] == str(tmp_path / REDACTED / "sessions.json")
    assert meta["store"]["source"] == meta["config"]["store_file"]
    assert meta["repeats"][0]["worker"]["stderr_tail"] == f"token={REDACTED} key={REDACTED}\n"
    # the run in memory keeps the real values: it is what the worker was started with
    assert dict(run.config.env)["PYTHONWARNINGS"] == PROCESS_SECRET


def test_worker_stderr_file_holds_no_secret(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("OPENCLAW_TOKEN", PROCESS_SECRET)
    folder = tmp_path / "result"
    folder.mkdir()
    write_run(leaky_run(tmp_path / "sessions.json"), folder)
    assert (folder / "worker-1-stderr.txt").read_text() == f"token={REDACTED} key={REDACTED}\n"
    for path in folder.iterdir():
        assert PROCESS_SECRET not in path.read_text() and ENV_SECRET not in path.read_text()


def test_stress_json_blanks_secret_values_in_its_config(monkeypatch: pytest.MonkeyPatch,
                                                        ) -> None:
    monkeypatch.setenv("OPENCLAW_TOKEN", PROCESS_SECRET)
    config = StressConfig(store="wholefile", generate=None,
                          store_file=Path(f"/data/{PROCESS_SECRET}/s.json"))
    result = ConcurrencyResult(writers=4, updates_each=200, reuse_loaded_store=False,
                               shared_count=800, own_counts={}, writer_failures=[], reads=10,
                               invalid_reads=0, leftovers=[])
    text = stress_json(StressReport(config, ("harness", "stress"), result, None))
    assert PROCESS_SECRET not in text
    assert json.loads(text)["config"]["store_file"] == f"/data/{REDACTED}/s.json"
