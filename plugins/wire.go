package plugins

import (
	"errors"
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

// CurveToWire encodes a socket's CURVE mechanism for SocketSpec.Curve (nil
// stays nil).
func CurveToWire(c *socket.Curve) *pluginproto.CurveSpec {
	if c == nil {
		return nil
	}
	w := &pluginproto.CurveSpec{}
	if !c.Key.Public.IsZero() {
		w.Public = c.Key.Public.Z85()
	}
	if !c.Key.Secret.IsZero() {
		w.Secret = c.Key.Secret.Z85()
	}
	if !c.ServerKey.IsZero() {
		w.ServerKey = c.ServerKey.Z85()
	}
	if len(c.ServerKeys) > 0 {
		w.ServerKeys = make(map[string]string, len(c.ServerKeys))
		for ep, k := range c.ServerKeys {
			w.ServerKeys[ep] = k.Z85()
		}
	}
	for _, k := range c.Allow {
		w.Allow = append(w.Allow, k.Z85())
	}
	return w
}

// CurveFromWire is the inverse of CurveToWire. Its errors name the field,
// never a key.
func CurveFromWire(w *pluginproto.CurveSpec) (*socket.Curve, error) {
	if w == nil {
		return nil, nil
	}
	key := func(field, s string) (socket.CurveKey, error) {
		if s == "" {
			return socket.CurveKey{}, nil
		}
		k, err := socket.ParseCurveKey(s)
		if err != nil {
			return k, fmt.Errorf("curve %s: %w", field, err)
		}
		return k, nil
	}
	c := &socket.Curve{}
	var err error
	if c.Key.Secret, err = key("secret", w.Secret); err != nil {
		return nil, err
	}
	if c.Key.Public, err = key("public", w.Public); err != nil {
		return nil, err
	}
	if !c.Key.Secret.IsZero() {
		if want := socket.CurveKeyPairFromSecret(c.Key.Secret).Public; c.Key.Public != want {
			return nil, errors.New("curve: the public key is not the secret key's")
		}
	}
	if c.ServerKey, err = key("server_key", w.ServerKey); err != nil {
		return nil, err
	}
	if len(w.ServerKeys) > 0 {
		c.ServerKeys = make(map[string]socket.CurveKey, len(w.ServerKeys))
		for ep, s := range w.ServerKeys {
			if c.ServerKeys[ep], err = key("server_keys", s); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range w.Allow {
		k, err := key("allow", s)
		if err != nil {
			return nil, err
		}
		c.Allow = append(c.Allow, k)
	}
	return c, nil
}
