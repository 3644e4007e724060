package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/topo-zmq/topo/topology"
)

// build compiles a source plugin into the cache when missing or stale and
// returns the executable. The cache key is a hash of the Go toolchain
// version, the package's module files and the content of every non-standard
// package it depends on that is not a fixed module version (so editing the
// plugin, or topo's own packages it imports, rebuilds it). Builds are
// serialized; within one Host a source directory is hashed once.
func (h *Host) build(ctx context.Context, p *topology.Plugin, baseDir string) (string, error) {
	dir := p.Source
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(baseDir, dir)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("source %s: no such directory: %w", dir, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("source %s: %w", dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("source %s is not a directory (a Go main package): %w", dir, ErrBuild)
	}

	h.buildMu.Lock()
	defer h.buildMu.Unlock()
	if exe, ok := h.built[dir]; ok {
		return exe, nil
	}
	hash, err := h.sourceHash(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("source %s: %w: %v", dir, ErrBuild, err)
	}
	cache := h.opts.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("source %s: no cache directory (set one): %w", dir, err)
		}
		cache = filepath.Join(base, "topo", "plugins")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("source %s: cache: %w", dir, err)
	}
	exe := filepath.Join(cache, safeName(p.Name)+"-"+hash[:16])
	if st, err := os.Stat(exe); err == nil && st.Mode().IsRegular() {
		h.built[dir] = exe
		return exe, nil
	}
	tmp, err := os.CreateTemp(cache, ".build-"+safeName(p.Name)+"-*")
	if err != nil {
		return "", fmt.Errorf("source %s: cache: %w", dir, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	h.log.Info("building plugin", "plugin", p.Name, "source", dir, "output", exe)
	cmd := exec.CommandContext(ctx, h.opts.GoCommand, "build", "-o", tmp.Name(), ".")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("source %s: %w: go build: %v\n%s", dir, ErrBuild, err, strings.TrimSpace(out.String()))
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), exe); err != nil {
		return "", fmt.Errorf("source %s: cache: %w", dir, err)
	}
	h.built[dir] = exe
	return exe, nil
}

// sourceHash hashes what the plugin's binary depends on.
func (h *Host) sourceHash(ctx context.Context, dir string) (string, error) {
	const format = `{{if not .Standard}}{{.ImportPath}}` + "\t" + `{{.Dir}}` + "\t" +
		`{{if .Module}}{{.Module.Path}}@{{.Module.Version}}` + "\t" + `{{.Module.GoMod}}{{end}}` + "\t" +
		`{{join .GoFiles " "}} {{join .CgoFiles " "}} {{join .EmbedFiles " "}}{{end}}`
	cmd := exec.CommandContext(ctx, h.opts.GoCommand, "list", "-deps", "-f", format, ".")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	env, err := exec.CommandContext(ctx, h.opts.GoCommand, "env", "GOVERSION", "GOOS", "GOARCH", "GOFLAGS").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %v", err)
	}
	hash := sha256.New()
	hash.Write(env)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	goMods := map[string]bool{}
	for _, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			continue
		}
		importPath, pkgDir, mod, goMod, files := f[0], f[1], f[2], f[3], strings.Fields(f[4])
		fmt.Fprintf(hash, "pkg %s\n", importPath)
		if mod != "" && !strings.HasSuffix(mod, "@") {
			// A fixed module version: its content is immutable.
			fmt.Fprintf(hash, "mod %s\n", mod)
			continue
		}
		if goMod != "" {
			goMods[goMod] = true
		}
		for _, name := range files {
			if err := hashFile(hash, filepath.Join(pkgDir, name)); err != nil {
				return "", err
			}
		}
	}
	var mods []string
	for m := range goMods {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		if err := hashFile(hash, m); err != nil {
			return "", err
		}
		if err := hashFile(hash, strings.TrimSuffix(m, ".mod")+".sum"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(w, "file %s\n", path)
	_, err = io.Copy(w, f)
	return err
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// resolve finds (or builds) the plugin's executable and checks it.
func (h *Host) resolve(ctx context.Context, p *topology.Plugin, baseDir string) (string, []string, error) {
	var exe string
	switch {
	case p.Command != "" && p.Source != "":
		return "", nil, errors.New("set either command or source, not both")
	case p.Command != "":
		exe = p.Command
		if !filepath.IsAbs(exe) {
			if !strings.ContainsRune(exe, filepath.Separator) {
				if found, err := exec.LookPath(exe); err == nil {
					exe = found
					break
				}
			}
			// Relative to the topology file's directory, and absolute:
			// Join(".", "./x") is "x", which exec would look up in $PATH.
			exe = filepath.Join(baseDir, exe)
			if abs, err := filepath.Abs(exe); err == nil {
				exe = abs
			}
		}
	case p.Source != "":
		built, err := h.build(ctx, p, baseDir)
		if err != nil {
			return "", nil, err
		}
		exe = built
	default:
		return "", nil, errors.New("no command or source")
	}
	if err := checkExecutable(exe); err != nil {
		return "", nil, err
	}
	if p.SHA256 != "" {
		if err := h.checkSHA256(exe, p.SHA256); err != nil {
			return "", nil, err
		}
	}
	return exe, nil, nil
}

// fileSum is a computed checksum and the file state it was computed for.
type fileSum struct {
	size  int64
	mtime time.Time
	sum   string
}

// checkSHA256 verifies the file's checksum against a pin. The sum is cached
// per path while the file's size and mtime are unchanged, so launching many
// replicas of one plugin hashes it once.
func (h *Host) checkSHA256(path, want string) error {
	want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "sha256:"))
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	h.sumMu.Lock()
	c, ok := h.sums[path]
	h.sumMu.Unlock()
	got := c.sum
	if !ok || c.size != st.Size() || !c.mtime.Equal(st.ModTime()) {
		if got, err = sha256File(path); err != nil {
			return err
		}
		h.sumMu.Lock()
		h.sums[path] = fileSum{size: st.Size(), mtime: st.ModTime(), sum: got}
		h.sumMu.Unlock()
	}
	if got != want {
		return fmt.Errorf("%s has sha256 %s but the topology pins %s: %w", path, got, want, ErrChecksum)
	}
	return nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such file: %w", path, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory: %w", path, ErrNotExecutable)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s (mode %s; chmod +x it): %w", path, st.Mode().Perm(), ErrNotExecutable)
	}
	return nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}
