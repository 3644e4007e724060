package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/topo-zmq/topo/internal/lockedbuf"
	"github.com/topo-zmq/topo/topology"
)

// needNetns skips unless the test can make network namespaces (Linux,
// root, ip): when CI is set it fails instead, so CI cannot skip it.
func needNetns(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case goruntime.GOOS != "linux":
		why = "network namespaces need Linux"
	case os.Geteuid() != 0:
		why = "network namespaces need root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "network namespaces need ip (iproute2)"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("the cluster network simulation must run in CI, but %s", why)
	}
	t.Skipf("skipping the cluster network simulation: %s (it runs as root on Linux, and must in CI)", why)
}

// run runs a command the network setup needs and fails the test on error.
func run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// quiet runs a cleanup command, ignoring what fails (the thing may not
// exist any more).
func quiet(args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = exec.CommandContext(ctx, args[0], args[1:]...).Run()
}

// pod is one generated workload, as the simulation runs it.
type pod struct {
	name, kind string
	spec       corev1.PodSpec
	ns, addr   string // its network namespace and address
	cmd        *exec.Cmd
	out        *lockedbuf.Buffer
	done       chan error
}

// TestClusterNetworkSimulation runs an export the way a cluster would,
// without one: every generated workload (Deployment or Job) runs the
// container's exact command and arguments in a network namespace of its
// own, through `ip netns exec`, which bind-mounts /etc/netns/NAME/hosts
// on /etc/hosts: that file maps every Service DNS name to the address of
// the matching namespace, as cluster DNS would. The ConfigMap's data and
// the Secret's files (at the paths the pods project them to) are written
// to a directory that stands for the mount, the container's working
// directory. The pods start in reverse order (the sink first); the Jobs
// must exit 0, the sink must collect every task, and the Deployment's
// probes must answer as the kubelet would ask them. Two exports: the
// three-host pipeline, and examples/multihost/secure-pipeline.hcl (a copy
// whose seed ports are moved to 15557-15559), whose CURVE seed the pods
// read from the Secret's file (CURVE on every edge).
// Addresses from 10.77.2.0/24 only.
func TestClusterNetworkSimulation(t *testing.T) {
	needNetns(t)
	bin := buildImageBinary(t)
	if out, _ := exec.Command(bin, "apply", "-help").CombinedOutput(); !bytes.Contains(out, []byte("-host-address")) {
		t.Fatalf("%s apply has no -host/-host-address: the exported pods need them (topo apply -host, branch hosts-run)", bin)
	}
	t.Run("pipeline3", func(t *testing.T) {
		simulate(t, bin, 0, "testdata/pipeline3.hcl", topology.VarArg{Flag: "var", Value: "tasks=100"})
	})
	t.Run("secure-pipeline", func(t *testing.T) {
		simulate(t, bin, 1, withoutSeedPorts(t, "../../../examples/multihost/secure-pipeline.hcl"))
	})
}

// seedPortRE is a seed port (the zguide's 5555-5560, which the examples
// bind for users) after the colon of an endpoint.
var seedPortRE = regexp.MustCompile(`:(555[5-9]|5560)\b`)

