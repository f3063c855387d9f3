package openapi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-gw/portico"
)

// This file bounds what validating one request can cost (doc.go, "The
// budget"). NewValidator works out, for every schema an operation
// applies, the most that checking one value of a request against it can
// cost, by the value's depth (costGraph.bounds), and refuses a document
// whose schemas could cost more than MaxValueCost a value or
// MaxPatternWork a byte, so that any request costs at most a known
// multiple of its size. Validate then prices the body it read with a
// dry run over the schemas (pricer) before it runs any, and refuses one
// that would cost more than MaxRequestCost.

// Bounds on the work of validating a request. A unit is about one
// evaluation of a schema on a value: 0.22–0.3 µs on the 2-core test
// machine when it passes, up to 1 µs when it fails (the library builds
// an error). A 1 MiB body of the orders documents of testdata prices at
// 382,000 units and takes 85 ms. The constants below the bounds say what
// else counts.
const (
	// MaxValueCost bounds, in units, what checking one value of a
	// request can cost at worst: one value of a JSON body at any depth
	// within MaxDepth, one field of a form, one parameter's value (for
	// an operation's parameters together). It counts the schemas applied
	// to the same value (allOf, anyOf, oneOf, not, if, then and else,
	// $ref, dependentSchemas, and the properties, patternProperties and
	// additionalProperties that take the same member), the parent's
	// schemas visiting it, enum and const members, numbers read. The
	// documents of testdata cost at most 26 a value of a body and 141 for
	// an operation's parameters (asana.yaml, whose opt_fields parameters
	// list hundreds of names); the 10 MB document of large_test.go 10.
	// An anyOf of three $refs to another nested four deep costs 241 (the
	// $refs count), five deep 727.
	MaxValueCost = 500
	// MaxPatternSize bounds the program of one regular expression of a
	// schema (pattern, patternProperties), in instructions: compiling and
	// matching grow with it. Go's parser refuses repeats nested beyond
	// 1,000; "^.{1,255}$" compiles to 513 instructions, "^.{1,1000}$" to
	// 2,003, a UUID pattern to 40.
	MaxPatternSize = 2500
	// MaxPatternWork bounds the work that one byte of a string or key of
	// a request can cost in the regular expressions applied to it, added
	// up as for MaxValueCost. A pattern's work is the most threads Go's
	// matcher can run at once on it (patternWork), about 6 ns each for
	// each byte: 4 for "^.{1,255}$", 126 for "[a-z]{1,63}" (unanchored),
	// 1,779 for ten ".{1,100}" in a row. Formats count too (workFormat).
	// The documents of testdata cost at most 11.
	MaxPatternWork = 2000
	// MaxRequestCost bounds, in units, what checking one request's body
	// (or a parameter given as JSON) can cost: 0.15–0.6 s. Validate
	// prices the instance with a dry run over the schemas as the schema
	// library would apply them, every branch taken (pricer), and refuses
	// it, before any schema runs, when it costs more.
	MaxRequestCost = 600_000
)

// What counts in the units, measured with the schema library on the
// 2-core test machine, where an evaluation of {"type": "string"} takes
// 0.28 µs.
const (
	// costParse is a number read as a big.Rat, as the library reads a
	// number for minimum, maximum, multipleOf, "integer", enum, const and
	// uniqueItems: 0.3–0.5 µs for a number of a few digits. Bodies
	// carrying costlier numbers are priced at their cost (numberUnits).
	costParse      = 2
	costEnumScalar = 1.0 / 16 // a string, boolean or null of an enum or const
	costRequired   = 1.0 / 16 // a name in required, dependentRequired or dependencies
	// costMatch is a call of a regular expression, before its bytes.
	costMatch = 2
	// workPattern is what a match costs per byte beyond its threads.
	workPattern = 4
	workFormat  = 3 // date-time, uri, email…: linear parsers, 5–20 ns a byte
	// workRegexFormat is a value of format "regex", which is parsed as a
	// regular expression (460 ns a byte).
	workRegexFormat = 80
	// workPerUnit converts work to units: 48 thread-bytes of 6 ns.
	workPerUnit = 48
)

// numberUnits returns what reading number n as a big.Rat costs, in
// units: 0.45 µs for "12", 7 µs for "1e1000", 14 µs for a number of
// 1,000 digits (measured: 0.4, 6.5 and 8 µs).
func numberUnits(n string) float64 {
	exp := 0
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		exp, _ = strconv.Atoi(strings.TrimLeft(n[i+1:], "+-"))
	}
	return 1.5 + float64(exp)/40 + float64(len(n))/20
}

// schemaBound is what checking the values below one value against a
// schema can cost at worst.
type schemaBound struct {
	// value[k] is, in units, what one value k levels below costs, its
	// numbers read at costParse; work[k] what one byte of a string or
	// key there costs. Deeper levels cost as the last.
	value, work []float64
}

// max returns the most one value at any level costs, and one byte.
func (b *schemaBound) max() (value, work float64) {
	if b == nil {
		return 0, 0
	}
	for k := range b.value {
		value, work = math.Max(value, b.value[k]), math.Max(work, b.work[k])
	}
	return value, work
}

