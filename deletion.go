package portico

import (
	"fmt"
	"strconv"
	"strings"
)

// What may be deleted, and what a change may not take away. A change
// that would leave a reference dangling, or end what subscribers rely
// on, is refused with EConflict naming what holds it, by every front end
// alike: the admin API's routes (which the console calls) on the Config
// they change, a configuration file's apply on the Config it gives.

// CheckDeleteAPI checks that API a may be deleted from c: a retired API
// always, another only without approved subscriptions, whose
// applications would lose it at once (retire it or evict them first).
// Its subscriptions go with it.
func (c *Config) CheckDeleteAPI(a *API) error {
	if a.State == Retired {
		return nil
	}
	n := 0
	for s := range c.SubscriptionsTo(a.ID).Values() {
		if s.Status == Approved {
			n++
		}
	}
	if n > 0 {
		return Errorf(EConflict, "API %q has %d approved subscriptions; retire it or evict them first", a.Name, n)
	}
	return nil
}

// CheckDeletePlan checks that plan p may be deleted from c: no API
// offers it and no pending or approved subscription uses it. Cancelled
// and evicted subscriptions keep the deleted plan's ID.
func (c *Config) CheckDeletePlan(p *Plan) error {
	for _, a := range Sorted(c.APIs, func(a *API) (int64, string) { return a.CreatedAt.UnixNano(), a.ID }) {
		if a.OffersPlan(p.ID) {
			return Errorf(EConflict, "plan %q is offered by API %q (%s); remove it from the API first", p.Name, a.Name, a.ID)
		}
	}
	for s := range c.Subscriptions.Values() {
		if s.PlanID == p.ID && s.Status.Live() {
			return Errorf(EConflict, "plan %q is used by subscription %s; evict it first", p.Name, s.ID)
		}
	}
	return nil
}

// CheckDeleteGroup checks that group g may be deleted from c: no API
// lists it (take it off them first).
func (c *Config) CheckDeleteGroup(g *Group) error {
	apis := c.APIsOfGroup(g.ID)
	if len(apis) == 0 {
		return nil
	}
	names := make([]string, 0, 3)
	for _, a := range apis[:min(3, len(apis))] {
		names = append(names, fmt.Sprintf("%q (%s)", a.Name, a.ID))
	}
	more := ""
	if len(apis) > 3 {
		more = fmt.Sprintf(" and %d more", len(apis)-3)
	}
	return Errorf(EConflict, "group %q is listed by %d APIs: %s%s; take it off them first", g.Name, len(apis), strings.Join(names, ", "), more)
}

// CheckDeleteUser checks that user u may be deleted from c: it owns no
// API and no plan (delete them or give them another owner first). Its
// applications, with their keys and subscriptions, go with it, and it
// leaves its groups. Whether an enabled admin remains is
// CheckEnabledAdmin's, on the Config the delete leaves.
func (c *Config) CheckDeleteUser(u *User) error {
	apis, plans := 0, c.PlansOf(u.ID).Len()
	for a := range c.APIs.Values() {
		if a.Owner == u.ID {
			apis++
		}
	}
	if apis+plans > 0 {
		return Errorf(EConflict, "%q owns %d APIs and %d plans; delete them or give them another owner first", u.Username, apis, plans)
	}
	return nil
}

// CheckPlansInUse checks that API a, as a change leaves it, still offers
// the plan of each live subscription of c to it (EConflict, field
// "plans"): evict the subscription before taking its plan off.
func (c *Config) CheckPlansInUse(a *API) error {
	for _, s := range Sorted(c.SubscriptionsTo(a.ID), func(s *Subscription) (int64, string) { return s.CreatedAt.UnixNano(), s.ID }) {
		if s.Status.Live() && !a.OffersPlan(s.PlanID) {
			plan := s.PlanID
			if p := c.Plans.Get(s.PlanID); p != nil {
				plan = strconv.Quote(p.Name)
			}
			return FieldErrorf(EConflict, "plans", "plan %s is used by subscription %s of this API; evict the subscription before removing the plan", plan, s.ID)
		}
	}
	return nil
}
