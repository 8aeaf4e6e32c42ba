"""The platform's development secrets in the local cluster, and the environment to drive it.

One set per checkout (.local/cluster-secrets, generated once by auth's own generator) becomes the
Secrets the `local` helmfile environment names (`existingSecret`), and the k6 Job's credentials.
`localcluster env` prints what helmfile, helm, kubectl and `platformctl -e local` need.
"""

from __future__ import annotations

import base64
import json

from auth_service.devsecrets import DevCredentials, ensure_dev_secrets

from localcluster import paths

SECRETS_DIR = paths.REPO_ROOT / ".local" / "cluster-secrets"
NAMESPACE = "platform-local"  # environments/local.yaml's release namespace
LOAD_NAMESPACE = "k6-load"  # its loadGeneratorNamespace
# (Secret, namespace) -> {key in the Secret: file in SECRETS_DIR}.
SECRETS = {
    ("auth-secrets", NAMESPACE): {
        "auth_signing_key": "auth_signing_key",
        "auth_users": "auth_users",
    },
    ("orders-secrets", NAMESPACE): {"orders_client_secret": "orders_client_secret"},
    ("k6-credentials", LOAD_NAMESPACE): {"password": "dev_alice_password"},
}


def manifest() -> str:
    """The namespaces and Secrets as one kubectl List, from the checkout's development secrets
    (made on first use); applying it again changes nothing."""
    credentials()
    found: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        for namespace in (NAMESPACE, LOAD_NAMESPACE)
    ]
    for (name, namespace), files in SECRETS.items():
        data = {
            key: base64.b64encode((SECRETS_DIR / file).read_bytes()).decode()
            for key, file in files.items()
        }
        found.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "type": "Opaque",
                "data": data,
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": found})


def credentials() -> DevCredentials:
    return ensure_dev_secrets(SECRETS_DIR)


def environment() -> dict[str, str]:
    """What the tools and `platformctl -e local` read, for this cluster."""
    found = credentials()
    return {
        "KUBECONFIG": str(paths.KUBECONFIG),
        "PLATFORMCTL_SMOKE_USERNAME": found.username,
        "PLATFORMCTL_SMOKE_PASSWORD": found.password,
        "PLATFORMCTL_SMOKE_CLIENT_ID": "orders",
        "PLATFORMCTL_SMOKE_CLIENT_SECRET": found.client_secrets["orders"],
    }
