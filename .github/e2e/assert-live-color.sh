#!/usr/bin/env bash
# Assert that a service's live Service selects COLOR and that every endpoint behind it is a
# pod of that color: what a promotion or rollback must leave behind.
#   assert-live-color.sh NAMESPACE COLOR [SERVICE...]   (default: the services in $SERVICES)
set -euo pipefail
namespace="$1"
color="$2"
shift 2
services=("$@")
if [[ ${#services[@]} -eq 0 ]]; then
  read -ra services <<<"${SERVICES:?name the services, or set SERVICES}"
fi

for service in "${services[@]}"; do
  selected="$(kubectl -n "${namespace}" get service "${service}" -o jsonpath='{.spec.selector.color}')"
  if [[ "${selected}" != "${color}" ]]; then
    echo "::error::Service ${service} selects color '${selected}', expected '${color}'"
    exit 1
  fi
  # Every ready endpoint of the live Service must be a pod of the expected color.
  mapfile -t pods < <(kubectl -n "${namespace}" get endpointslices \
    -l "kubernetes.io/service-name=${service}" \
    -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.targetRef.name}{"\n"}{end}')
  if [[ ${#pods[@]} -eq 0 ]]; then
    echo "::error::Service ${service} has no ready endpoints"
    exit 1
  fi
  for pod in "${pods[@]}"; do
    pod_color="$(kubectl -n "${namespace}" get pod "${pod}" -o jsonpath='{.metadata.labels.color}')"
    if [[ "${pod_color}" != "${color}" ]]; then
      echo "::error::Service ${service} routes to ${pod} of color '${pod_color}', expected '${color}'"
      exit 1
    fi
  done
  echo "${service}: live color ${color}, ${#pods[@]} ready endpoints, all ${color}"
done