// errPatternSize refuses a regular expression whose program is over
// MaxPatternSize.
type errPatternSize struct {
	size      int
	estimated bool // size is an upper bound, the pattern not compiled
}

func (e *errPatternSize) Error() string {
	about := ""
	if e.estimated {
		about = "about "
	}
	return fmt.Sprintf("the pattern compiles to %s%s instructions, over the %s a pattern may have (openapi.MaxPatternSize)",
		about, fmtCost(float64(e.size)), fmtCost(MaxPatternSize))
}

// pattern is a compiled regular expression of a schema, with the size
// of its program and what matching it costs per byte. It implements
// jsonschema.Regexp.
type pattern struct {
	re   *regexp.Regexp
	size int
	work int // per byte: threads at once (patternWork), and workPattern
}

func (p *pattern) MatchString(s string) bool { return p.re.MatchString(s) }
func (p *pattern) String() string            { return p.re.String() }

// patternEngine is the schema library's regular expression engine for
// one document: Go's regexp (linear in the text), refusing programs
// over MaxPatternSize, and pricing each pattern. Once the document is
// compiled (done), it only checks the values of format "regex" and
// compiles nothing. It is used by one goroutine at a time.
type patternEngine struct {
	done     atomic.Bool
	compiled map[string]*pattern
	steps    int // of patternWork's analyses so far, within maxLiveSteps
}

// sizeCap bounds the estimated size of a pattern that is compiled to be
// measured exactly.
const sizeCap = 64 * MaxPatternSize

// maxLiveSteps bounds the work of patternWork's analyses for one
// document; beyond it, a pattern's work is its program's size.
const maxLiveSteps = 50_000_000

func (e *patternEngine) compile(s string) (jsonschema.Regexp, error) {
	if p := e.compiled[s]; p != nil && !e.done.Load() {
		return p, nil
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return nil, err
	}
	est := estimateSize(re)
	if e.done.Load() {
		if est > MaxPatternSize {
			return nil, &errPatternSize{size: est, estimated: true}
		}
		return nil, nil // the library wants only the error
	}
	if est > sizeCap {
		return nil, &errPatternSize{size: est, estimated: true}
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > MaxPatternSize {
		return nil, &errPatternSize{size: len(prog.Inst)}
	}
	c, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	p := &pattern{re: c, size: len(prog.Inst), work: e.patternWork(prog) + workPattern}
	if e.compiled == nil {
		e.compiled = map[string]*pattern{}
	}
	e.compiled[s] = p
	return p, nil
}

// patternWork returns the most threads Go's matcher (regexp's NFA) can
// run at once on prog, for any text: the largest set of instructions
// reached after any number of characters when every character is taken
// to match every instruction, which holds the threads of any real text.
// The sets are followed until one repeats or none is left, within
// 4×size+64 steps and the engine's maxLiveSteps; beyond, the work is
// the program's size. Go's backtracker, used for programs of at most
// 500 instructions on short texts, visits each instruction at most once
// a byte, at a third of the NFA's cost: the work is at least a third of
// such a program's size.
func (e *patternEngine) patternWork(prog *syntax.Prog) int {
	n := len(prog.Inst)
	floor := 0
	if n <= 500 {
		floor = (n + 2) / 3
	}
	words := (n + 63) / 64
	var stack []uint32
	closure := func(set []uint64, pc uint32) {
		stack = append(stack[:0], pc)
		for len(stack) > 0 {
			pc := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if set[pc/64]&(1<<(pc%64)) != 0 {
				continue
			}
			set[pc/64] |= 1 << (pc % 64)
			e.steps++
			switch in := &prog.Inst[pc]; in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				stack = append(stack, in.Out, in.Arg)
			case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
				stack = append(stack, in.Out)
			}
		}
	}
	count := func(set []uint64) int {
		c := 0
		for _, w := range set {
			c += bits.OnesCount64(w)
		}
		return c
	}
	anchored := prog.StartCond()&syntax.EmptyBeginText != 0
	start := make([]uint64, words)
	closure(start, uint32(prog.Start))
	cur, most := start, count(start)
	seen := map[string]bool{}
	key := make([]byte, 8*words)
	for range 4*n + 64 {
		if e.steps > maxLiveSteps {
			return n
		}
		next := make([]uint64, words)
		for w, bitsw := range cur {
			for bitsw != 0 {
				pc := uint32(w*64 + bits.TrailingZeros64(bitsw))
				bitsw &= bitsw - 1
				switch in := &prog.Inst[pc]; in.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					closure(next, in.Out)
				}
			}
		}
		if !anchored {
			for i := range next {
				next[i] |= start[i]
			}
		}
		c := count(next)
		if c == 0 {
			return max(most, floor)
		}
		most = max(most, c)
		for i, w := range next {
			binary.LittleEndian.PutUint64(key[8*i:], w)
		}
		if seen[string(key)] {
			return max(most, floor)
		}
		seen[string(key)] = true
		cur = next
	}
	return n
}

