// Command callbacksim simulates payment gateways' callbacks: it plays the
// QRIS gateway, CinetPay and Centili towards a merchant's handlers, with
// their signatures, retries and failures.
package main

import (
	"os"

	"github.com/callbacksim/callbacksim/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) }
