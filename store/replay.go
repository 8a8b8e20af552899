package store

import "context"

// Replay states.
const (
	ReplayQueued    = "queued"
	ReplayRunning   = "running"
	ReplaySucceeded = "succeeded" // every message was published
	ReplayFailed    = "failed"    // some messages could not be published, or the replay broke off
	ReplayCancelled = "cancelled"
)

// Replay is one replay job as its audit log keeps it: who asked, when,
// for what, why, and how it went. The studio's replay engine writes it
// when the job is created and as it progresses; the latest write wins.
type Replay struct {
	// ID identifies the replay (32 hex digits). Replayed messages carry it
	// in the causeway-replay-id header.
	ID string `json:"id"`
	// IdempotencyKey is the client's key: a second request with the same
	// key returns this replay instead of starting another.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// RequestedBy is the API token's name ("anonymous" without auth).
	RequestedBy string `json:"requested_by"`
	// Reason is the operator's reason, required to run.
	Reason string `json:"reason"`
	// Request is the request as the engine accepted it (JSON): the sources
	// and the target.
	Request string `json:"request"`
	// Target is the destination override, empty for "each message's original destination".
	Target string `json:"target,omitempty"`
	// State is one of the Replay* states.
	State string `json:"state"`
	// Total, Sent and Failed count messages.
	Total  int64 `json:"total"`
	Sent   int64 `json:"sent"`
	Failed int64 `json:"failed"`
	// RatePerSec is the publish rate limit.
	RatePerSec float64 `json:"rate_per_sec"`
	// CreatedNS, StartedNS, FinishedNS and UpdatedNS are Unix nanoseconds,
	// 0 when not reached yet. UpdatedNS orders the writes of one replay.
	CreatedNS  uint64 `json:"created_ns"`
	StartedNS  uint64 `json:"started_ns,omitempty"`
	FinishedNS uint64 `json:"finished_ns,omitempty"`
	UpdatedNS  uint64 `json:"updated_ns"`
	// Error says why the replay failed or who cancelled it.
	Error string `json:"error,omitempty"`
}

// Done reports whether the replay has reached a final state.
func (r Replay) Done() bool {
	return r.State == ReplaySucceeded || r.State == ReplayFailed || r.State == ReplayCancelled
}

// Replay item statuses.
const (
	ItemSent   = "sent"
	ItemFailed = "failed"
)

// ReplayItem is the result for one message of a replay.
type ReplayItem struct {
	// ReplayID and Seq (the message's position in the replay, from 0) are the key.
	ReplayID string `json:"replay_id"`
	Seq      int64  `json:"seq"`
	// DLQID is the DLQ entry replayed, when the source was the DLQ.
	DLQID string `json:"dlq_id,omitempty"`
	// EventID is the id of the message replayed.
	EventID string `json:"event_id,omitempty"`
	// NewEventID is the id the replayed message was published with.
	NewEventID string `json:"new_event_id,omitempty"`
	// System and Destination are where it was published.
	System      string `json:"system"`
	Destination string `json:"destination"`
	// Status is ItemSent or ItemFailed; Error says why it failed.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// TimeNS is when it was published or failed.
	TimeNS uint64 `json:"time_ns"`
}

// ReplayQuery selects replays, newest first.
type ReplayQuery struct {
	// Limit caps the page; 0 means DefaultLimit.
	Limit int
	// Cursor continues from the page that returned it.
	Cursor string
}

// ReplayPage is one page of replays.
type ReplayPage struct {
	Replays []Replay
	// Next is the cursor for the next page, empty when this page is the last.
	Next string
}

// ReplayLog is the replay audit log. Writes are durable when they return.
type ReplayLog interface {
	// PutReplay stores r, replacing an earlier write of the same ID with an
	// older or equal UpdatedNS.
	PutReplay(ctx context.Context, r Replay) error
	// PutReplayItems stores item results, replacing earlier ones with the
	// same (ReplayID, Seq).
	PutReplayItems(ctx context.Context, items []ReplayItem) error
	// Replay returns one replay, or an error wrapping ErrNotFound.
	Replay(ctx context.Context, id string) (Replay, error)
	// ReplayByKey returns the replay requestedBy created with an
	// idempotency key (keys are scoped per requester: two API tokens using
	// the same key make two replays), or
	// an error wrapping ErrNotFound.
	ReplayByKey(ctx context.Context, requestedBy, key string) (Replay, error)
	// Replays returns replays newest first (by CreatedNS, then ID descending).
	Replays(ctx context.Context, q ReplayQuery) (ReplayPage, error)
	// ReplayItems returns a replay's item results by Seq, at most limit
	// (0 means MaxLimit) starting after Seq from.
	ReplayItems(ctx context.Context, replayID string, from int64, limit int) ([]ReplayItem, error)
}

// TrimReplayPage cuts replays (fetched with one row more than limit) to
// limit and returns the cursor for the next page, empty on the last page.
func TrimReplayPage(replays *[]Replay, limit int) string {
	if len(*replays) <= limit {
		return ""
	}
	*replays = (*replays)[:limit]
	last := (*replays)[limit-1]
	return Cursor{StartNS: last.CreatedNS, SpanID: last.ID}.Encode()
}
