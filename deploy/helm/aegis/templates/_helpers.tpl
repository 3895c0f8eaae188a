{{/*
Names, labels and the pieces every workload shares. The pod and container security settings live
here once, so no component can drift from them.
*/}}

{{- define "aegis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aegis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>; call with (list $ "component"). */}}
{{- define "aegis.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "aegis.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aegis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "aegis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aegis
{{- end }}

{{/* Labels of one component; call with (list $ "component"). */}}
{{- define "aegis.componentLabels" -}}
{{ include "aegis.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "aegis.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "aegis.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Selects every Aegis service pod of this release (the NATS clients, not NATS itself). */}}
{{- define "aegis.clientSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
aegis.io/nats-client: "true"
{{- end }}

{{- define "aegis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aegis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aegis.configMapName" -}}
{{- include "aegis.componentName" (list . "config") }}
{{- end }}

{{- define "aegis.secretName" -}}
{{- default (include "aegis.componentName" (list . "secrets")) .Values.existingSecret }}
{{- end }}

{{- define "aegis.image" -}}
{{- $root := index . 0 }}
{{- $img := $root.Values.image }}
{{- $repo := printf "%s%s" $img.repositoryPrefix (index . 1) }}
{{- if $img.registry }}
{{- $repo = printf "%s/%s" (trimSuffix "/" $img.registry) $repo }}
{{- end }}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $img.tag) }}
{{- end }}

{{/* NATS_URL: the bundled server's Service, or nats.url. */}}
{{- define "aegis.natsUrl" -}}
{{- if .Values.nats.bundled }}
{{- printf "nats://%s:4222" (include "aegis.componentName" (list . "nats")) }}
{{- else }}
{{- required "nats.url is required when nats.bundled is false (e.g. nats://nats.nats.svc:4222)" .Values.nats.url }}
{{- end }}
{{- end }}

{{/* AEGIS_STREAM_REPLICAS: nats.streamReplicas, else 3 in the bundled cluster, else 1. */}}
{{- define "aegis.streamReplicas" -}}
{{- if .Values.nats.streamReplicas }}
{{- .Values.nats.streamReplicas | int }}
{{- else if and .Values.nats.bundled .Values.nats.cluster.enabled }}
{{- 3 }}
{{- else }}
{{- 1 }}
{{- end }}
{{- end }}

{{/* The NATS monitoring endpoint KEDA polls. In a cluster KEDA asks the stream's leader by
prefixing its server name, so the bundled endpoint is the headless Service. */}}
{{- define "aegis.natsMonitoringEndpoint" -}}
{{- if .Values.nats.bundled }}
{{- printf "%s.%s.svc.cluster.local:8222" (include "aegis.componentName" (list . "nats-headless")) .Release.Namespace }}
{{- else }}
{{- required "nats.monitoringEndpoint is required for rcaWorker.keda with an external NATS (host:8222)" .Values.nats.monitoringEndpoint }}
{{- end }}
{{- end }}

{{/* Secret keys each service reads (its pydantic SecretStr settings); nothing else is mounted. */}}
{{- define "aegis.secretKeys" -}}
{{- $keys := dict
  "alert-ingest" (list "NATS_PASSWORD" "AEGIS_WEBHOOK_TOKEN")
  "gateway-feishu" (list "NATS_PASSWORD" "FEISHU_APP_SECRET" "FEISHU_VERIFICATION_TOKEN" "FEISHU_ENCRYPT_KEY")
  "notifier" (list "NATS_PASSWORD" "FEISHU_APP_SECRET")
  "rca-worker" (list "NATS_PASSWORD" "PROMETHEUS_AUTH_HEADER" "LOKI_AUTH_HEADER" "JAEGER_AUTH_HEADER" "DOUBAO_API_KEY")
}}
{{- index $keys . | toJson }}
{{- end }}

{{- /* The Secret keys holding the bundled NATS's per-service passwords (aegis.shared.nats_access). */ -}}
{{- define "aegis.natsPasswordKeys" -}}
{{- list "NATS_PASSWORD_ALERT_INGEST" "NATS_PASSWORD_GATEWAY_FEISHU" "NATS_PASSWORD_RCA_WORKER" "NATS_PASSWORD_NOTIFIER" "NATS_PASSWORD_OPERATOR" | toJson }}
{{- end }}

{{- /* The Secret key of `component`'s password on the bundled NATS. */ -}}
{{- define "aegis.natsPasswordKey" -}}
{{- printf "NATS_PASSWORD_%s" (. | upper | replace "-" "_") }}
{{- end }}

{{- define "aegis.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "aegis.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
