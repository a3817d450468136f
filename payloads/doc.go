// Package payloads renders what the simulator sends to a merchant for each
// gateway it plays (the QRIS gateway, CinetPay and Centili), and signs it:
// one file per gateway, plus the optional Standard Webhooks scheme that any
// provider can use. Everything here is pure: no I/O, no clock (times are
// passed in), so a rendering can be repeated for every attempt and tested
// against the vectors of the gateways' documentation.
//
// The Verify functions do what a merchant's handler does on the other end;
// the simulator's own tests use them, and the examples show merchants how.
package payloads
