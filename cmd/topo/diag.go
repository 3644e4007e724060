package main

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/topo-zmq/topo/topology"
)

// renderDiags writes diagnostics as text with source snippets (none for
// a curve block's: topology.WriteDiagnostics). Colour is
// for terminals; width 0 means no wrapping (stable output for files and
// tests).
func renderDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool, width uint) {
	if len(diags) == 0 {
		return
	}
	var buf bytes.Buffer
	_ = topology.WriteDiagnostics(&buf, files, diags, width, color) // curve blocks: no snippet

	_, _ = w.Write(clipLines(buf.Bytes(), color))
}

// maxDiagLine is the longest line a rendered diagnostic keeps: a source
// line of a hostile or generated file (a 100,000-character name) would
// otherwise be printed whole, in the snippet and the "in node" context.
const maxDiagLine = 300

// clipLines cuts every line longer than maxDiagLine bytes (at a rune
// boundary) and marks the cut; with colour it also resets the terminal's
// attributes, which the cut may have left set.
func clipLines(text []byte, color bool) []byte {
	lines := bytes.SplitAfter(text, []byte("\n"))
	out := make([]byte, 0, len(text))
	for _, l := range lines {
		if len(l) <= maxDiagLine {
			out = append(out, l...)
			continue
		}
		cut := maxDiagLine
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		out = append(out, l[:cut]...)
		out = append(out, "..."...)
		if color {
			out = append(out, "\x1b[0m"...)
		}
		if bytes.HasSuffix(l, []byte("\n")) {
			out = append(out, '\n')
		}
	}
	return out
}

// jsonPos and friends are the -json shape of a diagnostic, the same as
// Terraform's `validate -json`.
type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonDiag struct {
	Severity string     `json:"severity"` // "error" or "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

func toJSONDiags(diags hcl.Diagnostics) []jsonDiag {
	out := make([]jsonDiag, 0, len(diags))
	for _, d := range diags {
		jd := jsonDiag{Severity: "warning", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagError {
			jd.Severity = "error"
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
		}
		out = append(out, jd)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func diagWidth(c *cli) uint {
	if c.isTTY {
		return 100
	}
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
