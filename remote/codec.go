package remote

import "encoding/json"

// Codec turns requests and responses into bytes and back. Both sides of an endpoint must
// use the same one, which is why it is set on the [Endpoint] that both sides import. A
// Codec must be safe for concurrent use. Marshal's result is handed to NATS and not reused.
//
// The default, [JSON], needs no registration and no generated code. Errors on the wire do
// not go through the Codec: they are always JSON, so that any client can read them.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default [Codec]: encoding/json, so requests and responses are plain structs
// with json tags, readable with any NATS tool.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
