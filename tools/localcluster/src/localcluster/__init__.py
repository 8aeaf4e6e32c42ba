"""A real single-node Kubernetes on this machine: etcd, the control plane with its own PKI,
containerd with runc, the kubelet, CNI, kube-proxy and CoreDNS, all built from upstream."""
