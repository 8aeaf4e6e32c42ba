{{/*
Names and labels shared by every object of a blue/green service.
Selectors use only name, instance and color: labels that never change between releases.
*/}}

{{- define "bluegreen.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* The live color: the service's own activeColor, else global.activeColor. */}}
{{- define "bluegreen.activeColor" -}}
{{- $global := .Values.global | default dict -}}
{{- $color := .Values.activeColor | default $global.activeColor -}}
{{- if not (has $color (list "blue" "green")) -}}
{{- fail (printf "%s: activeColor must be blue or green, got %q" (include "bluegreen.name" .) (toString $color)) -}}
{{- end -}}
{{- $color -}}
{{- end -}}

{{- define "bluegreen.idleColor" -}}
{{- if eq (include "bluegreen.activeColor" .) "blue" }}green{{ else }}blue{{ end -}}
{{- end -}}

{{- define "bluegreen.environment" -}}
{{- $global := .Values.global | default dict -}}
{{- $global.environment | default "development" -}}
{{- end -}}

{{- define "bluegreen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bluegreen.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .color }}
color: {{ .color }}
{{- end }}
{{- end -}}

{{/* Labels on every object; none of them depends on the active color or a version. */}}
{{- define "bluegreen.labels" -}}
{{ include "bluegreen.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .root.Values.partOf | default "platform" }}
app.kubernetes.io/component: api
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
Pod template labels: no chart version or managed-by, so a chart upgrade alone never restarts
the live color. The version label is the color's own image tag.
*/}}
{{- define "bluegreen.podLabels" -}}
{{ include "bluegreen.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .root.Values.partOf | default "platform" }}
app.kubernetes.io/component: api
{{- end -}}

{{/* The label that marks a pod as a client of a service; NetworkPolicies admit it. */}}
{{- define "bluegreen.clientLabel" -}}
platform/calls-{{ . }}
{{- end -}}

{{- define "bluegreen.configName" -}}
{{ include "bluegreen.name" . }}-config
{{- end -}}

{{- define "bluegreen.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secrets" (include "bluegreen.name" .)) -}}
{{- end -}}

{{- define "bluegreen.mountsSecret" -}}
{{- if or .Values.secret.existingSecret .Values.secret.create }}true{{ end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds = preStop sleep + uvicorn drain + margin, always. */}}
{{- define "bluegreen.terminationGracePeriod" -}}
{{- add .Values.lifecycle.preStopSleepSeconds .Values.lifecycle.drainTimeoutSeconds .Values.lifecycle.terminationMarginSeconds -}}
{{- end -}}

{{/* Refuse values that must never reach production. */}}
{{- define "bluegreen.validate" -}}
{{- $name := include "bluegreen.name" . -}}
{{- $active := include "bluegreen.activeColor" . -}}
{{- if not (index .Values $active).enabled -}}
{{- fail (printf "%s: the active color %s is disabled; enable it before making it live" $name $active) -}}
{{- end -}}
{{- if and (gt (int .Values.canaryWeight) 0) (not (index .Values (include "bluegreen.idleColor" .)).enabled) -}}
{{- fail (printf "%s: canaryWeight %v needs the idle color enabled: it is the canary" $name .Values.canaryWeight) -}}
{{- end -}}
{{- if and (include "bluegreen.routedByGateway" .) (not (and .Values.global.canaryRouting.gateway.name .Values.global.canaryRouting.gateway.domain)) -}}
{{- fail (printf "%s: canaryRouting.mode gateway needs canaryRouting.gateway.name and .domain: the Gateway its HTTPRoute attaches to and its host" $name) -}}
{{- end -}}
{{- if eq (include "bluegreen.environment" .) "production" -}}
{{- if .Values.secret.create -}}
{{- fail (printf "%s: secret.create inlines secrets from values; use secret.existingSecret in production" $name) -}}
{{- end -}}
{{- if and .Values.secret.keys (not .Values.secret.existingSecret) -}}
{{- fail (printf "%s: secret.existingSecret is required in production (keys: %s)" $name (join ", " .Values.secret.keys)) -}}
{{- end -}}
{{- range $color := list "blue" "green" -}}
{{- $faults := (index $.Values $color).faults -}}
{{- if or $faults.errorRate $faults.latencyMs -}}
{{- fail (printf "%s: %s.faults must be off in production" $name $color) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Every object of the service, in a stable order. */}}
{{- define "bluegreen.all" -}}
{{- include "bluegreen.validate" . -}}
{{ include "bluegreen.serviceAccount" . }}
---
{{ include "bluegreen.configMap" . }}
---
{{ include "bluegreen.secret" . }}
{{- range $color := list "blue" "green" }}
{{- if (index $.Values $color).enabled }}
---
{{ include "bluegreen.deployment" (dict "root" $ "color" $color) }}
---
{{ include "bluegreen.hpa" (dict "root" $ "color" $color) }}
---
{{ include "bluegreen.pdb" (dict "root" $ "color" $color) }}
{{- end }}
{{- end }}
---
{{ include "bluegreen.services" . }}
---
{{ include "bluegreen.httpRoute" . }}
---
{{ include "bluegreen.networkPolicy" . }}
{{- end -}}
