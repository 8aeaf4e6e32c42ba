"""The cluster's Prometheus, on the host, watching the node's API.

The chart's bundled Prometheus cannot run here (its images cannot be pulled), so the local
cluster brings its own, built from its Go module (Debian's has no Kubernetes discovery) and
configured as the chart configures the bundled one: the pods are found through the Kubernetes
API and relabelled by the chart's own `kubernetes-pods` rules (read from
charts/platform/values.yaml, so the two cannot drift), which gives every series the
`namespace`, `service`, `color` and `version` labels the analysis selects on. It also scrapes
the kubelet's cAdvisor and resource endpoints, and kube-state-metrics. The host routes the pod
range to the node, so pod IPs are reachable from here. It listens on the host's end of the
node's veth, an address nothing else on this machine uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from localcluster import cluster_metrics, health, paths

PORT = 9090
ADDRESS = f"{paths.HOST_IP}:{PORT}"
URL = f"http://{ADDRESS}"
CHART_VALUES = paths.REPO_ROOT / "charts" / "platform" / "values.yaml"
CONFIG = paths.CONFIG_DIR / "prometheus.yml"
DATA = paths.DATA_DIR / "prometheus"
# Every 2 s, so an analysis sees a new color within seconds (the chart's default is 15 s). The
# dashboards' rate windows ($__rate_interval) follow the one global interval, as Grafana's do,
# so every job they read (pods, the kubelet's resource metrics, kube-state-metrics) uses it.
# cAdvisor, heavier and read by no panel here (it sees pod cgroups only: it cannot reach this
# containerd's socket, so it has no per-container series), every 10 s.
POD_SCRAPE_INTERVAL = "2s"
CADVISOR_SCRAPE_INTERVAL = "10s"


def chart_pod_relabeling() -> list[dict[str, Any]]:
    values = yaml.safe_load(CHART_VALUES.read_text())
    return values["prometheus"]["scrapeConfigs"]["kubernetes-pods"]["relabel_configs"]


def config() -> dict[str, Any]:
    pki = paths.PKI_DIR
    # The kubelet authenticates clients by the cluster CA and authorizes them by the API:
    # the apiserver's kubelet client identity may read its metrics.
    kubelet_tls = {
        "ca_file": str(pki / "ca.crt"),
        "cert_file": str(pki / "apiserver-kubelet-client.crt"),
        "key_file": str(pki / "apiserver-kubelet-client.key"),
    }

    def kubelet_job(name: str, path: str, interval: str = POD_SCRAPE_INTERVAL) -> dict[str, Any]:
        return {
            "job_name": name,
            "scrape_interval": interval,
            "scheme": "https",
            "metrics_path": path,
            "tls_config": kubelet_tls,
            "static_configs": [
                {"targets": [f"{paths.NODE_IP}:10250"], "labels": {"node": paths.NODE_NAME}}
            ],
        }

    return {
        "global": {
            "scrape_interval": POD_SCRAPE_INTERVAL,
            "evaluation_interval": POD_SCRAPE_INTERVAL,
        },
        "scrape_configs": [
            {
                "job_name": "kubernetes-pods",
                "kubernetes_sd_configs": [
                    {"role": "pod", "kubeconfig_file": str(paths.KUBECONFIG)}
                ],
                "relabel_configs": chart_pod_relabeling(),
            },
            kubelet_job("kubelet-cadvisor", "/metrics/cadvisor", CADVISOR_SCRAPE_INTERVAL),
            kubelet_job("kubelet-resource", "/metrics/resource"),
            {
                "job_name": "kube-state-metrics",
                # Its series carry the namespace and pod they describe: keep those labels.
                "honor_labels": True,
                "static_configs": [{"targets": [cluster_metrics.STATE_METRICS_ADDRESS]}],
            },
        ],
    }


def write_config() -> None:
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(yaml.safe_dump(config(), sort_keys=False))


def ready() -> bool:
    return health.answers_ok(f"{URL}/-/ready")


def command(binary: Path) -> list[str]:
    return [
        str(binary),
        f"--config.file={CONFIG}",
        f"--storage.tsdb.path={DATA}",
        "--storage.tsdb.retention.time=1d",
        # No --web.enable-lifecycle: every pod reaches this address, and /-/quit would stop it.
        f"--web.listen-address={ADDRESS}",
    ]
