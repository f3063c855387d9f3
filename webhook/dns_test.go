package webhook

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// fakeDNS is a DNS server on loopback UDP that answers every A and AAAA
// question with the addresses set last (none: NODATA), so a test can
// change what a name resolves to between two lookups.
type fakeDNS struct {
	conn    net.PacketConn
	mu      sync.Mutex
	addrs   []netip.Addr
	queries int
}

func startDNS(t *testing.T) *fakeDNS {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDNS{conn: c}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := d.answer(buf[:n]); resp != nil {
				c.WriteTo(resp, from)
			}
		}
	}()
	return d
}

// set makes every name resolve to addrs.
func (d *fakeDNS) set(addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = d.addrs[:0]
	for _, a := range addrs {
		d.addrs = append(d.addrs, netip.MustParseAddr(a))
	}
}

// resolver returns a resolver that asks only d.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.conn.LocalAddr().String())
	}}
}

// answer builds the reply to one query: its header and question, then one
// record per address of the asked type.
func (d *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 { // question name: labels up to the root
		end += 1 + int(q[end])
	}
	end += 1 + 4 // root, type, class
	if end > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[end-4:])
	d.mu.Lock()
	d.queries++
	var rdata [][]byte
	for _, a := range d.addrs {
		switch {
		case qtype == 1 && a.Is4():
			b := a.As4()
			rdata = append(rdata, b[:])
		case qtype == 28 && a.Is6():
			b := a.As16()
			rdata = append(rdata, b[:])
		}
	}
	d.mu.Unlock()
	r := append([]byte(nil), q[:end]...)
	binary.BigEndian.PutUint16(r[2:], 0x8180)             // response, recursion desired and available, no error
	binary.BigEndian.PutUint16(r[6:], uint16(len(rdata))) // answers
	binary.BigEndian.PutUint16(r[8:], 0)                  // authority
	binary.BigEndian.PutUint16(r[10:], 0)                 // additional
	for _, rd := range rdata {
		r = append(r, 0xc0, 12) // the name: a pointer to the question's
		r = binary.BigEndian.AppendUint16(r, qtype)
		r = binary.BigEndian.AppendUint16(r, 1) // IN
		r = binary.BigEndian.AppendUint32(r, 0) // TTL
		r = binary.BigEndian.AppendUint16(r, uint16(len(rd)))
		r = append(r, rd...)
	}
	return r
}

// TestFakeDNS: the fake server answers as set, so the tests that use it
// test the webhook code, not the fake.
func TestFakeDNS(t *testing.T) {
	d := startDNS(t)
	r := d.resolver()
	d.set("203.0.113.7", "2001:db8::7")
	got, err := r.LookupNetIP(t.Context(), "ip", "hook.test")
	if err != nil || len(got) != 2 {
		t.Fatalf("lookup: %v %v", got, err)
	}
	d.set("127.0.0.1")
	got, err = r.LookupNetIP(t.Context(), "ip4", "hook.test")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("lookup after set: %v %v", got, err)
	}
	d.set()
	var dnsErr *net.DNSError
	if _, err := r.LookupNetIP(t.Context(), "ip", "hook.test"); !errors.As(err, &dnsErr) {
		t.Fatalf("lookup of no address: %v", err)
	}
}
