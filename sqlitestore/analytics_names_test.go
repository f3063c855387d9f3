package sqlitestore

import (
	"fmt"
	"testing"
)

func TestNames(t *testing.T) {
	var n names
	values := []string{"", "a", "b", "ab", "", "日本", "a\x00", "a"}
	for i := range 5000 {
		values = append(values, fmt.Sprintf("app-%d", i%3000))
	}
	want := make(map[string]int)
	for _, v := range values {
		i := n.index([]byte(v))
		j, seen := want[v]
		if !seen {
			j = len(want)
			want[v] = j
		}
		if i != j {
			t.Fatalf("index(%q) = %d, want %d", v, i, j)
		}
	}
	if n.len() != len(want) {
		t.Errorf("len = %d, want %d", n.len(), len(want))
	}
	for v, i := range want {
		if got := string(n.value(i)); got != v {
			t.Errorf("value(%d) = %q, want %q", i, got, v)
		}
	}
	// The caller's bytes are copied.
	b := []byte("mutable")
	i := n.index(b)
	b[0] = 'M'
	if string(n.value(i)) != "mutable" || n.index([]byte("mutable")) != i {
		t.Error("names kept the caller's slice")
	}
}
