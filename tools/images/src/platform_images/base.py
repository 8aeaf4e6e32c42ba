"""The Python base image. The upstream one (apps/Dockerfile's PYTHON_IMAGE default) where it can
be had; where no registry answers, one built once from Debian packages with debootstrap.

The local base offers what apps/Dockerfile relies on: `python`, a pip allowed to install (no
PEP 668 marker), groupadd and useradd, and the host's CA bundle, so builds reach the package
index where the network re-signs TLS (uv is told to use that store too).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from platform_images.engine import REPO_ROOT, Engine, EngineError

DOCKERFILE = REPO_ROOT / "apps" / "Dockerfile"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
LOCAL_BASE = "localhost/platform-python-base"
# Files a base image never needs at run time: apt's downloads and indexes, docs, man pages.
PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man")


def upstream_base() -> str:
    """The base apps/Dockerfile names by default (ARG PYTHON_IMAGE=...)."""
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    if not match:
        raise EngineError(f"{DOCKERFILE} has no 'ARG PYTHON_IMAGE=' default")
    return match.group(1)


def _debian_mirror() -> str:
    """The Debian mirror this machine's apt uses, so debootstrap goes where apt goes."""
    for sources in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if sources.is_file():
            match = re.search(r"(?:URIs:|deb)\s+(https?://\S+/debian)\b", sources.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def local_base_tag() -> str:
    """Keyed by the recipe and the CA bundle it embeds: either changing builds a new base."""
    recipe = "\n".join([SUITE, *PACKAGES, *PRUNE, Path(__file__).read_text()])
    digest = hashlib.sha256(recipe.encode())
    if HOST_CA_BUNDLE.is_file():
        digest.update(HOST_CA_BUNDLE.read_bytes())
    return f"{LOCAL_BASE}:{SUITE}-{digest.hexdigest()[:12]}"


def resolve(engine: Engine, say: Callable[[str], None]) -> tuple[str, str]:
    """(image, how it was found): $PYTHON_IMAGE, the upstream base, or the local Debian base."""
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"], "from $PYTHON_IMAGE"
    upstream = upstream_base()
    if engine.image_exists(upstream):
        return upstream, "upstream, present"
    pulled = engine.run("pull", "--quiet", upstream, check=False, timeout=300)
    if pulled.returncode == 0:
        return upstream, "upstream, pulled"
    tag = local_base_tag()
    if engine.image_exists(tag):
        return tag, f"local Debian base (cached; {upstream} cannot be pulled here)"
    say(f"{upstream} cannot be pulled here: building {tag} from Debian packages (once)")
    build_local_base(engine, tag, say)
    return tag, f"local Debian base (built; {upstream} cannot be pulled here)"


def build_local_base(engine: Engine, tag: str, say: Callable[[str], None]) -> None:
    if os.geteuid() != 0:
        raise EngineError(
            "building the local base image needs root (debootstrap); or set PYTHON_IMAGE"
        )
    with tempfile.TemporaryDirectory(prefix="platform-base-") as work:
        rootfs = Path(work) / "rootfs"
        say(f"debootstrap {SUITE} ({', '.join(PACKAGES)}) from {_debian_mirror()} ...")
        debootstrap = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                _debian_mirror(),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if debootstrap.returncode != 0:
            tail = (
                debootstrap.stdout.strip().splitlines()[-3:]
                + debootstrap.stderr.strip().splitlines()[-3:]
            )
            raise EngineError("debootstrap failed: " + " | ".join(tail))
        _adapt(rootfs)
        say("importing the root filesystem as an image ...")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            engine.command(
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                f"ENV SSL_CERT_FILE={HOST_CA_BUNDLE}",
                "--change",
                "ENV UV_SYSTEM_CERTS=1",
                "--change",
                'CMD ["python3"]',
                "-",
                tag,
            ),
            env=engine.environ(),
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise EngineError(f"{engine.name} import failed: {imported.stderr.strip()}")


def _adapt(rootfs: Path) -> None:
    """What the Dockerfile relies on that a bare Debian root lacks."""
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()  # PEP 668 would refuse `pip install uv`
    python = rootfs / "usr/bin/python"
    if not python.exists():
        python.symlink_to("python3")
    if HOST_CA_BUNDLE.is_file():
        target = rootfs / HOST_CA_BUNDLE.relative_to("/")
        target.unlink(missing_ok=True)  # a symlink into /etc/ssl/certs in some layouts
        target.write_bytes(HOST_CA_BUNDLE.read_bytes())
    for relative in PRUNE:
        subprocess.run(["rm", "-rf", str(rootfs / relative)], check=True)
        (rootfs / relative).mkdir(parents=True, exist_ok=True)
