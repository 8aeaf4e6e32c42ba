{{/*
canaryRouting.mode gateway: an HTTPRoute on the platform's Gateway, for the host
<service>.<domain>, for each service whose route is enabled (the ones users call; a service only
other services call keeps its canary steps by replica ratio). Outside a canary step it sends
everything to the live Service; during one (canaryWeight > 0) it weights the live Service (the
stable color) and the preview Service (the canary) 100 - w : w, and the gateway applies the
weights per request.
*/}}
{{- define "bluegreen.canaryRouting" -}}
{{- ((.Values.global).canaryRouting).mode | default "replicas" -}}
{{- end -}}

{{/* "true" when this service's canary steps go by its HTTPRoute; empty otherwise. */}}
{{- define "bluegreen.routedByGateway" -}}
{{- if and (eq (include "bluegreen.canaryRouting" .) "gateway") (.Values.route).enabled -}}true{{- end -}}
{{- end -}}

{{- define "bluegreen.httpRoute" -}}
{{- if include "bluegreen.routedByGateway" . -}}
{{- if not (.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1/HTTPRoute") -}}
{{- fail (printf "%s: canaryRouting.mode gateway needs the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute) in the cluster; install a Gateway API implementation first (on the local cluster: localcluster gateway)" (include "bluegreen.name" .)) -}}
{{- end -}}
{{- $name := include "bluegreen.name" . -}}
{{- $gateway := .Values.global.canaryRouting.gateway -}}
{{- $weight := int .Values.canaryWeight -}}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" (dict "root" .) | nindent 4 }}
spec:
  parentRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: {{ $gateway.name }}
      namespace: {{ $gateway.namespace | default .Release.Namespace }}
  hostnames:
    - {{ printf "%s.%s" $name $gateway.domain | quote }}
  rules:
    - backendRefs:
        - name: {{ $name }}
          port: {{ .Values.servicePort }}
          weight: {{ sub 100 $weight }}
        {{- if gt $weight 0 }}
        - name: {{ $name }}-preview
          port: {{ .Values.servicePort }}
          weight: {{ $weight }}
        {{- end }}
{{- end -}}
{{- end -}}
