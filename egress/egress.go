// Package egress decides which addresses callbacks may be sent to, and
// enforces it when a connection is made (after DNS resolution, so a name
// that resolves to a forbidden address is refused too).
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
)

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("egress: destination not allowed")

// Policy says where callbacks may go. Cloud metadata and link-local
// addresses are always refused.
type Policy struct {
	// AllowPrivate lets callbacks reach loopback and private (RFC 1918, ULA)
	// addresses: right for local testing, wrong for a shared deployment.
	AllowPrivate bool
}

// metadataAddrs are cloud metadata endpoints outside the link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// Check returns an error wrapping ErrBlocked when addr may not be dialled.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	switch {
	case slices.Contains(metadataAddrs, addr):
		return fmt.Errorf("%w: %s is a cloud metadata endpoint", ErrBlocked, addr)
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local (cloud metadata lives there)", ErrBlocked, addr)
	case addr.IsUnspecified() || addr.IsMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrBlocked, addr)
	case !p.AllowPrivate && (addr.IsLoopback() || addr.IsPrivate()):
		return fmt.Errorf("%w: %s is private or loopback and egress.allow_private is false", ErrBlocked, addr)
	}
	return nil
}

// Control is a net.Dialer Control hook that applies the policy to the
// address actually being dialled.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrBlocked, address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a net.Dialer that enforces the policy.
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Control: p.Control}
}