// estimateSize returns an upper bound of the instructions re compiles
// to, without compiling it (a repeat costs its count times its body).
func estimateSize(re *syntax.Regexp) int {
	n := 1
	switch re.Op {
	case syntax.OpLiteral:
		n += len(re.Rune)
	case syntax.OpCapture:
		n += 2 + estimateSize(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n += 1 + estimateSize(re.Sub[0])
	case syntax.OpRepeat:
		count := re.Max
		if count < 0 {
			count = re.Min + 1
		}
		n += count * (1 + estimateSize(re.Sub[0]))
	case syntax.OpConcat, syntax.OpAlternate:
		for _, s := range re.Sub {
			n += 1 + estimateSize(s)
		}
	}
	return min(n, math.MaxInt32)
}

// costGraph is the schemas a document's operations apply, each a node
// with what it costs on the value it applies to and its edges: to the
// schemas it applies to the same value, and to those it applies to the
// value's members and items.
type costGraph struct {
	nodes []cnode
	index map[*jsonschema.Schema]int32
	// unique: some schema has uniqueItems, whose comparisons a body can
	// make quadratic (pricer.uniqueCompares): no per-byte bound holds,
	// so every body is priced.
	unique bool
}

type cnode struct {
	s     *jsonschema.Schema
	types uint8   // the types it allows; 0 for any
	w, x  float64 // units on the value; work per byte of it
	// same are the schemas applied to the same value, in groups: each
	// group costs its most costly member, the groups add.
	same []cgroup
	// A member of an object value takes one of props (properties,
	// additionalProperties: the most costly counts) and each of also
	// (patternProperties, unevaluatedProperties); an item of an array
	// one of items (prefixItems, items) and each of alsoItem (contains,
	// unevaluatedItems).
	props, also, items, alsoItem []cedge
	names                        int32   // propertyNames, or -1: applied to each member's key
	keyWork                      float64 // per byte of each member's key: patternProperties
	keyCost                      float64 // units per member: the patternProperties' matches
	unique                       bool    // uniqueItems: each item is hashed
}

type cgroup struct {
	kw      string
	members []int32
}

type cedge struct {
	kw string // "properties/name", "items"…: for errors
	to int32
}

// costError is a node whose cost is over a bound.
type costError struct {
	root  int // the index of the root whose cost is over, or -1
	node  int32
	kw    string
	level int
	cost  float64
	work  bool // the bound is MaxPatternWork, not MaxValueCost
}

func newCostGraph() *costGraph {
	return &costGraph{index: map[*jsonschema.Schema]int32{}}
}

// add returns the node of schema s, adding it and what it reaches.
func (g *costGraph) add(s *jsonschema.Schema) (int32, *Error) {
	if i, ok := g.index[s]; ok {
		return i, nil
	}
	start := len(g.nodes)
	id := func(t *jsonschema.Schema) int32 {
		if i, ok := g.index[t]; ok {
			return i
		}
		i := int32(len(g.nodes))
		g.index[t] = i
		g.nodes = append(g.nodes, cnode{s: t, names: -1})
		return i
	}
	root := id(s)
	for i := start; i < len(g.nodes); i++ {
		if err := g.fill(int32(i), id); err != nil {
			return 0, err
		}
	}
	return root, nil
}

// fill sets node i's costs and edges, adding the schemas they reach.
func (g *costGraph) fill(i int32, id func(*jsonschema.Schema) int32) *Error {
	s := g.nodes[i].s
	var n cnode
	n.s, n.names = s, -1
	n.w = 1
	if s.Bool != nil {
		g.nodes[i] = n
		return nil
	}
	group := func(kw string, ts ...*jsonschema.Schema) {
		var m []int32
		for _, t := range ts {
			if t != nil {
				m = append(m, id(t))
			}
		}
		if len(m) > 0 {
			n.same = append(n.same, cgroup{kw, m})
		}
	}
	group("$ref", s.Ref)
	if r := s.RecursiveRef; r != nil {
		if r.RecursiveAnchor {
			return &Error{Code: portico.EInvalid, Pointer: docPointer(s.Location) + "/$recursiveRef",
				Message: "the validator does not take a $recursiveRef to a $recursiveAnchor: what it applies depends on the way to it"}
		}
		group("$recursiveRef", r)
	}
	if d := s.DynamicRef; d != nil {
		if d.Anchor != "" && d.Ref.DynamicAnchor == d.Anchor {
			return &Error{Code: portico.EInvalid, Pointer: docPointer(s.Location) + "/$dynamicRef",
				Message: "the validator does not take a $dynamicRef to a $dynamicAnchor: what it applies depends on the way to it"}
		}
		group("$dynamicRef", d.Ref)
	}
	group("not", s.Not)
	for _, t := range s.AllOf {
		group("allOf", t)
	}
	for _, t := range s.AnyOf {
		group("anyOf", t)
	}
	for _, t := range s.OneOf {
		group("oneOf", t)
	}
	group("if", s.If)
	group("then", s.Then)
	group("else", s.Else)
	for _, k := range sortedKeys(s.DependentSchemas) {
		group("dependentSchemas", s.DependentSchemas[k])
	}
	for _, k := range sortedKeys(s.Dependencies) {
		switch d := s.Dependencies[k].(type) {
		case *jsonschema.Schema:
			group("dependencies", d)
		case []string:
			n.w += costRequired * float64(len(d))
		}
	}

	// On the value itself.
	if s.Types != nil {
		n.types = typeBits(s.Types.ToStrings())
	}
	parse := func(times float64) {
		n.w += costParse * times
	}
	if s.Enum != nil {
		for _, v := range s.Enum.Values {
			c, ps := constCost(v)
			n.w += c
			parse(ps)
		}
	}
	if s.Const != nil {
		c, ps := constCost(*s.Const)
		n.w += c
		parse(ps)
	}
	if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil {
		parse(1)
	}
	if s.MultipleOf != nil {
		parse(2) // and a division
	}
	if s.Types != nil && slices.Contains(s.Types.ToStrings(), "integer") {
		parse(1)
	}
	n.w += costRequired * float64(len(s.Required))
	for _, r := range s.DependentRequired {
		n.w += costRequired * float64(len(r))
	}
	if s.MinLength != nil || s.MaxLength != nil {
		n.x++ // counting runes
	}
	if s.Pattern != nil {
		n.w += costMatch
		n.x += float64(patternWork(s.Pattern))
	}
	if s.Format != nil {
		n.w++
		n.x += workFormat
		switch s.Format.Name {
		case "regex":
			n.x += workRegexFormat
		case "int32", "int64":
			parse(1)
		}
	}

	// On its members and items.
	for _, k := range sortedKeys(s.Properties) {
		n.props = append(n.props, cedge{"properties/" + escapeToken(k), id(s.Properties[k])})
	}
	if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		n.props = append(n.props, cedge{"additionalProperties", id(a)})
	}
	for re, t := range s.PatternProperties {
		n.also = append(n.also, cedge{"patternProperties/" + escapeToken(re.String()), id(t)})
		n.keyCost += costMatch
		n.keyWork += float64(patternWork(re))
	}
	if t := s.UnevaluatedProperties; t != nil {
		n.also = append(n.also, cedge{"unevaluatedProperties", id(t)})
	}
	if t := s.PropertyNames; t != nil {
		n.names = id(t)
	}
	for j, t := range s.PrefixItems {
		n.items = append(n.items, cedge{fmt.Sprintf("prefixItems/%d", j), id(t)})
	}
	if t := s.Items2020; t != nil {
		n.items = append(n.items, cedge{"items", id(t)})
	}
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		n.items = append(n.items, cedge{"items", id(it)})
	case []*jsonschema.Schema:
		for j, t := range it {
			n.items = append(n.items, cedge{fmt.Sprintf("items/%d", j), id(t)})
		}
	}
	if t, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		n.items = append(n.items, cedge{"additionalItems", id(t)})
	}
	if t := s.Contains; t != nil {
		n.alsoItem = append(n.alsoItem, cedge{"contains", id(t)})
	}
	if t := s.UnevaluatedItems; t != nil {
		n.alsoItem = append(n.alsoItem, cedge{"unevaluatedItems", id(t)})
	}
	n.unique = s.UniqueItems
	g.unique = g.unique || s.UniqueItems
	g.nodes[i] = n
	return nil
}

