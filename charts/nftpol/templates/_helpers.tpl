{{/*
Names and labels shared by every template. Resource names are
"<fullname>-controller" / "<fullname>-executor", truncated to 63 characters
(the DNS label limit) so that long release names still install.
*/}}

{{- define "nftpol.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nftpol.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "nftpol.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "nftpol.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nftpol
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "controller"). */}}
{{- define "nftpol.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nftpol.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's resources. */}}
{{- define "nftpol.componentLabels" -}}
{{ include "nftpol.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "nftpol.controller.fullname" -}}
{{- printf "%s-controller" (include "nftpol.fullname" .) }}
{{- end }}

{{- define "nftpol.executor.fullname" -}}
{{- printf "%s-executor" (include "nftpol.fullname" .) }}
{{- end }}

{{- define "nftpol.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (include "nftpol.controller.fullname" .) .Values.controller.serviceAccount.name }}
{{- else }}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nftpol.executor.serviceAccountName" -}}
{{- if .Values.executor.serviceAccount.create }}
{{- default (include "nftpol.executor.fullname" .) .Values.executor.serviceAccount.name }}
{{- else }}
{{- required "executor.serviceAccount.name is required when executor.serviceAccount.create is false" .Values.executor.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nftpol.leaseName" -}}
{{- default (include "nftpol.controller.fullname" .) .Values.controller.leaderElection.leaseName }}
{{- end }}

{{/* "<repository>:<tag>", the tag defaulting to the chart's appVersion. */}}
{{- define "nftpol.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
