package kubernetes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func schemas(t testing.TB) topology.Schemas {
	t.Helper()
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		t.Fatal(err)
	}
	return runtime.Schemas(&reg, nil)
}

// exportFile does what topo export kubernetes does with path: the
// checks before loading (plugins built from source, file() calls), the
// load, the export.
func exportFile(t testing.TB, path string, o Options, args ...topology.VarArg) (*Manifest, hcl.Diagnostics) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := topology.Parse(path, src)
	if diags.HasErrors() {
		return nil, diags
	}
	pl, d := f.Plugins(topology.Options{Args: args})
	diags = append(diags, d...)
	diags = append(diags, CheckPlugins(pl)...)
	files, d := FileCalls(f.Sources()[path], filepath.Dir(path))
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	topo, d := topology.Decode(f, topology.Options{Args: args, Schemas: schemas(t)})
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	o.Filename, o.Source, o.Schemas = filepath.Base(path), src, schemas(t)
	if o.Files == nil {
		o.Files = files
	}
	m, d := Export(topo, o)
	return m, append(diags, d...)
}

// withFiles is o with Options.Files from the file() calls of path ("":
// none).
func withFiles(t testing.TB, o Options, path string) Options {
	t.Helper()
	if path == "" {
		return o
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := topology.Parse(path, src)
	files, d := FileCalls(f.Sources()[path], filepath.Dir(path))
	if diags = append(diags, d...); diags.HasErrors() {
		t.Fatal(diags)
	}
	o.Files = files
	return o
}

func writeYAML(t testing.TB, m *Manifest) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type goldenCase struct {
	name, file string
	filesFrom  string // FileCalls of this file give Options.Files
	opts       Options
	args       []topology.VarArg
}

// goldenCases are the exports with golden files in testdata/golden.
var goldenCases = []goldenCase{

	{name: "pipeline3", file: "testdata/pipeline3.hcl", args: []topology.VarArg{{Flag: "var", Value: "tasks=40"}}},
	{name: "pipeline3_ns", file: "testdata/pipeline3.hcl", opts: Options{Namespace: "zmq", Image: "registry.example/topo:v1", Name: "pipe"}},
	{name: "names", file: "testdata/names.hcl"},
	{name: "files", file: "testdata/pipeline3.hcl", filesFrom: "testdata/files.hcl"},
	{name: "single", file: "../../../examples/pipeline.hcl"},
}

// allCases are goldenCases and every examples/multihost/*.hcl, whose
// golden file is multihost_NAME.yaml. (The examples come with the
// topology side of issue 13; this branch has the golden files for the
// versions it was written against.)
func allCases(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("../../../examples/multihost/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cases := slices.Clone(goldenCases)
	for _, f := range files {
		cases = append(cases, goldenCase{name: "multihost_" + strings.TrimSuffix(filepath.Base(f), ".hcl"), file: f})
	}
	return cases
}

// TestGolden compares the YAML of each export with its golden file
// (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := exportFile(t, tc.file, withFiles(t, tc.opts, tc.filesFrom), tc.args...)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := writeYAML(t, m)
			golden := filepath.Join("testdata", "golden", tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (rerun with -update to accept):\n%s", tc.file, golden, got)
			}
		})
	}
}

// document is one YAML document of an export, decoded strictly.
type document struct {
	kind string
	obj  any
}

// decodeStrict splits an export into its documents and decodes each one
// strictly (unknown or duplicate fields are errors) into its k8s.io/api
// type, twice: with sigs.k8s.io/yaml.UnmarshalStrict, and with
// YAMLToJSONStrict then encoding/json with DisallowUnknownFields.
func decodeStrict(t *testing.T, out []byte) []document {
	t.Helper()
	parts := strings.Split(string(out), "\n---\n")
	if !strings.HasPrefix(parts[0], "# ") {
		t.Fatalf("the output does not start with the names comment: %q", parts[0])
	}
	var docs []document
	for i, p := range parts[1:] {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(p), &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var obj, obj2 any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			obj, obj2 = &corev1.ConfigMap{}, &corev1.ConfigMap{}
		case "v1 Secret":
			obj, obj2 = &corev1.Secret{}, &corev1.Secret{}
		case "v1 Service":
			obj, obj2 = &corev1.Service{}, &corev1.Service{}
		case "apps/v1 Deployment":
			obj, obj2 = &appsv1.Deployment{}, &appsv1.Deployment{}
		case "batch/v1 Job":
			obj, obj2 = &batchv1.Job{}, &batchv1.Job{}
		default:
			t.Fatalf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(p), obj); err != nil {
			t.Fatalf("document %d (%s): UnmarshalStrict: %v", i, tm.Kind, err)
		}
		j, err := yaml.YAMLToJSONStrict([]byte(p))
		if err != nil {
			t.Fatalf("document %d (%s): YAMLToJSONStrict: %v", i, tm.Kind, err)
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj2); err != nil {
			t.Fatalf("document %d (%s): json strict: %v", i, tm.Kind, err)
		}
		docs = append(docs, document{kind: tm.Kind, obj: obj})
	}
	return docs
}

