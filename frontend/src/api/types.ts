// Shapes of the studio API (docs/openapi.json), as the Go code encodes them.

export type Outcome = 'ok' | 'error' | 'retry' | 'dead_lettered' | 'duplicate_skipped'
export type Op = 'publish' | 'receive' | 'process' | 'settle' | 'dead_letter' | 'replay'

// IdKind is a kind of id an event carries; the one id lookup
// (GET /graph?id=, /events?id=) tries them in this order and says which
// matched, or "none".
export type IdKind = 'correlation_id' | 'event_id' | 'trace_id' | 'message_key'
export type IdMatch = IdKind | 'none'

export interface Link {
  trace_id: string
  span_id: string
}

export interface CwEvent {
  event_id: string
  event_type?: string
  schema_version?: string
  correlation_id?: string
  // message_key: the Kafka record key or NATS Nats-Msg-Id.
  message_key?: string
  causation_id?: string
  trace_id: string
  span_id: string
  parent_span_id?: string
  links?: Link[]
  service: string
  handler?: string
  system?: string
  cluster?: string
  destination?: string
  partition: number
  offset: number
  consumer_group?: string
  op: Op
  outcome: Outcome
  error?: string
  attempt: number
  start_ns: number
  duration_ns: number
  payload_size: number
  replay_of?: string
  attributes?: Record<string, string>
}

export interface EventPage {
  events: CwEvent[]
  next_cursor: string
}

export interface GraphEdge {
  from: string
  to: string
  kind: 'link' | 'parent' | 'causation'
}

export interface Graph {
  nodes: CwEvent[]
  edges: GraphEdge[]
  truncated: boolean
  // matched: which kind of id an ?id= lookup found (absent for a lookup by
  // a fixed kind).
  matched?: IdMatch
}

export interface FlowNode {
  id: string
  kind: 'service' | 'destination'
  name: string
  system?: string
}

export interface FlowEdge {
  source: string
  target: string
  op: Op
  consumer_group?: string
  count: number
  errors: number
  p50_ns: number
  p99_ns: number
}

export interface FlowMap {
  since: string
  until: string
  nodes: FlowNode[]
  edges: FlowEdge[]
}

export type LagStatus = 'OK' | 'WARN' | 'ERR' | 'STOP' | 'STALL' | 'REWIND' | string

export interface LagSample {
  time_ns: number
  system: string
  cluster?: string
  group: string
  topic: string
  partition: number
  committed: number
  end: number
  lag: number
  lag_seconds: number
  status: LagStatus
  group_status: LagStatus
}

export interface GroupLag {
  group: string
  system: string
  status: LagStatus
  total_lag: number
  max_lag_seconds: number
  time: string
  partitions: LagSample[]
}

export interface DLQEntry {
  id: string
  time_ns: number
  system: string
  source: string
  source_partition: number
  source_offset: number
  original: string
  original_partition: number
  original_offset: number
  reason: string
  deliveries: number
  event_id?: string
  correlation_id?: string
  headers?: Record<string, string>
  payload?: string // base64, GET /dlq/{id} only
  payload_hidden?: string // set instead of payload below studio.payloads_min_role
  payload_size: number
  truncated: boolean
  trusted?: boolean // read from the broker by a trusted sidecar
}

export interface DLQGroup {
  reason: string
  original: string
  count: number
}

export interface DLQPage {
  entries: DLQEntry[]
  groups: DLQGroup[]
  next_cursor: string
}

export interface DLQFilter {
  source?: string
  destination?: string
  reason?: string
  since?: string
  until?: string
}

export interface ReplayRequest {
  dlq_ids?: string[]
  dlq_filter?: DLQFilter
  event_ids?: string[]
  target?: string
  reason?: string
  dry_run?: boolean
  expected_count?: number
  rate_per_sec?: number
}

export interface ReplayPreview {
  dry_run: true
  count: number
  targets: { system: string; destination: string; count: number }[]
  sample: {
    dlq_id?: string
    event_id?: string
    correlation_id?: string
    system?: string
    destination: string
    reason?: string
    payload_preview?: string
    payload_hidden?: string
    payload_size?: number
  }[]
  confirm_count: boolean
  rate_per_sec: number
  seconds: number
}

export type ReplayState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface ReplayItem {
  replay_id: string
  seq: number
  dlq_id?: string
  event_id?: string
  new_event_id?: string
  system: string
  destination: string
  status: 'sent' | 'failed'
  error?: string
  time_ns: number
}

export interface Replay {
  id: string
  idempotency_key?: string
  requested_by: string
  reason: string
  request: string
  target?: string
  state: ReplayState
  total: number
  sent: number
  failed: number
  rate_per_sec: number
  created_ns: number
  started_ns?: number
  finished_ns?: number
  updated_ns: number
  created_at: string
  started_at?: string
  finished_at?: string
  error?: string
  items?: ReplayItem[]
  items_next?: number
}