// constCost returns what comparing a value with v (a member of an enum,
// or a const) costs, in units, and the times it reads the value's
// numbers.
func constCost(v any) (float64, float64) {
	switch v := v.(type) {
	case json.Number:
		return numberUnits(string(v)), 1
	case float64, float32, int, int64:
		return numberUnits(fmt.Sprint(v)), 1
	case map[string]any:
		c, ps := costEnumScalar, 0.0
		for _, m := range v {
			mc, mp := constCost(m)
			c, ps = c+mc, ps+mp
		}
		return c, ps
	case []any:
		c, ps := costEnumScalar, 0.0
		for _, m := range v {
			mc, mp := constCost(m)
			c, ps = c+mc, ps+mp
		}
		return c, ps
	}
	return costEnumScalar, 0
}

// patternWork returns what matching re costs per byte.
func patternWork(re jsonschema.Regexp) int {
	if p, ok := re.(*pattern); ok {
		return p.work
	}
	return MaxPatternSize // not compiled here: counted at the bound
}

// order returns the nodes in an order where each comes after the
// schemas it applies to the same value, or a node on a cycle of such
// schemas.
func (g *costGraph) order() ([]int32, int32) {
	succ := make([]int32, len(g.nodes)) // same-value schemas not yet placed
	var preds [][]int32
	preds = make([][]int32, len(g.nodes))
	for i := range g.nodes {
		for _, gr := range g.nodes[i].same {
			for _, t := range gr.members {
				succ[i]++
				preds[t] = append(preds[t], int32(i))
			}
		}
	}
	out := make([]int32, 0, len(g.nodes))
	for i := range g.nodes {
		if succ[i] == 0 {
			out = append(out, int32(i))
		}
	}
	for j := 0; j < len(out); j++ {
		for _, p := range preds[out[j]] {
			if succ[p]--; succ[p] == 0 {
				out = append(out, p)
			}
		}
	}
	if len(out) < len(g.nodes) {
		// Each node left has a successor left: follow them to a node
		// met twice, which is on a cycle.
		i := int32(slices.IndexFunc(succ, func(n int32) bool { return n > 0 }))
		met := map[int32]bool{}
		for !met[i] {
			met[i] = true
			next := i
			for _, gr := range g.nodes[i].same {
				if j := slices.IndexFunc(gr.members, func(t int32) bool { return succ[t] > 0 }); j >= 0 {
					next = gr.members[j]
					break
				}
			}
			i = next
		}
		return nil, i
	}
	return out, -1
}

