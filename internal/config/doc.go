// Package config holds Gatehouse's one Config struct and loads it in rising
// order of precedence: defaults, a YAML file, GATEHOUSE_* environment
// variables, then command-line flags. Validate checks it once before start;
// the result is passed down explicitly (no globals).
//
// Environment names are derived from the YAML path: lifetimes.access_token is
// GATEHOUSE_LIFETIMES_ACCESS_TOKEN.
package config
