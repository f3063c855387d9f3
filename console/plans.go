package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-gw/portico"
)

type plansData struct {
	Plans []portico.Plan
	Pager pager
}

func (s *Server) plansPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, p := listQuery(r)
	var l list[portico.Plan]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/plans", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	s.render(w, r, http.StatusOK, "plans", &page{Title: "Plans", Session: ss, Data: plansData{Plans: l.Items, Pager: p}})
}

// planForm is the plan form as typed, shown again when refused.
type planForm struct {
	Plan                  portico.Plan
	New                   bool
	RateLimit, Quota      bool   // whether each is set
	RateN, QuotaN, Thresh string // numbers as typed
	Per, Window           string
	QuotaPer, QuotaMode   string
	Resources             string // one per line: [METHOD] /pattern limit per [window] [soap_action=ACTION]
	Describe              []string
}

func formOf(p portico.Plan, isNew bool) planForm {
	f := planForm{Plan: p, New: isNew, Per: "minute", Window: "fixed", QuotaPer: "month", QuotaMode: "hard", Describe: p.Describe()}
	if rl := p.RateLimit; rl != nil {
		f.RateLimit, f.RateN, f.Per, f.Window = true, strconv.FormatInt(rl.Limit, 10), string(rl.Per), string(rl.Window)
		var b strings.Builder
		for _, r := range rl.Resources {
			fmt.Fprintf(&b, "%s %d %s %s", r.Pattern, r.Limit, r.Per, r.Window)
			if r.SOAPAction != "" {
				b.WriteString(" " + soapActionPrefix + r.SOAPAction)
			}
			b.WriteByte('\n')
		}
		f.Resources = b.String()
	}
	if q := p.Quota; q != nil {
		f.Quota, f.QuotaN, f.QuotaPer, f.QuotaMode = true, strconv.FormatInt(q.Limit, 10), string(q.Per), string(q.Mode)
		if q.Threshold != 0 {
			f.Thresh = strconv.Itoa(q.Threshold)
		}
	}
	return f
}

// soapActionPrefix starts the last word of a resource limit's line that
// names the SOAP action it limits.
const soapActionPrefix = "soap_action="

// readPlanForm reads the plan form over p. Numbers that are not numbers
// are refused here, naming the admin API's field; every other rule is the
// admin API's.
func readPlanForm(r *http.Request, p *portico.Plan) (planForm, *apiError) {
	f := r.PostFormValue
	p.Name, p.Description = strings.TrimSpace(f("name")), f("description")
	p.AutoApprove, p.Shared = f("auto_approve") != "", f("shared") != ""
	p.OnDatastoreError = portico.DatastoreErrorPolicy(f("on_datastore_error"))
	pf := planForm{Plan: *p, RateLimit: f("rate_limit") != "", Quota: f("quota") != "",
		RateN: f("rate_limit_limit"), Per: f("rate_limit_per"), Window: f("rate_limit_window"),
		QuotaN: f("quota_limit"), QuotaPer: f("quota_per"), QuotaMode: f("quota_mode"), Thresh: f("quota_threshold"),
		Resources: f("resources")}
	num := func(field, v string) (int64, *apiError) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, &apiError{Status: http.StatusBadRequest, Field: field, Message: field + " must be a whole number"}
		}
		return n, nil
	}
	p.RateLimit, p.Quota = nil, nil
	if pf.RateLimit {
		n, bad := num("rate_limit.limit", pf.RateN)
		if bad != nil {
			return pf, bad
		}
		p.RateLimit = &portico.RateLimit{Limit: n, Per: portico.Period(pf.Per), Window: portico.Window(pf.Window)}
		for i, line := range strings.Split(pf.Resources, "\n") {
			fs := strings.Fields(line)
			if len(fs) == 0 {
				continue
			}
			// [METHOD] /pattern limit per [window] [soap_action=ACTION]
			action := ""
			if last := fs[len(fs)-1]; strings.HasPrefix(last, soapActionPrefix) {
				action, fs = strings.TrimPrefix(last, soapActionPrefix), fs[:len(fs)-1]
			}
			if len(fs) == 0 {
				fs = []string{""}
			}
			pattern := fs[0]
			rest := fs[1:]
			if !strings.HasPrefix(pattern, "/") && len(rest) > 0 {
				pattern, rest = fs[0]+" "+fs[1], fs[2:]
			}
			field := fmt.Sprintf("rate_limit.resources[%d]", len(p.RateLimit.Resources))
			if len(rest) < 2 || len(rest) > 3 {
				return pf, &apiError{Status: http.StatusBadRequest, Field: field,
					Message: fmt.Sprintf("line %d of the resource limits: write [METHOD] /path limit per [fixed|rolling] [soap_action=ACTION], like POST /orders 10 second", i+1)}
			}
			n, bad := num(field+".limit", rest[0])
			if bad != nil {
				return pf, bad
			}
			rl := portico.ResourceLimit{Pattern: pattern, Limit: n, Per: portico.Period(rest[1]), Window: portico.Fixed, SOAPAction: action}
			if len(rest) == 3 {
				rl.Window = portico.Window(rest[2])
			}
			p.RateLimit.Resources = append(p.RateLimit.Resources, rl)
		}
	}
	if pf.Quota {
		n, bad := num("quota.limit", pf.QuotaN)
		if bad != nil {
			return pf, bad
		}
		p.Quota = &portico.Quota{Limit: n, Per: portico.Period(pf.QuotaPer), Mode: portico.QuotaMode(pf.QuotaMode)}
		if strings.TrimSpace(pf.Thresh) != "" {
			t, bad := num("quota.threshold", pf.Thresh)
			if bad != nil {
				return pf, bad
			}
			p.Quota.Threshold = int(t)
		}
	}
	pf.Plan = *p
	return pf, nil
}