// costRoot is a schema a request's values are checked against, with the
// depth of the deepest of them.
type costRoot struct {
	node  int32
	depth int
	bound *schemaBound
}

// bounds works out the bounds of roots, level by level, and returns the
// first place whose cost is over a bound.
func (g *costGraph) bounds(roots []*costRoot) *costError {
	order, cyc := g.order()
	if cyc >= 0 {
		return &costError{root: -1, node: cyc, level: -1}
	}
	maxDepth := 0
	for _, r := range roots {
		maxDepth = max(maxDepth, r.depth)
	}
	n := len(g.nodes)
	lv0 := newLevel(n)
	prev, cur := lv0, lv0
	for k := 0; k <= maxDepth; k++ {
		if k > 0 {
			prev, cur = cur, newLevel(n)
		}
		for _, i := range order {
			nd := &g.nodes[i]
			var c [2]float64
			if k == 0 {
				c = [2]float64{nd.w, nd.x}
			} else {
				c = g.children(nd, k, prev, lv0)
			}
			for _, gr := range nd.same {
				var m [2]float64
				for _, t := range gr.members {
					for j := range m {
						m[j] = math.Max(m[j], cur[j][t])
					}
				}
				for j := range c {
					c[j] += m[j]
				}
			}
			for j := range c {
				cur[j][i] = c[j]
			}
		}
		same := k >= 2
		for j := 0; same && j < len(cur); j++ {
			same = slices.Equal(cur[j], prev[j])
		}
		for ri, r := range roots {
			if k > r.depth || same {
				continue
			}
			f, x := cur[0][r.node], cur[1][r.node]
			r.bound.value, r.bound.work = append(r.bound.value, f), append(r.bound.work, x)
			if f > MaxValueCost || x > MaxPatternWork {
				ce := g.culprit(order, k, f > MaxValueCost, cur, prev)
				ce.root = ri
				return ce
			}
		}
		if same {
			break
		}
	}
	return nil
}

// level is the costs of every node at one level: units, and work per
// byte.
type level [2][]float64

func newLevel(n int) level {
	return level{make([]float64, n), make([]float64, n)}
}

// children returns what node nd's schema costs (units, work per byte) on
// one value k ≥ 1 levels below the value it applies to, given the costs
// at level k-1 and at level 0.
func (g *costGraph) children(nd *cnode, k int, prev, lv0 level) [2]float64 {
	var obj, arr [2]float64
	for _, e := range nd.props {
		for j := range obj {
			obj[j] = math.Max(obj[j], prev[j][e.to])
		}
	}
	for _, e := range nd.also {
		for j := range obj {
			obj[j] += prev[j][e.to]
		}
	}
	for _, e := range nd.items {
		for j := range arr {
			arr[j] = math.Max(arr[j], prev[j][e.to])
		}
	}
	for _, e := range nd.alsoItem {
		for j := range arr {
			arr[j] += prev[j][e.to]
		}
	}
	if k == 1 { // the member itself: visited, its key matched and checked
		obj[0], obj[1] = obj[0]+nd.keyCost, obj[1]+nd.keyWork
		if nd.names >= 0 {
			for j := range obj {
				obj[j] += lv0[j][nd.names]
			}
		}
	}
	var c [2]float64
	for j := range c {
		c[j] = math.Max(obj[j], arr[j])
	}
	if k == 1 {
		c[0]++
	}
	if nd.unique { // every value below an item is hashed, its numbers read
		c[0] += 1 + costParse
	}
	return c
}