func checkNames(t *testing.T, what string, errs []string) {
	t.Helper()
	if len(errs) > 0 {
		t.Errorf("%s: %s", what, strings.Join(errs, "; "))
	}
}

// checkMeta validates an object's name, namespace and labels with
// apimachinery's validation.
func checkMeta(t *testing.T, kind string, m metav1.ObjectMeta, dns1035 bool) {
	t.Helper()
	if dns1035 {
		checkNames(t, kind+" name "+m.Name, validation.IsDNS1035Label(m.Name))
	}
	checkNames(t, kind+" name "+m.Name, validation.IsDNS1123Label(m.Name))
	checkNames(t, kind+" name "+m.Name, validation.IsDNS1123Subdomain(m.Name))
	checkNames(t, kind+" namespace", validation.IsDNS1123Label(m.Namespace))
	checkLabels(t, kind+" "+m.Name, m.Labels)
}

func checkLabels(t *testing.T, what string, l map[string]string) {
	t.Helper()
	for k, v := range l {
		checkNames(t, what+" label key "+k, validation.IsQualifiedName(k))
		checkNames(t, what+" label "+k+"="+v, validation.IsValidLabelValue(v))
	}
}

func checkPod(t *testing.T, what string, p corev1.PodTemplateSpec) {
	t.Helper()
	checkLabels(t, what+" pod", p.Labels)
	for _, c := range p.Spec.Containers {
		checkNames(t, what+" container", validation.IsDNS1123Label(c.Name))
		for _, port := range c.Ports {
			checkNames(t, what+" port name", validation.IsValidPortName(port.Name))
		}
	}
	for _, v := range p.Spec.Volumes {
		checkNames(t, what+" volume", validation.IsDNS1123Label(v.Name))
	}
}

// TestDocumentsDecodeStrictlyWithValidNames decodes every document of
// every golden export strictly into its k8s.io/api type and checks its
// names with apimachinery's validation: DNS-1035 labels for Services,
// DNS-1123 for the rest, port names, label keys and values, ConfigMap
// and Secret keys.
func TestDocumentsDecodeStrictlyWithValidNames(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := exportFile(t, tc.file, withFiles(t, tc.opts, tc.filesFrom), tc.args...)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			docs := decodeStrict(t, writeYAML(t, m))
			if len(docs) != len(m.Objects) {
				t.Fatalf("%d documents for %d objects", len(docs), len(m.Objects))
			}
			for _, d := range docs {
				switch o := d.obj.(type) {
				case *corev1.ConfigMap:
					checkMeta(t, d.kind, o.ObjectMeta, false)
					for k := range o.Data {
						checkNames(t, "ConfigMap key", validation.IsConfigMapKey(k))
					}
				case *corev1.Secret:
					checkMeta(t, d.kind, o.ObjectMeta, false)
					for k := range o.Data {
						checkNames(t, "Secret key", validation.IsConfigMapKey(k))
					}
				case *corev1.Service:
					checkMeta(t, d.kind, o.ObjectMeta, true)
					if o.Spec.ClusterIP != corev1.ClusterIPNone || !o.Spec.PublishNotReadyAddresses {
						t.Errorf("Service %s is not headless with publishNotReadyAddresses", o.Name)
					}
					for _, p := range o.Spec.Ports {
						checkNames(t, "Service port name", validation.IsValidPortName(p.Name))
					}
					checkLabels(t, "selector", o.Spec.Selector)
				case *appsv1.Deployment:
					checkMeta(t, d.kind, o.ObjectMeta, false)
					checkPod(t, o.Name, o.Spec.Template)
					if *o.Spec.Replicas != 1 || o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
						t.Errorf("Deployment %s: replicas %d, restart %s", o.Name, *o.Spec.Replicas, o.Spec.Template.Spec.RestartPolicy)
					}
				case *batchv1.Job:
					checkMeta(t, d.kind, o.ObjectMeta, false)
					checkPod(t, o.Name, o.Spec.Template)
					if o.Spec.BackoffLimit == nil || o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
						t.Errorf("Job %s: backoffLimit %v, restart %s", o.Name, o.Spec.BackoffLimit, o.Spec.Template.Spec.RestartPolicy)
					}
				}
			}
		})
	}
}

