package browsertest

import (
	"slices"
	"testing"
)

func TestIncreasing(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []int
		want []bool
	}{
		{"empty", nil, []bool{}},
		{"in order", []int{0, 1, 2}, []bool{true, true, true}},
		{"one jumps ahead", []int{5, 0, 1, 2}, []bool{false, true, true, true}},
		{"one comes last", []int{1, 2, 3, 0}, []bool{true, true, true, false}},
		{"two swapped", []int{0, 2, 1, 3}, []bool{true, true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := increasing(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("increasing(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
