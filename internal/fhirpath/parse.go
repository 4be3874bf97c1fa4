package fhirpath

import (
	"fmt"
	"strings"
)

// Expr is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	src  string
	root node
}

// String returns the source text of the expression.
func (e *Expr) String() string { return e.src }

// Compile parses a FHIRPath expression. Unknown functions are compile
// errors, so a successful Compile means every construct is supported.
func Compile(expr string) (*Expr, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("fhirpath: unexpected %q at %d", t.text, t.pos)
	}
	return &Expr{src: expr, root: n}, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == s
}

func (p *parser) expect(s string) error {
	if !p.isOp(s) {
		t := p.peek()
		return fmt.Errorf("fhirpath: expected %q at %d, found %q", s, t.pos, t.text)
	}
	p.next()
	return nil
}

// infixPrec gives the precedence of a binary operator (higher binds
// tighter), or 0 if t is not one.
func infixPrec(t token) int {
	if t.kind == tokOp {
		switch t.text {
		case "*", "/":
			return 10
		case "+", "-", "&":
			return 9
		case "|":
			return 7
		case "<", ">", "<=", ">=":
			return 6
		case "=", "~", "!=", "!~":
			return 5
		}
		return 0
	}
	if t.kind != tokIdent || t.quoted {
		return 0
	}
	switch t.text {
	case "div", "mod":
		return 10
	case "is", "as":
		return 8
	case "in", "contains":
		return 4
	case "and":
		return 3
	case "or", "xor":
		return 2
	case "implies":
		return 1
	}
	return 0
}

func (p *parser) expr(minPrec int) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, fmt.Errorf("fhirpath: expression nested too deeply")
	}
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := infixPrec(t)
		if prec == 0 || prec < minPrec {
			return left, nil
		}
		p.next()
		if t.text == "is" || t.text == "as" {
			name, err := p.typeSpec()
			if err != nil {
				return nil, err
			}
			if !knownType(name) {
				return nil, fmt.Errorf("fhirpath: unknown type %s", name)
			}
			left = &typeOpNode{op: t.text, x: left, typ: name}
			continue
		}
		right, err := p.expr(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &binaryNode{op: t.text, l: left, r: right}
	}
}

// typeSpec reads a possibly qualified type name (FHIR.Quantity, System.String).
func (p *parser) typeSpec() (string, error) {
	t := p.next()
	if t.kind != tokIdent {
		return "", fmt.Errorf("fhirpath: expected a type name at %d", t.pos)
	}
	name := t.text
	if p.isOp(".") && p.toks[p.i+1].kind == tokIdent {
		p.next()
		name += "." + p.next().text
	}
	return name, nil
}

func (p *parser) unary() (node, error) {
	if p.isOp("+") || p.isOp("-") {
		op := p.next().text
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, fmt.Errorf("fhirpath: expression nested too deeply")
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if op == "+" {
			return x, nil
		}
		return &negNode{x: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (node, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tokIdent {
				return nil, fmt.Errorf("fhirpath: expected a name after '.' at %d", t.pos)
			}
			inv, err := p.invocation(t)
			if err != nil {
				return nil, err
			}
			n = &pathNode{l: n, r: inv}
		case p.isOp("["):
			p.next()
			idx, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = &indexNode{x: n, index: idx}
		default:
			return n, nil
		}
	}
}

// invocation parses a member name or a function call whose name is t.
func (p *parser) invocation(t token) (node, error) {
	if !p.isOp("(") {
		return &memberNode{name: t.text, ext: "_" + t.text}, nil
	}
	p.next()
	var args []node
	if !p.isOp(")") {
		for {
			a, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return newCall(t.text, args)
}

var calendarUnits = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
}

func (p *parser) term() (node, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		typ := tInt
		if strings.Contains(t.text, ".") {
			typ = tDec
		}
		u := p.peek()
		if u.kind == tokString {
			p.next()
			return &literalNode{it: item{v: Quantity{Value: t.text, Unit: u.text}, typ: tQuantity}}, nil
		}
		if u.kind == tokIdent && !u.quoted && calendarUnits[u.text] != "" {
			p.next()
			return &literalNode{it: item{v: Quantity{Value: t.text, Unit: calendarUnits[u.text]}, typ: tQuantity}}, nil
		}
		return &literalNode{it: item{v: number(t.text), typ: typ}}, nil
	case tokString:
		return &literalNode{it: item{v: t.text, typ: tString}}, nil
	case tokDate:
		return dateLiteral(t)
	case tokConst:
		return &constNode{name: t.text}, nil
	case tokVar:
		switch t.text {
		case "this", "index", "total":
			return &varNode{name: t.text}, nil
		}
		return nil, fmt.Errorf("fhirpath: unknown variable $%s", t.text)
	case tokIdent:
		if !t.quoted && !p.isOp("(") {
			switch t.text {
			case "true", "false":
				return &literalNode{it: item{v: t.text == "true", typ: tBool}}, nil
			}
		}
		return p.invocation(t)
	case tokOp:
		switch t.text {
		case "(":
			n, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			return n, p.expect(")")
		case "{":
			return &emptyNode{}, p.expect("}")
		}
	}
	if t.kind == tokEOF {
		return nil, fmt.Errorf("fhirpath: unexpected end of expression")
	}
	return nil, fmt.Errorf("fhirpath: unexpected %q at %d", t.text, t.pos)
}

func dateLiteral(t token) (node, error) {
	s := t.text
	if strings.HasPrefix(s, "T") {
		return &literalNode{it: item{v: s[1:], typ: tTime}}, nil
	}
	if strings.Contains(s, "T") {
		return &literalNode{it: item{v: strings.TrimSuffix(s, "T"), typ: tDateTime}}, nil
	}
	return &literalNode{it: item{v: s, typ: tDate}}, nil
}