// TestPipeline3Objects checks what the three-host export holds: a Job
// for the task hosts, a Deployment for the workers, every host's
// address as its Service DNS name, the probes, the variables file.
func TestPipeline3Objects(t *testing.T) {
	m, diags := exportFile(t, "testdata/pipeline3.hcl", Options{Namespace: "zmq"}, topology.VarArg{Flag: "var", Value: "tasks=40"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	kinds := map[string]string{}
	for _, o := range m.Objects {
		kinds[o.GetName()] += o.GetObjectKind().GroupVersionKind().Kind + " "
	}
	want := map[string]string{
		"pipeline3-topology": "ConfigMap ", "pipeline3-edge": "Service Job ",
		"pipeline3-workers": "Service Deployment ", "pipeline3-sink": "Service Job ",
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("objects %v, want %v", kinds, want)
	}
	cm := m.Objects[0].(*corev1.ConfigMap)
	if got := cm.Data[VarFile]; !strings.Contains(got, "tasks = 40") {
		t.Errorf("variables file %q lacks tasks = 40", got)
	}
	for _, o := range m.Objects {
		var pod corev1.PodSpec
		switch o := o.(type) {
		case *batchv1.Job:
			pod = o.Spec.Template.Spec
		case *appsv1.Deployment:
			pod = o.Spec.Template.Spec
		case *corev1.Service:
			ports := fmt.Sprint(o.Spec.Ports)
			if o.Name == "pipeline3-sink" && !strings.Contains(ports, "15558") || o.Name == "pipeline3-edge" && !strings.Contains(ports, "15557") {
				t.Errorf("Service %s ports %s", o.Name, ports)
			}
			continue
		default:
			continue
		}
		c := pod.Containers[0]
		args := strings.Join(c.Args, " ")
		for _, w := range []string{
			"-host-address edge=pipeline3-edge.zmq.svc.cluster.local",
			"-host-address workers=pipeline3-workers.zmq.svc.cluster.local",
			"-host-address sink=pipeline3-sink.zmq.svc.cluster.local",
			"-http 0.0.0.0:9464", "-var-file " + VarFile,
		} {
			if !strings.Contains(args, w) {
				t.Errorf("%s: args %q lack %q", o.GetName(), args, w)
			}
		}
		if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: probes %v %v", o.GetName(), c.ReadinessProbe, c.LivenessProbe)
		}
	}
}

// TestLabel checks the name mapping: DNS labels, deterministic, distinct.
func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"worker[2]": "worker-2", "Edge_Box": "edge-box", "9lives": "x9lives", "": "x", "--a--": "a",
		"sink": "sink", "a.b/c": "a-b-c", strings.Repeat("a", 70): strings.Repeat("a", 57) + "-" + hash5(strings.Repeat("a", 70)),
	} {
		got := Label(in)
		if got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
		checkNames(t, got, validation.IsDNS1035Label(got))
	}
	l := labels([]string{"worker[2]", "worker-2", "a_b", "a.b"})
	seen := map[string]bool{}
	for n, v := range l {
		if seen[v] {
			t.Errorf("two names map to %q: %v", v, l)
		}
		seen[v] = true
		checkNames(t, n, validation.IsDNS1035Label(v))
	}
	if l["worker-2"] != "worker-2" {
		t.Errorf("a name that is a label keeps it: %v", l)
	}
	long := joinLabel(strings.Repeat("p", 60), "host")
	checkNames(t, long, validation.IsDNS1035Label(long))
}

// TestInvalid exports every testdata/invalid file and expects the error
// (or warning) its "# ERROR summary" ("# WARNING summary") comment names,
// on that line.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.hcl")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	re := regexp.MustCompile(`# (ERROR|WARNING) (.*)$`)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			line, summary, sev := 0, "", hcl.DiagError
			sc := bufio.NewScanner(fh)
			for n := 1; sc.Scan(); n++ {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					line, summary = n, m[2]
					if m[1] == "WARNING" {
						sev = hcl.DiagWarning
					}
				}
			}
			_, diags := exportFile(t, path, Options{})
			for _, d := range diags {
				if d.Severity == sev && d.Summary == summary && d.Subject != nil && d.Subject.Start.Line == line && d.Subject.Filename == path {
					return
				}
			}
			t.Errorf("want %v %q at %s:%d, got %v", sev, summary, path, line, diags)
		})
	}
}

