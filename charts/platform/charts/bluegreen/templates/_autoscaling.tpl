{{/* One color's HorizontalPodAutoscaler (when on) and PodDisruptionBudget (when on). */}}
{{- define "bluegreen.hpa" -}}
{{- $c := index .root.Values .color -}}
{{- if $c.autoscaling.enabled -}}
{{- $name := include "bluegreen.name" .root -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}-{{ .color }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}-{{ .color }}
  minReplicas: {{ $c.autoscaling.minReplicas }}
  maxReplicas: {{ $c.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    {{- toYaml .root.Values.autoscalingBehavior | nindent 4 }}
{{- end -}}
{{- end -}}

{{- define "bluegreen.pdb" -}}
{{- $c := index .root.Values .color -}}
{{- if $c.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "bluegreen.name" .root }}-{{ .color }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $c.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "bluegreen.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
