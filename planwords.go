package portico

import (
	"fmt"
	"strconv"
)

// Describe says in words what a subscription on p gets, one sentence per
// limit, for people choosing or reviewing a plan: "100 requests a minute,
// then 429." It describes what the gateway enforces (see RateLimit, Quota).
func (p *Plan) Describe() []string {
	var out []string
	if rl := p.RateLimit; rl != nil {
		for _, r := range rl.Resources {
			what := r.Pattern
			if r.SOAPAction != "" {
				what += " (SOAP action " + strconv.Quote(r.SOAPAction) + ")"
			}
			out = append(out, fmt.Sprintf("%s: %s, then 429.", what, rateWords(r.Limit, r.Per, r.Window)))
		}
		what := "Every request"
		if len(rl.Resources) > 0 {
			what = "Other requests"
		}
		out = append(out, fmt.Sprintf("%s: %s, then 429.", what, rateWords(rl.Limit, rl.Per, rl.Window)))
	}
	if q := p.Quota; q != nil {
		n := requestsWords(q.Limit)
		if q.Mode == Soft {
			th := q.Threshold
			if th == 0 {
				th = DefaultThreshold
			}
			out = append(out, fmt.Sprintf("Quota of %s a %s (UTC calendar); more are let through, and a notification is raised at %d %%.", n, q.Per, th))
		} else {
			out = append(out, fmt.Sprintf("Quota of %s a %s (UTC calendar), then 429 until the %s ends.", n, q.Per, q.Per))
		}
	}
	if len(out) == 0 {
		out = append(out, "No limits.")
	}
	if p.AutoApprove {
		out = append(out, "Subscriptions are approved at once.")
	} else {
		out = append(out, "Subscriptions wait for the approval of the API's owner.")
	}
	return out
}

func rateWords(limit int64, per Period, w Window) string {
	if w == Rolling {
		return fmt.Sprintf("%s in any rolling %s", requestsWords(limit), per)
	}
	return fmt.Sprintf("%s a %s", requestsWords(limit), per)
}

// requestsWords writes n requests with thousands separated: "10,000 requests".
func requestsWords(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if n == 1 {
		return s + " request"
	}
	return s + " requests"
}
