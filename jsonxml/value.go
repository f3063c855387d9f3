package jsonxml

// kind is a JSON type, as a token of a JSON document (json.go) or as the
// value an element reads as (xmlread.go).
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindObject
	kindArray
)

// typeName returns the type marker's value for k ("" for a string, which
// never needs one).
func (k kind) typeName() string {
	switch k {
	case kindNumber:
		return typeNumber
	case kindTrue, kindFalse:
		return typeBoolean
	case kindNull:
		return typeNull
	case kindObject:
		return typeObject
	case kindArray:
		return typeArray
	}
	return ""
}

// The values of the type marker attribute.
const (
	typeNumber  = "number"
	typeBoolean = "boolean"
	typeNull    = "null"
	typeObject  = "object"
	typeArray   = "array"
)

// textKey is the member name of an element's text.
const textKey = "$"

// itemName is the name of the elements that hold the items of an array
// written as one element.
const itemName = "item"

// isSpace reports whether s holds only XML white space (space, tab, CR,
// LF), as the mapping counts it.
func isSpace[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}
