{{/* The four apps of an installation; each gets its own Deployment. */}}
{{- define "infrabox.apps" -}}
api registry scheduler output-forwarder
{{- end -}}

{{- define "infrabox.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release name, prefixed with the chart name unless it already contains it; leaves room for "-output-forwarder". */}}
{{- define "infrabox.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 46 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "infrabox.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "infrabox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "infrabox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "infrabox.labels" -}}
helm.sh/chart: {{ include "infrabox.chart" . }}
{{ include "infrabox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: infrabox
{{- end -}}

{{/* The ServiceAccount of one app (dict "root" $ "app" name): `<fullname>-<app>`, or serviceAccount.name for every app when the chart creates none. */}}
{{- define "infrabox.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- printf "%s-%s" (include "infrabox.fullname" .root) .app -}}
{{- else -}}
{{- default "default" .root.Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "infrabox.secretName" -}}
{{- default (printf "%s-secrets" (include "infrabox.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "infrabox.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A copy of a mapping without the given keys and without empty-string or null values. */}}
{{- define "infrabox.compact" -}}
{{- $out := dict -}}
{{- range $key, $value := .map -}}
{{- if and (not (has $key $.drop)) (not (kindIs "invalid" $value)) (not (and (kindIs "string" $value) (eq $value ""))) -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Fails the render on values the apps cannot run with in Kubernetes. */}}
{{- define "infrabox.validate" -}}
{{- if not .Values.host -}}
{{- fail "host: required (this cluster's API root, reachable by every other cluster)" -}}
{{- end -}}
{{- if not .Values.database.postgres.enabled -}}
{{- fail "database.postgres.enabled: must be true (all replicas and clusters share one PostgreSQL)" -}}
{{- end -}}
{{- range $field := list "host" "db" "username" -}}
{{- if not (get $.Values.database.postgres $field) -}}
{{- fail (printf "database.postgres.%s: required" $field) -}}
{{- end -}}
{{- end -}}
{{- $enabled := list -}}
{{- range $backend := list "s3" "gcs" -}}
{{- if (get $.Values.storage $backend | default dict).enabled -}}
{{- $enabled = append $enabled $backend -}}
{{- end -}}
{{- end -}}
{{- if ne (len $enabled) 1 -}}
{{- fail (printf "storage: exactly one of s3 and gcs must be enabled, found %d (pods do not share a local folder)" (len $enabled)) -}}
{{- end -}}
{{- $worker := and .Values.cluster .Values.cluster.name (ne .Values.cluster.name "master") -}}
{{- if and $worker (or .Values.auth.admins .Values.auth.oidc.issuer) -}}
{{- fail (printf "auth.%s: users log in at the master only; leave it out of cluster '%s' (its api accepts the master's user tokens)" (ternary "oidc" "admins" (not (empty .Values.auth.oidc.issuer))) .Values.cluster.name) -}}
{{- end -}}
{{- if and .Values.auth.oidc.issuer (not .Values.auth.oidc.clientId) -}}
{{- fail "auth.oidc.clientId: required with auth.oidc.issuer" -}}
{{- end -}}
{{- if not (has .Values.scheduler.executor (list "kubernetes" "process")) -}}
{{- fail (printf "scheduler.executor: expected kubernetes or process, got %q" (toString .Values.scheduler.executor)) -}}
{{- end -}}
{{- if not (has (toString .Values.dockerRegistry.storage) (list "" "filesystem")) -}}
{{- fail (printf "dockerRegistry.storage: expected \"\" (this cluster's storage) or filesystem, got %q" (toString .Values.dockerRegistry.storage)) -}}
{{- end -}}
{{- if and (eq .Values.dockerRegistry.storage "filesystem") (gt (int .Values.dockerRegistry.replicas) 1) -}}
{{- fail "dockerRegistry.replicas: must be 1 with dockerRegistry.storage filesystem (replicas do not share a folder)" -}}
{{- end -}}
{{- range $name, $_ := .Values.replicas -}}
{{- if not (has $name (splitList " " (include "infrabox.apps" $))) -}}
{{- fail (printf "replicas.%s: unknown app (expected api, registry, scheduler or output-forwarder)" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The install configuration without secrets: the values' host, cluster, database, storage,
scheduler and ha, the registry (dockerRegistry.url, the api's mounted signing key), the token signing key (mounted into every app), plus extraConfig. Secret fields come from the Secret through env vars (see infrabox.secretEnv).
*/}}
{{- define "infrabox.config" -}}
{{- include "infrabox.validate" . -}}
{{- $config := dict "host" .Values.host -}}
{{- $cluster := include "infrabox.compact" (dict "map" (.Values.cluster | default dict) "drop" list) | fromYaml -}}
{{- if $cluster -}}
{{- $_ := set $config "cluster" $cluster -}}
{{- end -}}
{{- $postgres := include "infrabox.compact" (dict "map" .Values.database.postgres "drop" (list "password")) | fromYaml -}}
{{- if .Values.pgbouncer.enabled -}}
{{- $_ := set $postgres "pooler" (dict "host" (printf "%s-pgbouncer" (include "infrabox.fullname" .)) "port" 6432) -}}
{{- end -}}
{{- $_ := set $config "database" (dict "postgres" $postgres) -}}
{{- $storage := dict -}}
{{- if .Values.storage.s3.enabled -}}
{{- $_ := set $storage "s3" (include "infrabox.compact" (dict "map" .Values.storage.s3 "drop" (list "access_key_id" "secret_access_key")) | fromYaml) -}}
{{- else -}}
{{- $_ := set $storage "gcs" (include "infrabox.compact" (dict "map" .Values.storage.gcs "drop" (list "service_account")) | fromYaml) -}}
{{- end -}}
{{- $_ := set $config "storage" $storage -}}
{{- $_ := set $config "scheduler" (include "infrabox.schedulerConfig" . | fromYaml) -}}
{{- $_ := set $config "registry" (dict "url" (include "infrabox.registryUrl" .) "signing_key" (printf "%s/signing-key.pem" (include "infrabox.registryKeyMountPath" .))) -}}
{{- $auth := dict "signing_key" (printf "%s/token-key.pem" (include "infrabox.tokenKeyMountPath" .)) -}}
{{- with .Values.auth.admins -}}
{{- $_ := set $auth "admins" . -}}
{{- end -}}
{{- with .Values.auth.oidc -}}
{{- if .issuer -}}
{{- $oidc := dict "issuer" .issuer "client_id" .clientId "username_claim" .usernameClaim "scopes" .scopes -}}
{{- if .clientSecret.existingSecret -}}
{{- $_ := set $oidc "client_secret_file" (printf "%s/client-secret" (include "infrabox.oidcSecretMountPath" $)) -}}
{{- end -}}
{{- $_ := set $auth "oidc" $oidc -}}
{{- end -}}
{{- end -}}
{{- $_ := set $config "auth" $auth -}}
{{- with include "infrabox.compact" (dict "map" (.Values.ha | default dict) "drop" list) | fromYaml -}}
{{- $_ := set $config "ha" . -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config (deepCopy (.Values.extraConfig | default dict))) -}}
{{- end -}}

{{/*
The secrets of the enabled sections: env var → [key in the Secret, value from the values (used
when the chart creates the Secret), optional when the Secret is an existing one]. The env var
names are the ones libs/config reads to replace a secret of the YAML.
*/}}
{{- define "infrabox.secretEntries" -}}
{{- $keys := .Values.secrets.keys -}}
{{- $entries := dict -}}
{{- $_ := set $entries "INFRABOX_DATABASE_PASSWORD" (list $keys.databasePassword .Values.database.postgres.password false) -}}
{{- if .Values.storage.s3.enabled -}}
{{- $_ := set $entries "INFRABOX_STORAGE_S3_ACCESS_KEY_ID" (list $keys.s3AccessKeyId .Values.storage.s3.access_key_id true) -}}
{{- $_ := set $entries "INFRABOX_STORAGE_S3_SECRET_ACCESS_KEY" (list $keys.s3SecretAccessKey .Values.storage.s3.secret_access_key true) -}}
{{- end -}}
{{- if .Values.storage.gcs.enabled -}}
{{- $_ := set $entries "INFRABOX_STORAGE_GCS_SERVICE_ACCOUNT" (list $keys.gcsServiceAccount .Values.storage.gcs.service_account true) -}}
{{- end -}}
{{- toYaml $entries -}}
{{- end -}}

{{/* env entries reading every secret from the Secret (secretKeyRef), never from plain values. */}}
{{- define "infrabox.secretEnv" -}}
{{- $secretName := include "infrabox.secretName" . -}}
{{- $existing := .Values.secrets.existingSecret -}}
{{- range $envName, $entry := include "infrabox.secretEntries" . | fromYaml -}}
{{- $key := index $entry 0 -}}
{{- $value := index $entry 1 -}}
{{- if or $existing $value }}
- name: {{ $envName }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $key }}
      {{- if and $existing (index $entry 2) }}
      optional: true
      {{- end }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The apps' env: log level, then the secrets. */}}
{{- define "infrabox.env" -}}
{{- with .Values.logLevel }}
- name: INFRABOX_LOG_LEVEL
  value: {{ . | quote }}
{{- end }}
{{- include "infrabox.secretEnv" . }}
{{- end -}}

{{/* The scheduler section: Kubernetes Jobs in this namespace through the pods' service account. */}}
{{- define "infrabox.schedulerConfig" -}}
{{- if eq .Values.scheduler.executor "kubernetes" -}}
{{- $k8s := include "infrabox.compact" (dict "map" (.Values.scheduler.kubernetes | default dict) "drop" list) | fromYaml -}}
{{- $_ := set $k8s "in_cluster" true -}}
{{- $_ := set $k8s "namespace" ($k8s.namespace | default .Release.Namespace) -}}
{{- $_ := set $k8s "helper_image" ($k8s.helper_image | default (include "infrabox.image" .)) -}}
{{- toYaml (dict "executor" "kubernetes" "kubernetes" $k8s) -}}
{{- else -}}
{{- toYaml (dict "executor" .Values.scheduler.executor) -}}
{{- end -}}
{{- end -}}

{{/* Seconds Kubernetes waits after SIGTERM: the apps' own shutdown grace plus time to leave. */}}
{{- define "infrabox.terminationGracePeriodSeconds" -}}
{{- $appGrace := float64 ((.Values.ha | default dict).shutdown_grace_seconds | default 30) -}}
{{- $podGrace := float64 (.Values.terminationGracePeriodSeconds | default 0) -}}
{{- if eq $podGrace 0.0 -}}
{{- add (ceil $appGrace) 30 -}}
{{- else if le $podGrace $appGrace -}}
{{- fail (printf "terminationGracePeriodSeconds: must be above ha.shutdown_grace_seconds (%v), or pods are killed before they hand back their work" $appGrace) -}}
{{- else -}}
{{- ceil $podGrace | int -}}
{{- end -}}
{{- end -}}


{{/* `host` as the apps read it: its origin, https when it names no scheme. */}}
{{- define "infrabox.apiUrl" -}}
{{- $url := .Values.host -}}
{{- if not (contains "://" $url) }}{{ $url = printf "https://%s" $url }}{{ end -}}
{{- $parsed := urlParse $url -}}
{{- printf "%s://%s" (lower $parsed.scheme) $parsed.host -}}
{{- end -}}

{{/* Where engines, kubelets and other clusters reach this cluster's registry: dockerRegistry.url, else host (the Ingress routes /v2/ there). */}}
{{- define "infrabox.registryUrl" -}}
{{- if .Values.dockerRegistry.url -}}
{{- $parsed := urlParse .Values.dockerRegistry.url -}}
{{- printf "%s://%s" (lower $parsed.scheme) $parsed.host -}}
{{- else -}}
{{- include "infrabox.apiUrl" . -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the registry token signing key (signing-key.pem, for the api) and its certificate (signing-key.crt, for the registry). */}}
{{- define "infrabox.registryKeySecretName" -}}
{{- default (printf "%s-registry-key" (include "infrabox.fullname" .)) .Values.dockerRegistry.signingKey.existingSecret -}}
{{- end -}}

{{/* The Secret with the cluster's token signing key (token-key.pem, PKCS#8 Ed25519), mounted into every app. */}}
{{- define "infrabox.tokenKeySecretName" -}}
{{- default (printf "%s-token-key" (include "infrabox.fullname" .)) .Values.auth.signingKey.existingSecret -}}
{{- end -}}

{{/* Where every app finds the token signing key: auth.signing_key of its config is token-key.pem in there. */}}
{{- define "infrabox.tokenKeyMountPath" -}}
/etc/infrabox-token-key
{{- end -}}

{{/* Where the api finds the OpenID client's secret (auth.oidc.clientSecret.existingSecret): client-secret in there. */}}
{{- define "infrabox.oidcSecretMountPath" -}}
/etc/infrabox-oidc
{{- end -}}

{{/* Where the api finds the signing key: registry.signing_key of its config is signing-key.pem in there. */}}
{{- define "infrabox.registryKeyMountPath" -}}
/etc/infrabox-registry-key
{{- end -}}

{{/*
The config.yml of this cluster's CNCF distribution registry, by the rules renderRegistryConfig
(libs/config) follows for a local registry: this cluster's storage under /registry of the bucket
(or dockerRegistry.storage filesystem), delete enabled, JSON logs, and the api as token service
(realm its /api/v1/registry/token, service and issuer the cluster's name, the certificate of the
api's signing key). Secrets come from the environment (REGISTRY_STORAGE_S3_ACCESSKEY, …).
*/}}
{{- define "infrabox.registryConfig" -}}
{{- $cluster := .Values.cluster.name | default "master" -}}
{{- $driver := dict -}}
{{- if eq .Values.dockerRegistry.storage "filesystem" -}}
{{- $_ := set $driver "filesystem" (dict "rootdirectory" "/var/lib/registry") -}}
{{- else if .Values.storage.s3.enabled -}}
{{- $s3 := dict "bucket" .Values.storage.s3.bucket "region" (.Values.storage.s3.region | default "us-east-1") "rootdirectory" "/registry" -}}
{{- with .Values.storage.s3.endpoint }}{{ $_ := set $s3 "regionendpoint" . }}{{ end -}}
{{- $_ := set $driver "s3" $s3 -}}
{{- else -}}
{{- $_ := set $driver "gcs" (dict "bucket" .Values.storage.gcs.bucket "rootdirectory" "/registry") -}}
{{- end -}}
{{- $_ := set $driver "delete" (dict "enabled" true) -}}
{{- $token := dict
  "realm" (printf "%s/api/v1/registry/token" (include "infrabox.apiUrl" .))
  "service" $cluster
  "issuer" $cluster
  "rootcertbundle" "/etc/docker/registry-auth/signing-key.crt" -}}
{{- toYaml (dict
  "version" 0.1
  "log" (dict "level" "info" "formatter" "json" "fields" (dict "service" "registry" "cluster" $cluster))
  "storage" $driver
  "http" (dict "addr" ":5000")
  "auth" (dict "token" $token)) -}}
{{- end -}}

{{/* The registry's env: the S3 keys from the apps' Secret, the HTTP secret its replicas share. */}}
{{- define "infrabox.registryEnv" -}}
{{- $secretName := include "infrabox.secretName" . -}}
{{- $existing := .Values.secrets.existingSecret -}}
{{- if and .Values.storage.s3.enabled (ne .Values.dockerRegistry.storage "filesystem") -}}
{{- $keys := .Values.secrets.keys -}}
{{- range $env, $entry := dict "REGISTRY_STORAGE_S3_ACCESSKEY" (list $keys.s3AccessKeyId $.Values.storage.s3.access_key_id) "REGISTRY_STORAGE_S3_SECRETKEY" (list $keys.s3SecretAccessKey $.Values.storage.s3.secret_access_key) }}
{{- if or $existing (index $entry 1) }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ index $entry 0 }}
      {{- if $existing }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
{{- end }}
- name: REGISTRY_HTTP_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "infrabox.registryKeySecretName" . }}
      key: http-secret
      optional: true
{{- end -}}
