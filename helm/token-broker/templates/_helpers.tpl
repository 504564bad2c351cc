{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "token-broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of every resource: <release>-<chart> unless the release name already contains the chart name.
*/}}
{{- define "token-broker.fullname" -}}
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

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "token-broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "token-broker.labels" -}}
helm.sh/chart: {{ include "token-broker.chart" . }}
{{ include "token-broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the broker's pods (must never change between upgrades).
*/}}
{{- define "token-broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "token-broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
"true" when service.type publishes the Service outside the cluster (NodePort, LoadBalancer), empty otherwise. The
management port (health, metrics, the session admin API) is then left off that Service and put on a ClusterIP
Service of its own.
*/}}
{{- define "token-broker.serviceExposed" -}}
{{- if has (toString .Values.service.type) (list "NodePort" "LoadBalancer") }}true{{ end }}
{{- end }}

{{/*
Service that carries the management port: the broker's Service, or <fullname>-management when that one is exposed.
*/}}
{{- define "token-broker.managementServiceName" -}}
{{- if include "token-broker.serviceExposed" . }}
{{- printf "%s-management" (include "token-broker.fullname" . | trunc 52 | trimSuffix "-") }}
{{- else }}
{{- include "token-broker.fullname" . }}
{{- end }}
{{- end }}

{{/*
The broker's image: repository@digest when image.digest is set (the tag is then ignored), repository:tag otherwise.
*/}}
{{- define "token-broker.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
JDK_JAVA_OPTIONS of the broker container: the image's default (src/main/docker/Dockerfile.jvm), flag for flag and in
its order, with the jvm values in place of its figures, then jvm.extraOptions.
*/}}
{{- define "token-broker.jdkJavaOptions" -}}
{{- $jvm := .Values.jvm }}
{{- $options := list
  "-XX:+UseParallelGC"
  (printf "-XX:MaxRAMPercentage=%v" $jvm.maxRamPercentage)
  (printf "-Xms%v" $jvm.initialHeap)
  (printf "-Xmn%v" $jvm.youngGeneration)
  (printf "-XX:GCTimeRatio=%v" $jvm.gcTimeRatio)
  "-XX:MinHeapFreeRatio=10"
  "-XX:MaxHeapFreeRatio=20"
  "-XX:AdaptiveSizePolicyWeight=90"
  "-XX:+ExitOnOutOfMemoryError" }}
{{- with $jvm.extraOptions }}
{{- $options = append $options (trim .) }}
{{- end }}
{{- join " " $options }}
{{- end }}

