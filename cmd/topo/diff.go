package main

import (
	"fmt"
	"strings"
)

// unifiedDiff returns a unified diff (3 lines of context) turning a into
// b, labelled with name, or "" when they are equal. It is an LCS diff over
// lines: fine for configuration files; for very large inputs it falls back
// to replacing the whole file.
func unifiedDiff(name string, a, b []byte) string {
	al, bl := splitLines(string(a)), splitLines(string(b))
	if strings.Join(al, "") == strings.Join(bl, "") {
		return ""
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		ai   int // line number in a (1-based) for ' ' and '-'
		bi   int // line number in b for ' ' and '+'
	}
	var ops []op
	if len(al)*len(bl) > 25_000_000 {
		for i, l := range al {
			ops = append(ops, op{'-', l, i + 1, 0})
		}
		for i, l := range bl {
			ops = append(ops, op{'+', l, 0, i + 1})
		}
	} else {
		// lcs[i][j] is the LCS length of al[i:] and bl[j:].
		lcs := make([][]int32, len(al)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(bl)+1)
		}
		for i := len(al) - 1; i >= 0; i-- {
			for j := len(bl) - 1; j >= 0; j-- {
				if al[i] == bl[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(al) || j < len(bl) {
			switch {
			case i < len(al) && j < len(bl) && al[i] == bl[j]:
				ops = append(ops, op{' ', al[i], i + 1, j + 1})
				i++
				j++
			case i < len(al) && (j == len(bl) || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, op{'-', al[i], i + 1, j})
				i++
			default:
				ops = append(ops, op{'+', bl[j], i, j + 1})
				j++
			}
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s (formatted)\n", name, name)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after
		// the last change that is within 2*ctx of the previous one.
		start := max(0, k-ctx)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run < len(ops) && run-end <= 2*ctx {
				end = run
				continue
			}
			end = min(len(ops), end+ctx)
			break
		}
		aStart, bStart, aCount, bCount := 0, 0, 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				if aCount == 0 {
					aStart = o.ai
				}
				aCount++
			}
			if o.kind != '-' {
				if bCount == 0 {
					bStart = o.bi
				}
				bCount++
			}
		}
		if aCount == 0 {
			aStart = ops[start].ai
		}
		if bCount == 0 {
			bStart = ops[start].bi
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart, aCount, bStart, bCount)
		for _, o := range ops[start:end] {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		k = end
	}
	return out.String()
}

// splitLines splits after each newline, keeping it.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
