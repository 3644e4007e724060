package main

import (
	"context"
	"fmt"

	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/internal/export/kubernetes"
	"github.com/topo-zmq/topo/topology"
)

const exportHelp = `Usage: topo export kubernetes [options] FILE

  Prints Kubernetes manifests for the topology on stdout, as YAML
  documents separated by "---" (kubectl apply -f accepts them):

  - a ConfigMap with the topology file and the variable values given here
    (-var, -var-file, TOPO_VAR_*), as a variables file;
  - a Secret with the files the topology reads with file() (key files),
    never the ConfigMap;
  - per host a headless Service (clusterIP None, publishing pods that are
    not ready yet) with the tcp ports the host binds; the host's address
    becomes the Service's DNS name NAME.NS.svc.cluster.local, passed to
    every pod with -host-address, whatever the file says;
  - per host a Deployment (one replica) when it runs only services, a Job
    (restarted on failure) when it runs task nodes. The container runs
    topo apply -host NAME ... -http 0.0.0.0:9464 FILE in /etc/topo, with
    readiness on /readyz and liveness on /healthz.

  A file without host blocks becomes one Service and one workload that
  run it all. Names are DNS labels ("worker[2]" becomes "worker-2",
  prefixed with the file's name); the comment at the top of the output
  shows the mapping. A plugin built from source cannot run in the static
  image and is refused; a plugin command must be prebuilt in the image.

  Exit status: 0 on success, 1 when the file is invalid or cannot be
  exported.

Options:
`

// runExport implements `topo export kubernetes`.
func runExport(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 || args[0] != "kubernetes" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprint(c.stdout, exportHelp)
			return 0
		}
		fmt.Fprintf(c.stderr, "topo export: want a format: topo export kubernetes FILE (the only one)\n")
		return 1
	}
	fs := newFlagSet(c, "export kubernetes", exportHelp)
	ns := fs.String("namespace", kubernetes.DefaultNamespace, "the namespace of every object (and of the Service DNS names)")
	image := fs.String("image", kubernetes.DefaultImage, "the container image with the topo binary (build it with the Dockerfile)")
	name := fs.String("name", "", "prefix of every object's name (a DNS-1035 label); default: the file's name")
	lf := addLoadFlags(fs, "do not colour diagnostics")
	path, code, done := parseFileArgs(c, fs, "export kubernetes", args[1:])
	if done {
		return code
	}
	if path == "-" {
		fmt.Fprintln(c.stderr, "topo export kubernetes: want a FILE, not stdin: the export reads the files next to it")
		return 1
	}
	color := c.errTTY && !*lf.noColor
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo export kubernetes: %v\n", err)
		return 1
	}
	// Before loading, which would build a plugin from source: refuse it,
	// and collect the files read with file().
	f, diags := topology.Parse(path, src)
	files := f.Sources()
	if !diags.HasErrors() {
		plugins, d := f.Plugins(topology.Options{Args: *lf.vars, Environ: environ(c)})
		if !d.HasErrors() {
			diags = append(diags, kubernetes.CheckPlugins(plugins)...)
		}
	}
	var keyFiles []kubernetes.File
	if hf := files[path]; hf != nil && !diags.HasErrors() {
		var d hcl.Diagnostics
		keyFiles, d = kubernetes.FileCalls(hf, filepath.Dir(path))
		diags = append(diags, d...)
	}
	if diags.HasErrors() {
		renderDiags(c.stderr, files, diags, color, diagWidth(c))
		return 1
	}
	pre := diags // warnings, shown with the export's
	res, code := loadForOutput(ctx, c, "export kubernetes", path, lf)
	if code != 0 {
		return code
	}
	for k, v := range res.files {
		files[k] = v
	}
	m, diags := kubernetes.Export(res.topo, kubernetes.Options{
		Filename: filepath.Base(path), Source: src, Name: *name, Namespace: *ns, Image: *image,
		Schemas: res.schemas, Files: keyFiles,
	})
	renderDiags(c.stderr, files, append(pre, diags...), color, diagWidth(c))
	if diags.HasErrors() {
		return 1
	}
	if err := m.WriteYAML(c.stdout); err != nil {
		fmt.Fprintf(c.stderr, "topo export kubernetes: %v\n", err)
		return 1
	}
	return 0
}

func environ(c *cli) []string {
	if c.environ == nil {
		return nil
	}
	return c.environ()
}
