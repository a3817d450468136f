package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
)

func mustPolicy(t *testing.T, c config.Egress) Policy {
	t.Helper()
	p, err := FromConfig(c)
	if err != nil {
		t.Fatalf("FromConfig: %v", err)
	}
	return p
}

func TestCheck(t *testing.T) {
	open := mustPolicy(t, config.Egress{AllowPrivate: true})
	closed := mustPolicy(t, config.Egress{AllowPrivate: false})
	denyLAN := mustPolicy(t, config.Egress{AllowPrivate: true, DenyCIDRs: []string{"10.0.0.0/8", "fd00::/8"}})
	allowOne := mustPolicy(t, config.Egress{AllowPrivate: false, AllowCIDRs: []string{"10.1.2.0/24", "127.0.0.1/32", "169.254.0.0/16"}})
	both := mustPolicy(t, config.Egress{AllowPrivate: false, AllowCIDRs: []string{"10.0.0.0/8"}, DenyCIDRs: []string{"10.9.0.0/16"}})
	tests := []struct {
		name    string
		p       Policy
		addr    string
		allowed bool
		reason  string // part of the refusal
	}{
		{"public v4", closed, "93.184.216.34", true, ""},
		{"public v6", closed, "2606:2800:220:1:248:1893:25c8:1946", true, ""},
		{"loopback allowed by default", open, "127.0.0.1", true, ""},
		{"loopback refused without allow_private", closed, "127.0.0.1", false, "allow_private"},
		{"v6 loopback refused", closed, "::1", false, "allow_private"},
		{"RFC 1918 refused", closed, "192.168.1.10", false, "allow_private"},
		{"ULA refused", closed, "fd12:3456::1", false, "allow_private"},
		{"shared address space refused", closed, "100.64.0.1", false, "allow_private"},
		{"v4-mapped loopback refused", closed, "::ffff:127.0.0.1", false, "allow_private"},
		{"AWS metadata always refused", open, "169.254.169.254", false, "link-local"},
		{"link-local always refused", open, "169.254.10.1", false, "link-local"},
		{"v6 link-local always refused", open, "fe80::1", false, "link-local"},
		{"AWS v6 metadata always refused", open, "fd00:ec2::254", false, "metadata"},
		{"Alibaba metadata always refused", open, "100.100.100.200", false, "metadata"},
		{"metadata through NAT64 refused", open, "64:ff9b::a9fe:a9fe", false, "NAT64"},
		{"public through NAT64 allowed", closed, "64:ff9b::5db8:d822", true, ""},
		{"metadata through SIIT refused", open, "::ffff:0:a9fe:a9fe", false, "SIIT"},
		{"loopback through SIIT refused", closed, "::ffff:0:7f00:1", false, "SIIT"},
		{"public through SIIT allowed", closed, "::ffff:0:5db8:d822", true, ""},
		{"v4-mapped metadata refused", open, "::ffff:169.254.169.254", false, "link-local"},
		{"loopback through NAT64 refused", closed, "64:ff9b::7f00:1", false, "NAT64"},
		{"metadata through local-use NAT64 /96 refused", open, "64:ff9b:1::a9fe:a9fe", false, "local-use NAT64"},
		{"private through local-use NAT64 /96 refused", closed, "64:ff9b:1::c0a8:10a", false, "local-use NAT64"},
		{"metadata through local-use NAT64 /64 refused", open, "64:ff9b:1:0:a9:fea9:fe00:0", false, "local-use NAT64"},
		{"metadata through local-use NAT64 /48 refused", open, "64:ff9b:1:a9fe:a9:fe00::", false, "local-use NAT64"},
		{"metadata through local-use NAT64 /56 refused", open, "64:ff9b:1:a9:fe:a9fe::", false, "local-use NAT64"},
		{"public through local-use NAT64 allowed", closed, "64:ff9b:1::5db8:d822", true, ""},
		{"metadata through 6to4 refused", open, "2002:a9fe:a9fe::1", false, "6to4"},
		{"loopback through 6to4 refused", closed, "2002:7f00:1::1", false, "6to4"},
		{"public through 6to4 allowed", closed, "2002:5db8:d822::1", true, ""},
		{"IPv4-compatible refused", open, "::7f00:1", false, "IPv4-compatible"},
		{"IPv4-compatible public refused", open, "::5db8:d822", false, "IPv4-compatible"},
		{"allow_cidrs cannot open IPv4-compatible", allowOne, "::a01:203", false, "IPv4-compatible"},
		{"v6 loopback is not IPv4-compatible", open, "::1", true, ""},
		{"site-local refused", open, "fec0::1", false, "site-local"},
		{"site-local upper end refused", open, "feff:ffff::1", false, "site-local"},
		{"unspecified refused", open, "0.0.0.0", false, "unicast"},
		{"this-network refused", open, "0.1.2.3", false, "unicast"},
		{"broadcast refused", open, "255.255.255.255", false, "unicast"},
		{"multicast refused", open, "239.1.2.3", false, "unicast"},
		{"deny_cidrs wins over allow_private", denyLAN, "10.20.30.40", false, "egress.deny_cidrs (10.0.0.0/8)"},
		{"deny_cidrs v6", denyLAN, "fd00::1", false, "egress.deny_cidrs"},
		{"outside deny_cidrs allowed", denyLAN, "192.168.0.1", true, ""},
		{"allow_cidrs wins over allow_private false", allowOne, "10.1.2.3", true, ""},
		{"allow_cidrs single host", allowOne, "127.0.0.1", true, ""},
		{"outside allow_cidrs still refused", allowOne, "10.1.3.1", false, "allow_private"},
		{"allow_cidrs cannot open link-local", allowOne, "169.254.169.254", false, "link-local"},
		{"deny wins over allow", both, "10.9.1.1", false, "egress.deny_cidrs"},
		{"allow outside the denied part", both, "10.8.1.1", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Check(netip.MustParseAddr(tt.addr))
			if tt.allowed {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.addr, err)
				}
				return
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("Check(%s) = %v, want an error wrapping ErrBlocked", tt.addr, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Check(%s) = %q, want the reason to mention %q", tt.addr, err, tt.reason)
			}
		})
	}
}

