{{/* Chart name, overridable. */}}
{{- define "todo.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: <release>-todo, or the release name when it contains the chart name. */}}
{{- define "todo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := .Values.nameOverride | default .Chart.Name }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "todo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource. */}}
{{- define "todo.labels" -}}
helm.sh/chart: {{ include "todo.chart" . }}
{{ include "todo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: todo
{{- end }}

{{- define "todo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "web"). */}}
{{- define "todo.componentSelectorLabels" -}}
{{ include "todo.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "todo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "todo.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{- define "todo.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Name of the Secret holding the application secrets. */}}
{{- define "todo.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "todo.fullname" .)) }}
{{- end }}

{{- define "todo.apiTokenSecretName" -}}
{{- .Values.dapr.apiToken.existingSecret | default (printf "%s-dapr-api-token" (include "todo.fullname" .)) }}
{{- end }}

{{- define "todo.appTokenSecretName" -}}
{{- .Values.dapr.appToken.existingSecret | default (printf "%s-dapr-app-token" (include "todo.fullname" .)) }}
{{- end }}

{{- define "todo.redisName" -}}
{{- printf "%s-redis" (include "todo.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo.zipkinName" -}}
{{- printf "%s-zipkin" (include "todo.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* host:port of the Redis used by the state store. */}}
{{- define "todo.redisHost" -}}
{{- if .Values.dapr.statestore.redis.host }}
{{- .Values.dapr.statestore.redis.host }}
{{- else if .Values.redis.enabled }}
{{- printf "%s:6379" (include "todo.redisName" .) }}
{{- else }}
{{- fail "dapr.statestore.redis.host is required when redis.enabled is false" }}
{{- end }}
{{- end }}

{{/* Kafka bootstrap brokers. */}}
{{- define "todo.kafkaBrokers" -}}
{{- if .Values.dapr.pubsub.brokers }}
{{- .Values.dapr.pubsub.brokers }}
{{- else if .Values.kafka.strimzi.enabled }}
{{- printf "%s-kafka-bootstrap:9092" .Values.kafka.strimzi.clusterName }}
{{- else }}
{{- fail "dapr.pubsub.brokers is required when kafka.strimzi.enabled is false" }}
{{- end }}
{{- end }}

{{/* Zipkin span endpoint for the Dapr Configuration. */}}
{{- define "todo.zipkinEndpoint" -}}
{{- if .Values.dapr.configuration.tracing.zipkinEndpoint }}
{{- .Values.dapr.configuration.tracing.zipkinEndpoint }}
{{- else if .Values.zipkin.enabled }}
{{- printf "http://%s.%s.svc.cluster.local:9411/api/v2/spans" (include "todo.zipkinName" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Comma-separated ALLOWED_HOSTS (the pod IP is appended by the Deployments). */}}
{{- define "todo.allowedHosts" -}}
{{- $fullname := include "todo.fullname" . }}
{{- $hosts := list "localhost" "127.0.0.1" $fullname (printf "%s.%s.svc" $fullname .Release.Namespace) (printf "%s.%s.svc.cluster.local" $fullname .Release.Namespace) }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- end }}
{{- range .Values.config.extraAllowedHosts }}
{{- $hosts = append $hosts . }}
{{- end }}
{{- join "," (uniq $hosts) }}
{{- end }}

{{/* Comma-separated CSRF_TRUSTED_ORIGINS derived from the ingress hosts. */}}
{{- define "todo.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- if .Values.ingress.enabled }}
{{- $scheme := ternary "https" "http" (gt (len .Values.ingress.tls) 0) }}
{{- range .Values.ingress.hosts }}
{{- $origins = append $origins (printf "%s://%s" $scheme .host) }}
{{- end }}
{{- end }}
{{- range .Values.config.extraCsrfTrustedOrigins }}
{{- $origins = append $origins . }}
{{- end }}
{{- join "," (uniq $origins) }}
{{- end }}

{{/* Non-secret settings shared by the ConfigMap and the migration hook. */}}
{{- define "todo.configData" -}}
DEBUG: {{ .Values.config.debug | quote }}
CSRF_TRUSTED_ORIGINS: {{ include "todo.csrfTrustedOrigins" . | quote }}
TIME_ZONE: {{ .Values.config.timeZone | quote }}
SITE_URL: {{ .Values.config.siteUrl | default (first (splitList "," (include "todo.csrfTrustedOrigins" .))) | quote }}
LOG_FORMAT: {{ .Values.config.logFormat | quote }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
SECURE_COOKIES: {{ .Values.config.secureCookies | quote }}
SECURE_HSTS_SECONDS: {{ .Values.config.hstsSeconds | int | quote }}
SECURE_SSL_REDIRECT: {{ .Values.config.sslRedirect | quote }}
OUTBOX_RETENTION_DAYS: {{ .Values.config.outboxRetentionDays | int | quote }}
JWT_ALGORITHM: {{ .Values.config.jwt.algorithm | quote }}
JWT_ISSUER: {{ .Values.config.jwt.issuer | quote }}
JWT_AUDIENCE: {{ .Values.config.jwt.audience | quote }}
JWT_ACCESS_TTL_SECONDS: {{ .Values.config.jwt.accessTtlSeconds | int | quote }}
JWT_REFRESH_TTL_SECONDS: {{ .Values.config.jwt.refreshTtlSeconds | int | quote }}
EMAIL_HOST: {{ .Values.config.email.host | quote }}
EMAIL_PORT: {{ .Values.config.email.port | int | quote }}
EMAIL_HOST_USER: {{ .Values.config.email.user | quote }}
EMAIL_USE_TLS: {{ .Values.config.email.useTls | quote }}
DEFAULT_FROM_EMAIL: {{ .Values.config.email.defaultFrom | quote }}
EVENT_BACKEND: {{ ternary "dapr" "local" .Values.dapr.enabled | quote }}
RUN_EMBEDDED_WORKER: "false"
DAPR_PUBSUB_NAME: {{ .Values.dapr.pubsub.name | quote }}
DAPR_STATESTORE_NAME: {{ .Values.dapr.statestore.name | quote }}
WORKER_HOST: "0.0.0.0"
WORKER_PORT: {{ .Values.worker.port | int | quote }}
WORKER_CONCURRENCY: {{ .Values.worker.concurrency | int | quote }}
HANDLER_MAX_ATTEMPTS: {{ .Values.worker.handlerMaxAttempts | int | quote }}
REMINDER_JOB_RETRY_SECONDS: {{ .Values.worker.reminderJobs.retrySeconds | int | quote }}
REMINDER_JOB_MAX_RETRIES: {{ .Values.worker.reminderJobs.maxRetries | int | quote }}
DATA_DIR: "/tmp/data"
PYTHONDONTWRITEBYTECODE: "1"
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
A secret value: the one given in values, else the one already stored in the cluster
(so generated values survive upgrades), else a random one.
Call with (dict "root" $ "value" .Values.secrets.secretKey "key" "SECRET_KEY" "secret" "<name>").
*/}}
{{- define "todo.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- $stored := "" }}
{{- if $existing }}
{{- $stored = index ($existing.data | default dict) .key | default "" | b64dec }}
{{- end }}
{{- .value | default $stored | default (randAlphaNum 50) }}
{{- end }}

{{/* Environment shared by the web and worker containers. */}}
{{- define "todo.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ALLOWED_HOSTS
  value: {{ printf "%s,$(POD_IP)" (include "todo.allowedHosts" .) | quote }}
{{ include "todo.secretEnv" . }}
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/0" (include "todo.redisName" .) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.secretName" . }}
      key: REDIS_URL
{{- end }}
- name: EMAIL_HOST_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.secretName" . }}
      key: EMAIL_HOST_PASSWORD
      optional: true
{{- if and .Values.dapr.enabled .Values.dapr.apiToken.enabled }}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.apiTokenSecretName" . }}
      key: token
{{- end }}
{{- end }}

{{/* Secrets every process needs, migrations included. */}}
{{- define "todo.secretEnv" -}}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.secretName" . }}
      key: SECRET_KEY
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.secretName" . }}
      key: DATABASE_URL
- name: JWT_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "todo.secretName" . }}
      key: JWT_SIGNING_KEY
      optional: true
{{- end }}

{{/* Dapr annotations common to both Deployments; call with (dict "root" $ "appId" "..."). */}}
{{- define "todo.daprAnnotations" -}}
dapr.io/enabled: "true"
dapr.io/app-id: {{ .appId | quote }}
dapr.io/config: {{ .root.Values.dapr.configuration.name | quote }}
dapr.io/log-level: {{ .root.Values.dapr.logLevel | quote }}
dapr.io/log-as-json: {{ .root.Values.dapr.logAsJson | quote }}
dapr.io/enable-metrics: {{ .root.Values.dapr.enableMetrics | quote }}
dapr.io/metrics-port: {{ .root.Values.dapr.metricsPort | int | quote }}
dapr.io/sidecar-seccomp-profile-type: "RuntimeDefault"
dapr.io/graceful-shutdown-seconds: {{ .root.Values.dapr.gracefulShutdownSeconds | int | quote }}
dapr.io/sidecar-cpu-request: {{ .root.Values.dapr.sidecarResources.cpuRequest | quote }}
dapr.io/sidecar-memory-request: {{ .root.Values.dapr.sidecarResources.memoryRequest | quote }}
dapr.io/sidecar-cpu-limit: {{ .root.Values.dapr.sidecarResources.cpuLimit | quote }}
dapr.io/sidecar-memory-limit: {{ .root.Values.dapr.sidecarResources.memoryLimit | quote }}
{{- if .root.Values.dapr.apiToken.enabled }}
dapr.io/api-token-secret: {{ include "todo.apiTokenSecretName" .root | quote }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget spec body; call with the component's pdb values. */}}
{{- define "todo.pdbBudget" -}}
{{- if not (eq (toString .minAvailable) "") }}
minAvailable: {{ .minAvailable }}
{{- else }}
maxUnavailable: {{ .maxUnavailable }}
{{- end }}
{{- end }}

{{/* The web container's command (the Dockerfile's CMD is the same with the default ports). */}}
{{- define "todo.webArgs" -}}
- daphne
- --bind
- 0.0.0.0
- --port
- {{ .Values.web.port | int | quote }}
- --endpoint
- {{ printf "tcp:port=%d:interface=0.0.0.0" (.Values.web.metricsPort | int) | quote }}
- --proxy-headers
- todo_project.asgi:application
{{- end }}
