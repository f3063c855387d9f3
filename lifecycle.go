package portico

import "slices"

// The moves of an API's lifecycle. Three moves exist, each the work of
// a route of the admin API: publish (draft or deprecated → published),
// deprecate (published → deprecated) and retire (published or deprecated
// → retired). A draft is never gone back to, and a retired API stays
// retired. Every front end moves APIs by these: the routes one move at a
// time (MovesFrom), a configuration file to the state it gives by one
// move or more (Reaches).

// lifecycleFrom gives, for each state a move reaches, the states it
// moves from.
var lifecycleFrom = map[Lifecycle][]Lifecycle{
	Published:  {Draft, Deprecated},
	Deprecated: {Published},
	Retired:    {Published, Deprecated},
}

// MovesFrom returns the states from which one lifecycle move reaches l:
// none for a draft.
func (l Lifecycle) MovesFrom() []Lifecycle { return slices.Clone(lifecycleFrom[l]) }

// Reaches reports whether an API in state l comes to state to by one
// lifecycle move or more, or is in it.
func (l Lifecycle) Reaches(to Lifecycle) bool {
	seen := map[Lifecycle]bool{l: true}
	for changed := true; changed; {
		changed = false
		for state, froms := range lifecycleFrom {
			if seen[state] {
				continue
			}
			for _, f := range froms {
				if seen[f] {
					seen[state], changed = true, true
					break
				}
			}
		}
	}
	return seen[to]
}
