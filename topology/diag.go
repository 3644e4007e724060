package topology

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// MaxNameLength is the longest node, socket, variable or plugin name
// accepted, in bytes. Names appear in references, log lines, metrics and
// status columns; 64 leaves room for any descriptive name.
const MaxNameLength = 64

// checkName reports a block label that is not a valid name for a what
// ("node", "socket", ...): not an identifier, or longer than
// MaxNameLength. hint ends the detail of the identifier case.
func checkName(what, name string, r hcl.Range, hint string) *hcl.Diagnostic {
	if len(name) > MaxNameLength {
		length := fmt.Sprintf("%d characters long; names are at most %d.", len(name), MaxNameLength)
		if n := utf8.RuneCountInString(name); n != len(name) {
			length = fmt.Sprintf("%d characters (%d bytes) long; names are at most %d bytes.", n, len(name), MaxNameLength)
		}
		return errorAt(r, "Invalid "+what+" name", fmt.Sprintf("The %s name %s is %s", what, shorten(name), length))
	}
	if !hclsyntax.ValidIdentifier(name) {
		return errorAt(r, "Invalid "+what+" name",
			fmt.Sprintf("%s is not a valid %s name: use letters, digits, underscores and dashes, starting with a letter%s.", shorten(name), what, hint))
	}
	return nil
}

// namedBlock is a labelled top-level block whose name has been checked,
// with its content.
type namedBlock struct {
	name    string
	block   *hcl.Block
	content *hcl.BodyContent
}

// openBlocks yields, in order, the blocks of type what ("variable",
// "plugin") with a valid name (checkName) that no earlier block of that
// type took, with their content read against schema. It appends what it
// finds wrong to *diags before yielding the next block; unique ends the
// detail of the duplicate case.
func openBlocks(blocks hcl.Blocks, what, unique string, schema *hcl.BodySchema, diags *hcl.Diagnostics) iter.Seq[namedBlock] {
	return func(yield func(namedBlock) bool) {
		seen := map[string]hcl.Range{}
		for _, b := range blocks {
			name := b.Labels[0]
			if d := checkName(what, name, b.LabelRanges[0], ""); d != nil {
				*diags = append(*diags, d)
				continue
			}
			if prev, dup := seen[name]; dup {
				*diags = append(*diags, errorAt(b.DefRange, "Duplicate "+what,
					fmt.Sprintf("A %s named %q was already declared at %s.%s", what, name, prev, unique)))
				continue
			}
			seen[name] = b.DefRange
			content, d := b.Body.Content(schema)
			*diags = append(*diags, d...)
			if !yield(namedBlock{name: name, block: b, content: content}) {
				return
			}
		}
	}
}

// shorten quotes s for a message, cutting it to its first 40 bytes.
func shorten(s string) string {
	if len(s) <= 40 {
		return fmt.Sprintf("%q", s)
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // not inside a character
	}
	return fmt.Sprintf("%q...", s[:cut])
}

func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

func warnAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// suggest returns the candidate closest to given, or "" when none is close
// enough to be a plausible typo.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		if d < 3 || (len(c) > 5 && d <= len(c)/3) || strings.EqualFold(given, c) {
			if best == "" || d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// didYouMean is suggest as a sentence to append to a detail (with a
// leading space), or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// dedupe drops diagnostics that repeat an earlier one's severity, summary
// and subject: a counted node reports a mistake in its block once, not
// once per replica.
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		sev     hcl.DiagnosticSeverity
		summary string
		subject hcl.Range
	}
	seen := map[key]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		k := key{sev: d.Severity, summary: d.Summary}
		if d.Subject != nil {
			k.subject = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// SortDiagnostics orders diagnostics by file position, errors before
// warnings at the same position, those without a position last; stable
// otherwise. Decode's are sorted already; a caller that adds its own
// (runtime.Load: the plugins' checks) sorts them all again with it.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		if a == nil || b == nil {
			return a != nil && b == nil
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Start.Byte != b.Start.Byte {
			return a.Start.Byte < b.Start.Byte
		}
		return diags[i].Severity == hcl.DiagError && diags[j].Severity != hcl.DiagError
	})
}

// sortDiags is SortDiagnostics, under the name decode.go calls it by.
func sortDiags(diags hcl.Diagnostics) { SortDiagnostics(diags) }

// WriteDiagnostics renders diagnostics as hcl.NewDiagnosticTextWriter
// does, with source snippets, except those about curve blocks
// (IsSensitive): for them it gives the file and line but no source and no
// values, since the source may hold a secret key. width 0 means no
// wrapping.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	tw := hcl.NewDiagnosticTextWriter(w, files, width, color)
	for _, d := range diags {
		if !IsSensitive(d) {
			if err := tw.WriteDiagnostic(d); err != nil {
				return err
			}
			continue
		}
		// The no-source form of the text writer: a file it does not know.
		var buf bytes.Buffer
		_ = hcl.NewDiagnosticTextWriter(&buf, nil, width, color).WriteDiagnostic(d)
		out := bytes.Replace(buf.Bytes(), []byte("(source code not available)"),
			[]byte("(source not shown: curve settings are secret)"), 1)
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}
