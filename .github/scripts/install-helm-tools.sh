#!/usr/bin/env bash
# Install pinned, checksum-verified helm and helmfile into ~/.local/bin (added to GITHUB_PATH),
# then the helm plugins helmfile needs (helm-diff for `helmfile apply`) via `helmfile init`.
# Helm matches the Helm SDK the local tests render with (helm-python-sdk: Helm v4.2.3).
set -euo pipefail

HELM_VERSION="v4.2.3"
HELM_SHA256="e9b88b4ee95b18c706839c28d3a0220e5bc470e9cd9262410c90793c45ff8b7c"
HELMFILE_VERSION="1.8.0"

bin_dir="${HOME}/.local/bin"
work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT
mkdir -p "${bin_dir}"
cd "${work_dir}"

helm_archive="helm-${HELM_VERSION}-linux-amd64.tar.gz"
curl -fsSLo "${helm_archive}" "https://get.helm.sh/${helm_archive}"
echo "${HELM_SHA256}  ${helm_archive}" | sha256sum --check --strict
tar -xzf "${helm_archive}" linux-amd64/helm
install -m 0755 linux-amd64/helm "${bin_dir}/helm"

# helmfile publishes a checksums file with each release.
helmfile_release="https://github.com/helmfile/helmfile/releases/download/v${HELMFILE_VERSION}"
helmfile_archive="helmfile_${HELMFILE_VERSION}_linux_amd64.tar.gz"
curl -fsSLO "${helmfile_release}/${helmfile_archive}"
curl -fsSLO "${helmfile_release}/helmfile_${HELMFILE_VERSION}_checksums.txt"
grep " ${helmfile_archive}\$" "helmfile_${HELMFILE_VERSION}_checksums.txt" | sha256sum --check --strict
tar -xzf "${helmfile_archive}" helmfile
install -m 0755 helmfile "${bin_dir}/helmfile"

if [[ -n "${GITHUB_PATH:-}" ]]; then
  echo "${bin_dir}" >>"${GITHUB_PATH}"
fi
export PATH="${bin_dir}:${PATH}"
helmfile init --force
helm version
helmfile version
