package kubernetes

import (
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/topo-zmq/topo/internal/endpoint"
	"github.com/topo-zmq/topo/topology"
)

// Defaults and fixed parts of the generated pods.
const (
	DefaultNamespace = "default"
	DefaultImage     = "topo:latest"
	// MountPath is where every pod sees the ConfigMap (and the Secret):
	// the container's working directory, so the topology file, the
	// variables file and the files read with file() keep the relative
	// paths they have next to the topology file.
	MountPath = "/etc/topo"
	// HTTPPort is the port of `topo apply -http` in every pod: the
	// kubelet's probes (/readyz, /healthz) and Prometheus (/metrics).
	HTTPPort = 9464
	// VarFile is the ConfigMap key (and file name) of the variable values
	// given at export time.
	VarFile = "export.vars.hcl"
	// BackoffLimit is each Job's spec.backoffLimit: how many times a
	// failed pod is retried before the Job fails.
	BackoffLimit = 6
	// Command is the container's command: the topo binary, found on the
	// image's PATH (the Dockerfile puts it in /usr/local/bin).
	Command = "topo"

	// MaxObjectData is the most data a ConfigMap or a Secret holds (the
	// API server refuses more).
	MaxObjectData = 1 << 20

	runAs       = 65532 // the image's user (nonroot)
	labelPrefix = "topo-zmq.github.io/"
)

// Options say what to export and how.
type Options struct {
	// Filename is the topology file's base name: its ConfigMap key and
	// the container's FILE argument ("pipeline.hcl").
	Filename string
	// Source is the topology file as read, put in the ConfigMap verbatim.
	Source []byte
	// Name prefixes every object's name; "" means Label(Filename without
	// its .hcl or .hcl.json extension).
	Name string
	// Namespace of every object; "" means DefaultNamespace.
	Namespace string
	// Image is the container image with the topo binary (see the
	// Dockerfile); "" means DefaultImage.
	Image string
	// Schemas tells which kinds are tasks (a host that runs one becomes a
	// Job). A kind it does not know makes a Job, with a warning.
	Schemas topology.Schemas
	// Files are the files the topology reads with file() (FileCalls finds
	// them): they go into a Secret, never the ConfigMap.
	Files []File
}

// Manifest is the exported objects, in output order (the ConfigMap, the
// Secret if any, then per host its Service and its Deployment or Job),
// with the names the export chose.
type Manifest struct {
	Namespace string
	Objects   []Object
	Hosts     []HostNames
	Secrets   []SecretItem // the files in the Secret, by key
}

// Object is one Kubernetes object of a Manifest: *corev1.ConfigMap,
// *corev1.Secret, *corev1.Service, *appsv1.Deployment or *batchv1.Job,
// with its apiVersion and kind set.
type Object interface {
	k8sruntime.Object
	metav1.Object
}

// HostNames is how one topology host is named in Kubernetes.
type HostNames struct {
	Host      string   // the host block's name; "" for a file without hosts
	Name      string   // the Service's and the workload's name (a DNS-1035 label)
	DNS       string   // NAME.NS.svc.cluster.local: the host's address in every pod
	Workload  string   // "Deployment" (services only) or "Job" (task nodes)
	Instances []string // the instances it runs, in file order
	Ports     []int32  // the tcp ports its instances bind on all interfaces (tcp://*:PORT)
}

// SecretItem is one file of the Secret: its key and its path in the pod,
// relative to MountPath.
type SecretItem struct {
	Key, Path string
}

// Export builds the manifests of t. Its diagnostics are errors with the
// source range of what cannot run in a pod (a plugin built from source, a
// tcp bind on a fixed address other than loopback, a bind on HTTPPort)
// and warnings (a kind Schemas does not know, a host that runs nothing);
// the Manifest is nil when there are errors.
func Export(t *topology.Topology, opts Options) (*Manifest, hcl.Diagnostics) {
	x := &exporter{t: t, opts: opts}
	diags := x.check()
	if diags.HasErrors() {
		return nil, diags
	}
	m, d := x.build()
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

type exporter struct {
	t         *topology.Topology
	opts      Options
	name, ns  string
	hostNames map[string]string
}

func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
	if r.Filename != "" {
		d.Subject = r.Ptr()
	}
	return d
}

