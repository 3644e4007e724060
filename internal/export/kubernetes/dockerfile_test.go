package kubernetes

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerfile is the repository's Dockerfile, which builds the image the
// exported pods run.
const dockerfile = "../../../Dockerfile"

// imageBinary is the topo binary built by the Dockerfile's go build line,
// shared by the tests of this package: built once, in a directory
// TestMain removes.
var imageBinary struct {
	once      sync.Once
	dir, path string
	err       error
}

// dockerfileBuild reads the Dockerfile's go build line ("RUN ... go build
// ... -o OUT ./cmd/topo") and where the image puts OUT: the COPY line's
// destination, which must be Command in a directory on the image's PATH.
func dockerfileBuild(t testing.TB) (line, out string) {
	t.Helper()
	src, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var dest, pathEnv string
	for _, l := range strings.Split(string(src), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && f[0] == "RUN" && strings.Contains(l, " go build "):
			line = strings.TrimSpace(strings.TrimPrefix(l, "RUN"))
			for i, a := range f {
				if a == "-o" && i+1 < len(f) {
					out = f[i+1]
				}
			}
		case len(f) == 4 && f[0] == "COPY" && f[1] == "--from=build" && out != "" && f[2] == out:
			dest = f[3]
		case len(f) == 2 && f[0] == "ENV" && strings.HasPrefix(f[1], "PATH="):
			pathEnv = strings.TrimPrefix(f[1], "PATH=")
		}
	}
	if line == "" || out == "" || !strings.HasPrefix(line, "CGO_ENABLED=0 go build ") || !strings.HasSuffix(line, " ./cmd/topo") {
		t.Fatalf("%s: no RUN CGO_ENABLED=0 go build ... -o OUT ./cmd/topo line (got %q)", dockerfile, line)
	}
	if path.Base(dest) != Command || !strings.Contains(":"+pathEnv+":", ":"+path.Dir(dest)+":") {
		t.Fatalf("%s: the binary is copied to %q with PATH=%q; the pods run %q from the PATH", dockerfile, dest, pathEnv, Command)
	}
	return line, out
}

// buildImageBinary runs the Dockerfile's go build line from the
// repository root, with the output path moved into a temporary
// directory, and returns the binary.
func buildImageBinary(t testing.TB) string {
	t.Helper()
	line, out := dockerfileBuild(t)
	imageBinary.once.Do(func() {
		dir, err := os.MkdirTemp("", "topo-k8s-bin-")
		if err != nil {
			imageBinary.err = err
			return
		}
		imageBinary.dir = dir
		bin := filepath.Join(dir, Command)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", strings.Replace(line, " -o "+out+" ", " -o "+bin+" ", 1))
		cmd.Dir = "../../.."
		if b, err := cmd.CombinedOutput(); err != nil {
			imageBinary.err = err
			t.Logf("%s", b)
			return
		}
		imageBinary.path = bin
	})
	if imageBinary.err != nil {
		t.Fatalf("the Dockerfile's %q: %v", line, imageBinary.err)
	}
	return imageBinary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if imageBinary.dir != "" {
		os.RemoveAll(imageBinary.dir)
	}
	os.Exit(code)
}

// TestDockerfileBuildsAStaticBinary runs the Dockerfile's go build line
// (docker itself cannot run here) and checks the result is what a
// scratch image needs: a static executable (no interpreter, no shared
// libraries) that runs.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	bin := buildImageBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has an ELF interpreter: not static", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v): not static", bin, libs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "export", "kubernetes", "-help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "topo export kubernetes") {
		t.Errorf("%s export kubernetes -help: %v\n%s", bin, err, out)
	}
}
