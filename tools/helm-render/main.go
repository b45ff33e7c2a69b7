// helm-render renders a Helm chart's templates the way `helm template` does, for the subset of
// Helm that charts/splitnet uses, with nothing but Go's text/template, Debian's sprig and
// yaml.v2. Helm itself is not packaged in Debian and no binary may be downloaded in CI, so
// this is how the chart is rendered and checked there. What differs from `helm template` is
// listed in usage() and in charts/splitnet/README.md.
//
//	helm-render [--release NAME] [--namespace NS] [-f values.yaml]... [--set a.b=v]... CHART
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	yaml "gopkg.in/yaml.v2"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: helm-render [--release NAME] [--namespace NS] [-f FILE]... [--set KEY=VALUE]... CHART

Renders CHART/templates/*.yaml (partials from *.tpl) to stdout, like "helm template".
Supported: .Values (values.yaml, then -f files, then --set, merged as Helm merges them),
.Release (Name, Namespace, Service, IsInstall, IsUpgrade, Revision), .Chart (Chart.yaml),
.Capabilities (KubeVersion, APIVersions.Has: only the built-in groups), .Template; sprig's
functions and Helm's include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup
(always empty, as in "helm template"). Not supported: subcharts and dependencies, crds/,
values.schema.json, .Files, --set list indices and typed --set-string/--set-file, hooks'
ordering (hook objects are printed like any other), and Helm's kind-based output order
(files are printed in name order).
`)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// jsonish turns what yaml.v2 decodes into what Helm hands to templates: Helm reads values with
// sigs.k8s.io/yaml, i.e. through JSON, so maps have string keys and every number is a float64.
func jsonish(in interface{}) (interface{}, error) {
	normalised, err := stringKeys(in)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(normalised)
	if err != nil {
		return nil, err
	}
	var out interface{}
	err = json.Unmarshal(data, &out)
	return out, err
}

func stringKeys(in interface{}) (interface{}, error) {
	switch v := in.(type) {
	case map[interface{}]interface{}:
		out := map[string]interface{}{}
		for k, val := range v {
			key, ok := k.(string)
			if !ok {
				key = fmt.Sprint(k)
			}
			conv, err := stringKeys(val)
			if err != nil {
				return nil, err
			}
			out[key] = conv
		}
		return out, nil
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, val := range v {
			conv, err := stringKeys(val)
			if err != nil {
				return nil, err
			}
			out[i] = conv
		}
		return out, nil
	default:
		return v, nil
	}
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	conv, err := jsonish(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out, ok := conv.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: not a map", file)
	}
	return out, nil
}

// merge overlays src onto dst as Helm merges values files: maps merge key by key, anything else
// replaces, and null deletes the key.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		srcMap, srcIsMap := v.(map[string]interface{})
		dstMap, dstIsMap := dst[k].(map[string]interface{})
		if srcIsMap && dstIsMap {
			merge(dstMap, srcMap)
			continue
		}
		dst[k] = v
	}
}

// setValue applies one --set a.b.c=value; the value is a YAML scalar, as Helm's parser reads
// true/false/null/numbers (Helm keeps big integers as int64; here they become float64).
func setValue(values map[string]interface{}, assignment string) error {
	key, raw, ok := strings.Cut(assignment, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: expected KEY=VALUE", assignment)
	}
	var parsed interface{}
	if err := yaml.Unmarshal([]byte(raw), &parsed); err != nil {
		parsed = raw
	}
	if _, isMap := parsed.(map[interface{}]interface{}); isMap {
		parsed = raw
	}
	if _, isList := parsed.([]interface{}); isList {
		parsed = raw
	}
	parts := strings.Split(key, ".")
	node := values
	for _, p := range parts[:len(parts)-1] {
		next, ok := node[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			node[p] = next
		}
		node = next
	}
	conv, err := jsonish(parsed)
	if err != nil {
		return err
	}
	node[parts[len(parts)-1]] = conv
	return nil
}

// capitalised maps Chart.yaml's keys to the fields Helm exposes (.Chart.AppVersion, …).
func chartObject(file string) (map[string]interface{}, error) {
	meta, err := readYAMLMap(file)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	for k, v := range meta {
		out[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return out, nil
}

type apiVersions []string

// Has is .Capabilities.APIVersions.Has: true for the groups every cluster serves.
func (a apiVersions) Has(v string) bool {
	for _, known := range a {
		if known == v {
			return true
		}
	}
	return false
}

type renderer struct {
	tpl *template.Template
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	out, err := readYAMLString(s)
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return out
}

func readYAMLString(s string) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	conv, err := jsonish(raw)
	if err != nil {
		return nil, err
	}
	m, _ := conv.(map[string]interface{})
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

func (r *renderer) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these two: templates must not read the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := r.tpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := r.tpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return f
}

func run() error {
	release := flag.String("release", "splitnet", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	var valueFiles, sets stringList
	flag.Var(&valueFiles, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "KEY=VALUE (repeatable)")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 1 {
		usage()
		os.Exit(2)
	}
	chartDir := flag.Arg(0)

	chart, err := chartObject(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, file := range valueFiles {
		extra, err := readYAMLMap(file)
		if err != nil {
			return err
		}
		merge(values, extra)
	}
	for _, s := range sets {
		if err := setValue(values, s); err != nil {
			return err
		}
	}

	chartName, _ := chart["Name"].(string)
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	r := &renderer{}
	r.tpl = template.New(chartName).Option("missingkey=zero").Funcs(r.funcs())
	var rendered []string
	for _, file := range files {
		base := filepath.Base(file)
		if base == "NOTES.txt" || !(strings.HasSuffix(base, ".yaml") ||
			strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".tpl")) {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		name := path.Join(chartName, "templates", base)
		if _, err := r.tpl.New(name).Parse(string(data)); err != nil {
			return err
		}
		if !strings.HasPrefix(base, "_") {
			rendered = append(rendered, name)
		}
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name": *release, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{
				"Version": "v1.25.0", "Major": "1", "Minor": "25", "GitVersion": "v1.25.0",
			},
			"APIVersions": apiVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1",
				"apiextensions.k8s.io/v1", "batch/v1", "policy/v1"},
		},
	}
	var out strings.Builder
	for _, name := range rendered {
		top["Template"] = map[string]interface{}{
			"Name": name, "BasePath": path.Join(chartName, "templates"),
		}
		var buf bytes.Buffer
		if err := r.tpl.ExecuteTemplate(&buf, name, top); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		// Helm drops documents that are empty or only comments.
		for _, doc := range splitDocuments(text) {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, doc)
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

// splitDocuments splits on "---" lines and keeps the documents that hold more than comments
// and blank lines, trimmed as Helm prints them.
func splitDocuments(text string) []string {
	var docs []string
	var current []string
	flush := func() {
		doc := strings.Trim(strings.Join(current, "\n"), "\n")
		current = nil
		for _, line := range strings.Split(doc, "\n") {
			trimmed := strings.TrimSpace(line)
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				docs = append(docs, doc)
				return
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " \t") == "---" {
			flush()
			continue
		}
		current = append(current, line)
	}
	flush()
	return docs
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
}
