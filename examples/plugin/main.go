// Command plugin is topo's example node plugin. It serves the kinds of
// package text ("upper", "collect"); pipeline.hcl uses them:
//
//	plugin "text" {
//	  source = "./"
//	}
//
//	node "shout" {
//	  type = "text.upper"
//	  socket "in" {
//	    type    = "PULL"
//	    connect = node.source.out
//	  }
//	  socket "out" {
//	    type    = "PUSH"
//	    connect = node.collect.in
//	  }
//	}
//
// `topo apply examples/plugin/pipeline.hcl` builds this program into topo's
// plugin cache and starts one process per node instance. Run by hand, it
// says it is a plugin and exits 1.
package main

import (
	"github.com/topo-zmq/topo/examples/plugin/text"
	"github.com/topo-zmq/topo/plugins"
)

func main() { plugins.Serve(text.Kinds()...) }
