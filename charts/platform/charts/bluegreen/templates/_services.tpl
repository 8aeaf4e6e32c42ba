{{/*
The Service <svc> selects the active color; <svc>-preview selects the idle color.
Promotion changes nothing but these two selectors.
*/}}
{{- define "bluegreen.services" -}}
{{- $name := include "bluegreen.name" . -}}
{{- $active := include "bluegreen.activeColor" . -}}
{{- $idle := include "bluegreen.idleColor" . -}}
{{- include "bluegreen.service" (dict "root" . "name" $name "color" $active "role" "active") }}
{{- if (index .Values $idle).enabled }}
---
{{ include "bluegreen.service" (dict "root" . "name" (printf "%s-preview" $name) "color" $idle "role" "preview") }}
{{- end }}
{{- end -}}

{{- define "bluegreen.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .root) | nindent 4 }}
    platform/traffic: {{ .role }}
spec:
  type: ClusterIP
  selector:
    {{- include "bluegreen.selectorLabels" (dict "root" .root "color" .color) | nindent 4 }}
  ports:
    - name: http
      port: {{ .root.Values.servicePort }}
      targetPort: http
      protocol: TCP
{{- end -}}
