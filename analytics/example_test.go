package analytics_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/analytics"
)

// printSink prints the request IDs of each batch it is given.
type printSink struct{}

func (printSink) Write(_ context.Context, batch []portico.Record) error {
	fmt.Print("batch:")
	for _, r := range batch {
		fmt.Print(" ", r.RequestID)
	}
	fmt.Println()
	return nil
}

func Example() {
	dataDir, err := os.MkdirTemp("", "portico-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	r, err := analytics.New(analytics.Config{
		Sink: printSink{}, SpoolDir: dataDir, BatchSize: 2, MaxConcurrentBatches: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The gateway calls Record for every response; rec may be reused.
	var rec portico.Record
	for _, id := range []string{"req-1", "req-2", "req-3"} {
		rec.RequestID, rec.Status = id, 200
		r.Record(&rec)
	}
	// On shutdown, Close writes what is left (or spools it).
	if err := r.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("recorded:", r.Stats().Recorded)
	// Output:
	// batch: req-1 req-2
	// batch: req-3
	// recorded: 3
}
