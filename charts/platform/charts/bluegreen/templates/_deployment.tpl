{{/* One color's Deployment. Call with (dict "root" $ "color" "blue"). */}}
{{- define "bluegreen.deployment" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $c := index $v .color -}}
{{- $name := include "bluegreen.name" $root -}}
{{- $tag := $c.image.tag | toString -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}-{{ .color }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bluegreen.labels" . | nindent 4 }}
spec:
  {{- if not $c.autoscaling.enabled }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: {{ $v.revisionHistoryLimit }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "bluegreen.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bluegreen.podLabels" . | nindent 8 }}
        app: {{ $name }}
        version: {{ $tag | quote }}
        app.kubernetes.io/version: {{ $tag | quote }}
        {{- range $dependency := keys $v.dependencies | sortAlpha }}
        {{ include "bluegreen.clientLabel" $dependency }}: "true"
        {{- end }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.containerPort | quote }}
        prometheus.io/path: {{ $v.metricsPath | quote }}
        {{- /* Checksums of the data only: a chart version bump alone must not roll the pods. */}}
        checksum/config: {{ include "bluegreen.configData" $root | sha256sum }}
        {{- if $v.secret.create }}
        checksum/secret: {{ include "bluegreen.secretData" $root | sha256sum }}
        {{- end }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      # No docker-link variables: AUTH_PORT and friends would land in the services' prefixes.
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ include "bluegreen.terminationGracePeriod" $root }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ $v.podSecurity.runAsUser }}
        runAsGroup: {{ $v.podSecurity.runAsUser }}
        fsGroup: {{ $v.podSecurity.runAsUser }}
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: {{ $v.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "bluegreen.selectorLabels" . | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
        {{- if $v.topologySpread.zones }}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "bluegreen.selectorLabels" . | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ printf "%s:%s" $v.image.repository $tag }}{{ with $c.image.digest }}@{{ . }}{{ end }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          {{- /* The image's CMD, with the drain timeout from the same value as the env var. */}}
          command:
            - uvicorn
            - {{ printf "%s:create_app" $v.appModule }}
            - --factory
            - --host
            - 0.0.0.0
            - --port
            - {{ $v.containerPort | quote }}
            - --no-access-log
            - --timeout-graceful-shutdown
            - {{ $v.lifecycle.drainTimeoutSeconds | quote }}
          ports:
            - name: http
              containerPort: {{ $v.containerPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "bluegreen.configName" $root }}
          env:
            - name: SERVICE_COLOR
              value: {{ .color }}
            - name: SERVICE_VERSION
              value: {{ $tag | quote }}
            {{- if $c.faults.errorRate }}
            - name: SERVICE_FAULT_ERROR_RATE
              value: {{ $c.faults.errorRate | quote }}
            {{- end }}
            {{- if $c.faults.latencyMs }}
            - name: SERVICE_FAULT_LATENCY_MS
              value: {{ $c.faults.latencyMs | quote }}
            {{- end }}
          startupProbe:
            httpGet:
              path: {{ $v.probes.startup.path }}
              port: http
            periodSeconds: {{ $v.probes.startup.periodSeconds }}
            timeoutSeconds: {{ $v.probes.startup.timeoutSeconds }}
            failureThreshold: {{ $v.probes.startup.failureThreshold }}
          livenessProbe:
            httpGet:
              path: {{ $v.probes.liveness.path }}
              port: http
            periodSeconds: {{ $v.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.liveness.failureThreshold }}
          readinessProbe:
            httpGet:
              path: {{ $v.probes.readiness.path }}
              port: http
            periodSeconds: {{ $v.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ $v.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ $v.probes.readiness.failureThreshold }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $v.lifecycle.preStopSleepSeconds }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            runAsUser: {{ $v.podSecurity.runAsUser }}
            capabilities:
              drop:
                - ALL
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if include "bluegreen.mountsSecret" $root }}
            - name: secrets
              mountPath: {{ $v.secret.mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSizeLimit }}
        {{- if include "bluegreen.mountsSecret" $root }}
        - name: secrets
          secret:
            secretName: {{ include "bluegreen.secretName" $root }}
            defaultMode: 0440
            {{- /* Listing the keys makes a missing key a visible pod error, not a silent default. */}}
            items:
              {{- range $key := $v.secret.keys }}
              - key: {{ $key }}
                path: {{ $key }}
              {{- end }}
        {{- end }}
{{- end -}}
