package otlp

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The pre-scan runs on a request's raw bytes before pdata decodes them.
// pdata's protobuf and JSON decoders recurse once per nesting level of an
// attribute value, so a value nested 800,000 deep (7.5 MB, well under the
// body limit) grows a goroutine stack by hundreds of MB and, deeper, kills
// the process with a fatal stack overflow that no recover can catch. The
// pre-scan walks the bytes with an explicit stack, never recursing, and
// stops at the first level over RequestLimits.MaxAttrDepth.
//
// For protobuf it knows the OTLP messages on the way to attribute values
// (requests → resources, scopes, spans, events, links, metrics, data
// points, exemplars → KeyValue → AnyValue → ArrayValue/KeyValueList) and
// skips every other field, so it costs a pass over the tags; it counts
// spans too, so a request with too many is refused before pdata allocates
// them. For JSON it bounds the nesting of brackets outside strings: an
// OTLP JSON request nests at most 16 levels besides its attribute values,
// and each level of attribute nesting adds at most 4, so 20 + 4 ×
// MaxAttrDepth levels admit every valid request and stop every deep one;
// the exact attribute depth is then checked on the decoded request.

// ErrMalformed is returned (wrapped) by the pre-scan for bytes that are not
// a valid encoding of the request: pdata's decoder would refuse them too.
var ErrMalformed = errors.New("malformed OTLP request")

// pbMsg is an OTLP protobuf message type the pre-scan descends into.
type pbMsg uint8

const (
	pbSkip pbMsg = iota // not descended into
	pbTraceRequest
	pbResourceSpans
	pbScopeSpans
	pbSpan
	pbEvent
	pbLink
	pbMetricsRequest
	pbResourceMetrics
	pbScopeMetrics
	pbMetric
	pbDataPoints // Gauge, Sum, Histogram, ExponentialHistogram, Summary: field 1
	pbNumberPoint
	pbHistogramPoint
	pbExpHistogramPoint
	pbSummaryPoint
	pbExemplar
	pbResource
	pbScope
	pbKeyValue
	pbAnyValue
	pbArray
	pbKVList
)

// pbChild is the message type of field num of a message of type m, or
// pbSkip for fields that hold no attributes. Field numbers are those of
// opentelemetry-proto (as pdata v1.70 decodes them, deprecated ones too).
func pbChild(m pbMsg, num protowire.Number, points pbMsg) pbMsg {
	switch m {
	case pbTraceRequest:
		if num == 1 {
			return pbResourceSpans
		}
	case pbResourceSpans:
		switch num {
		case 1:
			return pbResource
		case 2, 1000:
			return pbScopeSpans
		}
	case pbScopeSpans:
		switch num {
		case 1:
			return pbScope
		case 2:
			return pbSpan
		}
	case pbSpan:
		switch num {
		case 9:
			return pbKeyValue
		case 11:
			return pbEvent
		case 13:
			return pbLink
		}
	case pbEvent:
		if num == 3 {
			return pbKeyValue
		}
	case pbLink:
		if num == 4 {
			return pbKeyValue
		}
	case pbMetricsRequest:
		if num == 1 {
			return pbResourceMetrics
		}
	case pbResourceMetrics:
		switch num {
		case 1:
			return pbResource
		case 2, 1000:
			return pbScopeMetrics
		}
	case pbScopeMetrics:
		switch num {
		case 1:
			return pbScope
		case 2:
			return pbMetric
		}
	case pbMetric:
		switch num {
		case 5, 7, 9, 10, 11:
			return pbDataPoints
		case 12:
			return pbKeyValue
		}
	case pbDataPoints:
		if num == 1 {
			return points
		}
	case pbNumberPoint:
		switch num {
		case 7:
			return pbKeyValue
		case 5:
			return pbExemplar
		}
	case pbHistogramPoint:
		switch num {
		case 9:
			return pbKeyValue
		case 8:
			return pbExemplar
		}
	case pbExpHistogramPoint:
		switch num {
		case 1:
			return pbKeyValue
		case 11:
			return pbExemplar
		}
	case pbSummaryPoint:
		if num == 7 {
			return pbKeyValue
		}
	case pbExemplar:
		if num == 7 {
			return pbKeyValue
		}
	case pbResource:
		if num == 1 {
			return pbKeyValue
		}
	case pbScope:
		if num == 3 {
			return pbKeyValue
		}
	case pbKeyValue:
		if num == 2 {
			return pbAnyValue
		}
	case pbAnyValue:
		switch num {
		case 5:
			return pbArray
		case 6:
			return pbKVList
		}
	case pbArray:
		if num == 1 {
			return pbAnyValue
		}
	case pbKVList:
		if num == 1 {
			return pbKeyValue
		}
	}
	return pbSkip
}

