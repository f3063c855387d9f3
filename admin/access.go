package admin

import (
	"maps"

	"github.com/portico-gw/portico"
)

// Who may do what. The rule of thumb: what a caller may not see answers
// 404, as if it did not exist; what it may see but not change answers 403.

// isAdmin and isPublisher take a nil u, the anonymous visitor of the
// public routes (see Server.public), as neither.
func isAdmin(u *portico.User) bool     { return u != nil && u.HasRole(portico.RoleAdmin) }
func isPublisher(u *portico.User) bool { return u != nil && u.HasRole(portico.RolePublisher) }

// canPublish reports whether u may create APIs and plans.
func canPublish(u *portico.User) bool { return isAdmin(u) || isPublisher(u) }

// Who sees an API is the domain's rule: portico.Config.CanSeeAPI.

// canManageAPI: admins, and publishers for their own APIs.
func canManageAPI(u *portico.User, a *portico.API) bool {
	return isAdmin(u) || (isPublisher(u) && a.Owner == u.ID)
}

// canManagePlan: admins, and publishers for their own plans. Every caller
// may read every plan: subscribers choose one when they subscribe.
func canManagePlan(u *portico.User, p *portico.Plan) bool {
	return isAdmin(u) || (isPublisher(u) && p.Owner == u.ID)
}

// canManageApp: admins and the application's owner.
func canManageApp(u *portico.User, app *portico.Application) bool {
	return isAdmin(u) || app.Owner == u.ID
}

// canSeeApp: who can manage it, and publishers for applications with a
// subscription (in any status) to one of their APIs.
func canSeeApp(cfg *portico.Config, u *portico.User, app *portico.Application) bool {
	if canManageApp(u, app) {
		return true
	}
	if !isPublisher(u) {
		return false
	}
	for sub := range cfg.SubscriptionsOf(app.ID).Values() {
		if a := cfg.APIs.Get(sub.APIID); a != nil && a.Owner == u.ID {
			return true
		}
	}
	return false
}

// appsSeenBy returns the IDs of the applications that publisher u sees
// through subscriptions to its APIs.
func appsSeenBy(cfg *portico.Config, u *portico.User) map[string]bool {
	seen := map[string]bool{}
	if !isPublisher(u) {
		return seen
	}
	for a := range cfg.APIs.Values() {
		if a.Owner == u.ID {
			for sub := range cfg.SubscriptionsTo(a.ID).Values() {
				seen[sub.ApplicationID] = true
			}
		}
	}
	return seen
}

// subscribersSeenBy returns the IDs of the users who own an application
// that publisher u sees through subscriptions to its APIs.
func subscribersSeenBy(cfg *portico.Config, u *portico.User) map[string]bool {
	owners := map[string]bool{}
	for id := range appsSeenBy(cfg, u) {
		if app := cfg.Applications.Get(id); app != nil {
			owners[app.Owner] = true
		}
	}
	return owners
}

// visibleSubs returns the subscriptions u may see: all for an admin, else
// those of u's applications and those to u's APIs.
func visibleSubs(cfg *portico.Config, u *portico.User) portico.Table[portico.Subscription] {
	if isAdmin(u) {
		return cfg.Subscriptions
	}
	subs := map[string]*portico.Subscription{}
	for app := range cfg.ApplicationsOf(u.ID).Values() {
		maps.Insert(subs, cfg.SubscriptionsOf(app.ID).All())
	}
	if isPublisher(u) {
		for a := range cfg.APIs.Values() {
			if a.Owner == u.ID {
				maps.Insert(subs, cfg.SubscriptionsTo(a.ID).All())
			}
		}
	}
	return portico.TableOf(subs)
}

// canModerateSub: admins and the owner of the subscribed API may approve
// and evict.
func canModerateSub(cfg *portico.Config, u *portico.User, sub *portico.Subscription) bool {
	if isAdmin(u) {
		return true
	}
	a := cfg.APIs.Get(sub.APIID)
	return a != nil && isPublisher(u) && a.Owner == u.ID
}

// canSeeSub: who can moderate it, and the owner of the application.
// Whoever sees a subscription may cancel it.
func canSeeSub(cfg *portico.Config, u *portico.User, sub *portico.Subscription) bool {
	if canModerateSub(cfg, u, sub) {
		return true
	}
	app := cfg.Applications.Get(sub.ApplicationID)
	return app != nil && app.Owner == u.ID
}

// ownerFor resolves the owner of a created or changed entity. requested is
// the body's "owner" (a user ID or a username; empty keeps current), and
// current the owner it has (the caller, for a new entity). Only an admin
// may name another owner; publisher requires the new owner to be a
// publisher or an admin.
func ownerFor(t *tx, requested, current string, publisher bool) (string, error) {
	if requested == "" || requested == current {
		return current, nil
	}
	u := t.cfg.Users.Get(requested)
	if u == nil {
		u = t.cfg.UserByName(requested)
	}
	if u != nil && u.ID == current {
		return current, nil
	}
	if !isAdmin(t.me) {
		return "", forbidden("only an admin may set the owner")
	}
	if u == nil {
		return "", portico.FieldErrorf(portico.EInvalid, "owner", "no user %q", requested)
	}
	if publisher && !canPublish(u) {
		return "", portico.FieldErrorf(portico.EInvalid, "owner", "owner %q is neither a publisher nor an admin", u.Username)
	}
	return u.ID, nil
}
