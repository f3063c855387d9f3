package portico_test

import (
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestTokenSlide: a token with an idle timeout expires that long after
// its last use, never past NotAfter and never sooner than it did; others
// keep their expiry.
func TestTokenSlide(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	idle := &portico.Token{CreatedAt: t0, Expires: t0.Add(10 * time.Minute), IdleTimeout: 600, NotAfter: t0.Add(time.Hour)}
	for _, c := range []struct {
		name string
		tok  *portico.Token
		use  time.Duration // after t0
		want time.Duration // after t0
	}{
		{"no idle timeout", &portico.Token{CreatedAt: t0, Expires: t0.Add(time.Hour)}, 30 * time.Minute, time.Hour},
		{"slides", idle, 5 * time.Minute, 15 * time.Minute},
		{"at once", idle, 0, 10 * time.Minute},
		{"up to NotAfter", idle, 55 * time.Minute, time.Hour},
		{"past NotAfter", idle, 2 * time.Hour, time.Hour},
		{"never back", idle, -time.Minute, 10 * time.Minute},
		{"no NotAfter", &portico.Token{CreatedAt: t0, Expires: t0.Add(time.Minute), IdleTimeout: 60}, 2 * time.Hour, 2*time.Hour + time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.tok.Slide(t0.Add(c.use)); !got.Equal(t0.Add(c.want)) {
				t.Errorf("Slide(t0+%v) = t0+%v, want t0+%v", c.use, got.Sub(t0), c.want)
			}
		})
	}
}
