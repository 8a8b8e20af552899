package api

import (
	"context"
	"net/http"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// Auditor appends to the audit log; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, actor, action, subject string, detail any) (store.AuditRecord, error)
}

// SetAudit makes alert-rule changes and test sends append to l, with the
// token's name as actor. Call it before serving.
func (a *API) SetAudit(l Auditor) { a.audit = l }

// record appends what the request did to the audit log; a failure is
// logged (the change itself has happened).
func (a *API) record(r *http.Request, action, subject string, detail any) {
	if a.audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if _, err := a.audit.Append(ctx, who(r), action, subject, detail); err != nil {
		a.log.Error("appending to the audit log failed", "action", action, "subject", subject, "error", err)
	}
}
