{{/*
The Service <svc> selects the active color; <svc>-preview selects the idle color.
Promotion changes nothing but these two selectors.
A canary step (canaryWeight > 0) routed by replicas drops the color from the live selector: both
colors' ready pods take live traffic, each its share of them (the replicas set the weight, as Argo
Rollouts' canary does without traffic routing). The annotation keeps which color is the stable
one. Routed by a gateway (bluegreen.httpRoute), the Services never change during a step: the
HTTPRoute weights them.
*/}}
{{- define "bluegreen.services" -}}
{{- $name := include "bluegreen.name" . -}}
{{- $active := include "bluegreen.activeColor" . -}}
{{- $idle := include "bluegreen.idleColor" . -}}
{{- $byReplicas := and (gt (int .Values.canaryWeight) 0) (not (include "bluegreen.routedByGateway" .)) -}}
{{- $live := ternary "" $active $byReplicas -}}
{{- include "bluegreen.service" (dict "root" . "name" $name "color" $live "role" "active" "stable" $active) }}
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
  {{- if not .color }}
  annotations:
    platform/stable-color: {{ .stable }}
  {{- end }}
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
