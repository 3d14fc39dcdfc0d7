"""The ``[schedulers.<name>]`` table of a Huawei Cloud Workspace project."""

from __future__ import annotations

from typing import Literal

from bot.config import SchedulerConfig

__all__ = ["HuaweiConfig"]


class HuaweiConfig(SchedulerConfig):
    """Huawei Cloud Workspace. ``base_url`` is the desktop (v2) endpoint; the Application
    Streaming (v1) family lives at ``appstream_url`` and IAM at ``iam_url``."""

    vendor: Literal["huawei"]
    iam_url: str
    appstream_url: str | None = None
    project_id: str
    project_name: str | None = None
    domain_name: str
    username_env: str
    password_env: str
    families: tuple[Literal["app", "desktop"], ...] = ("app", "desktop")
