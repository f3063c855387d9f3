package portico

import (
	"slices"
	"testing"
)

// TestLifecycleMoves: the states each move comes from, and the states
// one move or more reach from each.
func TestLifecycleMoves(t *testing.T) {
	if got := Published.MovesFrom(); !slices.Equal(got, []Lifecycle{Draft, Deprecated}) {
		t.Errorf("publish from %v", got)
	}
	if got := Draft.MovesFrom(); len(got) != 0 {
		t.Errorf("to draft from %v", got)
	}
	all := []Lifecycle{Draft, Published, Deprecated, Retired}
	reaches := map[Lifecycle][]Lifecycle{
		Draft:      {Draft, Published, Deprecated, Retired},
		Published:  {Published, Deprecated, Retired},
		Deprecated: {Published, Deprecated, Retired},
		Retired:    {Retired},
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := from.Reaches(to), slices.Contains(reaches[from], to); got != want {
				t.Errorf("%s reaches %s: %v, want %v", from, to, got, want)
			}
		}
	}
}
