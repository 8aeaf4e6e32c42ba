#!/usr/bin/env bash
# Build pinned upstream tools from their Go modules, into a cache outside the work tree keyed by
# version (PLATFORM_TOOLS_CACHE, default ~/.cache/platform-tools). A tool already built is
# reused, so a warm run takes seconds. Prints one summary line last. Versions: upstream-tools.env.
#
#   scripts/upstream-tools.sh GROUP...     cluster | monitoring-operator | gateway | helm | supply-chain
#   scripts/upstream-tools.sh --print-dir  where the tools are (NAME-VERSION/bin/)
#
# Modules whose go.mod carries `replace` directives (Kubernetes, etcd, helmfile) are refused by
# `go install`; each is built from a generated wrapper module that requires it at the pinned
# version and turns every local-path replace into the published module of the same release
# (kubernetes/kubernetes#79384).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR
source "${here}/upstream-tools.env"
cache="${PLATFORM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-tools}"
if [[ "${1:-}" == "--print-dir" ]]; then
  echo "${cache}"
  exit 0
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 GROUP... (cluster, monitoring-operator, gateway, helm, supply-chain) | --print-dir" >&2
  exit 2
fi
command -v go >/dev/null || { echo "error: go is not installed (Go 1.25+ is needed to build the cluster tools)" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
mkdir -p "${cache}"
built=() reused=()
overall_start=${SECONDS}

elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# go build -v names each package as it compiles it; show a line every 100 so a cold build
# (thousands of packages on 2 cores) visibly progresses. The full log stays beside the tool.
go_build_with_progress() {
  local name="$1" log="$2"
  shift 2
  local start=${SECONDS}
  set +e
  go build -v "$@" 2>&1 | tee "${log}" | awk -v name="${name}" -v start="${start}" '
    !/^(go: |#)/ { n++; if (n % 100 == 0) { printf "  %s: %d packages compiled\n", name, n; fflush() } }'
  local rc=${PIPESTATUS[0]}
  set -e
  if [[ ${rc} -ne 0 ]]; then
    echo "error: building ${name} failed (exit ${rc}); last lines of ${log}:" >&2
    grep -v '^[a-z0-9.]*/' "${log}" | tail -20 >&2
    return "${rc}"
  fi
  echo "  ${name}: compiled in $(elapsed "${start}")"
}

# wrapper_module DIR MODULE VERSION LOCAL_REPLACE_VERSION
# Writes DIR/go.mod requiring MODULE@VERSION, with its replaces made buildable from the proxy.
wrapper_module() {
  local dir="$1" module="$2" version="$3" staged="$4"
  mkdir -p "${dir}"
  local upstream_mod
  upstream_mod="$(cd "${dir}" && GOFLAGS=-mod=mod go mod download -json "${module}@${version}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  {
    echo "module localbuild/$(basename "${module}")"
    echo
    echo "go $(go mod edit -json "${upstream_mod}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Go"])')"
    echo
    echo "require ${module} ${version}"
    go mod edit -json "${upstream_mod}" | python3 -c '
import json, re, sys
staged = sys.argv[1]
major = int(staged.lstrip("v").split(".")[0])
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"]["Path"], r["New"]
    if not new["Path"].startswith("."):
        print("replace", old, "=>", new["Path"], new.get("Version", ""))
        continue
    # A sibling module of the same release, published under the same version. Replaces that
    # fence a module off (etcd: => ./FORBIDDEN_DEPENDENCY) or whose path cannot carry that
    # version (go.etcd.io/etcd at v3) are left out: nothing in the build needs them.
    suffix = re.search(r"/v(\d+)$", old)
    fits = int(suffix.group(1)) == major if suffix else major <= 1
    if fits and "FORBIDDEN" not in new["Path"]:
        print(f"replace {old} => {old} {staged}")
' "${staged}"
  } >"${dir}/go.mod"
}

# build_tool NAME VERSION FUNCTION: run FUNCTION OUT_DIR unless NAME-VERSION is already complete.
build_tool() {
  local name="$1" version="$2" fn="$3"
  local dest="${cache}/${name}-${version}"
  if [[ -f "${dest}/.complete" ]]; then
    reused+=("${name} ${version}")
    return 0
  fi
  local start=${SECONDS}
  echo "building ${name} ${version} from its Go module (first run only) ..."
  rm -rf "${dest}.partial"
  mkdir -p "${dest}.partial/bin"
  "${fn}" "${dest}.partial" "${version}"
  rm -rf "${dest}"
  mv "${dest}.partial" "${dest}"
  elapsed "${start}" >"${dest}/.complete"
  built+=("${name} ${version} ($(elapsed "${start}"))")
}

# build_main OUT VERSION MODULE PACKAGE BINARY [LDFLAGS]: a main package of MODULE@VERSION,
# built from a wrapper module (local-path replaces resolved to the same release).
build_main() {
  local out="$1" version="$2" module="$3" package="$4" binary="$5" ldflags="${6:-}"
  wrapper_module "${out}/src" "${module}" "${version}" "${version}"
  (cd "${out}/src" && go get "${package}@${version}" >/dev/null 2>"${out}/get.log") ||
    { cat "${out}/get.log" >&2; return 1; }
  (cd "${out}/src" && go_build_with_progress "${binary}" "${out}/build.log" -trimpath \
    -ldflags "-s -w ${ldflags}" -o "${out}/bin/${binary}" "${package}")
}

build_kubernetes() {
  local out="$1" version="$2"
  local minor="${version#v1.}"
  minor="${minor%%.*}"
  local staged="v0.${version#v1.}"
  wrapper_module "${out}/src" k8s.io/kubernetes "${version}" "${staged}"
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
  local pkgs=() ldflags="-s -w" var
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${c}"); done
  for var in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${var}.gitVersion=${version} -X ${var}.gitMajor=1 -X ${var}.gitMinor=${minor}"
    ldflags+=" -X ${var}.gitTreeState=clean -X ${var}.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "${out}/src" && go get "${pkgs[@]/%/@${version}}" >/dev/null 2>"${out}/get.log") ||
    { cat "${out}/get.log" >&2; return 1; }
  (cd "${out}/src" && go_build_with_progress kubernetes "${out}/build.log" -trimpath \
    -ldflags "${ldflags}" -o "${out}/bin/" "${pkgs[@]}")
}

build_etcd() {
  build_main "$1" "$2" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 etcd
}

build_coredns() {
  build_main "$1" "$2" github.com/coredns/coredns github.com/coredns/coredns coredns
}

build_helm() {
  local out="$1" version="$2"
  GOBIN="${out}/bin" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${version}" \
    "helm.sh/helm/v4/cmd/helm@${version}"
}

build_helmfile() {
  build_main "$1" "$2" github.com/helmfile/helmfile github.com/helmfile/helmfile helmfile \
    "-X go.szostok.io/version.version=${2#v}"
}

# helm-diff installs offline as a plugin directory: its plugin.yaml plus the binary in bin/.
# The checksum database has no entry for the one version the proxy serves, so the module's
# hash is pinned in upstream-tools.env and checked here instead.
build_helm_diff() {
  local out="$1" version="$2"
  local module="github.com/databus23/helm-diff/v3"
  export GONOSUMDB="github.com/databus23/helm-diff"
  local downloaded
  downloaded="$(go mod download -json "${module}@${version}")"
  local sum dir
  sum="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"${downloaded}")"
  dir="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"${downloaded}")"
  if [[ "${sum}" != "${HELM_DIFF_SUM}" ]]; then
    echo "error: ${module}@${version} hashes to ${sum}, not the pinned ${HELM_DIFF_SUM}" >&2
    return 1
  fi
  mkdir -p "${out}/plugin/diff/bin"
  (cd "${dir}" && GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-s -w -X ${module}/cmd.Version=${version#v}" -o "${out}/plugin/diff/bin/diff" .)
  # The upstream plugin.yaml fetches a release binary on install; SKIP_BIN_INSTALL=1 keeps this one.
  cp "${dir}/plugin.yaml" "${out}/plugin/diff/plugin.yaml"
  chmod u+w "${out}/plugin/diff/plugin.yaml"
}

# Debian's prometheus is built without Kubernetes service discovery; the local cluster's
# Prometheus needs it. Only that SD is compiled in (the build tags of plugins/), which leaves
# out the cloud SDKs; the web UI's assets are not embedded (the API is what is used).
build_prometheus() {
  local release="3.${2#v0.3}" # v0.316.0 is Prometheus 3.16.0
  GOFLAGS="${GOFLAGS} -tags=remove_all_sd,enable_kubernetes_sd" build_main "$1" "$2" \
    github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/prometheus prometheus \
    "-X github.com/prometheus/common/version.Version=${release}"
}

# The resource metrics API the HorizontalPodAutoscalers read (aggregated into the apiserver).
build_metrics_server() {
  build_main "$1" "$2" sigs.k8s.io/metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server \
    metrics-server "-X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$2"
}

# Object state as metrics (kube_deployment_*, kube_pod_*, kube_horizontalpodautoscaler_*), the
# cluster panels of the dashboards.
build_kube_state_metrics() {
  build_main "$1" "$2" k8s.io/kube-state-metrics/v2 k8s.io/kube-state-metrics/v2 kube-state-metrics \
    "-X github.com/prometheus/common/version.Version=${2#v}"
}

# NetworkPolicy enforcement on the node: iptables rules and ipsets from the policies.
build_kube_router() {
  build_main "$1" "$2" github.com/cloudnativelabs/kube-router/v2 \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router kube-router \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$2"
}

# The operator and its config-reloader sidecar, one wrapper module; the CRDs stay in the
# module cache (example/prometheus-operator-crd), applied from there.
build_prometheus_operator() {
  local out="$1" version="$2"
  local module=github.com/prometheus-operator/prometheus-operator
  wrapper_module "${out}/src" "${module}" "${version}" "${version}"
  local pkgs=("${module}/cmd/operator" "${module}/cmd/prometheus-config-reloader")
  (cd "${out}/src" && go get "${pkgs[@]/%/@${version}}" >/dev/null 2>"${out}/get.log") ||
    { cat "${out}/get.log" >&2; return 1; }
  (cd "${out}/src" && go_build_with_progress prometheus-operator "${out}/build.log" -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v}" \
    -o "${out}/bin/" "${pkgs[@]}")
  (cd "${out}/src" && go mod download -json "${module}@${version}") |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' >"${out}/module-dir"
}

# A Gateway API implementation for the chart's gateway canary mode: Traefik, whose
# kubernetesgateway provider programs weighted HTTPRoutes. The Gateway API CRDs stay in the
# module cache (config/crd/standard), applied from there.
build_traefik() {
  build_main "$1" "$2" github.com/traefik/traefik/v3 github.com/traefik/traefik/v3/cmd/traefik traefik \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=$2"
}

build_gateway_api() {
  local out="$1" version="$2"
  mkdir -p "${out}/src"
  (cd "${out}/src" && go mod download -json "sigs.k8s.io/gateway-api@${version}") |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' >"${out}/module-dir"
}

build_syft() {
  build_main "$1" "$2" github.com/anchore/syft github.com/anchore/syft/cmd/syft syft \
    "-X main.version=${2#v}"
}

build_registry() {
  build_main "$1" "$2" github.com/distribution/distribution/v3 \
    github.com/distribution/distribution/v3/cmd/registry registry \
    "-X github.com/distribution/distribution/v3/version.version=$2"
}

build_cosign() {
  build_main "$1" "$2" github.com/sigstore/cosign/v3 github.com/sigstore/cosign/v3/cmd/cosign cosign \
    "-X sigs.k8s.io/release-utils/version.gitVersion=$2"
}

build_helm_tools() {
  build_tool helm "${HELM_VERSION}" build_helm
  build_tool helmfile "${HELMFILE_VERSION}" build_helmfile
  build_tool helm-diff "${HELM_DIFF_VERSION}" build_helm_diff
}

for group in "$@"; do
  case "${group}" in
    cluster)
      build_tool kubernetes "${KUBERNETES_VERSION}" build_kubernetes
      build_tool etcd "${ETCD_VERSION}" build_etcd
      build_tool coredns "${COREDNS_VERSION}" build_coredns
      build_helm_tools
      build_tool prometheus "${PROMETHEUS_VERSION}" build_prometheus
      build_tool metrics-server "${METRICS_SERVER_VERSION}" build_metrics_server
      build_tool kube-state-metrics "${KUBE_STATE_METRICS_VERSION}" build_kube_state_metrics
      build_tool kube-router "${KUBE_ROUTER_VERSION}" build_kube_router
      ;;
    monitoring-operator)
      build_tool prometheus-operator "${PROMETHEUS_OPERATOR_VERSION}" build_prometheus_operator
      ;;
    gateway)
      build_tool gateway-api "${GATEWAY_API_VERSION}" build_gateway_api
      build_tool traefik "${TRAEFIK_VERSION}" build_traefik
      ;;
    helm)
      build_helm_tools
      ;;
    supply-chain)
      build_tool syft "${SYFT_VERSION}" build_syft
      build_tool registry "${REGISTRY_VERSION}" build_registry
      build_tool cosign "${COSIGN_VERSION}" build_cosign
      ;;
    *)
      echo "error: unknown tool group '${group}' (one of: cluster, monitoring-operator, gateway, helm, supply-chain)" >&2
      exit 2
      ;;
  esac
done

join() {
  local IFS=","
  local joined="$*"
  echo "${joined//,/, }"
}
summary="upstream tools in ${cache}:"
[[ ${#built[@]} -gt 0 ]] && summary+=" built $(join "${built[@]}");"
[[ ${#reused[@]} -gt 0 ]] && summary+=" reused $(join "${reused[@]}");"
echo "${summary} total $(elapsed "${overall_start}")"
