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


def containerd_config(node: paths.Node = paths.FIRST_NODE) -> str:
    """containerd 1.6 (config version 2): runc with cgroupfs, the node's own CNI directory, pod
    network namespaces under the state directory so `down` finds every mount it made."""
    cni_conf = node.config_dir / "cni"
    return f"""version = 2
root = "{node.data_dir / "containerd"}"
state = "{node.run_dir / "containerd"}"

[grpc]
  address = "{node.containerd_socket}"

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


def cni_config(node: paths.Node = paths.FIRST_NODE) -> dict:
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
                    "ranges": [[{"subnet": node.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.data_dir / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(node: paths.Node = paths.FIRST_NODE) -> dict:
    pki = paths.PKI_DIR
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # cgroups are v1 (hybrid) here; Kubernetes 1.35 refuses them unless told otherwise.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "podLogsDir": str(node.pod_logs_dir),
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / f"{node.kubelet_identity}-serving.crt"),
        "tlsPrivateKeyFile": str(pki / f"{node.kubelet_identity}-serving.key"),
        "clusterDomain": "cluster.local",
        "clusterDNS": [paths.DNS_SERVICE_IP],
        "resolvConf": str(paths.CONFIG_DIR / "resolv.conf"),
        "failSwapOn": False,
        "address": node.ip,
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
        "podCIDR": node.pod_cidr,
        "shutdownGracePeriod": "0s",
        # A changed Secret or ConfigMap reaches the pods' volumes on the next periodic sync
        # (1 min by default): the prometheus-operator's config Secret took up to 98 s to load.
        "syncFrequency": "10s",
    }


def kube_proxy_config(node: paths.Node = paths.FIRST_NODE) -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(paths.CONFIG_DIR / "kube-proxy.kubeconfig")},
        "clusterCIDR": paths.POD_RANGE,
        "bindAddress": node.ip,
        "metricsBindAddress": f"{node.ip}:10249",
        "healthzBindAddress": f"{node.ip}:10256",
        # Conntrack limits are host-wide: leave them as they are.
        "conntrack": {"maxPerCore": 0},
    }


JOINING_TAINT = "localcluster/joining"


def write_node(node: paths.Node) -> None:
    """The files a node's own daemons read: containerd, CNI, kubelet and kube-proxy."""
    directory = node.config_dir
    (directory / "cni").mkdir(parents=True, exist_ok=True)
    identity = node.kubelet_identity
    (directory / "kubelet.kubeconfig").write_text(yaml.safe_dump(kubeconfig(identity)))
    (directory / "containerd.toml").write_text(containerd_config(node))
    (directory / "cni" / "10-platform-pods.conflist").write_text(
        json.dumps(cni_config(node), indent=2)
    )
    kubelet = kubelet_config(node)
    if node != paths.FIRST_NODE:
        # It takes pods only once its NetworkPolicies are enforced (`add-node` removes it).
        kubelet["registerWithTaints"] = [{"key": JOINING_TAINT, "effect": "NoSchedule"}]
    (directory / "kubelet.yaml").write_text(yaml.safe_dump(kubelet))
    (directory / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(node)))


def write_all() -> None:
    directory = paths.CONFIG_DIR
    for identity in (
        "admin",
        "controller-manager",
        "scheduler",
        "kube-proxy",
        "metrics-server",
        "kube-state-metrics",
        "kube-router",
    ):
        (directory / f"{identity}.kubeconfig").write_text(yaml.safe_dump(kubeconfig(identity)))
    write_node(paths.FIRST_NODE)
    # Pods with dnsPolicy Default get this; cluster pods use CoreDNS (clusterDNS above).
    (directory / "resolv.conf").write_text(f"nameserver {paths.DNS_SERVICE_IP}\n")
    paths.KUBECONFIG.write_text(yaml.safe_dump(kubeconfig("admin")))
