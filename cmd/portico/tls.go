package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico/framing"
	"github.com/portico-gw/portico/proxy"
)

// certificate is a listener's certificate, loaded from a PEM certificate
// chain and key; reload reads the files again. Handshakes read the current
// one through GetCertificate, so a reload affects new connections only:
// connections already open keep theirs.
type certificate struct {
	name          string // "gateway" or "admin", for messages
	certFile, key string
	cur           atomic.Pointer[tls.Certificate]
}

// loadCertificate loads the pair of a listener; name is the listener's.
func loadCertificate(name, certFile, keyFile string) (*certificate, error) {
	c := &certificate{name: name, certFile: certFile, key: keyFile}
	cert, err := c.read()
	if err != nil {
		return nil, err
	}
	c.cur.Store(cert)
	return c, nil
}

// loadCertificates loads the certificate pairs of the listeners that the
// configuration puts on TLS; a listener without one is nil.
func (m *Main) loadCertificates() (gateway, admin *certificate, err error) {
	c := m.Config
	for _, p := range []struct {
		name, cert, key string
		c               **certificate
	}{{"gateway", c.GatewayTLSCert, c.GatewayTLSKey, &gateway}, {"admin", c.AdminTLSCert, c.AdminTLSKey, &admin}} {
		if p.cert == "" {
			continue
		}
		cert, err := loadCertificate(p.name, p.cert, p.key)
		if err != nil {
			return nil, nil, err
		}
		cert.warnValidity(m.logger, time.Now())
		*p.c = cert
		m.certs = append(m.certs, cert)
	}
	return gateway, admin, nil
}

// read reads and checks the pair: the key must match the first
// certificate of the chain, which must parse.
func (c *certificate) read() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.key)
	if err != nil {
		return nil, fmt.Errorf("%s TLS certificate %s and key %s: %w", c.name, c.certFile, c.key, err)
	}
	// LoadX509KeyPair parses the leaf since Go 1.23; parse it again if a
	// GODEBUG turned that off.
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s TLS certificate %s: %w", c.name, c.certFile, err)
		}
	}
	return &cert, nil
}

// reload reads the files again and serves the new pair from the next
// handshake on. A pair that does not load leaves the current one in place
// and is returned as an error.
func (c *certificate) reload() error {
	cert, err := c.read()
	if err != nil {
		return err
	}
	c.cur.Store(cert)
	return nil
}

// warnValidity logs a warning when the current certificate is expired or
// not valid yet at now: clients will refuse it, but a node that must
// start still starts.
func (c *certificate) warnValidity(l *slog.Logger, now time.Time) {
	leaf := c.cur.Load().Leaf
	switch {
	case now.After(leaf.NotAfter):
		l.Warn("TLS certificate expired", "listener", c.name, "file", c.certFile, "not_after", leaf.NotAfter)
	case now.Before(leaf.NotBefore):
		l.Warn("TLS certificate not valid yet", "listener", c.name, "file", c.certFile, "not_before", leaf.NotBefore)
	}
}

func (c *certificate) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// tlsCipherSuites are the TLS 1.2 suites offered: ECDHE key exchange
// (forward secrecy) with an AEAD cipher only; no RSA key exchange, no
// CBC, no 3DES or RC4. TLS 1.3 suites are all modern and not
// configurable. HTTP/2 requires TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
// (RFC 9113 §9.2.2).
var tlsCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS is the TLS configuration of a listener serving c: TLS 1.2 or
// later, tlsCipherSuites, and HTTP/2 offered before HTTP/1.1 (ALPN).
func serverTLS(c *certificate) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tlsCipherSuites,
		GetCertificate: c.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

// gatewayMaxHeaderBytes bounds a request head on the gateway listener
// (http.Server.MaxHeaderBytes, and the framing sniffer's limit).
const gatewayMaxHeaderBytes = 64 << 10

// listen opens the listener of one of the node's HTTP servers at addr.
// With a certificate it is a TLS listener: the server sees *tls.Conn
// connections, which net/http needs to serve HTTP/2 to clients that
// negotiated it. Without one it is the plain TCP listener: the one to
// wrap in anything that reads the requests' bytes before the server does:
// a framing.Listener, whose sniffer follows each request's framing.
// Never wrap a TLS listener so: the server would not see *tls.Conn (no
// HTTP/2), and under it the bytes are encrypted. Under both, the
// connections' writes time out after writeTimeout without progress
// (proxy.WriteTimeoutListener), counted in timedOut.
func listen(addr string, cert *certificate, maxHeaderBytes int, writeTimeout time.Duration, timedOut *proxy.WriteTimeouts) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l = proxy.WriteTimeoutListener(l, writeTimeout, timedOut)
	if cert == nil {
		// framing.Handler, on every server, refuses what the sniffer
		// finds ambiguous.
		return &framing.Listener{Listener: l, MaxHeaderBytes: maxHeaderBytes}, nil
	}
	return tls.NewListener(l, serverTLS(cert)), nil
}

// ReloadCertificates reads the certificate files of every TLS listener
// again (on SIGHUP). A pair that fails to load keeps its listener on the
// current one; the errors are returned, joined.
func (m *Main) ReloadCertificates() error {
	if len(m.certs) == 0 {
		m.logger.Info("no TLS certificate to reload")
		return nil
	}
	var errs []error
	for _, c := range m.certs {
		if err := c.reload(); err != nil {
			m.logger.Error("TLS certificate not reloaded; the listener keeps the current one", "listener", c.name, "err", err)
			errs = append(errs, err)
			continue
		}
		c.warnValidity(m.logger, time.Now())
		leaf := c.cur.Load().Leaf
		m.logger.Info("TLS certificate reloaded", "listener", c.name, "file", c.certFile,
			"subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	}
	return errors.Join(errs...)
}
