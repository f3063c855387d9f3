package portico

import (
	"testing"
	"time"
)

// TestSetDisabled: disabling ends the user's tokens, enabling approves
// a user pending approval, and neither changes a user already so.
func TestSetDisabled(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := User{PendingApproval: true, Disabled: true}
	u.SetDisabled(true, now)
	if !u.PendingApproval || !u.TokensNotBefore.IsZero() {
		t.Errorf("disabling a disabled user: %+v", u)
	}
	u.SetDisabled(false, now)
	if u.Disabled || u.PendingApproval {
		t.Errorf("enabling: %+v", u)
	}
	u.SetDisabled(true, now)
	if !u.Disabled || !u.TokensNotBefore.Equal(now) {
		t.Errorf("disabling: %+v", u)
	}
	if (&User{Roles: []Role{RoleAdmin}, Disabled: true}).EnabledAdmin() || !(&User{Roles: []Role{RoleAdmin}}).EnabledAdmin() {
		t.Error("EnabledAdmin")
	}
}