// CheckPlugins refuses plugins built from source: a pod runs a static
// image without a Go toolchain. It warns about a command path relative
// to the topology file (in a pod, inside MountPath). Callers run it before loading a file,
// which would build them; Export runs it too.
func CheckPlugins(plugins []*topology.Plugin) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range plugins {
		if p.Source == "" {
			if strings.ContainsRune(p.Command, '/') && !path.IsAbs(p.Command) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Plugin command relative to the topology file",
					Detail: fmt.Sprintf("Plugin %q has command = %q: in a pod that is inside %s, where only the topology and its files are. "+
						"Put the executable in the image and give its absolute path, or a bare name found on the image's PATH.", p.Name, p.Command, MountPath),
					Subject: p.DeclRange.Ptr()})
			}
			continue
		}
		diags = append(diags, errorAt(p.DeclRange, "Plugin built from source cannot be exported",
			fmt.Sprintf("Plugin %q has source = %q: a Kubernetes pod runs a static image with no Go toolchain to build it. "+
				"Build the plugin, put the executable in the image, and declare it with a prebuilt command inside the image, like command = \"/usr/local/bin/%s\".",
				p.Name, p.Source, Label(p.Name))))
	}
	return diags
}

// check finds what cannot run in a pod.
func (x *exporter) check() hcl.Diagnostics {
	diags := CheckPlugins(x.t.Plugins)
	x.ns = x.opts.Namespace
	if x.ns == "" {
		x.ns = DefaultNamespace
	}
	if errs := validation.IsDNS1123Label(x.ns); len(errs) > 0 {
		diags = append(diags, errorAt(hcl.Range{}, "Invalid namespace", fmt.Sprintf("-namespace %q: %s.", x.ns, strings.Join(errs, "; "))))
	}
	x.name = x.opts.Name
	if x.name == "" {
		x.name = Label(strings.TrimSuffix(strings.TrimSuffix(path.Base(x.opts.Filename), ".json"), ".hcl"))
	} else if errs := validation.IsDNS1035Label(x.name); len(errs) > 0 {
		diags = append(diags, errorAt(hcl.Range{}, "Invalid name", fmt.Sprintf("-name %q: %s.", x.name, strings.Join(errs, "; "))))
	}
	for _, k := range []string{x.opts.Filename, VarFile} {
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 || k == VarFile && x.opts.Filename == VarFile {
			diags = append(diags, errorAt(hcl.Range{}, "Topology file name unusable as a ConfigMap key",
				fmt.Sprintf("%q: %s. Rename the file (letters, digits, '-', '_', '.'; not %q).", k, strings.Join(errs, "; "), VarFile)))
			break
		}
	}
	for _, in := range x.t.Instances {
		for _, s := range in.Sockets {
			for _, b := range s.Bind {
				ep, err := endpoint.Parse(b.URL, true)
				if err != nil || ep.Transport != "tcp" {
					continue
				}
				r := b.Range
				if r.Filename == "" {
					r = s.DeclRange
				}
				if !ep.Wildcard() && !isLoopback(ep.Host) {
					diags = append(diags, errorAt(r, "Bind on a fixed address in a pod",
						fmt.Sprintf("%s: socket %s binds %s, but in Kubernetes each host's pod has an address of its own. Bind tcp://*:%s, which every host's Service reaches.",
							in.Name, s.Name, b.URL, ep.Port)))
				}
				if ep.Port == strconv.Itoa(HTTPPort) {
					diags = append(diags, errorAt(r, "Bind on the export's HTTP port",
						fmt.Sprintf("%s: socket %s binds port %d, which the exported pods use for topo apply -http (probes and metrics). Bind another port.",
							in.Name, s.Name, HTTPPort)))
				}
			}
		}
	}
	return diags
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// host is one workload to export: a declared host, or the whole file.
type host struct {
	names HostNames
	insts []*topology.Instance
}

func (x *exporter) hosts() ([]*host, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if len(x.t.Hosts) == 0 {
		return []*host{{names: HostNames{Name: x.name}, insts: x.t.Instances}}, nil
	}
	names := make([]string, len(x.t.Hosts))
	for i, h := range x.t.Hosts {
		names[i] = h.Name
	}
	lab := labels(names)
	var out []*host
	for _, h := range x.t.Hosts {
		insts := x.t.InstancesOn(h.Name)
		if len(insts) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Host left out of the export",
				Detail: fmt.Sprintf("Host %q runs no instance: it gets no Service and no workload.", h.Name), Subject: h.DeclRange.Ptr()})
			continue
		}
		out = append(out, &host{names: HostNames{Host: h.Name, Name: joinLabel(x.name, lab[h.Name])}, insts: insts})
	}
	return out, diags
}

