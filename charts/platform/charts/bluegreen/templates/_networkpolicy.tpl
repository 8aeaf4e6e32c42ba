{{/*
The service's NetworkPolicy. Ingress: pods labelled as its clients (platform/calls-<svc>) and
the metrics scrapers, on the http port. Egress: DNS and the services it calls, nothing else.
With both policy types listed, anything not allowed here is denied.
*/}}
{{- define "bluegreen.networkPolicy" -}}
{{- $global := .Values.global | default dict -}}
{{- $policy := $global.networkPolicy | default dict -}}
{{- if $policy.enabled -}}
{{- $name := include "bluegreen.name" . -}}
{{- $port := .Values.containerPort -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "bluegreen.selectorLabels" (dict "root" .) | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - from:
        - podSelector:
            matchLabels:
              {{ include "bluegreen.clientLabel" $name }}: "true"
        {{- with .Values.networkPolicy.extraIngressFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- if include "bluegreen.routedByGateway" . }}
        {{- with .Values.global.canaryRouting.gateway.ingressFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- end }}
      ports:
        - port: {{ $port }}
          protocol: TCP
    {{- with $policy.metricsScrapers }}
    - from:
        {{- toYaml . | nindent 8 }}
      ports:
        - port: {{ $port }}
          protocol: TCP
    {{- end }}
  egress:
    - to:
        {{- toYaml $policy.dns.to | nindent 8 }}
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- range $dependency := keys .Values.dependencies | sortAlpha }}
    - to:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ $dependency }}
              app.kubernetes.io/instance: {{ $.Release.Name }}
      ports:
        - port: {{ $port }}
          protocol: TCP
    {{- end }}
{{- end -}}
{{- end -}}