// pbChildren is pbChild for field numbers below pbTableFields, as a table:
// the pre-scan looks a child up once per length-delimited field.
const pbTableFields = 16

var pbChildren = func() (t [pbKVList + 1][pbTableFields]pbMsg) {
	for m := range t {
		for num := 1; num < pbTableFields; num++ {
			t[m][num] = pbChild(pbMsg(m), protowire.Number(num), pbSkip)
		}
	}
	return t
}()

// metricPoints is the data point type of each Metric field holding data.
func metricPoints(num protowire.Number) pbMsg {
	switch num {
	case 5, 7:
		return pbNumberPoint
	case 9:
		return pbHistogramPoint
	case 10:
		return pbExpHistogramPoint
	}
	return pbSummaryPoint
}

type pbFrame struct {
	end    int
	msg    pbMsg
	points pbMsg // for pbDataPoints: the type of its points
}

// PrescanTracesProto checks a protobuf ExportTraceServiceRequest's
// attribute nesting depth and span count against l without decoding it.
// It returns a *LimitError, an error wrapping ErrMalformed, or nil.
func PrescanTracesProto(b []byte, l RequestLimits) error {
	_, err := prescanProto(b, pbTraceRequest, l.WithDefaults())
	return err
}

// CountSpansProto counts the spans of a protobuf ExportTraceServiceRequest
// without decoding it (for describing a record that may not decode); it
// checks nesting as PrescanTracesProto does with the deepest limit allowed.
func CountSpansProto(b []byte) (int, error) {
	return prescanProto(b, pbTraceRequest, RequestLimits{MaxAttrDepth: MaxAttrDepthCeiling, MaxSpansPerRequest: math.MaxInt})
}

// PrescanMetricsProto checks a protobuf ExportMetricsServiceRequest's
// attribute nesting depth against l without decoding it.
func PrescanMetricsProto(b []byte, l RequestLimits) error {
	_, err := prescanProto(b, pbMetricsRequest, l.WithDefaults())
	return err
}

// prescanProto returns the number of spans in b, or the first problem.
func prescanProto(b []byte, root pbMsg, l RequestLimits) (spans int, err error) {
	// The stack holds at most the fixed levels above an attribute value
	// (8) plus 2 per attribute nesting level: it never grows past that,
	// since a level over the limit stops the scan.
	stack := make([]pbFrame, 1, 16)
	stack[0] = pbFrame{end: len(b), msg: root}
	depth := 0
	pos := 0
	for {
		top := &stack[len(stack)-1]
		if pos == top.end {
			if len(stack) == 1 {
				return spans, nil
			}
			if top.msg == pbArray || top.msg == pbKVList {
				depth--
			}
			stack = stack[:len(stack)-1]
			continue
		}
		// The common cases (one-byte tags and lengths, scalar fields) are
		// decoded inline: this loop runs once per field of the request.
		tag, n := uint64(b[pos]), 1
		if tag >= 0x80 {
			if tag, n = protowire.ConsumeVarint(b[pos:top.end]); n < 0 {
				return spans, malformedAt(pos, protowire.ParseError(n))
			}
		}
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
			return spans, malformedAt(pos, errors.New("invalid field number"))
		}
		pos += n
		if typ != protowire.BytesType {
			if n = skipScalar(b[pos:top.end], num, typ); n < 0 {
				return spans, malformedAt(pos, protowire.ParseError(n))
			}
			pos += n
			continue
		}
		size, n := uint64(0), 0
		if pos < top.end && b[pos] < 0x80 {
			size, n = uint64(b[pos]), 1
		} else if size, n = protowire.ConsumeVarint(b[pos:top.end]); n < 0 {
			return spans, malformedAt(pos, protowire.ParseError(n))
		}
		pos += n
		if size > uint64(top.end-pos) {
			return spans, malformedAt(pos, errors.New("length beyond the enclosing message"))
		}
		var child pbMsg
		if num < pbTableFields {
			child = pbChildren[top.msg][num]
			if top.msg == pbDataPoints && num == 1 {
				child = top.points
			}
		} else {
			child = pbChild(top.msg, num, top.points)
		}
		if child == pbSkip || child == pbAnyValue && scalarValue(b[pos:pos+int(size)]) {
			pos += int(size)
			continue
		}
		f := pbFrame{end: pos + int(size), msg: child}
		switch child {
		case pbArray, pbKVList:
			depth++
			if depth > l.MaxAttrDepth {
				return spans, overLimit("attribute value", "levels of nested arrays and key-value lists", LimitAttrDepth, l.MaxAttrDepth, depth)
			}
		case pbSpan:
			spans++
			if spans > l.MaxSpansPerRequest {
				return spans, overLimit("request", "spans", LimitSpans, l.MaxSpansPerRequest, spans)
			}
		case pbDataPoints:
			f.points = metricPoints(num)
		}
		stack = append(stack, f)
	}
}