func (x *exporter) build() (*Manifest, hcl.Diagnostics) {
	hosts, diags := x.hosts()
	m := &Manifest{Namespace: x.ns}
	for _, h := range hosts {
		h.names.DNS = h.names.Name + "." + x.ns + ".svc.cluster.local"
		h.names.Workload = "Deployment"
		ports := map[int32]bool{}
		for _, in := range h.insts {
			h.names.Instances = append(h.names.Instances, in.Name)
			ks, ok := (*topology.KindSchema)(nil), false
			if x.opts.Schemas != nil {
				ks, ok = x.opts.Schemas.Schema(in.Node.Kind)
			}
			switch {
			case !ok:
				h.names.Workload = "Job"
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Kind not known to the export",
					Detail:  fmt.Sprintf("%s: kind %q is unknown here, so the export cannot tell whether it finishes; its host becomes a Job (restarted on failure), which also suits a service.", in.Name, in.Node.Kind),
					Subject: in.Node.TypeRange.Ptr()})
			case ks.Task:
				h.names.Workload = "Job"
			}
			for _, s := range in.Sockets {
				for _, b := range s.Bind {
					if ep, err := endpoint.Parse(b.URL, true); err == nil && ep.Transport == "tcp" && ep.Wildcard() && !ep.Ephemeral() {
						if p, err := strconv.Atoi(ep.Port); err == nil {
							ports[int32(p)] = true
						}
					}
				}
			}
		}
		for p := range ports {
			h.names.Ports = append(h.names.Ports, p)
		}
		slices.Sort(h.names.Ports)
		m.Hosts = append(m.Hosts, h.names)
	}

	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: x.meta(x.name+"-topology", ""),
		Data:       map[string]string{x.opts.Filename: string(x.opts.Source)},
	}
	items := []corev1.KeyToPath{{Key: x.opts.Filename, Path: x.opts.Filename}}
	vars := varFile(x.t.Variables)
	if vars != nil {
		cm.Data[VarFile] = string(vars)
		items = append(items, corev1.KeyToPath{Key: VarFile, Path: VarFile})
	}
	if n := len(x.opts.Source) + len(vars); n > MaxObjectData {
		diags = append(diags, errorAt(hcl.Range{}, "Topology too large for a ConfigMap",
			fmt.Sprintf("%s and its variables are %d bytes; a ConfigMap holds at most %d.", x.opts.Filename, n, MaxObjectData)))
	}
	m.Objects = append(m.Objects, cm)
	sources := []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}, Items: items}}}

	if len(x.opts.Files) > 0 {
		sec, sitems, d := x.secret()
		diags = append(diags, d...)
		if sec != nil {
			m.Objects = append(m.Objects, sec)
			m.Secrets = sitems
			var kp []corev1.KeyToPath
			for _, it := range sitems {
				kp = append(kp, corev1.KeyToPath{Key: it.Key, Path: it.Path, Mode: ptr(int32(0o400))})
			}
			sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: sec.Name}, Items: kp}})
		}
	}

	for _, h := range hosts {
		m.Objects = append(m.Objects, x.service(h.names))
		pod := x.pod(h.names, m.Hosts, vars != nil, sources)
		meta := x.meta(h.names.Name, h.names.Name)
		meta.Annotations = map[string]string{
			labelPrefix + "instances": strings.Join(h.names.Instances, ", "),
		}
		if h.names.Host != "" {
			meta.Annotations[labelPrefix+"host"] = h.names.Host
		}
		if h.names.Workload == "Job" {
			m.Objects = append(m.Objects, &batchv1.Job{
				TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
				ObjectMeta: meta,
				Spec: batchv1.JobSpec{
					BackoffLimit: ptr(int32(BackoffLimit)),
					Template:     pod,
				},
			})
			continue
		}
		m.Objects = append(m.Objects, &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr(int32(1)),
				Selector: &metav1.LabelSelector{MatchLabels: x.selector(h.names.Name)},
				// Never two pods of one host at once: the old one stops
				// before the new one starts.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Template: pod,
			},
		})
	}
	return m, diags
}

func ptr[T any](v T) *T { return &v }

