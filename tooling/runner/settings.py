"""Settings of `make run` (all from the environment; see the README)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tooling.manifests import REPO_ROOT
from tooling.runner.scaling import DEFAULT_STABLE_WINDOW, WINDOW_MAX, WINDOW_MIN


class RunnerSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    port: int = Field(default=8080, ge=0, le=65535, description="gateway port; 0 = any free")
    host: str = Field(default="0.0.0.0", alias="ACOUGUE_HOST")  # noqa: S104 - the shop's tablet
    database_url: SecretStr | None = None
    amqp_url: SecretStr | None = None
    acougue_admin_password: SecretStr | None = None
    data_dir: Path = Field(default=REPO_ROOT / ".data", alias="ACOUGUE_DATA_DIR")
    base_port: int = Field(
        default=8100, ge=0, le=65000, alias="ACOUGUE_BASE_PORT", description="0 = any free"
    )
    sweep_interval: float = Field(default=5.0, gt=0, alias="ACOUGUE_SWEEP_INTERVAL")
    role_prefix: str = Field(
        default="acougue_", pattern=r"^[a-z][a-z0-9_]{0,30}$", alias="ACOUGUE_DB_ROLE_PREFIX"
    )
    broker_resource_prefix: str = Field(default="", alias="BROKER_RESOURCE_PREFIX")
    state_file: Path | None = Field(default=None, alias="ACOUGUE_RUN_STATE")
    auth_signing_key: SecretStr | None = None
    manifests_root: Path = Field(default=REPO_ROOT, alias="ACOUGUE_MANIFESTS_ROOT")
    start_timeout: float = Field(default=60.0, gt=0, alias="ACOUGUE_START_TIMEOUT")
    restart_crashed: bool = Field(default=True, alias="ACOUGUE_RESTART_CRASHED")
    # Functions stop after their idle window and start on the next request (scaling.py).
    scale_to_zero: bool = Field(default=True, alias="ACOUGUE_SCALE_TO_ZERO")
    # config-autoscaler's stable-window: the idle window of a Service that declares none.
    stable_window: float = Field(
        default=DEFAULT_STABLE_WINDOW, ge=WINDOW_MIN, le=WINDOW_MAX, alias="ACOUGUE_STABLE_WINDOW"
    )
    # The fault suite's crashes between commit and publish (tests/faults/inject): the share
    # of commits that end the process, and which functions (empty: every one). Local only.
    chaos_exit_after_commit: float = Field(
        default=0.0, ge=0.0, le=1.0, alias="ACOUGUE_CHAOS_EXIT_AFTER_COMMIT"
    )
    # Or deterministically: every Nth such commit of a process (0: off; N >= 2).
    chaos_exit_every: int = Field(default=0, ge=0, alias="ACOUGUE_CHAOS_EXIT_EVERY")
    chaos_functions: list[str] = Field(default_factory=list, alias="ACOUGUE_CHAOS_FUNCTIONS")
