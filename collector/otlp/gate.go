package otlp

// Gate bounds how many requests are decoded and consumed at once, so that
// memory stays bounded under any load: a request that finds the gate full
// is refused with 429 / ResourceExhausted at once, before its body is read.
type Gate chan struct{}

// NewGate returns a gate admitting n requests at a time.
func NewGate(n int) Gate { return make(Gate, max(n, 1)) }

// TryEnter admits a request if there is room.
func (g Gate) TryEnter() bool {
	select {
	case g <- struct{}{}:
		return true
	default:
		return false
	}
}

// Leave releases a request's place.
func (g Gate) Leave() { <-g }
