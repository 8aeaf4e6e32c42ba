"""platform-images: build the service images, then the supply-chain steps ci.yml runs on GitHub."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated

import typer
from rich.console import Console

from platform_images import SERVICES, base, build, supply_chain
from platform_images.engine import EngineError, detect

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console(highlight=False, soft_wrap=True)


@app.callback()
def main() -> None:
    """Build the four service images and ship them: SBOM, registry push, signature."""


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def _services(selected: list[str] | None) -> list[str]:
    unknown = sorted(set(selected or ()) - set(SERVICES))
    if unknown:
        fail(f"unknown service {', '.join(unknown)}: one of {', '.join(SERVICES)}")
    return [s for s in SERVICES if not selected or s in selected]


@app.command("build")
def build_command(
    service: Annotated[
        list[str] | None, typer.Option(help="only this service (repeatable)")
    ] = None,
    version: Annotated[str, typer.Option(help="the tag, besides sha-<commit>")] = "dev",
    engine_name: Annotated[str | None, typer.Option("--engine", help="docker or podman")] = None,
) -> None:
    """Build platform-<service>:<version> (and the ghcr.io names) from apps/Dockerfile."""
    if not build.VALID_TAG.match(version):
        fail(f"version {version!r} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")
    services = _services(service)
    started = time.monotonic()
    try:
        engine = detect(engine_name)
        console.print(
            f"engine: {engine.name}"
            + (" (settings: deploy/containers/containers.conf)" if engine.env else "")
        )
        base_image, how = base.resolve(engine, lambda line: console.print(f"  base: {line}"))
        console.print(f"base: {base_image} ({how})")
        versions = [version]
        sha = build.git_short_sha()
        if sha and f"sha-{sha}" != version:
            versions.append(f"sha-{sha}")
        built = []
        for index, name in enumerate(services, 1):
            prefix = f"[{index}/{len(services)}] {name}"
            console.print(f"{prefix}: building ...")
            image = build.build_one(
                engine,
                name,
                versions,
                base_image,
                lambda line, p=prefix: console.print(f"  {p}  {line}"),
            )
            built.append(image)
            console.print(
                f"{prefix}: built in {image.seconds:.1f} s, {image.size_bytes / 1e6:.0f} MB, "
                f"{image.layers} layers: {', '.join(image.tags)}"
            )
        report = build.write_report(
            base_image, {"how": how, **build.image_facts(engine, base_image)}, built
        )
    except EngineError as error:
        fail(str(error))
    console.print(
        f"images: {len(built)} built in {time.monotonic() - started:.0f} s; figures in "
        f"{report.relative_to(build.REPO_ROOT)}"
    )


@app.command("third-party")
def third_party_command(
    name: Annotated[
        list[str] | None, typer.Argument(help="prometheus, curl (default: both)")
    ] = None,
    engine_name: Annotated[str | None, typer.Option("--engine", help="docker or podman")] = None,
) -> None:
    """Build Prometheus (compose) and curl (helm test) images from Debian's packages."""
    names = name or list(build.THIRD_PARTY)
    unknown = sorted(set(names) - set(build.THIRD_PARTY))
    if unknown:
        fail(f"unknown image {', '.join(unknown)}: one of {', '.join(build.THIRD_PARTY)}")
    try:
        engine = detect(engine_name)
        base_image, how = base.resolve(engine, lambda line: console.print(f"  base: {line}"))
        console.print(f"base: {base_image} ({how})")
        for item in names:
            tag = build.build_third_party(
                engine, item, base_image, lambda line: console.print(f"  {line}")
            )
            console.print(f"{item}: {tag}")
    except EngineError as error:
        fail(str(error))


@app.command("supply-chain")
def supply_chain_command(
    registry: Annotated[
        str | None, typer.Option(help="push here (host:port) instead of a loopback registry")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="only this service's image (repeatable)")
    ] = None,
    engine_name: Annotated[str | None, typer.Option("--engine", help="docker or podman")] = None,
) -> None:
    """Push the built images, pull them back by digest, SBOM, sign, attest and verify each."""
    if not build.REPORT.is_file():
        fail(f"no images built yet ({build.REPORT.relative_to(build.REPO_ROOT)}): run make images")
    wanted = _services(service)
    built = [i for i in json.loads(build.REPORT.read_text())["images"] if i["service"] in wanted]
    missing = sorted(set(wanted) - {image["service"] for image in built})
    if missing:
        fail(f"no built image for {', '.join(missing)}: run make images")
    started = time.monotonic()
    try:
        engine = detect(engine_name)
        tools = supply_chain.build_tools(lambda line: console.print(line))
        supply_chain.WORK_DIR.mkdir(parents=True, exist_ok=True)
        keys = supply_chain.key_pair(tools)
        with contextlib.ExitStack() as stack:
            address = registry or stack.enter_context(supply_chain.loopback_registry(tools))
            console.print(
                f"registry: {address}" + ("" if registry else " (distribution, loopback)")
            )
            shipped = []
            for index, image in enumerate(built, 1):
                service, tag = image["service"], image["tags"][0]
                console.print(
                    f"[{index}/{len(built)}] {service}: push, pull by digest, SBOM, sign ..."
                )
                done = supply_chain.ship(
                    engine, tools, keys, address, service, tag, tag.rpartition(":")[2]
                )
                shipped.append(done)
                console.print(
                    f"[{index}/{len(built)}] {service}: {done.reference} "
                    f"({done.sbom_packages} packages in the SBOM; signature and SBOM attestation "
                    f"verified) in {done.seconds:.1f} s"
                )
            report = supply_chain.write_report(address, shipped)
    except EngineError as error:
        fail(str(error))
    console.print(
        f"supply chain: {len(shipped)} images shipped in {time.monotonic() - started:.0f} s; "
        f"report {report.relative_to(build.REPO_ROOT)}, "
        f"public key {keys.public.relative_to(build.REPO_ROOT)}"
    )


if __name__ == "__main__":
    app()
