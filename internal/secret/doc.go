// Package secret owns Gatehouse's master key and what is derived from it:
// the keyed hash under which tokens and client secrets are stored, the tag key
// that lets a forged token be refused before any database read, and the
// AES-256-GCM key that seals what must be readable again (client secret copies,
// integration tokens). The master key never enters the database: it lives in a
// 0600 file in the data directory or in GATEHOUSE_SECRET_KEY, and every node of
// a cluster must share it.
package secret