{{/*
Labels that select the helm test pod, and only it: never the broker's selector labels, or the Service would route to
it. With the NetworkPolicy on, templates/tests/networkpolicy.yaml admits these to the management port while `helm test`
runs; the main NetworkPolicy never names them.
*/}}
{{- define "token-broker.testSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "token-broker.name" . | trunc 58 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
ServiceAccount the pods run as.
*/}}
{{- define "token-broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "token-broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Secret that holds client secrets, encryption keys and the Redis password: the chart's own or existingSecret.
*/}}
{{- define "token-broker.secretName" -}}
{{- default (include "token-broker.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Key of a client's secret in the Secret. Argument: the client name.
*/}}
{{- define "token-broker.clientSecretKey" -}}
{{- printf "client-%s-secret" . }}
{{- end }}

{{/*
The Secret items of every private_key_jwt client's keys, mounted as /etc/token-broker/client-keys/<name>-<i>.pem,
and of every tls_client_auth client's key and certificate, as <name>-tls.pem; empty when no client has one.
*/}}
{{- define "token-broker.clientKeyItems" -}}
{{- range $name, $c := .Values.clients }}
{{- if and (kindIs "map" $c) (eq (toString $c.authMethod) "private_key_jwt") (kindIs "slice" $c.privateKeys) }}
{{- range $i, $_ := $c.privateKeys }}
- key: {{ include "token-broker.clientPrivateKeyKey" (list $name $i) }}
  path: {{ printf "%s-%d.pem" $name $i }}
{{ end }}
{{- end }}
{{- if and (kindIs "map" $c) (eq (toString $c.authMethod) "tls_client_auth") }}
- key: {{ include "token-broker.clientTlsCertificateKey" $name }}
  path: {{ printf "%s-tls.pem" $name }}
{{ end }}
{{- end }}
{{- end }}

{{/*
Key of a tls_client_auth client's private key and certificate (one PEM) in the Secret.
*/}}
{{- define "token-broker.clientTlsCertificateKey" -}}
{{- printf "client-%s-tls-certificate" . }}
{{- end }}

{{/*
Key of a private_key_jwt client's private key in the Secret, from (list <client name> <index>).
*/}}
{{- define "token-broker.clientPrivateKeyKey" -}}
{{- printf "client-%s-private-key-%d" (index . 0) (index . 1) }}
{{- end }}

{{/*
Key of an encryption key in the Secret. Argument: the key id.
*/}}
{{- define "token-broker.encryptionKeySecretKey" -}}
{{- printf "encryption-key-%s" . }}
{{- end }}

{{/*
ConfigMap entries of one upstream's settings, from (dict "prefix" <env var prefix> "upstream" <its values> "caFile"
<path of its mounted CA bundle>): BROKER_UPSTREAM_* for upstream, BROKER_UPSTREAMS_<ID>_* for upstreams.<id>, the
same keys for both. Empty settings are left out (the broker's defaults apply); the proxy password is in the Secret.
*/}}
{{- define "token-broker.upstreamEnv" -}}
{{- $u := default dict .upstream }}
{{- $proxy := default dict $u.proxy }}
{{- with $u.issuer }}
{{ $.prefix }}_ISSUER: {{ . | quote }}
{{- end }}
{{- with $u.tokenEndpoint }}
{{ $.prefix }}_TOKEN_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with $u.revocationEndpoint }}
{{ $.prefix }}_REVOCATION_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with $u.connectTimeout }}
{{ $.prefix }}_CONNECT_TIMEOUT: {{ . | quote }}
{{- end }}
{{- with $u.readTimeout }}
{{ $.prefix }}_READ_TIMEOUT: {{ . | quote }}
{{- end }}
{{- with $u.allowedHosts }}
{{ $.prefix }}_ALLOWED_HOSTS: {{ join "," . | quote }}
{{- end }}
{{- if $u.caBundle }}
{{ $.prefix }}_TRUST_CERTIFICATES: {{ $.caFile }}
{{- end }}
{{- with $proxy.url }}
{{ $.prefix }}_PROXY_URL: {{ . | quote }}
{{- end }}
{{- with $proxy.username }}
{{ $.prefix }}_PROXY_USERNAME: {{ . | quote }}
{{- end }}
{{- with $proxy.nonProxyHosts }}
{{ $.prefix }}_PROXY_NON_PROXY_HOSTS: {{ join "," . | quote }}
{{- end }}
{{- end }}

{{/*
Key of a named upstream's CA bundle in the upstream-CA ConfigMap, and its file name under
/etc/token-broker/upstream-ca/. Argument: the upstream id. Not <id>.pem: the default's ca.pem would then be the
file of an upstream called ca.
*/}}
{{- define "token-broker.upstreamCaKey" -}}
{{- printf "%s-ca.pem" . }}
{{- end }}

{{/*
The upstream-CA ConfigMap's data: ca.pem for upstream.caBundle, <id>-ca.pem for each upstreams.<id>.caBundle; empty
when no upstream has a CA bundle (no ConfigMap, no volume).
*/}}
{{- define "token-broker.upstreamCaData" -}}
{{- with (default dict .Values.upstream).caBundle }}
ca.pem: {{ . | quote }}
{{- end }}
{{- range $id, $u := default dict .Values.upstreams }}
{{- if and (kindIs "map" $u) $u.caBundle }}
{{ include "token-broker.upstreamCaKey" $id }}: {{ $u.caBundle | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Key of a named upstream's proxy password in the Secret. Argument: the upstream id.
*/}}
{{- define "token-broker.upstreamProxyPasswordKey" -}}
{{- printf "upstream-%s-proxy-password" . }}
{{- end }}

{{/*
Upper-cased env var segment of a client name or key id, as SmallRye maps it (. and - become _).
*/}}
{{- define "token-broker.envSegment" -}}
{{- regexReplaceAll "[^A-Z0-9]" (upper .) "_" }}
{{- end }}

{{/*
Redis URLs (string or list) as one comma-separated string without blanks.
*/}}
{{- define "token-broker.redisHosts" -}}
{{- $urls := list }}
{{- if kindIs "slice" .Values.redis.url }}
{{- $urls = .Values.redis.url }}
{{- else if .Values.redis.url }}
{{- $urls = splitList "," (toString .Values.redis.url) }}
{{- end }}
{{- $clean := list }}
{{- range $urls }}
{{- if trim (toString .) }}
{{- $clean = append $clean (trim (toString .)) }}
{{- end }}
{{- end }}
{{- join "," $clean }}
{{- end }}

