{{/*
The chart's name, cut to 63 characters (the limit of a DNS label and of a label value).
*/}}
{{- define "kube-mcp-router.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: `<release>-<chart>`, or `<release>` when it already contains the chart's
name; cut to 63 characters.
*/}}
{{- define "kube-mcp-router.fullname" -}}
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
`<chart>-<version>` for the helm.sh/chart label.
*/}}
{{- define "kube-mcp-router.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the release.
*/}}
{{- define "kube-mcp-router.labels" -}}
helm.sh/chart: {{ include "kube-mcp-router.chart" . }}
{{ include "kube-mcp-router.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-mcp-router
{{- end }}

{{/*
Labels that select the operator's pods. The component keeps them apart from the router pods the operator creates
(app.kubernetes.io/name=kube-mcp-router, app.kubernetes.io/instance=<router>, component router), which could otherwise
match when a router and the release share a name and a namespace.
*/}}
{{- define "kube-mcp-router.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-mcp-router.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
The operator's ServiceAccount.
*/}}
{{- define "kube-mcp-router.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kube-mcp-router.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator's image: `repository:tag`, tag defaulting to the chart's appVersion, plus `@digest` when set.
*/}}
{{- define "kube-mcp-router.image" -}}
{{- $reference := printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- $reference = printf "%s@%s" $reference .Values.image.digest }}
{{- end }}
{{- $reference }}
{{- end }}

{{/*
The name of the leader-election Role and RoleBinding: the full name, cut so that the suffix fits in 63 characters.
*/}}
{{/*
The Secret with the router pods' session keys (key "keys"): sessionKey.secretName, or <fullname>-session-key.
*/}}
{{- define "kube-mcp-router.sessionKeySecretName" -}}
{{- default (printf "%s-session-key" (include "kube-mcp-router.fullname" .) | trunc 63 | trimSuffix "-") .Values.sessionKey.secretName }}
{{- end }}

{{- define "kube-mcp-router.leaderElectionName" -}}
{{- printf "%s-leader-election" (include "kube-mcp-router.fullname" . | trunc 47 | trimSuffix "-") }}
{{- end }}

{{/*
The name of the metrics Service (a DNS label: at most 63 characters).
*/}}
{{- define "kube-mcp-router.metricsServiceName" -}}
{{- printf "%s-metrics" (include "kube-mcp-router.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}
