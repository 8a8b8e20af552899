package otlp

import (
	"errors"
	"fmt"
)

// RequestLimits bound the shape of a request: how deep attribute values
// nest, how many attributes, events, links and spans it carries, and how
// large keys and values are. A request over any of them is refused whole
// (400 / InvalidArgument, reason "limit") before anything is spooled, with
// a *LimitError naming the limit and its setting.
//
// The OpenTelemetry SDKs truncate rather than refuse (128 attributes,
// events and links per span by default, values unlimited); a client using
// an SDK's defaults never meets these limits. The OpenTelemetry Collector
// bounds only the message size (4 MiB gRPC, 20 MiB HTTP by default) and
// relies on its decoder for the rest; ours refuses what would make the
// spool, the store or the UI choke (see docs/operations.md, "Limits").
//
// The zero value of a field means its default (DefaultRequestLimits).
type RequestLimits struct {
	// MaxAttrDepth bounds how many arrays and key-value lists an attribute
	// value may nest (["a"] is 1, [["a"]] is 2). Checked on the raw bytes
	// before decoding, so a value nested 800,000 deep never reaches the
	// recursive protobuf and JSON decoders. At most MaxAttrDepthCeiling.
	MaxAttrDepth int `yaml:"max_attr_depth"`
	// MaxAttributes bounds the attributes of one span, resource, scope,
	// event, link, metric data point or exemplar, and the entries of one
	// key-value list value.
	MaxAttributes int `yaml:"max_attributes"`
	// MaxEventsPerSpan bounds the events of one span.
	MaxEventsPerSpan int `yaml:"max_events_per_span"`
	// MaxLinksPerSpan bounds the links of one span.
	MaxLinksPerSpan int `yaml:"max_links_per_span"`
	// MaxKeyBytes bounds an attribute key, in bytes.
	MaxKeyBytes int `yaml:"max_key_bytes"`
	// MaxValueBytes bounds a string or bytes attribute value, in bytes
	// (a DLQ payload is one: keep the sidecar's max payload below it).
	MaxValueBytes int `yaml:"max_value_bytes"`
	// MaxArrayLen bounds the elements of one array attribute value.
	MaxArrayLen int `yaml:"max_array_len"`
	// MaxSpansPerRequest bounds the spans of one trace request. Counted on
	// the raw protobuf bytes before decoding too.
	MaxSpansPerRequest int `yaml:"max_spans_per_request"`
}

// MaxAttrDepthCeiling is the highest MaxAttrDepth accepted: the decoders
// and the lineage walk recurse once per level, and this keeps their stack
// small whatever the setting.
const MaxAttrDepthCeiling = 256

// DefaultRequestLimits are the limits used when a field is zero.
var DefaultRequestLimits = RequestLimits{
	MaxAttrDepth:       16,
	MaxAttributes:      128,
	MaxEventsPerSpan:   128,
	MaxLinksPerSpan:    128,
	MaxKeyBytes:        1 << 10,
	MaxValueBytes:      64 << 10,
	MaxArrayLen:        1000,
	MaxSpansPerRequest: 50000,
}

// WithDefaults fills zero fields from DefaultRequestLimits.
func (l RequestLimits) WithDefaults() RequestLimits {
	d := DefaultRequestLimits
	for _, p := range []struct{ v, d *int }{
		{&l.MaxAttrDepth, &d.MaxAttrDepth}, {&l.MaxAttributes, &d.MaxAttributes},
		{&l.MaxEventsPerSpan, &d.MaxEventsPerSpan}, {&l.MaxLinksPerSpan, &d.MaxLinksPerSpan},
		{&l.MaxKeyBytes, &d.MaxKeyBytes}, {&l.MaxValueBytes, &d.MaxValueBytes},
		{&l.MaxArrayLen, &d.MaxArrayLen}, {&l.MaxSpansPerRequest, &d.MaxSpansPerRequest},
	} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
	return l
}

