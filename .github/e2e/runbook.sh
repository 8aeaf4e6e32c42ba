#!/usr/bin/env bash
# The runbook on a real cluster under k6 load, one script for the kind workflow and the local
# cluster (tests/cluster/test_runbook.py), so the two cannot drift:
#   install (helmfile apply) -> helm test -> deploy to the idle color -> promote -> helm rollback
#   to the explicit revision -> delete a live pod; the live color is read back from the Service
#   selectors and endpoints after each step, and k6's exit code (0 failed requests) is the verdict.
#
# Environment (defaults are the kind workflow's):
#   ENVIRONMENT=kind NAMESPACE=platform-kind LOAD_NAMESPACE=k6-load SERVICES="auth orders ..."
#   GREEN_VERSION=e2e-green   the version deployed to green (its images are on the node)
#   SECRETS_DIR               development secrets (auth_signing_key, auth_users, ...)
#   HELMFILE_FLAGS            extra helmfile flags (local: --skip-deps, no chart repository)
#   K6_IMAGE K6_SCRIPTS K6_SUMMARY   the k6 image and the node paths of k6/ and the summary
#   K6_DURATION K6_RATE BASELINE_SECONDS   the load, and the steady time before/after changes
#   K6_P99_MS                 the p99 latency bar in ms (default 500; 0 failed requests always)
#   K6_STOP_FILE              if set, the caller runs more disruptions under the same load after
#                             the last step and creates this file when they are done: the load is
#                             stopped then, not at K6_DURATION (which becomes a bound), and the
#                             verdict is read from the summary in K6_SUMMARY, a path both the
#                             node and this script see (the local cluster's node is this machine)
#   RESULTS                   a file that receives one "key=value" line per figure
set -euo pipefail
cd "$(dirname "$0")/../.."

ENVIRONMENT="${ENVIRONMENT:-kind}"
NAMESPACE="${NAMESPACE:-platform-kind}"
LOAD_NAMESPACE="${LOAD_NAMESPACE:-k6-load}"
SERVICES="${SERVICES:-auth orders payments notifications}"
GREEN_VERSION="${GREEN_VERSION:-e2e-green}"
SECRETS_DIR="${SECRETS_DIR:-.local/e2e-secrets}"
read -ra HELMFILE_FLAGS <<<"${HELMFILE_FLAGS:-}"
K6_IMAGE="${K6_IMAGE:-docker.io/grafana/k6:1.1.0}"
K6_SCRIPTS="${K6_SCRIPTS:-/k6}"
K6_SUMMARY="${K6_SUMMARY:-/k6-summary}"
K6_DURATION="${K6_DURATION:-8m}"
K6_RATE="${K6_RATE:-10}"
K6_P99_MS="${K6_P99_MS:-500}"
K6_STOP_FILE="${K6_STOP_FILE:-}"
BASELINE_SECONDS="${BASELINE_SECONDS:-20}"
RESULTS="${RESULTS:-/dev/null}"
PYTHON="${PYTHON:-.venv/bin/python}"
ENV_FILE="environments/${ENVIRONMENT}.yaml"
export SERVICES
started=${SECONDS}

step() { echo "==> [$((SECONDS - started))s] $*"; }
record() { echo "$1=$2" | tee -a "${RESULTS}"; }
helmfile_apply() { helmfile --environment "${ENVIRONMENT}" apply --suppress-diff "${HELMFILE_FLAGS[@]}"; }
revision() { helm history platform --namespace "${NAMESPACE}" --output json | "${PYTHON}" -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])'; }
# Edit one scalar of the environment file in place, comments and layout kept (platformctl's editor).
set_env_value() {
  "${PYTHON}" -c 'import pathlib, sys
from platformctl.kubernetes.envfile import replace_scalar
path = pathlib.Path(sys.argv[1])
path.write_text(replace_scalar(path.read_text(), sys.argv[2].split("."), sys.argv[3]))' "${ENV_FILE}" "$1" "$2"
}

step "secrets (the generated development secrets, as Kubernetes Secrets)"
for namespace in "${NAMESPACE}" "${LOAD_NAMESPACE}"; do
  kubectl create namespace "${namespace}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
apply_secret() {
  local namespace="$1" name="$2"
  shift 2
  kubectl -n "${namespace}" create secret generic "${name}" "$@" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
}
apply_secret "${NAMESPACE}" auth-secrets --from-file="auth_signing_key=${SECRETS_DIR}/auth_signing_key" \
  --from-file="auth_users=${SECRETS_DIR}/auth_users"
apply_secret "${NAMESPACE}" orders-secrets --from-file="orders_client_secret=${SECRETS_DIR}/orders_client_secret"
apply_secret "${LOAD_NAMESPACE}" k6-credentials --from-file="password=${SECRETS_DIR}/dev_alice_password"

step "install: helmfile -e ${ENVIRONMENT} apply (blue live)"
helmfile_apply
helm test platform --namespace "${NAMESPACE}" >/dev/null
.github/e2e/assert-live-color.sh "${NAMESPACE}" blue
record installed_revision "$(revision)"

step "k6 zero-downtime load, in the cluster through the live Services"
kubectl -n "${LOAD_NAMESPACE}" delete job k6-zero-downtime --ignore-not-found --wait=true >/dev/null
if [[ -n "${K6_STOP_FILE}" ]]; then
  rm -f "${K6_STOP_FILE}" "${K6_SUMMARY}/zero-downtime.json" "${K6_SUMMARY}/zero-downtime.txt"
