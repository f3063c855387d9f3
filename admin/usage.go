package admin

import (
	"cmp"
	"net/http"
	"time"

	"github.com/portico-gw/portico"
)

// usageView is the answer of GET /api/v1/subscriptions/{id}/usage.
type usageView struct {
	Subscription string       `json:"subscription"`
	Plan         string       `json:"plan"`
	Quota        *counterView `json:"quota"`      // null when the plan has no quota
	RateLimit    *counterView `json:"rate_limit"` // null when the plan has no rate limit
}

// counterView is one counter's current window.
type counterView struct {
	Limit     int64             `json:"limit"`
	Used      int64             `json:"used"`
	Remaining int64             `json:"remaining"`
	Per       portico.Period    `json:"per"`
	Window    portico.Window    `json:"window"`
	Mode      portico.QuotaMode `json:"mode,omitempty"` // quotas only
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end"`
}

// subscriptionUsage answers how much of its plan's quota and plan-wide
// rate limit the subscription's application has used on the API in the
// current windows. Counters follow the application and the API, so a
// subscription that was cancelled and made again shows the usage of both.
// Who sees the subscription sees its usage.
func (s *Server) subscriptionUsage(w http.ResponseWriter, r *http.Request, c *call) error {
	sub, err := sub(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := usageView{Subscription: sub.ID, Plan: sub.PlanID}
	plan := c.cfg.Plans.Get(sub.PlanID)
	if plan == nil {
		writeJSON(w, http.StatusOK, out) // the plan is gone: nothing limits it
		return nil
	}
	var specs []portico.LimitSpec
	quota, hasQuota := plan.QuotaSpec(sub.ApplicationID, sub.APIID)
	if hasQuota {
		specs = append(specs, quota)
	}
	rate, hasRate := plan.RateSpec(sub.ApplicationID, sub.APIID)
	if hasRate {
		specs = append(specs, rate)
	}
	if len(specs) == 0 {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	if s.Usage == nil {
		return portico.Errorf(portico.EUnavailable, "usage cannot be read on this node")
	}
	us, err := s.Usage.Usage(r.Context(), s.now(), specs)
	if err != nil {
		return err
	}
	view := func(sp portico.LimitSpec, u portico.CounterUsage) *counterView {
		return &counterView{Limit: u.Limit, Used: u.Used, Remaining: max(0, u.Limit-u.Used), Per: sp.Per, Window: sp.Window, Start: u.Start, End: u.End}
	}
	i := 0
	if hasQuota {
		out.Quota = view(quota, us[i])
		out.Quota.Mode = cmp.Or(plan.Quota.Mode, portico.Hard)
		i++
	}
	if hasRate {
		out.RateLimit = view(rate, us[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
