package demo

import (
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/journey"
)

// Journeys are the demo's business processes: the order journey (placed,
// paid, reserved, shipped; or payment failed; or, when stock is out,
// refunded: a saga) and the refund saga on its own.
func Journeys() []journey.Journey {
	return []journey.Journey{{
		Name:        "order",
		Description: "an order from placement to shipment; refunded when its stock is rejected",
		Start:       journey.Step{EventType: "order.placed"},
		Steps: []journey.Step{{EventType: "payment.authorized"}, {EventType: "inventory.reserve"},
			{EventType: "inventory.reserved"}},
		Compensation: []journey.Step{{EventType: "inventory.rejected"}},
		Success:      []journey.Step{{EventType: "shipment.scheduled"}},
		Failure:      []journey.Step{{EventType: "payment.failed"}},
		Compensated:  []journey.Step{{EventType: "payment.refunded"}},
		SLO:          journey.SLO{Target: 0.95, Within: journey.Duration(10 * time.Second), StuckAfter: journey.Duration(time.Minute)},
	}, {
		Name:         "refund",
		Description:  "the saga that refunds an order whose stock reservation was rejected",
		Start:        journey.Step{EventType: "inventory.rejected"},
		Compensation: []journey.Step{{Name: "refunding", EventType: "inventory.rejected", Op: event.OpProcess, Service: "payment-service"}},
		Compensated:  []journey.Step{{EventType: "payment.refunded"}},
		SLO:          journey.SLO{Target: 0.99, Within: journey.Duration(5 * time.Second), StuckAfter: journey.Duration(time.Minute)},
	}}
}

// StuckRule is the demo's journey alert: more orders stuck at one step
// than the run's poison orders (which stay dead-lettered: a replay cannot
// parse them). The fraud-check outage 5 s into the run dead-letters more,
// so it fires within seconds; replaying those resolves it.
func StuckRule() alert.Rule {
	return alert.Rule{ID: "demo-orders-stuck", Name: "orders are stuck", Kind: alert.KindJourneyStuck, Journey: "order",
		Threshold: poisonOrders}
}