fi
sed -e "s#docker.io/grafana/k6:1.1.0#${K6_IMAGE}#" \
  -e "s#platform-kind.svc#${NAMESPACE}.svc#" \
  -e "s#path: /k6-summary#path: ${K6_SUMMARY}#" -e "s#path: /k6\$#path: ${K6_SCRIPTS}#" \
  -e "s#value: \"8m\"#value: \"${K6_DURATION}\"#" -e "s#value: \"10\"#value: \"${K6_RATE}\"#" \
  -e "s#value: \"500\"#value: \"${K6_P99_MS}\"#" \
  .github/e2e/k6-zero-downtime-job.yaml | kubectl apply -f - >/dev/null
kubectl -n "${LOAD_NAMESPACE}" wait job/k6-zero-downtime --for=jsonpath='{.status.ready}'=1 --timeout=180s
sleep "${BASELINE_SECONDS}"

step "deploy ${GREEN_VERSION} to green (idle), then helm test"
for service in ${SERVICES}; do set_env_value "services.${service}.green.version" "${GREEN_VERSION}"; done
helmfile_apply
helm test platform --namespace "${NAMESPACE}" >/dev/null
.github/e2e/assert-live-color.sh "${NAMESPACE}" blue
before_promotion="$(revision)"
record deployed_revision "${before_promotion}"

step "promote green (activeColor in the environment file, apply)"
set_env_value activeColor green
helmfile_apply
.github/e2e/assert-live-color.sh "${NAMESPACE}" green
record promoted_revision "$(revision)"
sleep "${BASELINE_SECONDS}"

step "helm rollback platform ${before_promotion}"
rollback_started="$(date +%s.%N)"
helm rollback platform "${before_promotion}" --namespace "${NAMESPACE}" >/dev/null
until [[ "$(kubectl -n "${NAMESPACE}" get service orders -o jsonpath='{.spec.selector.color}')" == blue ]]; do sleep 0.05; done
record rollback_to_selector_seconds "$("${PYTHON}" -c 'import sys, time; print(round(time.time() - float(sys.argv[1]), 2))' "${rollback_started}")"
.github/e2e/assert-live-color.sh "${NAMESPACE}" blue
record rolled_back_revision "$(revision)"
# Record the rollback in the environment file too; then helmfile finds nothing left to change.
set_env_value activeColor blue
helmfile --environment "${ENVIRONMENT}" diff --detailed-exitcode --suppress-secrets "${HELMFILE_FLAGS[@]}" >/dev/null

step "delete a live pod mid-load (self-healing)"
pod="$(kubectl -n "${NAMESPACE}" get pods -l app.kubernetes.io/name=orders,color=blue -o jsonpath='{.items[0].metadata.name}')"
deleted_at=${SECONDS}
kubectl -n "${NAMESPACE}" delete pod "${pod}" --wait=false >/dev/null
kubectl -n "${NAMESPACE}" rollout status deployment/orders-blue --timeout=180s >/dev/null
record self_heal_seconds "$((SECONDS - deleted_at))"
.github/e2e/assert-live-color.sh "${NAMESPACE}" blue

step "the load ran through the last disruption; k6's verdict"
k6_running() { [[ "$(kubectl -n "${LOAD_NAMESPACE}" get job k6-zero-downtime -o jsonpath='{.status.active}')" == "1" ]]; }
# k6 runs out K6_DURATION; its pod's exit code is the verdict (0: every threshold held).
verdict_at_its_end() {
  until status="$(kubectl -n "${LOAD_NAMESPACE}" get job k6-zero-downtime -o jsonpath='{.status.succeeded}{.status.failed}')" &&
    [[ -n "${status}" ]]; do
    sleep 5
  done
  kubectl -n "${LOAD_NAMESPACE}" logs job/k6-zero-downtime | tail -20
  code="$(kubectl -n "${LOAD_NAMESPACE}" get pods -l job-name=k6-zero-downtime \
    -o jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}')"
  record k6_exit_code "${code}"
  test "${code}" = "0"
}
# The caller stops the load once its own disruptions are done; k6's summary is the verdict.
verdict_when_stopped() {
  until [[ -e "${K6_STOP_FILE}" ]]; do
    if ! k6_running; then
      echo "error: k6 finished before the caller's disruptions: raise K6_DURATION" >&2
      return 1
    fi
    sleep 1
  done
  step "the caller's disruptions are done: stopping the load"
  # A suspended Job's pod is deleted: k6 gets SIGTERM, ends its scenarios and writes its summary.
  kubectl -n "${LOAD_NAMESPACE}" patch job k6-zero-downtime --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
  kubectl -n "${LOAD_NAMESPACE}" wait pod -l job-name=k6-zero-downtime --for=delete --timeout=120s >/dev/null
  tail -20 "${K6_SUMMARY}/zero-downtime.txt"
  passed="$("${PYTHON}" -c 'import json, sys; print(json.load(open(sys.argv[1]))["platform"]["passed"])' \
    "${K6_SUMMARY}/zero-downtime.json")"
  record k6_thresholds_held "${passed}"
  test "${passed}" = "True"
}
if ! k6_running; then
  echo "error: k6 finished before the last disruption: raise K6_DURATION" >&2
  exit 1
fi
if [[ -n "${K6_STOP_FILE}" ]]; then verdict_when_stopped; else verdict_at_its_end; fi
step "runbook passed"
