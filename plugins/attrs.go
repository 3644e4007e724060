package plugins

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Attr returns the kind's attribute with that name.
func (k *Kind) Attr(name string) (Attr, bool) {
	for _, a := range k.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// Socket returns the kind's socket declaration with that name.
func (k *Kind) Socket(name string) (SocketDecl, bool) {
	for _, s := range k.Sockets {
		if s.Name == name {
			return s, true
		}
	}
	return SocketDecl{}, false
}

// Defaults returns attrs completed into an object holding exactly the kind's
// attributes: each present attribute converted to its declared type, each
// absent (or null) one set to its default. attrs may be cty.NilVal, a null
// value, an empty object, or an object or map. An unknown attribute, a value
// that does not convert, or a missing required attribute is an error naming
// the attribute. Defaults is pure and safe for concurrent use.
func (k *Kind) Defaults(attrs cty.Value) (cty.Value, error) {
	given := map[string]cty.Value{}
	if attrs != cty.NilVal && !attrs.IsNull() {
		ty := attrs.Type()
		if !ty.IsObjectType() && !ty.IsMapType() {
			return cty.NilVal, fmt.Errorf("kind %q: attributes must be an object, got %s", k.Name, ty.FriendlyName())
		}
		if !attrs.IsKnown() {
			return cty.NilVal, fmt.Errorf("kind %q: attributes are not known", k.Name)
		}
		for it := attrs.ElementIterator(); it.Next(); {
			key, v := it.Element()
			given[key.AsString()] = v
		}
	}
	var unknown []string
	for name := range given {
		if _, ok := k.Attr(name); !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return cty.NilVal, fmt.Errorf("kind %q: unsupported attribute %q", k.Name, unknown[0])
	}
	out := make(map[string]cty.Value, len(k.Attrs))
	for _, a := range k.Attrs {
		v, ok := given[a.Name]
		if !ok || v.IsNull() {
			if a.Required() {
				return cty.NilVal, fmt.Errorf("kind %q: attribute %q is required", k.Name, a.Name)
			}
			v = a.Default
		}
		if a.Type != cty.NilType && a.Type != cty.DynamicPseudoType {
			cv, err := convert.Convert(v, a.Type)
			if err != nil {
				return cty.NilVal, fmt.Errorf("kind %q: attribute %q: want %s: %w", k.Name, a.Name, a.Type.FriendlyName(), err)
			}
			v = cv
		}
		if !v.IsWhollyKnown() {
			return cty.NilVal, fmt.Errorf("kind %q: attribute %q is not known", k.Name, a.Name)
		}
		out[a.Name] = v
	}
	if len(out) == 0 {
		return cty.EmptyObjectVal, nil
	}
	return cty.ObjectVal(out), nil
}

// ParseDuration parses a duration attribute ("100ms", "1.5s", "0s"; a bare
// "0" is accepted too). The error is an *AttrError naming the attribute. Negative durations are
// rejected: no kind attribute means "negative time".
func ParseDuration(attr, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, AttrErrorf(attr, "invalid duration %q (want a number with a unit, e.g. \"100ms\", \"2s\")", s)
	}
	if d < 0 {
		return 0, AttrErrorf(attr, "duration %q must not be negative", s)
	}
	return d, nil
}
