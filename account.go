package portico

import "time"

// The rules of users' accounts that every front end applies alike: an
// enabled admin remains, and what disabling and enabling do.

// EnabledAdmin reports whether u is an admin who can sign in.
func (u *User) EnabledAdmin() bool { return u != nil && u.HasRole(RoleAdmin) && !u.Disabled }

// CheckEnabledAdmin checks that c, as a change leaves it, has an enabled
// admin: the last one may not be disabled, deleted or lose the role
// (EConflict).
func (c *Config) CheckEnabledAdmin() error {
	for u := range c.Users.Values() {
		if u.EnabledAdmin() {
			return nil
		}
	}
	return Errorf(EConflict, "no enabled admin would remain; keep at least one")
}

// SetDisabled disables or enables u at now: disabling ends its bearer
// tokens (TokensNotBefore), so that enabling it again does not bring
// them back; enabling approves a user who signed up pending approval.
func (u *User) SetDisabled(disabled bool, now time.Time) {
	if disabled == u.Disabled {
		return
	}
	u.Disabled = disabled
	if disabled {
		u.TokensNotBefore = now
	} else {
		u.PendingApproval = false
	}
}
