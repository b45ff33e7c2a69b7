{{/* The chart's name, or nameOverride. */}}
{{- define "splitnet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: the release name when it already contains the chart name, else both. */}}
{{- define "splitnet.fullname" -}}
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

{{- define "splitnet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The selector: stable across upgrades (a DaemonSet's selector is immutable). */}}
{{- define "splitnet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "splitnet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "splitnet.labels" -}}
helm.sh/chart: {{ include "splitnet.chart" . }}
{{ include "splitnet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "splitnet.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The directory flags, shared by `splitnet install` and `splitnet uninstall`: container paths
     under /host, and the kubeconfig's path as the host's runtime sees it. */}}
{{- define "splitnet.dirArgs" -}}
- --cni-bin-dir=/host/opt/cni/bin
- --cni-conf-dir=/host/etc/cni/net.d
- --multus-autoconfig-dir=/host/etc/cni/net.d
- --multus-cni-conf-dir=/host/etc/cni/multus/net.d
- --multus-kubeconfig-file-host={{ .Values.cni.netDir }}/splitnet.d/splitnet.kubeconfig
{{- end }}
