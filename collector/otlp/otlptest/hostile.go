package otlptest

import (
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Hostile requests are built here byte by byte: pdata's encoder recurses
// per nesting level just like its decoder, so it cannot build them.

// DeepProto returns a protobuf ExportTraceServiceRequest of one valid span
// whose attribute "deep" nests depth levels: arrays, or key-value lists
// when kvlist is set (each holding one entry "k"). The innermost value is
// the string "x". It takes time linear in depth: every nested message is
// the last field of its parent, so the headers of all levels are written
// first, outermost first, once their sizes are known.
func DeepProto(depth int, kvlist bool) []byte {
	inner := protowire.AppendTag(nil, 1, protowire.BytesType) // AnyValue.string_value
	inner = protowire.AppendString(inner, "x")
	// level i's AnyValue holds a container holding level i-1's AnyValue.
	// prefix(n) is the bytes written before a child AnyValue of n bytes,
	// inside one level.
	kvHead := protowire.AppendTag(nil, 1, protowire.BytesType)
	kvHead = protowire.AppendString(kvHead, "k")
	prefix := func(dst []byte, child int) []byte {
		if kvlist {
			kv := len(kvHead) + 1 + protowire.SizeVarint(uint64(child)) + child
			list := 1 + protowire.SizeVarint(uint64(kv)) + kv
			dst = protowire.AppendTag(dst, 6, protowire.BytesType) // AnyValue.kvlist_value
			dst = protowire.AppendVarint(dst, uint64(list))
			dst = protowire.AppendTag(dst, 1, protowire.BytesType) // KeyValueList.values
			dst = protowire.AppendVarint(dst, uint64(kv))
			dst = append(dst, kvHead...)
			dst = protowire.AppendTag(dst, 2, protowire.BytesType) // KeyValue.value
			return protowire.AppendVarint(dst, uint64(child))
		}
		arr := 1 + protowire.SizeVarint(uint64(child)) + child
		dst = protowire.AppendTag(dst, 5, protowire.BytesType) // AnyValue.array_value
		dst = protowire.AppendVarint(dst, uint64(arr))
		dst = protowire.AppendTag(dst, 1, protowire.BytesType) // ArrayValue.values
		return protowire.AppendVarint(dst, uint64(child))
	}
	sizes := make([]int, depth+1) // sizes[i]: the AnyValue at level i
	sizes[0] = len(inner)
	var scratch [64]byte
	for i := 1; i <= depth; i++ {
		sizes[i] = len(prefix(scratch[:0], sizes[i-1])) + sizes[i-1]
	}
	v := make([]byte, 0, sizes[depth])
	for i := depth; i >= 1; i-- {
		v = prefix(v, sizes[i-1])
	}
	v = append(v, inner...)
	kv := protowire.AppendTag(nil, 1, protowire.BytesType)
	kv = protowire.AppendString(kv, "deep")
	kv = protowire.AppendTag(kv, 2, protowire.BytesType)
	kv = protowire.AppendBytes(kv, v)
	return SpanWithRawAttrs(kv)
}

// SpanWithRawAttrs returns a protobuf ExportTraceServiceRequest of one
// span (trace id 0xde…01, span id 0xde…01, name "hostile") with kvs, each
// the encoding of a KeyValue, as its attributes.
func SpanWithRawAttrs(kvs ...[]byte) []byte {
	tid := make([]byte, 16)
	tid[0], tid[15] = 0xde, 1
	sid := []byte{0xde, 0, 0, 0, 0, 0, 0, 1}
	span := protowire.AppendTag(nil, 1, protowire.BytesType)
	span = protowire.AppendBytes(span, tid)
	span = protowire.AppendTag(span, 2, protowire.BytesType)
	span = protowire.AppendBytes(span, sid)
	span = protowire.AppendTag(span, 5, protowire.BytesType)
	span = protowire.AppendString(span, "hostile")
	for _, kv := range kvs {
		span = protowire.AppendTag(span, 9, protowire.BytesType)
		span = protowire.AppendBytes(span, kv)
	}
	ss := protowire.AppendTag(nil, 2, protowire.BytesType) // ScopeSpans.spans
	ss = protowire.AppendBytes(ss, span)
	rs := protowire.AppendTag(nil, 2, protowire.BytesType) // ResourceSpans.scope_spans
	rs = protowire.AppendBytes(rs, ss)
	req := protowire.AppendTag(nil, 1, protowire.BytesType) // ExportTraceServiceRequest.resource_spans
	return protowire.AppendBytes(req, rs)
}

// DeepJSON is DeepProto in OTLP/JSON.
func DeepJSON(depth int, kvlist bool) []byte {
	open, closing := `{"arrayValue":{"values":[`, `]}}`
	if kvlist {
		open, closing = `{"kvlistValue":{"values":[{"key":"k","value":`, `}]}}`
	}
	var b strings.Builder
	b.Grow(depth*(len(open)+len(closing)) + 256)
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"de000000000000000000000000000001","spanId":"de00000000000000","name":"hostile","attributes":[{"key":"deep","value":`)
	for range depth {
		b.WriteString(open)
	}
	b.WriteString(`{"stringValue":"x"}`)
	for range depth {
		b.WriteString(closing)
	}
	b.WriteString(`}]}]}]}]}`)
	return []byte(b.String())
}

// KeyValue returns the protobuf encoding of a KeyValue with a string value.
func KeyValue(key, value string) []byte {
	v := protowire.AppendTag(nil, 1, protowire.BytesType)
	v = protowire.AppendString(v, value)
	kv := protowire.AppendTag(nil, 1, protowire.BytesType)
	kv = protowire.AppendString(kv, key)
	kv = protowire.AppendTag(kv, 2, protowire.BytesType)
	return protowire.AppendBytes(kv, v)
}

// ArrayKeyValue returns the protobuf encoding of a KeyValue whose value is
// an array of the given encoded AnyValues.
func ArrayKeyValue(key string, values ...[]byte) []byte {
	var arr []byte
	for _, v := range values {
		arr = protowire.AppendTag(arr, 1, protowire.BytesType)
		arr = protowire.AppendBytes(arr, v)
	}
	v := protowire.AppendTag(nil, 5, protowire.BytesType)
	v = protowire.AppendBytes(v, arr)
	kv := protowire.AppendTag(nil, 1, protowire.BytesType)
	kv = protowire.AppendString(kv, key)
	kv = protowire.AppendTag(kv, 2, protowire.BytesType)
	return protowire.AppendBytes(kv, v)
}

// KVListValue returns the protobuf encoding of an AnyValue holding a
// key-value list of the given encoded KeyValues.
func KVListValue(kvs ...[]byte) []byte {
	var list []byte
	for _, kv := range kvs {
		list = protowire.AppendTag(list, 1, protowire.BytesType)
		list = protowire.AppendBytes(list, kv)
	}
	v := protowire.AppendTag(nil, 6, protowire.BytesType)
	return protowire.AppendBytes(v, list)
}

// RawStringValue returns the protobuf encoding of an AnyValue whose
// string_value is s as given, valid UTF-8 or not.
func RawStringValue(s string) []byte {
	v := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendString(v, s)
}
