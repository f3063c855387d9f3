package policy_test

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

func ExampleCORS_Preflight() {
	cors, err := policy.NewCORS(&portico.CORS{
		AllowedOrigins:   []string{"https://app.example.com"},
		AllowedMethods:   []string{"PUT"},
		AllowedHeaders:   []string{"Authorization"},
		AllowCredentials: true,
		MaxAge:           portico.Duration(600e9),
	})
	if err != nil {
		panic(err)
	}
	req := http.Header{
		"Origin":                         {"https://app.example.com"},
		"Access-Control-Request-Method":  {"PUT"},
		"Access-Control-Request-Headers": {"authorization"},
	}
	if policy.IsPreflight("OPTIONS", req) {
		answer := http.Header{}
		if err := cors.Preflight(req, answer); err != nil {
			fmt.Println(403, err)
			return
		}
		fmt.Println(204)
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			fmt.Printf("%s: %s\n", k, answer.Get(k))
		}
	}
	req.Set("Origin", "https://evil.test")
	fmt.Println(cors.Preflight(req, http.Header{}))
	// Output:
	// 204
	// Access-Control-Allow-Origin: https://app.example.com
	// Access-Control-Allow-Credentials: true
	// Access-Control-Allow-Methods: GET, HEAD, POST, PUT
	// Access-Control-Allow-Headers: Authorization
	// Access-Control-Max-Age: 600
	// Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers
	// forbidden: CORS: origin "https://evil.test" may not call this API (field Origin)
}

func ExampleCORS_Response() {
	cors, _ := policy.NewCORS(&portico.CORS{AllowedOrigins: []string{"https://*.example.com"}, ExposedHeaders: []string{"RateLimit-Remaining"}})
	resp := http.Header{"Access-Control-Allow-Origin": {"*"}} // the backend's, replaced
	cors.Response(http.Header{"Origin": {"https://shop.example.com"}}, resp)
	fmt.Println(resp.Get("Access-Control-Allow-Origin"), resp.Get("Access-Control-Expose-Headers"), resp.Get("Vary"))

	resp = http.Header{}
	cors.Response(http.Header{"Origin": {"https://example.com.evil.test"}}, resp)
	fmt.Println(resp)
	// Output:
	// https://shop.example.com RateLimit-Remaining Origin
	// map[Vary:[Origin]]
}

func ExampleHeaderRules_ApplyRequest() {
	rules, err := policy.NewHeaderRules(&portico.HeaderRules{Request: []portico.HeaderOp{
		{Op: portico.HeaderSet, Name: "X-Caller", Value: "$(application) via $(client_ip)"},
		{Op: portico.HeaderRename, Name: "X-Token", To: "Authorization"},
		{Op: portico.HeaderRemove, Name: "Cookie"},
	}})
	if err != nil {
		panic(err)
	}
	h := http.Header{"X-Token": {"Bearer abc"}, "Cookie": {"session=1"}}
	rules.ApplyRequest(h, &policy.Vars{Application: "app-7", ClientIP: "192.0.2.9"})
	fmt.Println(h)

	_, err = policy.NewHeaderRules(&portico.HeaderRules{Response: []portico.HeaderOp{{Op: portico.HeaderRemove, Name: "Content-Length"}}})
	fmt.Println(err)
	// Output:
	// map[Authorization:[Bearer abc] X-Caller:[app-7 via 192.0.2.9]]
	// invalid: headers.response[0].name: rules cannot change Content-Length: it frames the message (field headers.response[0].name)
}

func ExampleIPRules_Allowed() {
	rules, _ := policy.NewIPRules(&portico.IPRules{Allow: []string{"10.0.0.0/8", "2001:db8::/32"}, Deny: []string{"10.6.6.0/24"}})
	for _, a := range []string{"10.1.2.3", "10.6.6.6", "::ffff:10.1.2.3", "2001:db8::1", "192.0.2.1"} {
		fmt.Println(a, rules.Allowed(netip.MustParseAddr(a)))
	}
	// Output:
	// 10.1.2.3 true
	// 10.6.6.6 false
	// ::ffff:10.1.2.3 true
	// 2001:db8::1 true
	// 192.0.2.1 false
}

func ExampleClientIP() {
	lb, _ := policy.NewTrustedProxies([]string{"10.0.0.0/8"}, policy.HeaderXForwardedFor)
	h := http.Header{"X-Forwarded-For": {"127.0.0.1, 198.51.100.7"}} // the client wrote 127.0.0.1
	fmt.Println(policy.ClientIP("10.0.0.2:41000", h, lb))            // through the balancer
	fmt.Println(policy.ClientIP("203.0.113.5:41000", h, lb))         // straight, spoofing
	// Output:
	// 198.51.100.7
	// 203.0.113.5
}
