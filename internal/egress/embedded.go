package egress

import "net/netip"

// embedded is an IPv4 address an IPv6 address carries, and the mechanism
// that would deliver to it.
type embedded struct {
	v4  netip.Addr
	via string
}

var (
	// siit is the IPv4-translated form ::ffff:0:a.b.c.d (RFC 2765).
	siit = netip.MustParsePrefix("::ffff:0:0:0/96")
	// nat64 is the well-known NAT64 prefix, always /96 (RFC 6052).
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// nat64Local is the local-use NAT64 prefix (RFC 8215): the network
	// picks a sub-prefix of /48 to /96, so the IPv4 address may sit at
	// any of RFC 6052's positions.
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	// sixToFour carries the relay's IPv4 address in bits 16-47 (RFC 3056).
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// rfc6052Layouts are, for each prefix length RFC 6052 allows within a /48,
// the byte offsets of the four IPv4 bytes (byte 8, the "u" octet, is
// skipped) and where the suffix, which must be zero, starts.
var rfc6052Layouts = []struct {
	at     [4]int
	suffix int
}{
	{[4]int{6, 7, 9, 10}, 11},    // /48
	{[4]int{7, 9, 10, 11}, 12},   // /56
	{[4]int{9, 10, 11, 12}, 13},  // /64
	{[4]int{12, 13, 14, 15}, 16}, // /96
}

// embeddedV4 returns the IPv4 addresses addr carries: none for an IPv4
// address or a plain IPv6 one, one for SIIT, NAT64 and 6to4, and for
// local-use NAT64 each reading of the address that RFC 6052 allows (u
// octet and suffix zero), since which one applies is the network's choice.
func embeddedV4(addr netip.Addr) []embedded {
	if !addr.Is6() {
		return nil
	}
	b := addr.As16()
	switch {
	case siit.Contains(addr):
		return []embedded{{netip.AddrFrom4([4]byte(b[12:])), "SIIT"}}
	case nat64.Contains(addr):
		return []embedded{{netip.AddrFrom4([4]byte(b[12:])), "NAT64"}}
	case sixToFour.Contains(addr):
		return []embedded{{netip.AddrFrom4([4]byte(b[2:6])), "6to4"}}
	case nat64Local.Contains(addr):
		var out []embedded
		for _, l := range rfc6052Layouts {
			if l.suffix < 16 && (b[8] != 0 || !allZero(b[l.suffix:])) {
				continue
			}
			out = append(out, embedded{netip.AddrFrom4([4]byte{b[l.at[0]], b[l.at[1]], b[l.at[2]], b[l.at[3]]}), "local-use NAT64"})
		}
		return out
	}
	return nil
}

func allZero(bs []byte) bool {
	for _, c := range bs {
		if c != 0 {
			return false
		}
	}
	return true
}
