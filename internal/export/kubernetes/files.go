package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// File is one file the topology reads with file(PATH): key files (CURVE
// secret keys) that belong in a Secret, never in the ConfigMap.
type File struct {
	Path  string    // as written in the call, relative to the topology file
	Data  []byte    // its contents
	Range hcl.Range // the call
}

// FileCalls finds the file(PATH) calls in a topology file's native
// syntax body (hcl.File.Body of a .hcl file) and reads each PATH relative
// to dir, the topology file's directory. PATH must be a constant string,
// relative, and inside dir (no ".."): in a pod it is read from the same
// mount as the topology file. This is the seam to the file() function of
// the topology language: it finds the calls by syntax, so it does not
// depend on how the language evaluates them. A JSON-syntax file whose
// text mentions file( is refused: its calls hide in strings.
func FileCalls(f *hcl.File, dir string) ([]File, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		if bytes.Contains(f.Bytes, []byte("file(")) {
			diags = append(diags, errorAt(hcl.Range{}, "file() in a JSON topology",
				"The export finds the files a topology reads with file() in the native syntax only; write the topology as .hcl to export it."))
		}
		return nil, diags
	}
	var out []File
	seen := map[string]bool{}
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || call.Name != "file" {
			return nil
		}
		r := call.Range()
		if len(call.Args) != 1 {
			return nil // the language reports it
		}
		v, d := call.Args[0].Value(nil)
		if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type().FriendlyName() != "string" {
			diags = append(diags, errorAt(r, "file() path not constant",
				"The export copies the files a topology reads into a Secret, so their paths must be constant strings, like file(\"keys/sink.key\")."))
			return nil
		}
		p := v.AsString()
		clean := path.Clean(filepath.ToSlash(p))
		if filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
			diags = append(diags, errorAt(r, "file() path outside the topology's directory",
				fmt.Sprintf("file(%q): in a pod the files sit next to the topology file, in %s; give a path relative to the topology file, inside its directory.", p, MountPath)))
			return nil
		}
		if seen[clean] {
			return nil
		}
		seen[clean] = true
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(clean)))
		if err != nil {
			diags = append(diags, errorAt(r, "Cannot read file", fmt.Sprintf("file(%q): %v", p, err)))
			return nil
		}
		out = append(out, File{Path: clean, Data: data, Range: r})
		return nil
	})
	return out, diags
}

// secretKey is a file's key in the Secret: its path with every character
// a key cannot hold ('/') as '-'.
func secretKey(p string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, p)
}

// secret is the Secret with the files read with file(), and its items.
func (x *exporter) secret() (*corev1.Secret, []SecretItem, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	files := slices.Clone(x.opts.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: x.meta(x.name+"-files", ""),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	var items []SecretItem
	for _, f := range files {
		if f.Path == x.opts.Filename || f.Path == VarFile {
			diags = append(diags, errorAt(f.Range, "file() reads the topology's own name",
				fmt.Sprintf("file(%q) would sit where the export puts the topology or its variables in the pod; rename the file.", f.Path)))
			continue
		}
		k := secretKey(f.Path)
		if _, dup := sec.Data[k]; dup || len(validation.IsConfigMapKey(k)) > 0 {
			k = secretKey(k + "-" + hash5(f.Path))
		}
		sec.Data[k] = f.Data
		items = append(items, SecretItem{Key: k, Path: f.Path})
	}
	if len(items) == 0 {
		return nil, nil, diags
	}
	n := 0
	for _, d := range sec.Data {
		n += len(d)
	}
	if n > MaxObjectData {
		diags = append(diags, errorAt(hcl.Range{}, "Files too large for a Secret",
			fmt.Sprintf("The files read with file() are %d bytes; a Secret holds at most %d.", n, MaxObjectData)))
	}
	return sec, items, diags
}
