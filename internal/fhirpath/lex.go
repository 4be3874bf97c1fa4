package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a lexical token.
type tokKind int

const (
	tokEOF    tokKind = iota
	tokIdent          // name, keyword or `delimited name`
	tokString         // 'text'
	tokNumber         // 12 or 1.5
	tokDate           // @2020-01-01, @2020-01-01T10:00, @T10:00 (text without '@')
	tokConst          // %name (text without '%')
	tokVar            // $this, $index, $total (text without '$')
	tokOp             // punctuation and symbolic operators
)

type token struct {
	kind   tokKind
	text   string
	quoted bool // a `delimited` identifier: never a keyword
	pos    int
}

// lex splits src into tokens, skipping white space and comments.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j + 1
			}
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("fhirpath: unterminated comment at %d", i)
			}
			i += j + 4
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: src[i:j], pos: i})
			i = j
		case c == '`':
			s, n, err := unquote(src[i:], '`')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokIdent, text: s, quoted: true, pos: i})
			i += n
		case c == '\'':
			s, n, err := unquote(src[i:], '\'')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: s, pos: i})
			i += n
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			toks = append(toks, token{kind: tokNumber, text: src[i:j], pos: i})
			i = j
		case c == '@':
			n := lexDate(src[i+1:])
			if n == 0 {
				return nil, fmt.Errorf("fhirpath: bad date/time literal at %d", i)
			}
			toks = append(toks, token{kind: tokDate, text: src[i+1 : i+1+n], pos: i})
			i += 1 + n
		case c == '%' || c == '$':
			kind := tokConst
			if c == '$' {
				kind = tokVar
			}
			j := i + 1
			switch {
			case j < len(src) && (src[j] == '`' || src[j] == '\'') && c == '%':
				s, n, err := unquote(src[j:], src[j])
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: kind, text: s, pos: i})
				i = j + n
				continue
			case j < len(src) && isIdentStart(src[j]):
				for j < len(src) && isIdentPart(src[j]) {
					j++
				}
			default:
				return nil, fmt.Errorf("fhirpath: bad name after %q at %d", c, i)
			}
			toks = append(toks, token{kind: kind, text: src[i+1 : j], pos: i})
			i = j
		default:
			op := ""
			for _, o := range []string{"<=", ">=", "!=", "!~"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune(".,()[]{}|+-*/&=~<>", rune(c)) {
					r, _ := utf8.DecodeRuneInString(src[i:])
					return nil, fmt.Errorf("fhirpath: unexpected character %q at %d", r, i)
				}
				op = src[i : i+1]
			}
			toks = append(toks, token{kind: tokOp, text: op, pos: i})
			i += len(op)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// unquote reads a literal delimited by q at the start of s and returns its
// value and the number of bytes consumed.
func unquote(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\':
			i++
			if i >= len(s) {
				break
			}
			switch s[i] {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(s[i])
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if i+4 >= len(s) {
					return "", 0, fmt.Errorf("fhirpath: bad \\u escape")
				}
				r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("fhirpath: bad \\u escape")
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", 0, fmt.Errorf("fhirpath: bad escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("fhirpath: unterminated literal %c", q)
}

// lexDate returns the length of the date/time literal at the start of s
// (after the '@'): DATE, DATE 'T' [TIME [TZ]], or 'T' TIME.
func lexDate(s string) int {
	i := 0
	if len(s) > 0 && s[0] == 'T' {
		n := lexTime(s[1:])
		if n == 0 {
			return 0
		}
		return 1 + n
	}
	if !digits(s, 0, 4) {
		return 0
	}
	i = 4
	for k := 0; k < 2 && i < len(s) && s[i] == '-' && digits(s, i+1, 2); k++ {
		i += 3
	}
	if i < len(s) && s[i] == 'T' {
		i++
		n := lexTime(s[i:])
		i += n
		if n > 0 {
			i += lexZone(s[i:])
		}
	}
	return i
}

func lexTime(s string) int {
	if !digits(s, 0, 2) {
		return 0
	}
	i := 2
	for k := 0; k < 2 && i < len(s) && s[i] == ':' && digits(s, i+1, 2); k++ {
		i += 3
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i
}

func lexZone(s string) int {
	if len(s) > 0 && s[0] == 'Z' {
		return 1
	}
	if len(s) >= 6 && (s[0] == '+' || s[0] == '-') && digits(s, 1, 2) && s[3] == ':' && digits(s, 4, 2) {
		return 6
	}
	return 0
}

// digits reports whether s[i:i+n] are n decimal digits.
func digits(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}
