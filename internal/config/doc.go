// Package config holds Gatehouse's one Config struct and loads it in rising
// order of precedence: defaults, a YAML file, GATEHOUSE_* environment
// variables, then command-line flags. Validate checks it once before start;
// the result is passed down explicitly (no globals).
//
// Environment names are derived from the YAML path: lifetimes.access_token is
// GATEHOUSE_LIFETIMES_ACCESS_TOKEN. Any other GATEHOUSE_* variable is refused
// (naming the closest known one) unless it is in otherEnv, the one list of
// variables that are read elsewhere and are not settings.
package config
