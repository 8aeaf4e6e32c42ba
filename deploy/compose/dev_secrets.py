"""Generate the development secrets into a directory and hand them to the services' user.

docker-compose runs this once, as root, in the auth image (which ships
``auth_service.devsecrets``). The services run as the image's non-root user and mount the
directory read-only as ``SERVICE_SECRETS_DIR``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from auth_service.devsecrets import ensure_dev_secrets

# The numeric user the images run as (the chart's podSecurity.runAsUser).
SERVICE_UID = int(os.environ.get("SERVICE_UID", "10001"))


def main(secrets_dir: Path) -> None:
    credentials = ensure_dev_secrets(secrets_dir)
    for path in (secrets_dir, *secrets_dir.iterdir()):
        os.chown(path, SERVICE_UID, SERVICE_UID)
    print(f"development user: {credentials.username} / {credentials.password}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