// culprit returns, at level k where a root's cost is over a bound, the
// first node in order over it: the schemas it applies to the same value
// are not, so it is where the cost adds up. Its keyword is the part
// that costs most.
func (g *costGraph) culprit(order []int32, k int, value bool, cur, prev level) *costError {
	j, bound := 1, float64(MaxPatternWork)
	if value {
		j, bound = 0, MaxValueCost
	}
	for _, i := range order {
		if cur[j][i] <= bound {
			continue
		}
		nd := &g.nodes[i]
		kw, best := "", 0.0
		if k == 0 {
			best = [2]float64{nd.w, nd.x}[j]
			if nd.s.Enum != nil && best > 2 {
				kw = "enum"
			}
		}
		byKw := map[string]float64{}
		var kws []string
		note := func(w string, c float64, add bool) {
			if _, ok := byKw[w]; !ok {
				kws = append(kws, w)
			}
			if add {
				byKw[w] += c
			} else {
				byKw[w] = math.Max(byKw[w], c)
			}
		}
		for _, gr := range nd.same {
			var m float64
			for _, t := range gr.members {
				m = math.Max(m, cur[j][t])
			}
			note(gr.kw, m, true)
		}
		if k > 0 {
			for _, es := range [][]cedge{nd.props, nd.also, nd.items, nd.alsoItem} {
				for _, e := range es {
					note(e.kw, prev[j][e.to], false)
				}
			}
			if k == 1 && nd.keyCost > 0 {
				note("patternProperties", [2]float64{nd.keyCost, nd.keyWork}[j], true)
			}
		}
		for _, w := range kws {
			if byKw[w] > best {
				kw, best = w, byKw[w]
			}
		}
		if k == 1 {
			// A member or item over the bound by itself: show where in it.
			for _, es := range [][]cedge{nd.props, nd.also, nd.items, nd.alsoItem} {
				for _, e := range es {
					if e.kw == kw && prev[j][e.to] > bound {
						return g.culprit(order, 0, value, prev, prev)
					}
				}
			}
		}
		return &costError{node: i, kw: kw, level: k, cost: cur[j][i], work: !value}
	}
	return &costError{node: order[len(order)-1], level: k, cost: bound + 1, work: !value}
}

// errorOf turns a costError into the document's refusal; root is
// the pointer of the schema the request's values meet first.
func (g *costGraph) errorOf(ce *costError, root string) *Error {
	p := docPointer(g.nodes[ce.node].s.Location)
	if ce.level < 0 {
		return &Error{Code: portico.EInvalid, Pointer: p, Message: "the schema applies itself to the same value again " +
			"(through $ref, allOf, anyOf, oneOf, not, if/then/else or dependentSchemas, without going into the value): " +
			"the validator does not take such a cycle"}
	}
	if ce.kw != "" {
		p += "/" + ce.kw
	}
	what := "one value of a request"
	if ce.level > 0 {
		what = fmt.Sprintf("one value of a request nested %d levels inside the one this schema checks", ce.level)
	}
	via := ""
	if root != "" && root != p {
		via = fmt.Sprintf(" (this schema is reached from %s)", truncate(root, 200))
	}
	if ce.work {
		in := "a request"
		if ce.level > 0 {
			in = fmt.Sprintf("a value nested %d levels inside the one this schema checks", ce.level)
		}
		return &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf(
			"each byte of a string or key in %s can cost up to %s regular-expression steps here, over the %s the validator allows "+
				"(openapi.MaxPatternWork): the patterns applied to the same value add up%s", in, fmtCost(ce.cost), fmtCost(MaxPatternWork), via)}
	}
	return &Error{Code: portico.EInvalid, Pointer: p, Message: fmt.Sprintf(
		"checking %s can cost up to %s schema evaluations here, over the %s the validator allows (openapi.MaxValueCost): "+
			"the schemas applied to the same value add up, and nested ones multiply%s", what, fmtCost(ce.cost), fmtCost(MaxValueCost), via)}
}