// withoutSeedPorts writes a copy of the example src to a fresh
// t.TempDir() with every seed port moved up by 10000 (15555-15560), and
// copies the keys it reads with file() (src's keys directory) beside it:
// the simulation's pods run the copy, never binding a seed port.
func withoutSeedPorts(t *testing.T, src string) string {
	t.Helper()
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := seedPortRE.ReplaceAll(text, []byte(":1$1"))
	if bytes.Equal(out, text) {
		t.Fatalf("%s names no seed port (5555-5560) to rewrite: update the test", src)
	}
	dir := t.TempDir()
	keys := filepath.Join(filepath.Dir(src), "keys")
	entries, err := os.ReadDir(keys)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			t.Fatalf("%s: only regular files are copied", filepath.Join(keys, e.Name()))
		}
		data, err := os.ReadFile(filepath.Join(keys, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "keys", e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// simulate is one export's run of TestClusterNetworkSimulation; variant
// keeps its names and addresses apart from the other runs'.
func simulate(t *testing.T, bin string, variant int, file string, args ...topology.VarArg) {
	m, diags := exportFile(t, file, withFiles(t, Options{Namespace: "sim"}, ""), args...)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out bytes.Buffer
	if err := m.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	docs := decodeStrict(t, out.Bytes()) // the objects as kubectl would send them
	mount := t.TempDir()
	var pods []*pod
	secrets := map[string][]byte{}
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *corev1.ConfigMap:
			for k, v := range o.Data {
				if err := os.WriteFile(filepath.Join(mount, k), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		case *corev1.Secret:
			for k, v := range o.Data {
				secrets[k] = v
			}
		case *appsv1.Deployment:
			pods = append(pods, &pod{name: o.Name, kind: "Deployment", spec: o.Spec.Template.Spec})
		case *batchv1.Job:
			pods = append(pods, &pod{name: o.Name, kind: "Job", spec: o.Spec.Template.Spec})
		}
	}
	if len(pods) != 3 {
		t.Fatalf("want 3 workloads, got %d", len(pods))
	}
	// The Secret's files, where the pods' projected volume puts them
	// (0400; the simulation runs as root, so no fsGroup is needed).
	for _, p := range pods {
		for _, src := range p.spec.Volumes[0].Projected.Sources {
			if src.Secret == nil {
				continue
			}
			for _, it := range src.Secret.Items {
				data, ok := secrets[it.Key]
				if !ok {
					t.Fatalf("%s projects Secret key %s, which the Secret lacks", p.name, it.Key)
				}
				path := filepath.Join(mount, it.Path)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o400); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	// The network: one bridge, one namespace per pod with a veth on it.
	pid := os.Getpid()
	bridge := fmt.Sprintf("tk8s%d-%d", pid, variant)
	t.Cleanup(func() { quiet("ip", "link", "del", bridge) })
	run(t, "ip", "link", "add", bridge, "type", "bridge")
	node := fmt.Sprintf("10.77.2.%d", 1+variant*50)
	run(t, "ip", "addr", "add", node+"/24", "dev", bridge) // the node: the kubelet probes from here
	run(t, "ip", "link", "set", bridge, "up")
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for i, p := range pods {
		p.ns = fmt.Sprintf("topo-k8s-%d-%d-%d", pid, variant, i)
		p.addr = fmt.Sprintf("10.77.2.%d", 10+variant*50+i)
		fmt.Fprintf(&hosts, "%s %s.sim.svc.cluster.local\n", p.addr, p.name)
	}
	for i, p := range pods {
		veth, peer := fmt.Sprintf("tkv%d-%d%d", pid, variant, i), fmt.Sprintf("tkp%d-%d%d", pid, variant, i)
		t.Cleanup(func() {
			quiet("ip", "netns", "del", p.ns)
			quiet("ip", "link", "del", veth)
			os.RemoveAll(filepath.Join("/etc/netns", p.ns))
		})
		run(t, "ip", "netns", "add", p.ns)
		run(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
		run(t, "ip", "link", "set", peer, "netns", p.ns)
		run(t, "ip", "link", "set", veth, "master", bridge, "up")
		run(t, "ip", "-n", p.ns, "addr", "add", p.addr+"/24", "dev", peer)
		run(t, "ip", "-n", p.ns, "link", "set", peer, "up")
		run(t, "ip", "-n", p.ns, "link", "set", "lo", "up")
		if err := os.MkdirAll(filepath.Join("/etc/netns", p.ns), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("/etc/netns", p.ns, "hosts"), []byte(hosts.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The pods, in reverse order: the sink first, the ventilator last.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := []string{"PATH=" + filepath.Dir(bin) + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + mount}
	for i := len(pods) - 1; i >= 0; i-- {
		p := pods[i]
		c := p.spec.Containers[0]
		if c.WorkingDir != MountPath || c.VolumeMounts[0].MountPath != MountPath {
			t.Fatalf("%s: working directory %q, mount %q: the simulation stands %s for them", p.name, c.WorkingDir, c.VolumeMounts[0].MountPath, mount)
		}
		args := append([]string{"netns", "exec", p.ns}, c.Command...)
		p.cmd = exec.Command("ip", append(args, c.Args...)...)
		p.cmd.Dir, p.cmd.Env = mount, env
		p.out = new(lockedbuf.Buffer)
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p.done = make(chan error, 1)
		go func() { p.done <- p.cmd.Wait() }()
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			<-p.done
			if t.Failed() {
				t.Logf("%s %s (%s): %s\n%s", p.kind, p.name, strings.Join(p.cmd.Args, " "), p.cmd.ProcessState, p.out.String())
			}
		})
	}

	// The Jobs complete; the Deployment runs until stopped.
	var deployment *pod
	for _, p := range pods {
		if p.kind == "Deployment" {
			deployment = p
			continue
		}
		select {
		case err := <-p.done:
			p.done <- err // for the cleanup
			if err != nil {
				t.Fatalf("Job %s: %v\n%s", p.name, err, p.out.String())
			}
		case <-ctx.Done():
			t.Fatalf("Job %s did not complete in time\n%s", p.name, p.out.String())
		}
	}
	if sink := pods[2]; !strings.Contains(sink.out.String(), "Total elapsed time") {
		t.Errorf("the sink did not collect its 100 results:\n%s", sink.out.String())
	}
	// The kubelet's probes, from the node, on the pod's address.
	client := &http.Client{Timeout: 5 * time.Second}
	for _, probe := range []*corev1.Probe{deployment.spec.Containers[0].LivenessProbe, deployment.spec.Containers[0].ReadinessProbe} {
		url := fmt.Sprintf("http://%s:%d%s", deployment.addr, HTTPPort, probe.HTTPGet.Path)
		var code int
		for {
			resp, err := client.Get(url)
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
				if code == http.StatusOK {
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("probe %s: %v, status %d", url, err, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Stopping the Deployment's pod: SIGTERM, as the kubelet sends it.
	_ = deployment.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-deployment.done:
		deployment.done <- err
		if err != nil {
			t.Errorf("Deployment %s after SIGTERM: %v\n%s", deployment.name, err, deployment.out.String())
		}
	case <-ctx.Done():
		t.Errorf("Deployment %s did not stop on SIGTERM", deployment.name)
	}
}
