package auth

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// The browser guard keeps web pages the user happens to visit from
// driving a studio through the user's browser.
//
//   - DNS rebinding: a page on evil.example re-points its own name at
//     127.0.0.1 and then calls the studio as a same-origin site. Its
//     requests still carry "Host: evil.example". A studio in open mode
//     (no tokens, so on loopback) answers only requests whose Host is a
//     loopback name; others get 421. With tokens, the page has no token.
//   - Cross-site requests (CSRF): a page can POST text/plain or a form to
//     any address without the browser asking first. Every state-changing
//     request must say Content-Type: application/json, which a browser
//     sends cross-site only after a CORS preflight that foreign origins
//     fail, and must not come from a foreign Origin (or Sec-Fetch-Site:
//     cross-site). Clients that are not browsers (curl, scripts) send no
//     Origin and pass with the JSON content type.

// BrowserOptions configure Browser.
type BrowserOptions struct {
	// Open is true when the studio has no tokens: only loopback Host
	// headers are answered.
	Open bool
	// Origins are the other origins allowed to change state (studio.origins,
	// and the desktop app's wails://wails).
	Origins []string
}

// Browser wraps next with the DNS-rebinding and cross-site checks above.
func Browser(o BrowserOptions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Open && !LoopbackHost(r.Host) {
			deny(w, http.StatusMisdirectedRequest, "misdirected_request",
				"this studio has no tokens and answers only loopback host names (127.0.0.1, localhost, [::1]); "+
					"to serve it under another name, configure studio.tokens")
			return
		}
		if changesState(r.Method) {
			if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(r, origin) && !slices.Contains(o.Origins, origin) && !slices.Contains(o.Origins, "*") {
				deny(w, http.StatusForbidden, "cross_origin", "requests that change state are not accepted from origin "+origin+" (add it to studio.origins)")
				return
			}
			if r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				deny(w, http.StatusForbidden, "cross_origin", "requests that change state are not accepted from another site")
				return
			}
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				deny(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
					"requests that change state must be sent with Content-Type: application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// changesState tells the methods that must pass the cross-site checks.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sameOrigin reports whether origin is the studio's own: its host and
// port are the Host the request was sent to. The scheme is not compared:
// behind a proxy that terminates TLS the studio sees plain HTTP.
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// LoopbackHost reports whether a Host header (with or without a port)
// names this machine's loopback interface: localhost, 127.0.0.0/8 or [::1].
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// SecurityHeaders sets the headers that keep the UI from being framed,
// sniffed or given scripts it did not ship: a content security policy
// with no inline or foreign scripts. Connections may go to other studios
// (Settings can point the UI at one), so connect-src is open to http(s)
// and ws(s).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "+
			"font-src 'self' data:; connect-src 'self' http: https: ws: wss:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "+
			"form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