// selector is the labels that pick one host's pod.
func (x *exporter) selector(component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/instance":  x.name,
		"app.kubernetes.io/component": component,
	}
}

// meta is an object's metadata: its name, the namespace and the labels
// (component is the host's name, "" for the shared objects).
func (x *exporter) meta(name, component string) metav1.ObjectMeta {
	l := map[string]string{
		"app.kubernetes.io/name":       "topo",
		"app.kubernetes.io/instance":   x.name,
		"app.kubernetes.io/managed-by": "topo",
	}
	if component != "" {
		l["app.kubernetes.io/component"] = component
	}
	return metav1.ObjectMeta{Name: name, Namespace: x.ns, Labels: l}
}

func portName(p int32) string { return "tcp-" + strconv.Itoa(int(p)) }

// service is a host's headless Service: its DNS name resolves to the
// host's pod, ready or not (a pod waits for its peers before it is ready,
// and the peers must reach it meanwhile).
func (x *exporter) service(h HostNames) *corev1.Service {
	ports := []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: HTTPPort, TargetPort: intstr.FromString("http")}}
	for _, p := range h.Ports {
		ports = append(ports, corev1.ServicePort{Name: portName(p), Protocol: corev1.ProtocolTCP, Port: p, TargetPort: intstr.FromInt32(p)})
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: x.meta(h.Name, h.Name),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 x.selector(h.Name),
			Ports:                    ports,
		},
	}
}

// Args is the container's arguments for host h (after Command): apply
// -host NAME, every host's Service DNS name as -host-address, -http on
// all interfaces, the export's variables file, the topology file
// (relative to the working directory, MountPath).
func Args(h HostNames, all []HostNames, hasVars bool, filename string) []string {
	args := []string{"apply"}
	if h.Host != "" {
		args = append(args, "-host", h.Host)
	}
	for _, o := range all {
		if o.Host != "" {
			args = append(args, "-host-address", o.Host+"="+o.DNS)
		}
	}
	args = append(args, "-http", "0.0.0.0:"+strconv.Itoa(HTTPPort))
	if hasVars {
		args = append(args, "-var-file", VarFile)
	}
	return append(args, filename)
}

func (x *exporter) pod(h HostNames, all []HostNames, hasVars bool, sources []corev1.VolumeProjection) corev1.PodTemplateSpec {
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: HTTPPort, Protocol: corev1.ProtocolTCP}}
	for _, p := range h.Ports {
		ports = append(ports, corev1.ContainerPort{Name: portName(p), ContainerPort: p, Protocol: corev1.ProtocolTCP})
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds:    5,
			FailureThreshold: 3,
		}
	}
	restart := corev1.RestartPolicyAlways
	if h.Workload == "Job" {
		restart = corev1.RestartPolicyOnFailure
	}
	meta := x.meta("", h.Name)
	meta.Name, meta.Namespace = "", ""
	return corev1.PodTemplateSpec{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			RestartPolicy:      restart,
			EnableServiceLinks: ptr(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(runAs)), RunAsGroup: ptr(int64(runAs)), FSGroup: ptr(int64(runAs)),
			},
			Containers: []corev1.Container{{
				Name:            "topo",
				Image:           x.image(),
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{Command},
				Args:            Args(h, all, hasVars, x.opts.Filename),
				WorkingDir:      MountPath,
				Ports:           ports,
				ReadinessProbe:  probe("/readyz"),
				LivenessProbe:   probe("/healthz"),
				VolumeMounts: []corev1.VolumeMount{
					{Name: "topology", MountPath: MountPath, ReadOnly: true},
					{Name: "tmp", MountPath: "/tmp"},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					ReadOnlyRootFilesystem:   ptr(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "topology", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
}

func (x *exporter) image() string {
	if x.opts.Image != "" {
		return x.opts.Image
	}
	return DefaultImage
}

// varFile is the variables whose values were given (not defaults) as an
// HCL variables file for -var-file, or nil when there are none.
func varFile(vars []*topology.Variable) []byte {
	f := hclwrite.NewEmptyFile()
	n := 0
	for _, v := range vars {
		if v.Source == "default" || v.Source == "" || !v.Value.IsWhollyKnown() {
			continue
		}
		f.Body().SetAttributeValue(v.Name, v.Value)
		n++
	}
	if n == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# Variable values given to topo export kubernetes.\n")
	b.Write(f.Bytes())
	return b.Bytes()
}
