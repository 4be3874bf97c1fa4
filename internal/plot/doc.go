// Package plot draws Doppel's figures (glucose traces, ambulatory glucose
// profiles, time in ranges) as PNG or SVG with gonum.org/v1/plot.
//
// The package knows nothing of the models: every figure takes plain series
// (times, values, units stated in the field docs), so any command can reuse
// it. Colours come from the Okabe-Ito palette, which stays distinguishable
// with the common forms of colour-vision deficiency (Okabe & Ito 2008,
// "Color Universal Design"), except where a clinical convention (the
// consensus AGP and time-in-ranges colours) takes precedence. Every axis is
// labelled with its unit.
//
// Figures are written to an io.Writer in a format named "png" or "svg";
// [FormatOf] picks the format from a file name.
package plot
