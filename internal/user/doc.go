// Package user owns the built-in user directory: accounts, permission levels,
// groups, argon2id passwords and sign-in with throttling.
//
// Invariants: passwords are stored only as argon2id PHC strings; a failed
// sign-in says the same thing for an unknown user and a wrong password and
// costs the same time; failures are counted per account and per address in the
// shared store, so throttling holds across cluster nodes; at most a bounded
// number of password hashes run at once, so a flood of sign-ins cannot exhaust
// memory.
package user
