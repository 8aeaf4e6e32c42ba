"""The supply-chain steps of ci.yml, run here with the real tools: push to a registry on
loopback, pull back by digest, an SBOM per image, a cosign signature and SBOM attestation made
with a local key pair and verified; a key that did not sign is refused."""

from __future__ import annotations

import json
import subprocess

import pytest
from platform_images import SERVICES, supply_chain
from platform_images.engine import REPO_ROOT, Engine, EngineError

from tests.support.tools import tool

# One image in `make test` (the steps are the same for each); all four with `make test-slow`.
SHORT_RUN = ("orders",)


def ship(engine: Engine, services: tuple[str, ...]) -> dict:
    selected = [arg for service in services for arg in ("--service", service)]
    shipped = subprocess.run(
        [tool("platform-images"), "supply-chain", "--engine", engine.name, *selected],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    report = json.loads(supply_chain.REPORT.read_text())
    assert sorted(i["service"] for i in report["images"]) == sorted(services)
    return report


@pytest.fixture(scope="module")
def report(engine: Engine, images) -> dict:
    return ship(engine, SHORT_RUN)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_all_four_images_ship(engine: Engine, images) -> None:
    report = ship(engine, tuple(SERVICES))
    assert all(i["signature_verified"] and i["attestation_verified"] for i in report["images"])


def test_an_unknown_service_is_refused(engine: Engine) -> None:
    refused = subprocess.run(
        [tool("platform-images"), "supply-chain", "--engine", engine.name, "--service", "billing"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert "unknown service billing" in refused.stdout


def test_each_image_is_pushed_and_pulled_back_by_digest(report: dict, images, engine) -> None:
    assert report["registry"].startswith("127.0.0.1:")
    for shipped in report["images"]:
        assert shipped["reference"].startswith(
            f"{report['registry']}/platform-{shipped['service']}@sha256:"
        )
        built = json.loads(engine.run("image", "inspect", images[shipped["service"]]).stdout)[0]
        assert shipped["pulled_back_image_id"] == built["Id"]


def test_each_sbom_lists_the_service_servicekit_and_the_os(report: dict) -> None:
    for shipped in report["images"]:
        sbom = json.loads((REPO_ROOT / shipped["sbom"]).read_text())
        names = {package["name"] for package in sbom["packages"]}
        assert {f"{shipped['service']}-service", "servicekit", "fastapi", "python3"} <= names
        assert not {"pytest", "ruff", "k6"} & names, shipped["service"]


def test_signature_and_attestation_were_verified(report: dict) -> None:
    for shipped in report["images"]:
        assert shipped["signature_verified"] and shipped["attestation_verified"]


def test_a_key_that_did_not_sign_is_refused(report: dict, engine: Engine, images, tmp_path) -> None:
    tools = supply_chain.build_tools(lambda _line: None)
    other = tmp_path / "other"
    subprocess.run(
        [str(tools.cosign), "generate-key-pair", "--output-key-prefix", str(other)],
        env={"COSIGN_PASSWORD": "x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    keys = supply_chain.key_pair(tools)
    with supply_chain.loopback_registry(tools) as registry:
        reference = supply_chain.push(engine, registry, "auth", images["auth"], "refusal")
        supply_chain.sign(tools, keys, reference, "auth")
        with pytest.raises(EngineError, match="cosign verify"):
            supply_chain.run_tool(
                [str(tools.cosign), "verify", "--key", f"{other}.pub", "--insecure-ignore-tlog",
                 *supply_chain.COSIGN_REGISTRY, reference],
                "cosign verify with another key",
            )  # fmt: skip
