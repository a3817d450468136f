// Package reliability holds callbacksim's reliability and security suite:
// tests that kill the callbacksim process (run as a child of the test) or
// its Redis in the middle of deliveries and check that no callback is lost,
// that outages are answered cleanly and resumed from, that secrets stay out
// of logs, metrics and records, and that records expire. It has no code of
// its own; docs/reliability.md says what the suite proves and measures.
package reliability
