#!/usr/bin/env bash
# Debian packages the platform's local runtime, images and tests need. Installs them when root.
#
# Installing a package never starts its service here: while apt runs, a policy-rc.d (Debian's
# convention, honoured by invoke-rc.d and deb-systemd-invoke) refuses every start. The platform
# starts its own Prometheus and containerd, and nothing already running is stopped.
set -euo pipefail

# command -> the Debian package that provides it
declare -A provider=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [shellcheck]=shellcheck
  [podman]=podman
  [buildah]=buildah
  [runc]=runc
  [debootstrap]=debootstrap
  [containerd]=containerd
  [ctr]=containerd
  [iptables]=iptables
  [conntrack]=conntrack
  # kube-router (the NetworkPolicy enforcer) drives ipsets through the ipset utility.
  [ipset]=ipset
  [socat]=socat
  [ip]=iproute2
)
# Helpers with no command on PATH: CNI plugins; container name resolution on podman networks.
declare -A provider_file=(
  [/usr/lib/podman/aardvark-dns]=aardvark-dns
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [/usr/lib/cni/host-local]=containernetworking-plugins
  [/usr/lib/cni/loopback]=containernetworking-plugins
  [/usr/lib/cni/portmap]=containernetworking-plugins
)

missing=()
for cmd in "${!provider[@]}"; do
  command -v "${cmd}" >/dev/null || missing+=("${provider[${cmd}]}")
done
for file in "${!provider_file[@]}"; do
  [ -e "${file}" ] || missing+=("${provider_file[${file}]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
if [ ! -e "${policy}" ]; then
  # Ours only for the duration of the install; a policy the machine already has stays as it is.
  printf '#!/bin/sh\n# installed by the platform'"'"'s scripts/system-deps.sh during apt-get\nexit 101\n' >"${policy}"
  chmod 0755 "${policy}"
  trap 'rm -f "${policy}"' EXIT
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