export interface ReplayPage {
  replays: Replay[]
  next_cursor: string
}

export type RuleKind = 'lag_messages' | 'lag_seconds' | 'lag_status' | 'dlq_arrivals' | 'error_rate' | 'e2e_latency' | 'journey_stuck' | 'journey_slo'

export interface Webhook {
  url: string
  format?: 'json' | 'slack' | ''
  secret?: string
}

export interface Rule {
  id: string
  name: string
  kind: RuleKind
  group?: string
  destination?: string
  threshold: number
  from_event_type?: string
  to_event_type?: string
  journey?: string
  step?: string
  statuses?: string[]
  window?: string
  for?: string
  webhooks: Webhook[] | null
  updated_by?: string // the API token that last changed it (set by the studio)
  updated_at?: string
}

export interface RuleStatus extends Rule {
  state: 'ok' | 'pending' | 'firing'
  since?: string
}

export interface AlertEvent {
  rule_id: string
  rule_name: string
  status: 'firing' | 'resolved' | 'test'
  value: number
  summary: string
  at: string
  delivered: number
  failed?: string[]
  // links open the views that explain the alert (on studio.public_url);
  // samples are ids to look at.
  links?: AlertLink[] | null
  samples?: string[] | null
}

export interface AlertLink {
  kind: 'lag' | 'dlq' | 'journey' | 'graph' | 'events' | string
  label: string
  url: string
}

// Journeys (GET /journeys…): a named business process, its entities in
// the ledger and its SLO.
export type JourneyState = 'in_flight' | 'completed' | 'failed' | 'compensated' | 'dead_lettered' | 'stuck'

export interface JourneyStep {
  name?: string
  event_type?: string
  destination?: string
  op?: Op
  service?: string
}

export interface JourneyDefinition {
  name: string
  description?: string
  start: JourneyStep
  steps?: JourneyStep[]
  compensation?: JourneyStep[]
  success: JourneyStep[]
  failure?: JourneyStep[]
  compensated?: JourneyStep[]
  slo: { target?: number; within?: string; stuck_after?: string }
}

export interface JourneyStats {
  started: number
  in_flight: number
  completed: number
  failed: number
  compensated: number
  dead_lettered: number
  eligible: number
  good: number
  p50_ns: number
  p99_ns: number
  slowest?: string
  stuck: number
}

export interface JourneyBucket {
  since: string
  started: number
  completed: number
  eligible: number
  good: number
  attainment?: number
  p99_ns: number
}

export interface JourneySummary {
  name: string
  definition: JourneyDefinition
  source: string
  saga: boolean
  step_names: string[] | null
  window: { since: string; until: string }
  stats: JourneyStats
  attainment?: number
  meets_slo: boolean
  stuck_steps: { step: string; count: number }[] | null
  series?: JourneyBucket[] | null
}

export interface Quantiles {
  count: number
  p50_ns: number
  p99_ns: number
}

export interface JourneyStepDetail {
  step: string
  kind: 'start' | 'step' | 'compensation' | 'success' | 'failure' | 'compensated' | string
  stuck: number
  dead_lettered: number
  reached: Quantiles
  hops: { destination: string; service: string; queue_wait: Quantiles; handler: Quantiles }[] | null
}

export interface JourneyDetail extends JourneySummary {
  breakdown: JourneyStepDetail[] | null
  sampled: number
}

export interface StuckPlace {
  service: string
  destination: string
  op: Op
  state: JourneyState
  reason?: string
  count: number
  oldest_ns: number
  samples: string[] | null
}

export interface StuckStep {
  step: string
  count: number
  dead_lettered: number
  oldest_ns: number
  samples: string[] | null
  reasons: { reason: string; count: number }[] | null
  places: StuckPlace[] | null
}

export interface StuckReport {
  journey: string
  at: string
  stuck_after: string
  total: number
  steps: StuckStep[] | null
}

// LedgerPlace is where a journey's entity is: what a ledger entry and a
// live ledger update share.
export interface LedgerPlace {
  journey: string
  correlation_id: string
  step: string
  service: string
  destination: string
  op: Op
  state: JourneyState
  event_id: string
  reason?: string
  // step_index is the step's position in the journey: a place moves only forward.
  step_index?: number
}

export interface LedgerEntry extends LedgerPlace {
  started_ns: number
  last_ns: number
}

export interface LedgerUpdate extends LedgerPlace {
  at_ns: number
  start: boolean
}

// JourneysFrame is a frame of the journeys live channel: the ledger
// updates of one stored batch.
export interface JourneysFrame {
  journey: string
  updates: LedgerUpdate[] | null
  more?: number
}
