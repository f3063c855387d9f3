package portico_test

import (
	"fmt"

	"github.com/portico-gw/portico"
)

func ExamplePlan_Describe() {
	p := portico.Plan{
		RateLimit: &portico.RateLimit{Limit: 100, Per: portico.Minute, Window: portico.Fixed,
			Resources: []portico.ResourceLimit{{Pattern: "POST /orders", Limit: 5, Per: portico.Second, Window: portico.Rolling}}},
		Quota: &portico.Quota{Limit: 10000, Per: portico.Month, Mode: portico.Soft},
	}
	for _, s := range p.Describe() {
		fmt.Println(s)
	}
	soap := portico.Plan{RateLimit: &portico.RateLimit{Limit: 50, Per: portico.Second, Window: portico.Fixed,
		Resources: []portico.ResourceLimit{{Pattern: "POST /", SOAPAction: "urn:x", Limit: 5, Per: portico.Second, Window: portico.Fixed}}}}
	for _, s := range soap.Describe() {
		fmt.Println(s)
	}
	hard := portico.Plan{Quota: &portico.Quota{Limit: 1, Per: portico.Day, Mode: portico.Hard}, AutoApprove: true}
	for _, s := range hard.Describe() {
		fmt.Println(s)
	}
	// Output:
	// POST /orders: 5 requests in any rolling second, then 429.
	// Other requests: 100 requests a minute, then 429.
	// Quota of 10,000 requests a month (UTC calendar); more are let through, and a notification is raised at 80 %.
	// Subscriptions wait for the approval of the API's owner.
	// POST / (SOAP action "urn:x"): 5 requests a second, then 429.
	// Other requests: 50 requests a second, then 429.
	// Subscriptions wait for the approval of the API's owner.
	// Quota of 1 request a day (UTC calendar), then 429 until the day ends.
	// Subscriptions are approved at once.
}
