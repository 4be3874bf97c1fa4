// Package doppel is the root of the Doppel module: an open-source healthcare
// digital-twin platform built as one binary, cmd/doppel.
//
// The root package holds no code; its tests enforce the architecture rules of
// the project (import directions in deps_test.go, one package doc per package
// in pkgdoc_test.go). The science packages (ode, model/...) are importable
// libraries; the product lives under internal/.
package doppel
