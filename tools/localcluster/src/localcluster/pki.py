"""The cluster's own PKI: one CA, the API server's serving certificate, a client certificate
per component with the identity RBAC and the Node authorizer expect, and the service-account
signing key. Made once per cluster; `down` deletes it with the rest of the state."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from localcluster import paths

VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Identity:
    name: str  # file stem
    common_name: str
    organization: str | None = None


# Client identities: RBAC's built-in bindings and the Node authorizer match these names.
CLIENTS = (
    Identity("admin", "platform-admin", "system:masters"),
    Identity("controller-manager", "system:kube-controller-manager"),
    Identity("scheduler", "system:kube-scheduler"),
    Identity("kube-proxy", "system:kube-proxy"),
    Identity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
    # The host's metrics daemons, bound by manifests/cluster-metrics.yaml.
    Identity("metrics-server", "metrics-server"),
    Identity("kube-state-metrics", "kube-state-metrics"),
    # The NetworkPolicy enforcer in the node, bound by manifests/network-policy.yaml.
    Identity("kube-router", "kube-router"),
)
# The apiserver's identity when it proxies to an aggregated API (metrics-server). It has its own
# CA: anyone holding a certificate from it may assert any user in request headers.
FRONT_PROXY_CLIENT = "front-proxy-client"


CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".key").chmod(0o600)
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    usage: ExtendedKeyUsageOID,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _ca(path: Path, common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    subject = _name(common_name)
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(path, key, cert)
    return key, cert


def create(directory: Path = paths.PKI_DIR) -> None:
    """Write ca, apiserver, kubelet-serving, metrics-server, each client pair, the front proxy's
    CA and client, and the service-account keys."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca(directory / "ca", "platform-local-cluster-ca")
    proxy_key, proxy_cert = _ca(directory / "front-proxy-ca", "platform-local-front-proxy-ca")
    _write(
        directory / FRONT_PROXY_CLIENT,
        *_leaf(proxy_key, proxy_cert, _name(FRONT_PROXY_CLIENT), ExtendedKeyUsageOID.CLIENT_AUTH),
    )

    api_sans: list[x509.GeneralName] = [
        x509.DNSName(name)
        for name in (
            "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local", "localhost",
        )
    ]  # fmt: skip
    api_sans += [
        x509.IPAddress(ipaddress.ip_address(ip))
        for ip in (paths.NODE_IP, paths.KUBERNETES_SERVICE_IP, "127.0.0.1")
    ]
    serving = ExtendedKeyUsageOID.SERVER_AUTH
    _write(
        directory / "apiserver",
        *_leaf(ca_key, ca_cert, _name("kube-apiserver"), serving, api_sans),
    )
    _write_node_identity(directory, ca_key, ca_cert, paths.FIRST_NODE)
    metrics_sans: list[x509.GeneralName] = [
        x509.DNSName("metrics-server.kube-system.svc"),
        x509.IPAddress(ipaddress.ip_address(paths.HOST_IP)),
    ]
    _write(
        directory / "metrics-server-serving",
        *_leaf(ca_key, ca_cert, _name("metrics-server"), serving, metrics_sans),
    )
    for identity in CLIENTS:
        subject = _name(identity.common_name, identity.organization)
        _write(
            directory / identity.name,
            *_leaf(ca_key, ca_cert, subject, ExtendedKeyUsageOID.CLIENT_AUTH),
        )
    service_accounts = _key()
    (directory / "service-account.key").write_bytes(
        service_accounts.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "service-account.pub").write_bytes(
        service_accounts.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _write_node_identity(
    directory: Path, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, node: paths.Node
) -> None:
    """The kubelet's client certificate (the Node authorizer's system:node:NAME) and its serving
    certificate, valid for the node's name and IP (the apiserver reaches kubelets by IP)."""
    subject = _name(f"system:node:{node.name}", "system:nodes")
    _write(
        directory / node.kubelet_identity,
        *_leaf(ca_key, ca_cert, subject, ExtendedKeyUsageOID.CLIENT_AUTH),
    )
    sans: list[x509.GeneralName] = [
        x509.DNSName(node.name),
        x509.IPAddress(ipaddress.ip_address(node.ip)),
    ]
    _write(
        directory / f"{node.kubelet_identity}-serving",
        *_leaf(ca_key, ca_cert, subject, ExtendedKeyUsageOID.SERVER_AUTH, sans),
    )


def add_node(node: paths.Node, directory: Path = paths.PKI_DIR) -> None:
    """A joining node's kubelet identities, signed by the running cluster's CA."""
    ca_key = cast(  # create() made it
        ec.EllipticCurvePrivateKey,
        serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None),
    )
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    _write_node_identity(directory, ca_key, ca_cert, node)
