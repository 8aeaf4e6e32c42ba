"""Build the four service images from the one recipe, apps/Dockerfile, with progress."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from platform_images.engine import REPO_ROOT, Engine

LOG_DIR = REPO_ROOT / ".local" / "images"
REPORT = LOG_DIR / "build.json"
# The names the chart (values.yaml image.repository), compose and the workflows use.
PUBLISHED_REPOSITORY = "ghcr.io/example-org/platform-{service}"
LOCAL_REPOSITORY = "localhost/platform-{service}"
VALID_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class BuiltImage:
    service: str
    tags: list[str]
    image_id: str
    size_bytes: int
    layers: int
    seconds: float


def git_short_sha() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=7", "HEAD"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def tags_for(service: str, versions: Sequence[str]) -> list[str]:
    return [
        f"{repository.format(service=service)}:{version}"
        for version in versions
        for repository in (LOCAL_REPOSITORY, PUBLISHED_REPOSITORY)
    ]


def build_one(
    engine: Engine,
    service: str,
    versions: Sequence[str],
    base: str,
    progress: Callable[[str], None],
) -> BuiltImage:
    tags = tags_for(service, versions)
    args = [
        "build",
        "--file",
        f"apps/{service}/Dockerfile",
        "--build-arg",
        f"SERVICE={service}",
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--label",
        f"org.opencontainers.image.title=platform-{service}",
        "--label",
        f"org.opencontainers.image.version={versions[0]}",
    ]
    for tag in tags:
        args += ["--tag", tag]
    if engine.name == "podman":
        args += [
            "--pull=never" if ":" in base and base.startswith("localhost/") else "--pull=missing"
        ]
    args.append(str(REPO_ROOT))

    def on_line(line: str) -> None:
        # podman: "[1/2] STEP 3/10: RUN ..."; BuildKit: "#7 [build 3/6] RUN ...". A line a step.
        if re.match(r"^(\[\d+/\d+\] )?STEP \d|^#\d+ \[", line):
            progress(line[:110])

    started = time.monotonic()
    engine.stream(args, LOG_DIR / f"{service}.log", on_line, timeout=1800)
    seconds = time.monotonic() - started
    inspected = json.loads(engine.run("image", "inspect", tags[0]).stdout)[0]
    return BuiltImage(
        service=service,
        tags=tags,
        image_id=inspected["Id"],
        size_bytes=int(inspected["Size"]),
        layers=len(inspected["RootFS"]["Layers"]),
        seconds=round(seconds, 1),
    )


def write_report(base: str, base_info: dict[str, object], images: Sequence[BuiltImage]) -> Path:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {"base": {"image": base, **base_info}, "images": [asdict(i) for i in images]}, indent=2
        )
        + "\n"
    )
    return REPORT


def image_facts(engine: Engine, ref: str) -> dict[str, object]:
    inspected = json.loads(engine.run("image", "inspect", ref).stdout)[0]
    return {"size_bytes": int(inspected["Size"]), "layers": len(inspected["RootFS"]["Layers"])}
