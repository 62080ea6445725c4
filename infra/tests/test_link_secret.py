"""infra/deploy's approval link secret step (`deploy_helpers.py link-secret`) against the live
local stack's SSM Parameter Store: a SecureString created once, kept equal to the local file
(mode 0600), rotated with the previous keys kept, weak secrets refused. Each test uses its own
parameter name and deletes it afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

HELPERS = Path(__file__).resolve().parents[1] / "lib" / "deploy_helpers.py"


@pytest.fixture
def parameter() -> Iterator[str]:
    name = f"/switchyard-test/{uuid.uuid4().hex}/approval-link-secret"
    yield name
    try:
        boto3.client("ssm").delete_parameter(Name=name)
    except Exception:  # never created, or already gone
        pass


def run(name: str, file: str, *options: str, secret: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHYARD_APPROVAL_LINK_SECRET"}
    if secret is not None:
        env["SWITCHYARD_APPROVAL_LINK_SECRET"] = secret
    return subprocess.run(
        [sys.executable, str(HELPERS), "link-secret", name, file, *options],
        env=env, capture_output=True, text=True, timeout=60,
    )


def version_of(result: subprocess.CompletedProcess) -> int:
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def stored(name: str) -> dict:
    return boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]


def test_created_once_as_a_secure_string_and_mirrored_in_a_private_file(parameter: str, tmp_path: Path) -> None:
    file = tmp_path / "approval-link-secret"
    first = version_of(run(parameter, str(file)))
    value = stored(parameter)
    assert value["Type"] == "SecureString"
    assert len(value["Value"]) >= 32 and "," not in value["Value"]
    assert file.read_text().strip() == value["Value"]
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    # Not readable without decryption (what GetParameter without it shows is not the secret).
    plain = boto3.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    assert plain != value["Value"]
    # Idempotent: nothing is written again.
    assert version_of(run(parameter, str(file))) == first
    assert stored(parameter)["Value"] == value["Value"]


def test_on_aws_the_parameter_is_the_source_and_is_kept(parameter: str) -> None:
    first = version_of(run(parameter, "-"))
    value = stored(parameter)["Value"]
    assert version_of(run(parameter, "-")) == first
    assert stored(parameter)["Value"] == value


def test_a_given_secret_is_written_and_the_local_file_wins(parameter: str, tmp_path: Path) -> None:
    given = "g" * 40
    first = version_of(run(parameter, "-", secret=given))
    assert stored(parameter)["Value"] == given
    file = tmp_path / "approval-link-secret"
    file.write_text("f" * 48 + "\n")
    second = version_of(run(parameter, str(file)))
    assert second > first and stored(parameter)["Value"] == "f" * 48


def test_rotation_puts_a_new_key_first_and_keeps_the_previous_ones(parameter: str, tmp_path: Path) -> None:
    file = tmp_path / "approval-link-secret"
    version_of(run(parameter, str(file)))
    original = stored(parameter)["Value"]
    version_of(run(parameter, str(file), "rotate"))
    keys = stored(parameter)["Value"].split(",")
    assert len(keys) == 2 and keys[1] == original and keys[0] != original
    assert file.read_text().strip() == ",".join(keys)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    for _ in range(3):
        version_of(run(parameter, str(file), "rotate"))
    keys = stored(parameter)["Value"].split(",")
    assert len(keys) == 3 and original not in keys, "at most three keys verify"


def test_weak_secrets_are_refused_and_nothing_is_written(parameter: str) -> None:
    result = run(parameter, "-", secret="a" * 40 + ",short")
    assert result.returncode != 0 and "at least 32 bytes" in result.stderr
    with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
        stored(parameter)