// Validate reports the first invalid limit, after filling zero fields with
// their defaults. Names are the settings' YAML keys.
func (l RequestLimits) Validate() error {
	l = l.WithDefaults()
	for _, p := range []struct {
		name string
		v    int
	}{
		{LimitAttrDepth, l.MaxAttrDepth}, {LimitAttributes, l.MaxAttributes},
		{LimitEvents, l.MaxEventsPerSpan}, {LimitLinks, l.MaxLinksPerSpan},
		{LimitKeyBytes, l.MaxKeyBytes}, {LimitValueBytes, l.MaxValueBytes},
		{LimitArrayLen, l.MaxArrayLen}, {LimitSpans, l.MaxSpansPerRequest},
	} {
		if p.v < 0 {
			return fmt.Errorf("limits.%s must be positive (0 means the default)", p.name)
		}
	}
	if l.MaxAttrDepth > MaxAttrDepthCeiling {
		return fmt.Errorf("limits.%s %d is above %d", LimitAttrDepth, l.MaxAttrDepth, MaxAttrDepthCeiling)
	}
	return nil
}

// Names of the limits, as their settings' YAML keys under collector.limits.
const (
	LimitAttrDepth  = "max_attr_depth"
	LimitAttributes = "max_attributes"
	LimitEvents     = "max_events_per_span"
	LimitLinks      = "max_links_per_span"
	LimitKeyBytes   = "max_key_bytes"
	LimitValueBytes = "max_value_bytes"
	LimitArrayLen   = "max_array_len"
	LimitSpans      = "max_spans_per_request"
)

// SettingPrefix is the path of RequestLimits in the configuration file,
// used to name a limit's setting in error messages.
const SettingPrefix = "collector.limits."

// LimitError is a request over one of its RequestLimits. Check for it with
// errors.As; the receivers answer it with 400 / InvalidArgument and count
// it under ReasonLimit.
type LimitError struct {
	// Path locates the offending part, e.g.
	// "resource_spans[0].scope_spans[0].spans[3].attributes".
	Path string
	// What names what was counted or measured ("attributes", "bytes", …).
	What string
	// Limit is the limit's name (one of the Limit… constants).
	Limit string
	// Max is the limit's value.
	Max int
	// Got is what the request has; for nesting depth and counts taken on
	// raw bytes it is the first value over Max, not the total.
	Got int
}

// Error says where, what, and which setting to raise, e.g.
// "spans[3].attributes: 200 attributes exceed the limit of 128 (collector.limits.max_attributes)".
func (e *LimitError) Error() string {
	at := e.Path
	if at != "" {
		at += ": "
	}
	return fmt.Sprintf("%s%d %s exceed the limit of %d (%s%s)", at, e.Got, e.What, e.Max, SettingPrefix, e.Limit)
}

// IsLimit reports whether err is (or wraps) a *LimitError.
func IsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

func overLimit(path, what, limit string, maxV, got int) *LimitError {
	return &LimitError{Path: path, What: what, Limit: limit, Max: maxV, Got: got}
}

// prescan runs the pre-scan of a request's bytes in encoding ct (see
// prescan.go) and turns what it finds into a rejection.
func (l RequestLimits) prescan(ct string, b []byte, root pbMsg) *reqError {
	var err error
	if ct == ctJSON {
		err = PrescanJSON(b, l)
	} else {
		_, err = prescanProto(b, root, l)
	}
	if err == nil {
		return nil
	}
	if IsLimit(err) {
		return reject(ReasonLimit, "%v", err)
	}
	return reject(ReasonMalformed, "cannot decode %s OTLP request: %v", ct, err)
}

// validationError turns an error of the decoded request's validation into
// a rejection: a limit or invalid content.
func validationError(err error) *reqError {
	if IsLimit(err) {
		return reject(ReasonLimit, "%v", err)
	}
	return reject(ReasonInvalid, "%v", err)
}
