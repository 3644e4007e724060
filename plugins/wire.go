package plugins

import (
	"fmt"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// KindToWire is how a plugin describes one of its kinds to the host
// (Serve); KindFromWire is its inverse, the host's side
// (runtime/pluginhost). These two are the one codec of a Kind on the
// wire. New and Check do not cross it: the wire only says whether the
// kind has a Check (the host then runs it with a Check call); Procs stays
// with the plugin, which sizes its own process.
func KindToWire(k *Kind) (pluginproto.KindDesc, error) {
	kd := pluginproto.KindDesc{Name: k.Name, Doc: k.Doc, Life: k.Life.String(), Check: k.Check != nil}
	for _, a := range k.Attrs {
		ty, err := pluginproto.EncodeType(a.Type)
		if err != nil {
			return kd, fmt.Errorf("kind %q: attribute %q: %w", k.Name, a.Name, err)
		}
		ad := pluginproto.AttrDesc{Name: a.Name, Type: ty, Doc: a.Doc}
		if !a.Required() {
			v, err := pluginproto.EncodeValue(a.Default)
			if err != nil {
				return kd, fmt.Errorf("kind %q: attribute %q: default: %w", k.Name, a.Name, err)
			}
			ad.Default = &v
		}
		kd.Attrs = append(kd.Attrs, ad)
	}
	for _, s := range k.Sockets {
		sd := pluginproto.SocketDesc{Name: s.Name, Optional: s.Optional, Doc: s.Doc, Types: []string{}}
		for _, t := range s.Types {
			sd.Types = append(sd.Types, string(t))
		}
		kd.Sockets = append(kd.Sockets, sd)
	}
	return kd, nil
}

// KindFromWire decodes a kind a plugin described (KindToWire) into a Kind
// with a nil New. Its Check is nil too: kd.Check says whether the plugin
// can check the kind's nodes across the boundary.
func KindFromWire(kd pluginproto.KindDesc) (*Kind, error) {
	k := &Kind{Name: kd.Name, Doc: kd.Doc, Life: Service}
	switch kd.Life {
	case "task":
		k.Life = Task
	case "service", "":
	default:
		return nil, fmt.Errorf("kind %q: unknown life %q", kd.Name, kd.Life)
	}
	for _, ad := range kd.Attrs {
		ty, err := pluginproto.DecodeType(ad.Type)
		if err != nil {
			return nil, fmt.Errorf("kind %q: attribute %q: %w", kd.Name, ad.Name, err)
		}
		a := Attr{Name: ad.Name, Type: ty, Doc: ad.Doc}
		if ad.Default != nil {
			v, err := pluginproto.DecodeValue(*ad.Default)
			if err != nil {
				return nil, fmt.Errorf("kind %q: attribute %q: default: %w", kd.Name, ad.Name, err)
			}
			a.Default = v
		}
		k.Attrs = append(k.Attrs, a)
	}
	for _, sd := range kd.Sockets {
		s := SocketDecl{Name: sd.Name, Optional: sd.Optional, Doc: sd.Doc}
		for _, t := range sd.Types {
			st, err := socket.ParseType(t)
			if err != nil {
				return nil, fmt.Errorf("kind %q: socket %q: %w", kd.Name, sd.Name, err)
			}
			s.Types = append(s.Types, st)
		}
		k.Sockets = append(k.Sockets, s)
	}
	return k, nil
}