{{/*
Key id the broker writes new sessions with: encryptionKeyId, or the only key when there is exactly one.
*/}}
{{- define "token-broker.encryptionKeyId" -}}
{{- if .Values.session.encryptionKeyId }}
{{- .Values.session.encryptionKeyId }}
{{- else if eq (len (default dict .Values.session.encryptionKeys)) 1 }}
{{- keys .Values.session.encryptionKeys | first }}
{{- end }}
{{- end }}

{{/*
Smallest number of pods the release runs: autoscaling.minReplicas with autoscaling, replicaCount otherwise.
*/}}
{{- define "token-broker.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- int .Values.autoscaling.minReplicas }}
{{- else }}
{{- int .Values.replicaCount }}
{{- end }}
{{- end }}

{{/*
The OTLP collector's port: the one in tracing.endpoint, else the scheme's.
*/}}
{{- define "token-broker.tracingPort" -}}
{{- $url := urlParse .Values.tracing.endpoint }}
{{- if regexMatch ":[0-9]+$" $url.host }}
{{- regexFind "[0-9]+$" $url.host }}
{{- else if eq $url.scheme "https" }}443
{{- else }}80
{{- end }}
{{- end }}

{{/*
Egress ports of Redis for the NetworkPolicy, as YAML list items.
*/}}
{{- define "token-broker.redisPorts" -}}
{{- $ports := list }}
{{- if .Values.networkPolicy.redis.ports }}
{{- range .Values.networkPolicy.redis.ports }}
{{- $ports = append $ports (int .) }}
{{- end }}
{{- else }}
{{- $hosts := include "token-broker.redisHosts" . }}
{{- if $hosts }}
{{- range splitList "," $hosts }}
{{- $hostPort := (urlParse .).host }}
{{- if regexMatch ":[0-9]+$" $hostPort }}
{{- $ports = append $ports (int (regexFind "[0-9]+$" $hostPort)) }}
{{- else }}
{{- $ports = append $ports 6379 }}
{{- end }}
{{- end }}
{{- else }}
{{- $ports = append $ports 6379 }}
{{- end }}
{{- if eq (toString .Values.redis.clientType) "sentinel" }}
{{- $ports = append $ports 6379 }}
{{- end }}
{{- end }}
{{- range uniq $ports }}
- port: {{ . }}
  protocol: TCP
{{- end }}
{{- end }}

{{/*
Fails the render, listing every problem, when the values contradict each other or miss what the broker needs.
Called from the Deployment template.
*/}}
{{- define "token-broker.validateValues" -}}
{{- $errors := list }}
{{- $existing := .Values.existingSecret }}
{{- $namePattern := "^[a-z0-9]+$" }}

{{- /* Named upstreams; the default one (upstream) is checked after the clients, which decide whether it is needed */}}
{{- $upstreams := default dict .Values.upstreams }}
{{- if not (kindIs "map" $upstreams) }}
{{- $errors = append $errors "upstreams must be a map of upstream id to upstream settings" }}
{{- $upstreams = dict }}
{{- end }}
{{- /* null drops an upstream that an earlier values file defined */}}
{{- $presentUpstreams := dict }}
{{- range $id, $u := $upstreams }}
{{- if not (kindIs "invalid" $u) }}
{{- $_ := set $presentUpstreams $id $u }}
{{- end }}
{{- end }}
{{- $upstreams = $presentUpstreams }}
{{- range $id, $u := $upstreams }}
{{- if eq $id "default" }}
{{- $errors = append $errors "upstreams.default: the id default is reserved for the default upstream: put its settings under upstream, or choose another id" }}
{{- else if not (regexMatch $namePattern $id) }}
{{- $errors = append $errors (printf "upstreams.%s: upstream ids must be lower-case letters and digits only ([a-z0-9]+): the id becomes part of BROKER_UPSTREAMS_<ID>_*" $id) }}
{{- end }}
{{- if not (kindIs "map" $u) }}
{{- $errors = append $errors (printf "upstreams.%s must be a map with issuer or tokenEndpoint" $id) }}
{{- else if not (or $u.issuer $u.tokenEndpoint) }}
{{- $errors = append $errors (printf "upstreams.%s: set upstreams.%s.issuer (discovery) or upstreams.%s.tokenEndpoint" $id $id $id) }}
{{- end }}
{{- end }}

{{- /* Clients */}}
{{- $clients := default dict .Values.clients }}
{{- if not (kindIs "map" $clients) }}
{{- $errors = append $errors "clients must be a map of client name to client settings" }}
{{- $clients = dict }}
{{- end }}
{{- /* null drops a client that an earlier values file defined */}}
{{- $present := dict }}
{{- range $name, $c := $clients }}
{{- if not (kindIs "invalid" $c) }}
{{- $_ := set $present $name $c }}
{{- end }}
{{- end }}
{{- $clients = $present }}
{{- if eq (len $clients) 0 }}
{{- $errors = append $errors "clients: configure at least one client (clients.<name>.clientId, clientSecret, redirectUris)" }}
{{- end }}
{{- $clientIds := dict }}
{{- $onDefaultUpstream := list }}
{{- range $name, $c := $clients }}
{{- if not (regexMatch $namePattern $name) }}
{{- $errors = append $errors (printf "clients.%s: client names must be lower-case letters and digits only ([a-z0-9]+): the name becomes part of BROKER_CLIENTS_<NAME>_*" $name) }}
{{- end }}
{{- if not (kindIs "map" $c) }}
{{- $errors = append $errors (printf "clients.%s must be a map with clientId, clientSecret, redirectUris and authMethod" $name) }}
{{- else }}
{{- if not $c.clientId }}
{{- $errors = append $errors (printf "clients.%s.clientId is required" $name) }}
{{- else if hasKey $clientIds (toString $c.clientId) }}
{{- $errors = append $errors (printf "clients.%s.clientId '%s' is also used by clients.%s" $name (toString $c.clientId) (get $clientIds (toString $c.clientId))) }}
{{- else }}
{{- $_ := set $clientIds (toString $c.clientId) $name }}
{{- end }}
{{- if or (not $c.redirectUris) (not (kindIs "slice" $c.redirectUris)) }}
{{- $errors = append $errors (printf "clients.%s.redirectUris must list at least one redirect URI" $name) }}
{{- else }}
{{- range $c.redirectUris }}
{{- if or (not .) (contains "," (toString .)) }}
{{- $errors = append $errors (printf "clients.%s.redirectUris: '%v' must be a non-empty URI without commas" $name .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $c.upstream }}
{{- $onDefaultUpstream = append $onDefaultUpstream $name }}
{{- else if not (hasKey $upstreams (toString $c.upstream)) }}
{{- $errors = append $errors (printf "clients.%s.upstream '%s' names no entry of upstreams (%s): leave it unset to use the default upstream (upstream)" $name (toString $c.upstream) (keys $upstreams | sortAlpha | join ", " | default "none configured")) }}
{{- end }}
{{- if and (hasKey $c "maxSessionsPerUser") (not (kindIs "invalid" $c.maxSessionsPerUser)) (or (not (regexMatch "^[0-9]+$" (toString $c.maxSessionsPerUser))) (lt (int $c.maxSessionsPerUser) 1)) }}
{{- $errors = append $errors (printf "clients.%s.maxSessionsPerUser '%v' must be a whole number of at least 1 (leave it unset for no limit)" $name $c.maxSessionsPerUser) }}
{{- end }}
{{- if and $c.authMethod (not (has (toString $c.authMethod) (list "client_secret_basic" "client_secret_post" "private_key_jwt" "tls_client_auth"))) }}
{{- $errors = append $errors (printf "clients.%s.authMethod '%s' must be client_secret_basic, client_secret_post, private_key_jwt or tls_client_auth" $name (toString $c.authMethod)) }}
{{- end }}
{{- if and $c.tlsClientCertificate (ne (toString $c.authMethod) "tls_client_auth") }}
{{- $errors = append $errors (printf "clients.%s.tlsClientCertificate is used only with authMethod tls_client_auth" $name) }}
{{- end }}
{{- if and $c.clientSecret (has (toString $c.authMethod) (list "private_key_jwt" "tls_client_auth")) }}
{{- $errors = append $errors (printf "clients.%s.clientSecret is not sent with authMethod %s: remove it" $name (toString $c.authMethod)) }}
{{- end }}
{{- if eq (toString $c.authMethod) "tls_client_auth" }}
{{- if and $existing $c.tlsClientCertificate }}
{{- $errors = append $errors (printf "clients.%s.tlsClientCertificate is set but existingSecret '%s' is used: leave it empty and put the key and certificate under %s in that Secret" $name $existing (include "token-broker.clientTlsCertificateKey" $name)) }}
{{- else if and (not $existing) (not $c.tlsClientCertificate) }}
{{- $errors = append $errors (printf "clients.%s.tlsClientCertificate is required for authMethod tls_client_auth: the PEM text of the client's private key and certificate" $name) }}
{{- end }}
{{- if $c.privateKeys }}
{{- $errors = append $errors (printf "clients.%s.privateKeys is used only with authMethod private_key_jwt" $name) }}
{{- end }}
{{- else if eq (toString $c.authMethod) "private_key_jwt" }}
{{- if or (not $c.privateKeys) (not (kindIs "slice" $c.privateKeys)) }}
{{- $errors = append $errors (printf "clients.%s.privateKeys must list at least one private key for authMethod private_key_jwt" $name) }}
{{- else }}
{{- range $i, $key := $c.privateKeys }}
{{- if and $existing $key }}
{{- $errors = append $errors (printf "clients.%s.privateKeys[%d] is set but existingSecret '%s' is used: leave it empty and put the key under %s in that Secret" $name $i $existing (include "token-broker.clientPrivateKeyKey" (list $name $i))) }}
{{- else if and (not $existing) (not $key) }}
{{- $errors = append $errors (printf "clients.%s.privateKeys[%d] is empty: set it to the PEM or JWK text of a private key, or use existingSecret" $name $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- else if $c.privateKeys }}
{{- $errors = append $errors (printf "clients.%s.privateKeys is used only with authMethod private_key_jwt" $name) }}
{{- else if and $existing $c.clientSecret }}
{{- $errors = append $errors (printf "clients.%s.clientSecret is set but existingSecret '%s' is used: leave clientSecret empty and put it under key %s in that Secret" $name $existing (include "token-broker.clientSecretKey" $name)) }}
{{- else if and (not $existing) (not $c.clientSecret) }}
{{- $errors = append $errors (printf "clients.%s.clientSecret is required (or set existingSecret with key %s)" $name (include "token-broker.clientSecretKey" $name)) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* The default upstream: needed by every client that names no upstream */}}
{{- $defaultUpstream := default dict .Values.upstream }}
{{- if and $onDefaultUpstream (not (or $defaultUpstream.issuer $defaultUpstream.tokenEndpoint)) }}
{{- $errors = append $errors (printf "upstream: set upstream.issuer (discovery) or upstream.tokenEndpoint: clients without an upstream of their own use it (%s); or set clients.<name>.upstream to an entry of upstreams" (join ", " $onDefaultUpstream)) }}
{{- end }}

{{- /* Session admin API: all of issuer, jwksUri and audience, or none */}}
{{- $admin := default dict .Values.admin }}
{{- if and (or $admin.issuer $admin.jwksUri $admin.audience) (not (and $admin.issuer $admin.jwksUri $admin.audience)) }}
{{- $errors = append $errors "admin: set admin.issuer, admin.jwksUri and admin.audience together to enable the session admin API (or none of them: it stays off)" }}
{{- end }}

{{- /* Encryption keys */}}
{{- $keys := default dict .Values.session.encryptionKeys }}
{{- if not (kindIs "map" $keys) }}
{{- $errors = append $errors "session.encryptionKeys must be a map of key id to base64 key" }}
{{- $keys = dict }}
{{- end }}
{{- if eq (len $keys) 0 }}
{{- if $existing }}
{{- $errors = append $errors (printf "session.encryptionKeys: no encryption key id: list the key ids held by existingSecret '%s' with empty values, e.g. session.encryptionKeys: {k1: \"\"} for key encryption-key-k1" $existing) }}
{{- else }}
{{- $errors = append $errors "session.encryptionKeys: no encryption key: set session.encryptionKeys.<kid> to the base64 of 32 random bytes (openssl rand -base64 32), or use existingSecret" }}
{{- end }}
{{- end }}
{{- range $kid, $key := $keys }}
{{- if not (regexMatch $namePattern $kid) }}
{{- $errors = append $errors (printf "session.encryptionKeys.%s: key ids must be lower-case letters and digits only ([a-z0-9]+): the id becomes part of BROKER_SESSION_ENCRYPTION_KEYS_<KID>" $kid) }}
{{- end }}
{{- if $existing }}
{{- if $key }}
{{- $errors = append $errors (printf "session.encryptionKeys.%s is set but existingSecret '%s' is used: leave it empty and put the key under %s in that Secret" $kid $existing (include "token-broker.encryptionKeySecretKey" $kid)) }}
{{- end }}
{{- else if not $key }}
{{- $errors = append $errors (printf "session.encryptionKeys.%s is empty: no encryption key: set it to the base64 of 32 random bytes (openssl rand -base64 32), or use existingSecret" $kid) }}
{{- else if not (regexMatch "^[A-Za-z0-9+/]{43}=$" (trim (toString $key))) }}
{{- $errors = append $errors (printf "session.encryptionKeys.%s must be the base64 of 32 random bytes (44 characters, e.g. from openssl rand -base64 32)" $kid) }}
{{- end }}
{{- end }}
{{- $kid := .Values.session.encryptionKeyId }}
{{- if $kid }}
{{- if and (gt (len $keys) 0) (not (hasKey $keys (toString $kid))) }}
{{- $errors = append $errors (printf "session.encryptionKeyId '%s' names no key in session.encryptionKeys (%s)" (toString $kid) (keys $keys | sortAlpha | join ", ")) }}
{{- end }}
{{- else if gt (len $keys) 1 }}
{{- $errors = append $errors (printf "session.encryptionKeyId is required when several encryption keys are configured (%s)" (keys $keys | sortAlpha | join ", ")) }}
{{- end }}

{{- /* Redis */}}
{{- $hosts := include "token-broker.redisHosts" . }}
{{- $clientType := toString .Values.redis.clientType }}
{{- if not (has $clientType (list "standalone" "sentinel" "cluster")) }}
{{- $errors = append $errors (printf "redis.clientType '%s' must be standalone, sentinel or cluster" $clientType) }}
{{- end }}
{{- if and (eq $clientType "sentinel") (not .Values.redis.masterName) }}
{{- $errors = append $errors "redis.masterName is required with redis.clientType sentinel (the sentinels' master set, e.g. mymaster)" }}
{{- end }}
{{- if and .Values.redis.masterName (ne $clientType "sentinel") }}
{{- $errors = append $errors (printf "redis.masterName is only used with redis.clientType sentinel, not %s" $clientType) }}
{{- end }}
{{- if and (ne $clientType "standalone") (not $hosts) }}
{{- $errors = append $errors (printf "redis.url is required with redis.clientType %s" $clientType) }}
{{- end }}
{{- if $hosts }}
{{- range splitList "," $hosts }}
{{- if not (regexMatch "^rediss?://[^/]+" .) }}
{{- $errors = append $errors (printf "redis.url: '%s' must be a redis:// or rediss:// URL with a host" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (not $hosts) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- $errors = append $errors "redis.url is required when replicaCount > 1 or autoscaling is enabled: the replicas share sessions and refresh locks through Redis" }}
{{- end }}
{{- if and $existing .Values.redis.password }}
{{- $errors = append $errors (printf "redis.password is set but existingSecret '%s' is used: leave it empty and put it under key redis-password in that Secret" $existing) }}
{{- end }}

{{- /* Authorization requests */}}
{{- if and .Values.ingress.enabled (gt (int .Values.authorizationRequests.perAddress) 0) (empty .Values.rateLimit.trustedProxies) }}
{{- $errors = append $errors "authorizationRequests.perAddress would count every login under the ingress controller's address: list the addresses it connects from in rateLimit.trustedProxies (e.g. [10.0.0.0/8]), or set authorizationRequests.perAddress to 0" }}
{{- end }}

{{- /* Scaling */}}
{{- if .Values.autoscaling.enabled }}
{{- if lt (int .Values.autoscaling.minReplicas) 1 }}
{{- $errors = append $errors "autoscaling.minReplicas must be at least 1" }}
{{- end }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}

{{- /* Tracing */}}
{{- if and .Values.tracing.enabled (not (regexMatch "^https?://[^/]+" (toString .Values.tracing.endpoint))) }}
{{- $errors = append $errors "tracing.endpoint is required when tracing.enabled: the OTLP collector's http:// or https:// URL, e.g. http://otel-collector.monitoring:4317" }}
{{- end }}

{{- if $errors }}
{{- fail (printf "\n\ntoken-broker: invalid values:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
