package portico

import "time"

// Role is what a user may do.
type Role string

// Roles. An admin may do everything; a publisher manages its own APIs and
// plans; a subscriber sees published APIs and manages its own applications,
// keys and subscriptions.
const (
	RoleAdmin      Role = "admin"
	RolePublisher  Role = "publisher"
	RoleSubscriber Role = "subscriber"
)

// SignupMode says who may create an account by signing up (the admin
// API's POST /api/v1/signup, the developer portal): nobody (off, the
// default), anyone (open), or anyone, but the account stays disabled
// until an admin approves it (approval). It is the run-time setting
// SettingSignup, the same on every node.
type SignupMode string

// Sign-up modes.
const (
	SignupOff      SignupMode = "off"
	SignupOpen     SignupMode = "open"
	SignupApproval SignupMode = "approval"
)

// SettingSignup names the run-time setting (SettingStore) that holds the
// sign-up mode, as JSON {"mode":"open"}.
const SettingSignup = "signup"

// User is an account of the admin API and console.
type User struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	Email        string    `json:"email,omitempty"`
	Roles        []Role    `json:"roles"`
	WebhookURL   string    `json:"webhook_url,omitempty"` // notifications are POSTed here when set
	PasswordHash string    `json:"password_hash,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	// Disabled users cannot sign in: neither their password nor their
	// bearer tokens authenticate them. Their applications and keys are
	// not affected.
	Disabled bool `json:"disabled,omitempty"`

	// Internal users see intranet APIs (see Config.CanSeeAPI). Only
	// admins set it.
	Internal bool `json:"internal,omitempty"`

	// PendingApproval marks a user who signed up while sign-ups needed
	// an admin's approval: it is Disabled until an admin approves it.
	PendingApproval bool `json:"pending_approval,omitempty"`

	// TokensNotBefore, when set, ends every bearer token of the user
	// issued before it (Token.CreatedAt): "sign out everywhere".
	TokensNotBefore time.Time `json:"tokens_not_before,omitzero"`

	// NotificationsReadAt is when the user last marked its notifications
	// read: those up to this time count as read.
	NotificationsReadAt time.Time `json:"notifications_read_at,omitzero"`
}

// HasRole reports whether u has role r.
func (u *User) HasRole(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Application is a subscriber's client app. It holds API keys and
// subscribes to APIs.
type Application struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Owner       string    `json:"owner"` // user ID
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Key is an API key of an application. Only the hash of the key is stored:
// Hash is the hex SHA-256 of the key's text, and Prefix its first
// characters, for people to tell keys apart.
type Key struct {
	ID            string     `json:"id"`
	ApplicationID string     `json:"application"`
	Prefix        string     `json:"prefix"`
	Hash          string     `json:"hash,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`

	// ExpiresAt, when set, ends the key at that time: a rotated key
	// keeps working for the grace period its rotation gave, then the
	// gateway refuses it as it refuses a revoked key.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// MaxRotationGrace is the longest a rotated key may keep working.
const MaxRotationGrace = 24 * time.Hour

// Expired reports whether k has an expiry and now is not before it.
func (k *Key) Expired(now time.Time) bool { return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) }

// Live reports whether k admits requests at now: neither revoked nor
// expired.
func (k *Key) Live(now time.Time) bool { return k.RevokedAt == nil && !k.Expired(now) }

// SubscriptionStatus is where a subscription stands.
type SubscriptionStatus string

// Subscription states. Only approved subscriptions grant access. Cancelled
// is the application owner's doing and lets the application subscribe
// again; evicted is the doing of the API's owner or an admin and sticks:
// the application cannot subscribe to the API again until one of them
// lifts the eviction (see Config.Transition). Data stored before cancelled
// existed says evicted for both, and is taken as evictions.
const (
	Pending   SubscriptionStatus = "pending"
	Approved  SubscriptionStatus = "approved"
	Cancelled SubscriptionStatus = "cancelled"
	Evicted   SubscriptionStatus = "evicted"
)

// Live reports whether a subscription in state s holds or asks for access:
// pending or approved. An application has at most one live subscription to
// an API.
func (s SubscriptionStatus) Live() bool { return s == Pending || s == Approved }

// Subscription grants an application access to an API under a plan.
type Subscription struct {
	ID            string             `json:"id"`
	ApplicationID string             `json:"application"`
	APIID         string             `json:"api"`
	PlanID        string             `json:"plan"`
	Status        SubscriptionStatus `json:"status"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
}

// NotificationKind says what a notification is about.
type NotificationKind string

// Notification kinds.
const (
	NotifyQuotaThreshold NotificationKind = "quota_threshold" // a soft quota crossed its threshold
	NotifyQuotaReached   NotificationKind = "quota_reached"   // a hard quota was used up
	NotifyEndpointDown   NotificationKind = "endpoint_down"   // a target was marked down
	NotifyPendingApprove NotificationKind = "subscription_pending"
	NotifySignup         NotificationKind = "user_signup" // a user signed up; for admins
)

// Notification is an event for people: the API's publisher, the
// subscriber owning the application, and admins see it.
type Notification struct {
	ID             string           `json:"id"`
	Time           time.Time        `json:"time"`
	Kind           NotificationKind `json:"kind"`
	Message        string           `json:"message"`
	APIID          string           `json:"api,omitempty"`
	ApplicationID  string           `json:"application,omitempty"`
	SubscriptionID string           `json:"subscription,omitempty"`
	Publisher      string           `json:"publisher,omitempty"`  // user ID of the API's owner
	Subscriber     string           `json:"subscriber,omitempty"` // user ID of the application's owner
	// Admins are the user IDs of the admins a notice for admins (a
	// sign-up) goes to: their webhooks get it too. Admins see every
	// notification in any case.
	Admins []string `json:"admins,omitempty"`
}
