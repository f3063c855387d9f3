package openapi

// Diff compares the operations of two versions of a document, from and
// to, by method and path template: added are those of to that from
// lacks, in to's order; removed are those of from that to lacks, in
// from's order. An
// operation whose id or summary changed is in neither. A nil Spec has no
// operations.
func Diff(from, to *Spec) (added, removed []Operation) {
	key := func(o Operation) string { return o.Method + " " + o.Path }
	in := func(s *Spec) map[string]bool {
		m := map[string]bool{}
		if s != nil {
			for _, o := range s.Operations {
				m[key(o)] = true
			}
		}
		return m
	}
	inOld, inNew := in(from), in(to)
	if to != nil {
		for _, o := range to.Operations {
			if !inOld[key(o)] {
				added = append(added, o)
			}
		}
	}
	if from != nil {
		for _, o := range from.Operations {
			if !inNew[key(o)] {
				removed = append(removed, o)
			}
		}
	}
	return added, removed
}
