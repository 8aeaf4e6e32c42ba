"""The configuration files each component reads, written under .local/cluster/config/."""

from __future__ import annotations

import json

import yaml

from localcluster import paths


def kubeconfig(identity: str, server: str = paths.API_SERVER) -> dict:
    pki = paths.PKI_DIR
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "platform-local",
                "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": identity,
                "user": {
                    "client-certificate": str(pki / f"{identity}.crt"),
                    "client-key": str(pki / f"{identity}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "platform-local", "context": {"cluster": "platform-local", "user": identity}}
        ],
        "current-context": "platform-local",
    }


def containerd_config() -> str:
    """containerd 1.6 (config version 2): runc with cgroupfs, our own CNI directory, pod network
    namespaces under the state directory so `down` finds every mount it made."""
    cni_conf = paths.CONFIG_DIR / "cni"
    return f"""version = 2
root = "{paths.DATA_DIR / "containerd"}"
state = "{paths.RUN_DIR / "containerd"}"

[grpc]
  address = "{paths.CONTAINERD_SOCKET}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{paths.PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  # The kubelet asks for oom_score_adj -998 (sandboxes) and -997 (Guaranteed pods); lowering it
  # needs CAP_SYS_RESOURCE, which sessions here lack, so runc's init dies. Clamp to containerd's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni_conf}"
"""


def cni_config() -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": "platform-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": paths.POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(paths.DATA_DIR / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config() -> dict:
    pki = paths.PKI_DIR
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # cgroups are v1 (hybrid) here; Kubernetes 1.35 refuses them unless told otherwise.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{paths.CONTAINERD_SOCKET}",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "clusterDomain": "cluster.local",
        "clusterDNS": [paths.DNS_SERVICE_IP],
        "resolvConf": str(paths.CONFIG_DIR / "resolv.conf"),
        "failSwapOn": False,
        "address": paths.NODE_IP,
        # The images are loaded, never pulled: keep them whatever the disk usage.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
        },
        "serializeImagePulls": False,
        "maxPods": 110,
        "podCIDR": paths.POD_CIDR,
        "shutdownGracePeriod": "0s",
        # A changed Secret or ConfigMap reaches the pods' volumes on the next periodic sync
        # (1 min by default): the prometheus-operator's config Secret took up to 98 s to load.
        "syncFrequency": "10s",
    }


def kube_proxy_config() -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(paths.CONFIG_DIR / "kube-proxy.kubeconfig")},
        "clusterCIDR": "10.244.0.0/16",
        "bindAddress": paths.NODE_IP,
        "metricsBindAddress": f"{paths.NODE_IP}:10249",
        "healthzBindAddress": f"{paths.NODE_IP}:10256",
        # Conntrack limits are host-wide: leave them as they are.
        "conntrack": {"maxPerCore": 0},
    }


def write_all() -> None:
    directory = paths.CONFIG_DIR
    (directory / "cni").mkdir(parents=True, exist_ok=True)
    for identity in (
        "admin",
        "controller-manager",
        "scheduler",
        "kube-proxy",
        "kubelet",
        "metrics-server",
        "kube-state-metrics",
        "kube-router",
    ):
        (directory / f"{identity}.kubeconfig").write_text(yaml.safe_dump(kubeconfig(identity)))
    (directory / "containerd.toml").write_text(containerd_config())
    (directory / "cni" / "10-platform-pods.conflist").write_text(json.dumps(cni_config(), indent=2))
    (directory / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config()))
    (directory / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config()))
    # Pods with dnsPolicy Default get this; cluster pods use CoreDNS (clusterDNS above).
    (directory / "resolv.conf").write_text(f"nameserver {paths.DNS_SERVICE_IP}\n")
    paths.KUBECONFIG.write_text(yaml.safe_dump(kubeconfig("admin")))
