"""The supply-chain steps ci.yml runs on GitHub, run here with the real tools built from their Go
modules (scripts/upstream-tools.sh supply-chain): push each image to an OCI registry
(distribution, on loopback unless one is given), pull it back by digest, make its SBOM with
syft from what the registry holds, sign it with cosign and a local key pair, attach the SBOM as
a signed attestation, and verify both. No transparency log can be reached here, so signing
keeps to the key pair (ci.yml signs keyless through GitHub's OIDC instead)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from platform_images import upstream_tools
from platform_images.engine import REPO_ROOT, Engine, EngineError

WORK_DIR = REPO_ROOT / ".local" / "supply-chain"
REPORT = WORK_DIR / "report.json"


@dataclass(frozen=True)
class Shipped:
    service: str
    reference: str  # registry/platform-<svc>@sha256:...
    pulled_back_image_id: str
    sbom: str
    sbom_packages: int
    signature_verified: bool
    attestation_verified: bool
    seconds: float


@dataclass(frozen=True)
class Tools:
    syft: Path
    registry: Path
    cosign: Path


def build_tools(say: Callable[[str], None]) -> Tools:
    """Build (first run, with progress) or reuse the pinned syft, registry and cosign."""
    try:
        tools = upstream_tools.build("supply-chain", say)
    except upstream_tools.ToolsError as error:
        raise EngineError(str(error)) from None
    return Tools(
        syft=tools.binary("syft"),
        registry=tools.binary("registry"),
        cosign=tools.binary("cosign"),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def loopback_registry(tools: Tools) -> Iterator[str]:
    """A distribution registry on 127.0.0.1 with its storage under .local/; stopped on exit."""
    port = _free_port()
    storage = WORK_DIR / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    config = WORK_DIR / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (WORK_DIR / "registry.log").open("w")
    process = subprocess.Popen([str(tools.registry), "serve", str(config)], stdout=log, stderr=log)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise EngineError(f"the registry did not start; see {WORK_DIR / 'registry.log'}")
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def run_tool(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise EngineError(f"{what} failed: {detail[-1] if detail else 'no output'}")
    return result.stdout


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    password: str


def key_pair(tools: Tools) -> KeyPair:
    """A cosign key pair under .local/supply-chain/, made once (its password beside it)."""
    keys = WORK_DIR / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    password_file = keys / "cosign.password"
    if not (keys / "cosign.key").exists():
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
        run_tool(
            [str(tools.cosign), "generate-key-pair", "--output-key-prefix", str(keys / "cosign")],
            "cosign generate-key-pair",
            {"COSIGN_PASSWORD": password_file.read_text()},
        )
    return KeyPair(keys / "cosign.key", keys / "cosign.pub", password_file.read_text())


# No transparency log or signing-config service is reachable: sign with the key pair only, and
# talk plain HTTP to the loopback registry.
COSIGN_OFFLINE_SIGN = ["--use-signing-config=false", "--tlog-upload=false"]
COSIGN_REGISTRY = ["--allow-http-registry", "--allow-insecure-registry"]


def push(engine: Engine, registry: str, service: str, image: str, version: str) -> str:
    """Push ``image`` and pull it back by digest; returns ``registry/platform-<svc>@sha256:``."""
    target = f"{registry}/platform-{service}:{version}"
    if engine.name == "docker":  # docker pushes a tag and records the digest it got
        engine.run("tag", image, target)
        engine.run("push", target)
        repo_digests = json.loads(engine.run("image", "inspect", target).stdout)[0]["RepoDigests"]
        digest = next(d for d in repo_digests if d.startswith(registry)).partition("@")[2]
    else:
        digest_file = WORK_DIR / f"{service}.digest"
        engine.run("push", "--tls-verify=false", "--digestfile", str(digest_file), image, target)
        digest = digest_file.read_text().strip()
    reference = f"{registry}/platform-{service}@{digest}"
    engine.run(
        "pull", "--quiet", *(["--tls-verify=false"] if engine.name == "podman" else []), reference
    )
    return reference


def image_id(engine: Engine, reference: str) -> str:
    return json.loads(engine.run("image", "inspect", reference).stdout)[0]["Id"]


def sign(tools: Tools, keys: KeyPair, reference: str, what: str) -> None:
    run_tool(
        [str(tools.cosign), "sign", "--yes", "--key", str(keys.private), *COSIGN_OFFLINE_SIGN,
         *COSIGN_REGISTRY, reference],
        f"cosign sign {what}", {"COSIGN_PASSWORD": keys.password},
    )  # fmt: skip


def ship(
    engine: Engine,
    tools: Tools,
    keys: KeyPair,
    registry: str,
    service: str,
    image: str,
    version: str,
) -> Shipped:
    started = time.monotonic()
    reference = push(engine, registry, service, image, version)
    pulled, local = image_id(engine, reference), image_id(engine, image)
    if pulled != local:
        raise EngineError(f"{reference} pulled back as {pulled[:12]}, not {local[:12]}")

    sbom = WORK_DIR / "sbom" / f"platform-{service}.spdx.json"
    sbom.parent.mkdir(parents=True, exist_ok=True)
    run_tool(
        [str(tools.syft), "scan", f"registry:{reference}", "-o", f"spdx-json={sbom}", "-q"],
        f"syft {service}",
        {"SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    packages = len(json.loads(sbom.read_text())["packages"])

    cosign = str(tools.cosign)
    sign(tools, keys, reference, service)
    run_tool(
        [cosign, "attest", "--yes", "--key", str(keys.private), "--type", "spdxjson",
         "--predicate", str(sbom), *COSIGN_OFFLINE_SIGN, *COSIGN_REGISTRY, reference],
        f"cosign attest {service}", {"COSIGN_PASSWORD": keys.password},
    )  # fmt: skip
    verify = [cosign, "verify", "--key", str(keys.public), "--insecure-ignore-tlog"]
    run_tool([*verify, *COSIGN_REGISTRY, reference], f"cosign verify {service}")
    run_tool(
        [cosign, "verify-attestation", "--key", str(keys.public), "--insecure-ignore-tlog",
         "--type", "spdxjson", *COSIGN_REGISTRY, reference],
        f"cosign verify-attestation {service}",
    )  # fmt: skip
    return Shipped(
        service=service,
        reference=reference,
        pulled_back_image_id=pulled,
        sbom=str(sbom.relative_to(REPO_ROOT)),
        sbom_packages=packages,
        signature_verified=True,
        attestation_verified=True,
        seconds=round(time.monotonic() - started, 1),
    )


def write_report(registry: str, shipped: list[Shipped]) -> Path:
    REPORT.write_text(
        json.dumps({"registry": registry, "images": [asdict(s) for s in shipped]}, indent=2) + "\n"
    )
    return REPORT
