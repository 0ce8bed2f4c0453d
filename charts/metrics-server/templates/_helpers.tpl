{{/* The chart's name, 63 characters at most (a DNS label). */}}
{{- define "metrics-server.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name when it already holds the chart's name. */}}
{{- define "metrics-server.fullname" -}}
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

{{- define "metrics-server.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace }}
{{- end }}

{{- define "metrics-server.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-server.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "metrics-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "metrics-server.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "metrics-server.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "metrics-server.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "metrics-server.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}

{{/* The Secret holding tls.crt and tls.key, for every tls.type but metrics-server. */}}
{{- define "metrics-server.tlsSecretName" -}}
{{- if eq .Values.tls.type "existingSecret" }}
{{- .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "metrics-server.fullname" .) }}
{{- end }}
{{- end }}

{{/*
"true" when the server itself writes its CA into the APIService (--manage-apiservice-ca-bundle):
its own certificate, and verification asked for.
*/}}
{{- define "metrics-server.managesCABundle" -}}
{{- if and .Values.apiService.create (eq .Values.tls.type "metrics-server") (not .Values.apiService.insecureSkipTLSVerify) }}true{{ end }}
{{- end }}

{{/* Combinations that cannot work fail the render with a message naming the values. */}}
{{- define "metrics-server.validate" -}}
{{- if include "metrics-server.managesCABundle" . }}
{{- if gt (int .Values.replicas) 1 }}
{{- fail "apiService.insecureSkipTLSVerify=false with tls.type=metrics-server needs replicas: 1: each replica signs its own CA and the APIService holds only one. For more replicas use tls.type helm, cert-manager or existingSecret." }}
{{- end }}
{{- if or (ne (include "metrics-server.fullname" .) "metrics-server") (ne (include "metrics-server.namespace" .) "kube-system") }}
{{- fail (printf "apiService.insecureSkipTLSVerify=false with tls.type=metrics-server needs the name metrics-server in kube-system (got %s in %s): the server's own certificate names only metrics-server.kube-system.svc. Use tls.type helm, cert-manager or existingSecret." (include "metrics-server.fullname" .) (include "metrics-server.namespace" .)) }}
{{- end }}
{{- end }}
{{- if and (eq .Values.tls.type "existingSecret") (not .Values.tls.existingSecret.name) }}
{{- fail "tls.type=existingSecret needs tls.existingSecret.name" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "serviceMonitor.enabled needs metrics.enabled: without it /metrics asks for authorization the ServiceMonitor does not have" }}
{{- end }}
{{- if and .Values.hostNetwork.enabled (eq (int .Values.containerPort) 10250) }}
{{- fail "hostNetwork.enabled needs another containerPort than 10250: on the node's network that is the kubelet's port (e.g. containerPort: 4443)" }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (the API accepts one)" }}
{{- end }}
{{- if and .Values.addonResizer.enabled (gt (int .Values.replicas) 1) }}
{{- fail "addonResizer.enabled needs replicas: 1: addon-resizer sizes a single pod (see its README in kubernetes/autoscaler)" }}
{{- end }}
{{- end }}
