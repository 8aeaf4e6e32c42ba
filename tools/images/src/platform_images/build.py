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


# Third-party images built from Debian's packages on the same base, for machines where the
# upstream ones cannot be pulled: name -> (recipe, tag).
THIRD_PARTY = {
    "prometheus": (
        REPO_ROOT / "deploy" / "containers" / "prometheus" / "Containerfile",
        "localhost/platform-prometheus:debian",
    ),
    "curl": (
        REPO_ROOT / "deploy" / "containers" / "curl" / "Containerfile",
        "localhost/platform-curl:debian",
    ),
}
PROMETHEUS_TAG = THIRD_PARTY["prometheus"][1]


def build_image(
    engine: Engine,
    *,
    containerfile: Path,
    tags: Sequence[str],
    build_args: dict[str, str],
    labels: dict[str, str],
    log_name: str,
    progress: Callable[[str], None],
) -> tuple[float, dict[str, object]]:
    """Build one image with its whole log in .local/images/; (seconds, inspect JSON)."""
    # The host's network: a build only fetches packages, and a bridge may have no route to the
    # resolver on hosts like these (podman's netavark here), while the host always has one.
    args = ["build", "--network", "host", "--file", str(containerfile)]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    for tag in tags:
        args += ["--tag", tag]
    if engine.name == "podman":
        # A local base (localhost/...) is never pulled; anything else only when missing.
        local = any(v.startswith("localhost/") for v in build_args.values())
        args.append("--pull=never" if local else "--pull=missing")
    args.append(str(REPO_ROOT))

    def on_line(line: str) -> None:
        # podman: "[1/2] STEP 3/10: RUN ..."; BuildKit: "#7 [build 3/6] RUN ...". A line a step.
        if re.match(r"^(\[\d+/\d+\] )?STEP \d|^#\d+ \[", line):
            progress(line[:110])

    started = time.monotonic()
    engine.stream(args, LOG_DIR / f"{log_name}.log", on_line, timeout=1800)
    seconds = time.monotonic() - started
    return seconds, json.loads(engine.run("image", "inspect", tags[0]).stdout)[0]


def build_one(
    engine: Engine,
    service: str,
    versions: Sequence[str],
    base: str,
    progress: Callable[[str], None],
) -> BuiltImage:
    tags = tags_for(service, versions)
    seconds, inspected = build_image(
        engine,
        containerfile=REPO_ROOT / "apps" / service / "Dockerfile",
        tags=tags,
        build_args={"SERVICE": service, "PYTHON_IMAGE": base},
        labels={
            "org.opencontainers.image.title": f"platform-{service}",
            "org.opencontainers.image.version": versions[0],
        },
        log_name=service,
        progress=progress,
    )
    return BuiltImage(
        service=service,
        tags=tags,
        image_id=inspected["Id"],
        size_bytes=int(inspected["Size"]),
        layers=len(inspected["RootFS"]["Layers"]),
        seconds=round(seconds, 1),
    )


def build_third_party(engine: Engine, name: str, base: str, progress: Callable[[str], None]) -> str:
    """One of THIRD_PARTY, from Debian's packages, where the upstream image can't be pulled."""
    containerfile, tag = THIRD_PARTY[name]
    build_image(
        engine,
        containerfile=containerfile,
        tags=[tag],
        build_args={"BASE_IMAGE": base},
        labels={"org.opencontainers.image.title": f"{name} (Debian package)"},
        log_name=name,
        progress=progress,
    )
    return tag


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