func planBody(p *portico.Plan) map[string]any {
	b := map[string]any{
		"name": p.Name, "description": p.Description, "auto_approve": p.AutoApprove, "shared": p.Shared,
		"rate_limit": p.RateLimit, "quota": p.Quota,
	}
	if p.OnDatastoreError != "" {
		b["on_datastore_error"] = p.OnDatastoreError
	}
	if p.Owner != "" {
		b["owner"] = p.Owner
	}
	return b
}

func (s *Server) newPlanPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.render(w, r, http.StatusOK, "plan", &page{Title: "New plan", Session: ss, Data: formOf(portico.Plan{}, true)})
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, ss *session) {
	var p portico.Plan
	pf, bad := readPlanForm(r, &p)
	pf.New = true
	var err error = bad
	var out portico.Plan
	if bad == nil {
		err = s.do(r, apiCall{method: http.MethodPost, path: "/plans", token: ss.token, body: planBody(&p)}, &out)
	}
	if s.formFailed(w, r, ss, err, "plan", "New plan", pf) {
		return
	}
	done(w, r, "/console/plans/"+out.ID+"?saved=1")
}

func (s *Server) planPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var p portico.Plan
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/plans/" + r.PathValue("id"), token: ss.token}, &p); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	pg := &page{Title: "Plan " + p.Name, Session: ss, Data: formOf(p, false)}
	if r.URL.Query().Get("saved") != "" {
		pg.Message = "Saved; every node applies the new limits now."
	}
	s.render(w, r, http.StatusOK, "plan", pg)
}

func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	var p portico.Plan
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/plans/" + id, token: ss.token}, &p); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	if r.PostFormValue("delete") != "" {
		if err := s.do(r, apiCall{method: http.MethodDelete, path: "/plans/" + id, token: ss.token}, nil); err != nil {
			s.fail(w, r, ss, 0, err)
			return
		}
		done(w, r, "/console/plans")
		return
	}
	pf, bad := readPlanForm(r, &p)
	var err error = bad
	if bad == nil {
		err = s.do(r, apiCall{method: http.MethodPut, path: "/plans/" + id, token: ss.token, body: planBody(&p)}, nil)
	}
	if s.formFailed(w, r, ss, err, "plan", "Plan "+p.Name, pf) {
		return
	}
	done(w, r, "/console/plans/"+id+"?saved=1")
}
