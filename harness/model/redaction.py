"""The one rule for keeping secrets out of result files: which values are secret, and how
they are blanked in an environment record, a config's `env` and a command line.

A variable is secret when its name, upper-cased, contains one of `SECRET_NAME_PARTS`, or has
one of `SECRET_NAME_WORDS` as a whole `_`/`-`/`.`-separated word (short words such as `SID`
would otherwise match inside harmless names: `INSIDE`, `RESIDENT`). The rule errs towards
redacting: `HARNESS_TOUCH_KEYS` loses its value too, which costs a figure, never a secret.
Only what is written is redacted: the worker always gets the real values. A command line given
as one option's value (`--worker-cmd`, and a store spec's recorded command words) is redacted
word by word, as the harness's own command line is.

A secret's value is also blanked by value, wherever it turns up: in every string of a whole
document (`redact_document`: meta.json, stress.json) and in free text (`redact_text`: a worker's
stderr), so a label, a path or a harmless-named `--env` holding it leaks nothing. The values
hunted are those of the secret-named variables of the process environment and of the run's
`--env` pairs (`secrets_to_hide`), from `MIN_SECRET_IN_ARGUMENT` characters.
Out of scope: the result FOLDER NAME made from `--label` (`<timestamp>-<label>`) is not
redacted; a label holding a secret shows in the folder's name.

Standard library only, no harness imports: every writer can use it without a cycle.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

REDACTED = "<redacted>"
# Anywhere in the name: API_KEY, GITHUB_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, ...
SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE",
                     "KEY", "PRIVATE", "SESSIONID", "SESSION_ID", "SIGNATURE")
# Whole words only: DB_PASS, DB_PWD, GH_PAT, CONNECT_SID
SECRET_NAME_WORDS = frozenset({"PASS", "PWD", "PAT", "SID", "JWT", "DSN"})
# The shell's current and previous folder (POSIX sh sets PWD, cd sets OLDPWD): no secret, and
# blanked by value they would blank every path under the user's folder, a store's source too.
NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
# A secret's value is also blanked wherever it turns up inside a command-line argument, but
# only from this length: a value of "1" would otherwise blank every digit 1 of the command.
# Shorter values are still redacted in NAME=VALUE form and in every env record.
MIN_SECRET_IN_ARGUMENT = 4
ENV_OPTION = "--env"
# Options whose value is a whole command line (`--worker-cmd 'prog API_TOKEN=x'`): each of its
# words is redacted as an argument of its own.
COMMAND_OPTIONS = ("--worker-cmd",)
_WORD_SPLIT = re.compile(r"[_\-.]+")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


def is_secret_name(name: str) -> bool:
    """Whether a variable called `name` holds a value that must not be written anywhere."""
    upper = name.upper()
    if upper in NOT_SECRET_NAMES:
        return False
    if any(part in upper for part in SECRET_NAME_PARTS):
        return True
    return not SECRET_NAME_WORDS.isdisjoint(_WORD_SPLIT.split(upper))


def redact_env(env: Mapping[str, Any]) -> dict[str, Any]:
    """`env` with every secret variable's value replaced by `REDACTED`, order kept.

    None (the variable is unset, recorded as such) stays None: it holds nothing to hide.
    """
    return {name: REDACTED if value is not None and is_secret_name(name) else value
            for name, value in env.items()}


def redact_environment(environment: Mapping[str, Any]) -> dict[str, Any]:
    """A `measuring.environment.capture()` record with its `env` redacted."""
    env = environment.get("env")
    if not isinstance(env, Mapping):
        return dict(environment)
    return {**environment, "env": redact_env(env)}


def secret_values(*envs: Mapping[str, Any]) -> frozenset[str]:
    """The values of the secret variables in `envs` (an empty value hides nothing)."""
    return frozenset(str(value) for env in envs for name, value in env.items()
                     if value and is_secret_name(name) and value != REDACTED)


def redact_argv(argv: Sequence[str], env: Iterable[tuple[str, str]] = (),
                environ: Mapping[str, str] | None = None) -> list[str]:
    """The command line as it may be written: secret `NAME=VALUE` settings (`--env NAME=V`,
    `--env=NAME=V`, or a bare `NAME=V`) and every secret value seen in `environ` (the
    process's environment by default) or in `env` (the run's `--env` pairs) blanked."""
    hunted = secrets_to_hide(env, environ)
    redacted: list[str] = []
    previous = ""
    for arg in argv:
        if previous in COMMAND_OPTIONS:
            arg = _redact_command(arg, env, environ)
        elif arg.startswith(tuple(f"{option}=" for option in COMMAND_OPTIONS)):
            option, _, value = arg.partition("=")
            arg = f"{option}={_redact_command(value, env, environ)}"
        redacted.append(redact_text(_redact_setting(arg, previous == ENV_OPTION), hunted))
        previous = arg
    return redacted


def _redact_command(command: str, env: Iterable[tuple[str, str]],
                    environ: Mapping[str, str] | None) -> str:
    """A command line given as one option value, its words redacted as arguments are."""
    try:
        words = shlex.split(command)
    except ValueError:  # not a command line the harness could run: redacted by value only
        return command
    return shlex.join(redact_argv(words, env, environ))


def _redact_setting(arg: str, follows_env_option: bool) -> str:
    if follows_env_option:  # `--env` takes any name before the first `=`
        return _redact_assignment(arg)
    if arg.startswith(ENV_OPTION + "="):
        return ENV_OPTION + "=" + _redact_assignment(arg[len(ENV_OPTION) + 1:])
    return _redact_assignment(arg) if _ASSIGNMENT.fullmatch(arg) else arg


def _redact_assignment(setting: str) -> str:
    name, sep, _value = setting.partition("=")
    return f"{name}={REDACTED}" if sep and is_secret_name(name) else setting


def secrets_to_hide(env: Iterable[tuple[str, str]] = (),
                    environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The secret values to blank by value: those of `environ` (the process's environment by
    default) and of `env` (the run's `--env` pairs) long enough to hunt, the longest first
    (so a secret holding another is blanked whole)."""
    found = secret_values(os.environ if environ is None else environ, dict(env))
    return tuple(sorted((value for value in found if len(value) >= MIN_SECRET_IN_ARGUMENT),
                        key=len, reverse=True))


def redact_text(text: str, secrets: Sequence[str]) -> str:
    """`text` with every one of `secrets` (as given by `secrets_to_hide`) blanked."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def redact_document(document: Any, secrets: Sequence[str]) -> Any:
    """A JSON-ready copy of `document` with `secrets` blanked in every string, keys included.

    Values JSON has no type for become their `str()` first, as `json.dumps(default=str)`
    would write them: a Path holding a secret is text on disk all the same.
    """
    if isinstance(document, str):
        return redact_text(document, secrets)
    if document is None or isinstance(document, (bool, int, float)):
        return document
    if isinstance(document, Mapping):
        return {redact_document(str(key), secrets): redact_document(value, secrets)
                for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [redact_document(item, secrets) for item in document]
    return redact_text(str(document), secrets)