// skipScalar returns the length of a field value that is not
// length-delimited, or a negative protowire error.
func skipScalar(b []byte, num protowire.Number, typ protowire.Type) int {
	switch typ {
	case protowire.VarintType:
		for i := 0; i < len(b) && i < 10; i++ {
			if b[i] < 0x80 {
				return i + 1
			}
		}
	case protowire.Fixed64Type:
		if len(b) >= 8 {
			return 8
		}
	case protowire.Fixed32Type:
		if len(b) >= 4 {
			return 4
		}
	case protowire.StartGroupType, protowire.EndGroupType:
		return skipGroup(b, typ)
	}
	return protowire.ConsumeFieldValue(num, typ, b)
}

// skipGroup skips a (deprecated) group the way pdata's decoder does, so
// that the pre-scan refuses no request pdata accepts: inside a group, the
// first field that is not a group marker ends it.
func skipGroup(b []byte, typ protowire.Type) int {
	depth, pos := 0, 0
	for {
		switch typ {
		case protowire.StartGroupType:
			depth++
		case protowire.EndGroupType:
			if depth == 0 {
				return -1 // an end of group without its start
			}
			depth--
		default:
			n := protowire.ConsumeFieldValue(1, typ, b[pos:])
			if n < 0 {
				return n
			}
			return pos + n
		}
		if depth == 0 {
			return pos
		}
		if pos >= len(b) {
			return -1
		}
		var n int
		_, typ, n = protowire.ConsumeTag(b[pos:])
		if n < 0 {
			return n
		}
		pos += n
	}
}

// scalarValue reports whether an AnyValue's bytes are one field that is not
// an array or a key-value list (nearly every attribute value), so the
// pre-scan can skip it whole. Anything else is walked field by field.
func scalarValue(v []byte) bool {
	if len(v) < 2 || v[0] >= 0x80 {
		return len(v) == 0
	}
	num, typ := v[0]>>3, protowire.Type(v[0]&7)
	if num == 5 || num == 6 || num == 0 {
		return false
	}
	var n int
	if typ == protowire.BytesType {
		if v[1] >= 0x80 {
			return false // a long string: walk it (one field, cheap)
		}
		n = 2 + int(v[1])
	} else {
		n = 1 + skipScalar(v[1:], protowire.Number(num), typ)
	}
	return n == len(v)
}

func malformedAt(pos int, err error) error {
	return fmt.Errorf("%w: at byte %d: %v", ErrMalformed, pos, err)
}

// jsonBaseDepth is the deepest an OTLP JSON request nests outside
// attribute values, with one level to spare (an exemplar's filtered
// attribute value object is at level 15); jsonDepthPerLevel the most a
// level of attribute nesting adds (a key-value list: kvlistValue, values,
// the key-value, its value).
const (
	jsonBaseDepth     = 20
	jsonDepthPerLevel = 4
)

// PrescanJSON bounds the bracket nesting of an OTLP JSON request to
// 20 + 4 × MaxAttrDepth levels without decoding it (see the comment at the
// top of this file). It returns a *LimitError or nil; bytes that are not
// JSON are left to the decoder.
func PrescanJSON(b []byte, l RequestLimits) error {
	l = l.WithDefaults()
	maxDepth := jsonBaseDepth + jsonDepthPerLevel*l.MaxAttrDepth
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return overLimit("request body", fmt.Sprintf("levels of JSON nesting (%d + %d per level of %s)", jsonBaseDepth, jsonDepthPerLevel, LimitAttrDepth),
					LimitAttrDepth, maxDepth, depth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
