package main

import (
	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/plugins/builtin"
	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/topology"
)

// builtinRegistry is a registry holding the built-in kinds.
func builtinRegistry() (*plugins.Registry, error) {
	var reg plugins.Registry
	if err := builtin.Register(&reg); err != nil {
		return nil, err
	}
	return &reg, nil
}

// builtinSchemas is what validation knows of the built-in kinds.
func builtinSchemas() (topology.Schemas, error) {
	reg, err := builtinRegistry()
	if err != nil {
		return nil, err
	}
	return runtime.Schemas(reg, nil), nil
}