// fmtCost writes a cost for a message.
func fmtCost(c float64) string {
	switch {
	case math.IsInf(c, 1) || c > 1e15:
		return fmt.Sprintf("%.3g", c)
	case c >= 10:
		s := fmt.Sprintf("%.0f", c)
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	return fmt.Sprintf("%.2g", c)
}

// docPointer returns the JSON pointer in the document of a schema
// location in the compiler's resource (compileAll): the "$defs" member
// named by a pointer, then the path inside it.
func docPointer(loc string) string {
	_, frag, ok := strings.Cut(loc, "#")
	if !ok {
		return ""
	}
	if u, err := url.PathUnescape(frag); err == nil {
		frag = u
	}
	rest, ok := strings.CutPrefix(frag, "/$defs/")
	if !ok {
		return frag
	}
	tok, tail, _ := strings.Cut(rest, "/")
	ptr := strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	if tail != "" {
		ptr += "/" + tail
	}
	return ptr
}

// sortedKeys returns m's keys in order, so that walks are repeatable.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// escapeToken escapes a key as a JSON pointer token.
func escapeToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// JSON types, as a set.
const (
	typeNull uint8 = 1 << iota
	typeBoolean
	typeNumber
	typeInteger
	typeString
	typeArray
	typeObject
)

func typeBits(names []string) uint8 {
	var t uint8
	for _, n := range names {
		t |= map[string]uint8{"null": typeNull, "boolean": typeBoolean, "number": typeNumber, "integer": typeInteger,
			"string": typeString, "array": typeArray, "object": typeObject}[n]
	}
	return t
}

func typeOfValue(v any) uint8 {
	switch v.(type) {
	case nil:
		return typeNull
	case bool:
		return typeBoolean
	case json.Number:
		return typeNumber
	case string:
		return typeString
	case []any:
		return typeArray
	case map[string]any:
		return typeObject
	}
	return 0
}

// pricer prices checking an instance (decoded by decodeJSON, or read
// from a form or a parameter) against a schema as the schema library
// checks it: a dry run over the schemas and the instance that adds up,
// in units, what each step of the library costs, taking every branch
// the library may take (every member of anyOf and oneOf, then and
// else), and stops once the total is over limit. It is the run-time
// budget: Validate runs a schema only on an instance priced within
// MaxRequestCost, and the dry run itself takes at most about limit
// steps of a few nanoseconds.
type pricer struct {
	g            *costGraph
	total, limit float64
}

func (pr *pricer) price(s *jsonschema.Schema, v any) {
	if pr.total > pr.limit {
		return
	}
	pr.total++
	if s.Bool != nil {
		return
	}
	var types uint8
	if i, ok := pr.g.index[s]; ok {
		types = pr.g.nodes[i].types
	}
	if vt := typeOfValue(v); types != 0 && types&vt == 0 {
		if vt != typeNumber || types&typeInteger == 0 {
			return // the library stops at the type
		}
		pr.total += numberUnits(string(v.(json.Number))) // read to see if it is an integer
	}
	if s.Const != nil {
		pr.compare(v, *s.Const)
	}
	if s.Enum != nil {
		for _, m := range s.Enum.Values {
			pr.compare(v, m)
		}
	}
	if f := s.Format; f != nil {
		pr.total++
		switch v := v.(type) {
		case string:
			w := float64(workFormat)
			if f.Name == "regex" {
				w += workRegexFormat
			}
			pr.total += float64(len(v)) * w / workPerUnit
		case json.Number:
			pr.total += numberUnits(string(v))
		}
	}
	if s.Ref != nil {
		pr.price(s.Ref, v)
	}
	switch v := v.(type) {
	case map[string]any:
		pr.object(s, v)
	case []any:
		pr.array(s, v)
	case string:
		if s.MinLength != nil || s.MaxLength != nil {
			pr.total += float64(len(v)) / workPerUnit
		}
		if s.Pattern != nil {
			pr.total += costMatch + float64(len(v)*patternWork(s.Pattern))/workPerUnit
		}
	case json.Number:
		if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil {
			pr.total += numberUnits(string(v))
		}
		if s.MultipleOf != nil {
			pr.total += 2 * numberUnits(string(v))
		}
	}
	if r := s.RecursiveRef; r != nil {
		pr.price(r, v)
	}
	if d := s.DynamicRef; d != nil {
		pr.price(d.Ref, v)
	}
	for _, t := range [...]*jsonschema.Schema{s.Not, s.If, s.Then, s.Else} {
		if t != nil {
			pr.price(t, v)
		}
	}
	for _, list := range [...][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, t := range list {
			pr.price(t, v)
		}
	}
}

func (pr *pricer) object(s *jsonschema.Schema, obj map[string]any) {
	pr.total += costRequired * float64(len(s.Required))
	for name, d := range s.Dependencies {
		if _, ok := obj[name]; ok {
			switch d := d.(type) {
			case *jsonschema.Schema:
				pr.price(d, obj)
			case []string:
				pr.total += costRequired * float64(len(d))
			}
		}
	}
	for name, r := range s.DependentRequired {
		if _, ok := obj[name]; ok {
			pr.total += costRequired * float64(len(r))
		}
	}
	for k, m := range obj {
		pr.total++
		if pr.total > pr.limit {
			return
		}
		evaluated := false
		if t, ok := s.Properties[k]; ok {
			evaluated = true
			pr.price(t, m)
		}
		for re, t := range s.PatternProperties {
			pr.total += costMatch + float64(len(k)*patternWork(re))/workPerUnit
			if pr.total > pr.limit {
				return
			}
			if re.MatchString(k) {
				evaluated = true
				pr.price(t, m)
			}
		}
		if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok && !evaluated {
			pr.price(a, m)
		}
		if t := s.UnevaluatedProperties; t != nil {
			pr.price(t, m)
		}
		if t := s.PropertyNames; t != nil {
			pr.price(t, k)
		}
	}
	for name, t := range s.DependentSchemas {
		if _, ok := obj[name]; ok {
			pr.price(t, obj)
		}
	}
}

func (pr *pricer) array(s *jsonschema.Schema, arr []any) {
	if s.UniqueItems && len(arr) > 1 {
		for _, m := range arr {
			pr.hash(m) // each item is hashed whole
		}
		pr.uniqueCompares(arr)
	}
	for i, m := range arr {
		if pr.total > pr.limit {
			return
		}
		switch {
		case i < len(s.PrefixItems):
			pr.price(s.PrefixItems[i], m)
		case s.Items2020 != nil:
			pr.price(s.Items2020, m)
		}
		switch items := s.Items.(type) {
		case *jsonschema.Schema:
			pr.price(items, m)
		case []*jsonschema.Schema:
			if i < len(items) {
				pr.price(items[i], m)
			} else if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
				pr.price(a, m)
			}
		}
		if t := s.Contains; t != nil {
			pr.price(t, m)
		}
		if t := s.UnevaluatedItems; t != nil {
			pr.price(t, m)
		}
	}
}

