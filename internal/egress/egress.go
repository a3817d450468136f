// Package egress decides which addresses callbacks may be sent to, and
// enforces it when a connection is made (after DNS resolution, so a name
// that resolves to a forbidden address is refused too, and a name that
// resolves differently at connect time than at check time gains nothing).
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/callbacksim/callbacksim/config"
)

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("egress: destination not allowed")

// Policy says where callbacks may go. The zero value allows public
// addresses only. Cloud metadata and link-local addresses are always
// refused; then DenyCIDRs are refused; then AllowCIDRs are allowed; then
// loopback and private addresses are allowed only with AllowPrivate.
type Policy struct {
	// AllowPrivate lets callbacks reach loopback and private (RFC 1918,
	// shared address space, ULA) addresses: right for local testing, wrong
	// for a shared deployment.
	AllowPrivate bool
	// DenyCIDRs are refused whatever else allows them.
	DenyCIDRs []netip.Prefix
	// AllowCIDRs are allowed even when AllowPrivate is false.
	AllowCIDRs []netip.Prefix
}

// FromConfig returns the policy of the egress configuration. The prefixes
// were checked by config.Validate; an invalid one is still an error here.
func FromConfig(c config.Egress) (Policy, error) {
	p := Policy{AllowPrivate: c.AllowPrivate}
	var err error
	if p.DenyCIDRs, err = parsePrefixes("egress.deny_cidrs", c.DenyCIDRs); err != nil {
		return Policy{}, err
	}
	if p.AllowCIDRs, err = parsePrefixes("egress.allow_cidrs", c.AllowCIDRs); err != nil {
		return Policy{}, err
	}
	return p, nil
}

func parsePrefixes(key string, ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("egress: %s: %w", key, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// metadataAddrs are cloud metadata endpoints outside the link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")     // "this host on this network": Linux dials it as loopback
	sharedSpace  = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT (RFC 6598)
	broadcastV4  = netip.MustParseAddr("255.255.255.255")
	errNotParsed = errors.New("cannot parse the address")
)

// deprecated are IPv6 ranges no destination may use: IPv4-compatible
// addresses (RFC 4291 2.5.5.1; :: and ::1 are judged as themselves) and
// site-local ones (RFC 3879).
var deprecated = []struct {
	prefix netip.Prefix
	name   string
}{
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated, RFC 4291)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated, RFC 3879)"},
}

// Check returns an error wrapping ErrBlocked when addr may not be dialled.
// An IPv6 address that carries an IPv4 address (mapped, SIIT, NAT64, 6to4)
// is judged as that IPv4 address too: a translator or relay on the path
// would carry the connection there.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	for _, e := range embeddedV4(addr) {
		if err := p.Check(e.v4); err != nil {
			return fmt.Errorf("%w (through %s %s)", err, e.via, addr)
		}
	}
	switch {
	case slices.Contains(metadataAddrs, addr):
		return fmt.Errorf("%w: %s is a cloud metadata endpoint", ErrBlocked, addr)
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local (cloud metadata lives there)", ErrBlocked, addr)
	case addr.IsUnspecified() || addr.IsMulticast() || addr == broadcastV4 || thisNetwork.Contains(addr):
		return fmt.Errorf("%w: %s is not a unicast address", ErrBlocked, addr)
	}
	if !addr.IsLoopback() {
		for _, d := range deprecated {
			if d.prefix.Contains(addr) {
				return fmt.Errorf("%w: %s is %s", ErrBlocked, addr, d.name)
			}
		}
	}
	if i := slices.IndexFunc(p.DenyCIDRs, func(c netip.Prefix) bool { return c.Contains(addr) }); i >= 0 {
		return fmt.Errorf("%w: %s is in egress.deny_cidrs (%s)", ErrBlocked, addr, p.DenyCIDRs[i])
	}
	if slices.ContainsFunc(p.AllowCIDRs, func(c netip.Prefix) bool { return c.Contains(addr) }) {
		return nil
	}
	if !p.AllowPrivate && (addr.IsLoopback() || addr.IsPrivate() || sharedSpace.Contains(addr)) {
		return fmt.Errorf("%w: %s is private or loopback and egress.allow_private is false", ErrBlocked, addr)
	}
	return nil
}

// Control is a net.Dialer Control hook that applies the policy to the
// address actually being dialled, after DNS resolution.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrBlocked, address, errNotParsed)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a net.Dialer that enforces the policy.
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Control: p.Control}
}
