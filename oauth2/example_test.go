package oauth2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/oauth2"
)

// mapTokens is the smallest portico.TokenStore, for the example; Portico
// passes its data store (sqlitestore or redisstore).
type mapTokens struct{ sync.Map }

func (m *mapTokens) PutToken(_ context.Context, t *portico.Token) error {
	m.Store(t.Hash, *t)
	return nil
}

func (m *mapTokens) Token(_ context.Context, hash string) (*portico.Token, error) {
	if t, ok := m.Load(hash); ok {
		t := t.(portico.Token)
		return &t, nil
	}
	return nil, nil
}

func (m *mapTokens) TouchToken(context.Context, string, time.Time) error { return nil }

func (m *mapTokens) DeleteToken(_ context.Context, hash string) error {
	m.Delete(hash)
	return nil
}

// An application gets a token with its ID and one of its API keys, and
// the gateway's Verifier tells whom the token identifies.
func Example() {
	const apiKey = "pk_exampleAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.Application{ID: "app1"}),
		portico.Put(&portico.Key{ID: "key1", ApplicationID: "app1", Hash: portico.HashKey(apiKey)}),
		portico.Put(&portico.Subscription{ID: "s1", ApplicationID: "app1", APIID: "api1", PlanID: "gold", Status: portico.Approved}),
	)
	store := new(mapTokens)
	srv := &oauth2.Server{Tokens: store, Config: func() *portico.Config { return cfg }}

	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=gold"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("app1", apiKey)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	var answer struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	json.NewDecoder(w.Body).Decode(&answer)
	fmt.Println(w.Code, answer.TokenType, answer.ExpiresIn, answer.Scope, strings.HasPrefix(answer.AccessToken, "pto_"))

	v := oauth2.NewVerifier(store)
	defer v.Close()
	id, err := v.VerifyToken(context.Background(), answer.AccessToken, time.Now())
	fmt.Println(id.Application, id.KeyID, id.Plans, err)

	_, err = v.VerifyToken(context.Background(), "pto_forged", time.Now())
	fmt.Println(oauth2.ReasonOf(err))
	// Output:
	// 200 Bearer 3600 gold true
	// app1 key1 [gold] <nil>
	// malformed
}