func TestFromConfigRejectsBadPrefixes(t *testing.T) {
	if _, err := FromConfig(config.Egress{DenyCIDRs: []string{"10.0.0.0/33"}}); err == nil {
		t.Error("FromConfig(10.0.0.0/33) succeeded, want an error")
	}
}

// TestDialerChecksTheResolvedAddress dials a name, not an address: the
// policy applies to what "localhost" resolves to at connect time, so a
// name cannot smuggle a connection to a denied address (DNS rebinding).
func TestDialerChecksTheResolvedAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	target := net.JoinHostPort("localhost", port)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for name, c := range map[string]config.Egress{
		"allow_private false": {AllowPrivate: false},
		"deny_cidrs":          {AllowPrivate: true, DenyCIDRs: []string{"127.0.0.0/8", "::1/128"}},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := mustPolicy(t, c).Dialer().DialContext(ctx, "tcp", target)
			if err == nil {
				conn.Close()
				t.Fatalf("dial %s succeeded, want it refused", target)
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("dial %s = %v, want an error wrapping ErrBlocked", target, err)
			}
		})
	}
	t.Run("allowed", func(t *testing.T) {
		p := mustPolicy(t, config.Egress{AllowPrivate: false, AllowCIDRs: []string{"127.0.0.0/8", "::1/128"}})
		conn, err := p.Dialer().DialContext(ctx, "tcp", target)
		if err != nil {
			t.Fatalf("dial %s with 127.0.0.0/8 allowed: %v", target, err)
		}
		conn.Close()
	})
}
