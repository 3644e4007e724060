package main

import (
	"flag"

	"github.com/topo-zmq/topo/topology"
)

// varArgFlag is a repeatable -var or -var-file flag: every occurrence is
// appended, in command-line order, to one shared list, so that -var and
// -var-file interleave the way Terraform's precedence needs.
type varArgFlag struct {
	name string // "var" or "var-file"
	args *[]topology.VarArg
}

func (v varArgFlag) String() string { return "" }

func (v varArgFlag) Set(s string) error {
	*v.args = append(*v.args, topology.VarArg{Flag: v.name, Value: s})
	return nil
}

// addVarFlags defines -var and -var-file on fs and returns the list they
// fill.
func addVarFlags(fs *flag.FlagSet) *[]topology.VarArg {
	args := new([]topology.VarArg)
	fs.Var(varArgFlag{"var", args}, "var", "set a variable: -var 'name=value' (repeatable; later wins)")
	fs.Var(varArgFlag{"var-file", args}, "var-file", "read variables from an HCL file of name = value lines (repeatable)")
	return args
}
