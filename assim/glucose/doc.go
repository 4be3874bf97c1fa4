// Package glucose is the estimator of a live type-1 diabetes twin.
package glucose
