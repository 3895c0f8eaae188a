{{/*
One Deployment and its Service, shared by the four Aegis components so that every pod gets the
same hardening: non-root, read-only root filesystem with an emptyDir on /tmp, no capabilities, no
privilege escalation, RuntimeDefault seccomp, no service-account token, and of the Secret only the
keys its service reads.

Call with a dict:
  root       the top-level context
  component  alert-ingest | gateway-feishu | notifier | rca-worker
  values     the component's values
  port       the container port (HTTP, or the notifier's metrics port)
  probe      "http" (/healthz, /readyz) or "tcp" (a connect to the port)
  env        extra environment (list of EnvVar), e.g. the port variables
  replicas   optional; left out when an autoscaler owns the count
  strategy   optional Deployment strategy
  terminationGracePeriodSeconds  optional, 30 by default
*/}}
{{- define "aegis.deployment" -}}
{{- $root := .root }}
{{- $c := .component }}
{{- $v := .values }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "aegis.componentName" (list $root $c) }}
  labels:
    {{- include "aegis.componentLabels" (list $root $c) | nindent 4 }}
spec:
  {{- if hasKey . "replicas" }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "aegis.selectorLabels" (list $root $c) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "aegis.componentLabels" (list $root $c) | nindent 8 }}
        aegis.io/nats-client: "true"
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- if not $root.Values.existingSecret }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "aegis.serviceAccountName" $root }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        {{- include "aegis.podSecurityContext" $root | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: {{ .terminationGracePeriodSeconds | default 30 }}
      containers:
        - name: {{ $c }}
          image: {{ include "aegis.image" (list $root $c) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          securityContext:
            {{- include "aegis.containerSecurityContext" $root | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "aegis.configMapName" $root }}
          env:
            {{- if and $root.Values.nats.bundled $root.Values.nats.tls.secretName }}
            - name: NATS_TLS_CA_FILE
              value: /etc/aegis/nats-tls/ca.crt
            {{- end }}
            {{- if $root.Values.nats.bundled }}
            # The bundled NATS knows each service as its own user, with only that user's rights.
            - name: NATS_USER
              value: {{ $c | quote }}
            - name: NATS_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "aegis.secretName" $root }}
                  key: {{ include "aegis.natsPasswordKey" $c }}
            {{- end }}
            {{- range $key := include "aegis.secretKeys" $c | fromJsonArray }}
            {{- if not (and $root.Values.nats.bundled (eq $key "NATS_PASSWORD")) }}
            - name: {{ $key }}
              valueFrom:
                secretKeyRef:
                  name: {{ include "aegis.secretName" $root }}
                  key: {{ $key }}
                  optional: true
            {{- end }}
            {{- end }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- if eq .probe "http" }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          {{- else }}
          startupProbe:
            tcpSocket:
              port: http
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            tcpSocket:
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            tcpSocket:
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if and $root.Values.nats.bundled $root.Values.nats.tls.secretName }}
            - name: nats-tls
              mountPath: /etc/aegis/nats-tls
              readOnly: true
            {{- end }}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if and $root.Values.nats.bundled $root.Values.nats.tls.secretName }}
        - name: nats-tls
          secret:
            secretName: {{ $root.Values.nats.tls.secretName }}
            items:
              - key: ca.crt
                path: ca.crt
        {{- end }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "aegis.selectorLabels" (list $root $c) | nindent 14 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "aegis.componentName" (list $root $c) }}
  labels:
    {{- include "aegis.componentLabels" (list $root $c) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "aegis.selectorLabels" (list $root $c) | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
{{- end }}
