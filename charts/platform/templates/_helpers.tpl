{{- define "platform.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The four services, in a stable order. */}}
{{- define "platform.services" -}}
{{- list "auth" "orders" "payments" "notifications" | toJson -}}
{{- end -}}

{{/* A ConfigMap-safe name from a file name: "RED Overview.json" -> "red-overview". */}}
{{- define "platform.slug" -}}
{{- base . | trimSuffix (ext .) | lower | regexReplaceAll "[^a-z0-9]+" "-" | trimAll "-" | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Rule files: YAML under rules/ with a top-level `groups` key (promtool tests are not rules). */}}
{{- define "platform.ruleFiles" -}}
{{- $files := list -}}
{{- range $path, $_ := .Files.Glob "rules/*.{yaml,yml}" -}}
{{- if hasKey ($.Files.Get $path | fromYaml) "groups" -}}
{{- $files = append $files $path -}}
{{- end -}}
{{- end -}}
{{- $files | toJson -}}
{{- end -}}

{{/*
The external-monitoring objects need the prometheus-operator API. Failing loudly beats
rendering nothing and leaving the platform unmonitored.
*/}}
{{- define "platform.requireMonitoringAPI" -}}
{{- if not (.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind)) -}}
{{- fail (printf "monitoring.external.enabled needs the monitoring.coreos.com/v1 %s API (kube-prometheus-stack). Install its CRDs, or pass --api-versions monitoring.coreos.com/v1/%s to helm template." .kind .kind) -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, pinned to @digest when one is given. */}}
{{- define "platform.image" -}}
{{- printf "%s:%s" .repository .tag -}}
{{- with .digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/* "platform-<slug>" for a file, without doubling a leading "platform-". */}}
{{- define "platform.fileObjectName" -}}
{{- $slug := include "platform.slug" . -}}
{{- if hasPrefix "platform-" $slug }}{{ $slug }}{{ else }}platform-{{ $slug }}{{ end -}}
{{- end -}}