// compare prices comparing instance value v with m, a member of an enum
// or a const.
func (pr *pricer) compare(v, m any) {
	pr.total += costEnumScalar
	if typeOfValue(v) != typeOfValue(m) {
		return
	}
	switch m := m.(type) {
	case json.Number:
		pr.total += numberUnits(string(v.(json.Number))) + numberUnits(string(m))
	case map[string]any, []any:
		c, _ := constCost(m)
		pr.total += c
	}
}

// uniqueCompares prices the comparisons the library's uniqueItems check
// makes: every pair of items up to 20 of them, each to where the pair
// first differs (equalUnits); past 20, each item against
// the earlier items whose hash it shares. Its hash input is ambiguous (a
// string is written without its length, so ["a\u0004a"] and ["a", "a"]
// feed it the same bytes), so a client can make items that share one
// hash and cost a comparison with every other (quadratic, and each
// comparison of numbers reads both as a big.Rat): the groups are found
// here from the same bytes (hashInput), and priced pair by pair.
func (pr *pricer) uniqueCompares(arr []any) {
	if len(arr) <= 20 {
		for i, m := range arr {
			for _, n := range arr[:i] {
				if pr.total > pr.limit {
					return
				}
				c, _ := equalUnits(n, m)
				pr.total += c
			}
		}
		return
	}
	seen := make(map[string]int, len(arr))
	var b []byte
	for _, m := range arr {
		if pr.total > pr.limit {
			return
		}
		b = hashInput(b[:0], m)
		n := seen[string(b)]
		seen[string(b)] = n + 1
		pr.total += float64(n) * compareUnits(m)
	}
}

// equalUnits prices the library's comparison of a with b (its equals),
// which stops where they first differ, and reports whether they may be
// equal: numbers count as equal unless both are integers written
// differently (what big.Rat finds is not worked out here), the entries of
// two objects are all priced (the library visits them in map order).
func equalUnits(a, b any) (float64, bool) {
	c := costEnumScalar
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return c, false
		}
		equal := true
		for k, m := range a {
			n, ok := b[k]
			if !ok {
				equal = false
				continue
			}
			mc, eq := equalUnits(m, n)
			c += mc
			equal = equal && eq
		}
		return c, equal
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return c, false
		}
		for i := range a {
			mc, eq := equalUnits(a[i], b[i])
			c += mc
			if !eq {
				return c, false
			}
		}
		return c, true
	case string:
		b, ok := b.(string)
		if !ok || len(a) != len(b) {
			return c, false
		}
		return c + float64(len(a))/workPerUnit, a == b
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return c, false
		}
		c += numberUnits(string(a)) + numberUnits(string(b))
		if a != b && plainInteger(string(a)) && plainInteger(string(b)) {
			return c, isZero(string(a)) && isZero(string(b))
		}
		return c, true
	}
	return c, a == b
}

// plainInteger reports whether JSON number n has neither fraction nor
// exponent: two such are equal when written alike, or both zero.
func plainInteger(n string) bool { return !strings.ContainsAny(n, ".eE") }

func isZero(n string) bool { return n == "0" || n == "-0" }

// compareUnits is what the library's comparison of v with an item of its
// own shape costs: both read (numbers as big.Rats), one byte of a
// string a unit of work.
func compareUnits(v any) float64 {
	c, _ := constCost(v)
	if s, ok := v.(string); ok {
		c += float64(len(s)) / workPerUnit
	}
	return costEnumScalar + 2*c
}

// hashInput appends to b the bytes the schema library's uniqueItems hash
// reads of v (its writeHash): items whose bytes are equal land in one
// bucket and are compared with each other.
func hashInput(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		b = append(b, 0)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = hashInput(b, k)
			b = hashInput(b, v[k])
		}
	case []any:
		b = append(b, 1)
		for _, m := range v {
			b = hashInput(b, m)
		}
	case nil:
		b = append(b, 2)
	case bool:
		b = append(b, 3, 0)
		if v {
			b[len(b)-1] = 1
		}
	case string:
		b = append(b, 4)
		b = append(b, v...)
	case json.Number:
		b = append(b, 5)
		if r, ok := new(big.Rat).SetString(string(v)); ok {
			b = append(b, r.Num().Bytes()...)
			b = append(b, r.Denom().Bytes()...)
		}
	}
	return b
}

// hash prices the library's hashing of v, for uniqueItems: every value
// in it, its numbers read.
func (pr *pricer) hash(v any) {
	if pr.total > pr.limit {
		return
	}
	pr.total += costEnumScalar
	switch v := v.(type) {
	case map[string]any:
		for k, m := range v {
			pr.total += float64(len(k)) / workPerUnit
			pr.hash(m)
		}
	case []any:
		for _, m := range v {
			pr.hash(m)
		}
	case json.Number:
		pr.total += numberUnits(string(v))
	}
}