// TestFilesGoToTheSecret: a file read with file() is in the Secret,
// projected next to the topology file with mode 0400 in every workload,
// and not in the ConfigMap: key files found by syntax (testdata), and the
// CURVE seed of examples/multihost/secure-pipeline.hcl, read by the
// language's file() in a top-level curve block.
func TestFilesGoToTheSecret(t *testing.T) {
	for _, tc := range []struct {
		name, file, filesFrom string
		keyFile, key, path    string
	}{
		{"files", "testdata/pipeline3.hcl", "testdata/files.hcl", "testdata/keys/sink.key", "keys-sink.key", "keys/sink.key"},
		{"curve seed", "../../../examples/multihost/secure-pipeline.hcl", "",
			"../../../examples/multihost/keys/example.seed", "keys-example.seed", "keys/example.seed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := exportFile(t, tc.file, withFiles(t, Options{}, tc.filesFrom))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			key, err := os.ReadFile(tc.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			var sec *corev1.Secret
			workloads := 0
			projected := func(name string, pod corev1.PodSpec) {
				workloads++
				var found bool
				for _, src := range pod.Volumes[0].Projected.Sources {
					if src.Secret != nil && len(src.Secret.Items) == 1 && src.Secret.Items[0].Path == tc.path && *src.Secret.Items[0].Mode == 0o400 {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: the Secret is not projected at %s: %+v", name, tc.path, pod.Volumes)
				}
			}
			for _, o := range m.Objects {
				switch o := o.(type) {
				case *corev1.Secret:
					sec = o
				case *corev1.ConfigMap:
					for k, v := range o.Data {
						if strings.Contains(v, strings.TrimSpace(string(key))) {
							t.Errorf("the file's content is in the ConfigMap, under %s", k)
						}
					}
				case *batchv1.Job:
					projected(o.Name, o.Spec.Template.Spec)
				case *appsv1.Deployment:
					projected(o.Name, o.Spec.Template.Spec)
				}
			}
			if workloads != 3 {
				t.Errorf("%d workloads, want 3", workloads)
			}
			if len(m.Secrets) != 1 || m.Secrets[0] != (SecretItem{Key: tc.key, Path: tc.path}) {
				t.Errorf("Secrets %v", m.Secrets)
			}
			if sec == nil || len(sec.Data) != 1 || !bytes.Equal(sec.Data[tc.key], key) {
				t.Fatalf("Secret %+v", sec)
			}
			if out := writeYAML(t, m); bytes.Contains(out, bytes.TrimSpace(key)) {
				t.Errorf("the file's content is in the YAML in the clear")
			}
		})
	}
}

// FuzzLabel: whatever the name, Label gives a DNS-1035 label, and the
// same one every time.
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"worker[2]", "Edge_Box", "9lives", "", strings.Repeat("ab-", 40), "ü-ñ", "--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		l := Label(name)
		if errs := validation.IsDNS1035Label(l); len(errs) > 0 {
			t.Fatalf("Label(%q) = %q: %v", name, l, errs)
		}
		if Label(name) != l {
			t.Fatalf("Label(%q) is not deterministic", name)
		}
		j := joinLabel(l, Label(name+"x"))
		if errs := validation.IsDNS1035Label(j); len(errs) > 0 {
			t.Fatalf("joinLabel = %q: %v", j, errs)
		}
	})
}

// TestTooLargeForTheAPIServer: a topology or files the API server would
// refuse (over 1 MiB in a ConfigMap or a Secret) are an error here.
func TestTooLargeForTheAPIServer(t *testing.T) {
	big := Options{Files: []File{{Path: "big.key", Data: bytes.Repeat([]byte("k"), MaxObjectData+1)}}}
	if _, diags := exportFile(t, "testdata/pipeline3.hcl", big); !strings.Contains(errorsOf(diags), "Files too large for a Secret") {
		t.Errorf("a 1 MiB+1 file: %v", diags)
	}
	src, err := os.ReadFile("testdata/pipeline3.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.hcl")
	padded := append(src, bytes.Repeat([]byte("#\n"), MaxObjectData/2)...)
	if err := os.WriteFile(path, padded, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, diags := exportFile(t, path, Options{}); !strings.Contains(errorsOf(diags), "Topology too large for a ConfigMap") {
		t.Errorf("a 1 MiB+ topology: %v", diags)
	}
}

// errorsOf is the text of diags' errors, warnings left out.
func errorsOf(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, e := range diags.Errs() {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
