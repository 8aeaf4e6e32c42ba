{{/*
Settings every pod of the service shares, whatever its color. Per-color settings
(SERVICE_COLOR, SERVICE_VERSION, faults) live on the Deployment, so promoting a color or
shipping a new tag never touches this ConfigMap.
*/}}
{{- define "bluegreen.configData" -}}
{{- $v := .Values -}}
SERVICE_ENVIRONMENT: {{ include "bluegreen.environment" . | quote }}
SERVICE_LOG_LEVEL: {{ $v.logLevel | quote }}
SERVICE_DRAIN_TIMEOUT_SECONDS: {{ $v.lifecycle.drainTimeoutSeconds | quote }}
SERVICE_SECRETS_DIR: {{ $v.secret.mountPath | quote }}
{{- range $dependency, $variable := $v.dependencies }}
{{ $variable }}: {{ printf "http://%s:%v" $dependency $v.servicePort | quote }}
{{- end }}
{{- range $variable, $value := $v.config }}
{{ $variable }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "bluegreen.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "bluegreen.configName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .) | nindent 4 }}
data:
  {{- include "bluegreen.configData" . | nindent 2 }}
{{- end -}}

{{/* A chart-made Secret, for development only: production uses secret.existingSecret. */}}
{{- define "bluegreen.secretData" -}}
{{- range $key := .Values.secret.keys }}
{{ $key }}: {{ index $.Values.secret.data $key | default "" | quote }}
{{- end }}
{{- end -}}

{{- define "bluegreen.secret" -}}
{{- if .Values.secret.create -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "bluegreen.secretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .) | nindent 4 }}
type: Opaque
stringData:
  {{- include "bluegreen.secretData" . | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "bluegreen.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "bluegreen.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .) | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}
